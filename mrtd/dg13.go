package mrtd

import (
	"encoding/asn1"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cancuoc/cancuoc"
)

// VNData is the content of DG13 on a Vietnamese card, as text the way the
// chip holds it (dates dd/mm/yyyy, sex "Nam"/"Nữ"). Fields 15 and 16 are not
// confirmed by any published specification: see dg13Table.
type VNData struct {
	PIN         string
	FullName    string
	BirthDate   string
	Sex         string
	Nationality string
	Ethnicity   string
	Religion    string
	Origin      string // quê quán
	Residence   string // nơi thường trú
	Features    string // đặc điểm nhận dạng
	IssuedOn    string
	ExpiresOn   string // "Không thời hạn" on cards that never expire
	Parents     []string
	Spouse      []string
	OldID       string // unverified
	Unknown16   string // unverified: meaning unknown
	// Unlisted holds fields whose numbers the table does not know, by
	// number, so nothing a card carries is lost.
	Unlisted map[int]string
}

// dg13Field is one row of the field-number table.
type dg13Field struct {
	Number   int
	Name     string // stable key for reports and comparisons
	Verified bool   // seen in public readers and consistent across cards
	text     func(*VNData) *string
	list     func(*VNData) *[]string
}

// dg13Table is the one place that says what each DG13 field number means.
// The numbering comes from public card readers, not from an official
// specification (vietnam.md §3); 15 and 16 are marked unverified, so they
// are parsed and kept but nothing should rely on them.
var dg13Table = []dg13Field{
	{1, "pin", true, func(d *VNData) *string { return &d.PIN }, nil},
	{2, "full_name", true, func(d *VNData) *string { return &d.FullName }, nil},
	{3, "birth_date", true, func(d *VNData) *string { return &d.BirthDate }, nil},
	{4, "sex", true, func(d *VNData) *string { return &d.Sex }, nil},
	{5, "nationality", true, func(d *VNData) *string { return &d.Nationality }, nil},
	{6, "ethnicity", true, func(d *VNData) *string { return &d.Ethnicity }, nil},
	{7, "religion", true, func(d *VNData) *string { return &d.Religion }, nil},
	{8, "origin", true, func(d *VNData) *string { return &d.Origin }, nil},
	{9, "residence", true, func(d *VNData) *string { return &d.Residence }, nil},
	{10, "features", true, func(d *VNData) *string { return &d.Features }, nil},
	{11, "issued_on", true, func(d *VNData) *string { return &d.IssuedOn }, nil},
	{12, "expires_on", true, func(d *VNData) *string { return &d.ExpiresOn }, nil},
	{13, "parents", true, nil, func(d *VNData) *[]string { return &d.Parents }},
	{14, "spouse", true, nil, func(d *VNData) *[]string { return &d.Spouse }},
	{15, "old_id", false, func(d *VNData) *string { return &d.OldID }, nil},
	{16, "unknown_16", false, func(d *VNData) *string { return &d.Unknown16 }, nil},
}

// DG13Field describes a DG13 field number: its stable name and whether the
// meaning is confirmed. ok is false for a number the table does not list.
func DG13Field(n int) (name string, verified, ok bool) {
	for _, f := range dg13Table {
		if f.Number == n {
			return f.Name, f.Verified, true
		}
	}
	return "", false, false
}

// NoExpiry is what DG13 field 12 holds on a card that never expires.
const NoExpiry = "Không thời hạn"

// oidUTF8 is the character set OID DG13 declares (ISO/IEC 10646 UTF-8).
var oidUTF8 = asn1.ObjectIdentifier{1, 0, 10646, 1, 0, 8}

// dg13MaxFields bounds the field list; real cards carry 16.
const dg13MaxFields = 64

// ParseDG13 parses DG13: 6D → SEQUENCE { INTEGER version, OID charset,
// SET OF SEQUENCE { INTEGER number, value } }, where a value is a string or
// a SEQUENCE of strings (parents, spouse). Fields that are absent stay
// empty; fields the table does not know go to Unlisted.
func ParseDG13(b []byte) (*VNData, error) {
	t, err := expect(b, dgTags[13])
	if err != nil {
		return nil, fmt.Errorf("DG13: %w", err)
	}
	in := cryptobyte.String(t.Value)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("DG13: not one SEQUENCE")
	}
	var version int64
	var oid asn1.ObjectIdentifier
	if !seq.ReadASN1Integer(&version) || !seq.ReadASN1ObjectIdentifier(&oid) {
		return nil, fmt.Errorf("DG13: no version and character set")
	}
	if !oid.Equal(oidUTF8) {
		return nil, fmt.Errorf("DG13: character set %v is not UTF-8", oid)
	}
	fields := seq
	if seq.PeekASN1Tag(cbasn1.SET) {
		if !seq.ReadASN1(&fields, cbasn1.SET) || !seq.Empty() {
			return nil, fmt.Errorf("DG13: malformed field set")
		}
	}
	d := &VNData{}
	count := 0
	for !fields.Empty() {
		if count++; count > dg13MaxFields {
			return nil, fmt.Errorf("DG13: more than %d fields", dg13MaxFields)
		}
		var f cryptobyte.String
		var n int64
		if !fields.ReadASN1(&f, cbasn1.SEQUENCE) || !f.ReadASN1Integer(&n) {
			return nil, fmt.Errorf("DG13: malformed field")
		}
		if n < 1 || n > 1000 {
			return nil, fmt.Errorf("DG13: field number %d", n)
		}
		row, known := dg13Row(int(n))
		if known && row.list != nil {
			var items cryptobyte.String
			if !f.ReadASN1(&items, cbasn1.SEQUENCE) || !f.Empty() {
				return nil, fmt.Errorf("DG13: field %d is not a SEQUENCE", n)
			}
			var list []string
			for !items.Empty() {
				s, err := readText(&items)
				if err != nil {
					return nil, fmt.Errorf("DG13: field %d: %w", n, err)
				}
				list = append(list, s)
			}
			*row.list(d) = list
			continue
		}
		s, err := readText(&f)
		if err != nil || !f.Empty() {
			return nil, fmt.Errorf("DG13: field %d: malformed text", n)
		}
		if known {
			*row.text(d) = s
			continue
		}
		if d.Unlisted == nil {
			d.Unlisted = map[int]string{}
		}
		d.Unlisted[int(n)] = s
	}
	return d, nil
}

func dg13Row(n int) (dg13Field, bool) {
	for _, f := range dg13Table {
		if f.Number == n {
			return f, true
		}
	}
	return dg13Field{}, false
}

// readText reads a UTF8String, PrintableString or OCTET STRING holding UTF-8.
func readText(s *cryptobyte.String) (string, error) {
	var v cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1(&v, &tag) {
		return "", fmt.Errorf("malformed element")
	}
	switch tag {
	case cbasn1.UTF8String, cbasn1.PrintableString, cbasn1.OCTET_STRING, cbasn1.Tag(22): // 22: IA5String
	default:
		return "", fmt.Errorf("tag %d is not text", tag)
	}
	if !utf8.Valid(v) {
		return "", fmt.Errorf("text is not UTF-8")
	}
	return string(v), nil
}

// Encode writes DG13 with every non-empty field in table order.
func (d *VNData) Encode() []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(oidUTF8)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			for _, f := range dg13Table {
				if f.list != nil {
					items := *f.list(d)
					if len(items) == 0 {
						continue
					}
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(int64(f.Number))
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							for _, s := range items {
								b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
							}
						})
					})
					continue
				}
				s := *f.text(d)
				if s == "" {
					continue
				}
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(int64(f.Number))
					b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
				})
			}
		})
	})
	return appendTLV(nil, dgTags[13], b.BytesOrPanic())
}

// ChipDate formats a date the way DG13 writes it: dd/mm/yyyy, mm/yyyy or
// yyyy when only part of it is known.
func ChipDate(d cancuoc.Date) string {
	switch {
	case d.IsZero():
		return ""
	case d.Month == 0:
		return fmt.Sprintf("%04d", d.Year)
	case d.Day == 0:
		return fmt.Sprintf("%02d/%04d", d.Month, d.Year)
	}
	return fmt.Sprintf("%02d/%02d/%04d", d.Day, d.Month, d.Year)
}

// ParseChipDate reads a DG13 date (dd/mm/yyyy, mm/yyyy or yyyy).
func ParseChipDate(s string) (cancuoc.Date, error) {
	parts := strings.Split(strings.TrimSpace(s), "/")
	slices.Reverse(parts)
	return cancuoc.ParseDate(strings.Join(parts, "-"))
}

// chipSex is how DG13 writes the sex.
func chipSex(s cancuoc.Sex) string {
	switch s {
	case cancuoc.Male:
		return "Nam"
	case cancuoc.Female:
		return "Nữ"
	}
	return ""
}

// Field returns a DG13 field by its table name ("full_name", "parents"…),
// lists joined by "; ".
func (d *VNData) Field(name string) (string, bool) {
	for _, f := range dg13Table {
		if f.Name != name {
			continue
		}
		if f.list != nil {
			return strings.Join(*f.list(d), "; "), true
		}
		return *f.text(d), true
	}
	if n, err := strconv.Atoi(name); err == nil {
		s, ok := d.Unlisted[n]
		return s, ok
	}
	return "", false
}
