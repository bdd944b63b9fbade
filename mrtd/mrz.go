package mrtd

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/vntext"
)

// TD1 line geometry (ICAO Doc 9303 Part 5): three lines of 30 characters.
const (
	td1Lines = 3
	td1Width = 30
)

// checkWeights is the repeating 7-3-1 weighting of Doc 9303 Part 3 §4.9.
var checkWeights = [3]int{7, 3, 1}

// mrzValue is the numeric value of an MRZ character for check digits:
// digits are themselves, A–Z are 10–35 and the filler '<' is 0. ok is false
// for a character outside the MRZ character set.
func mrzValue(c byte) (v int, ok bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10, true
	case c == '<':
		return 0, true
	}
	return 0, false
}

// CheckDigit computes the Doc 9303 check digit of s (weights 7, 3, 1,
// modulus 10). It returns an error for a character outside the MRZ set
// (digits, capital A–Z, '<'), rather than guessing a value for it.
func CheckDigit(s string) (byte, error) {
	sum := 0
	for i := 0; i < len(s); i++ {
		v, ok := mrzValue(s[i])
		if !ok {
			return 0, fmt.Errorf("character %q at %d is not in the MRZ character set", s[i], i)
		}
		sum += v * checkWeights[i%3]
	}
	return byte('0' + sum%10), nil
}

// TD1 is a parsed three-line machine-readable zone. Dates are kept as the
// six characters of the zone (YYMMDD, '<' for an unknown part) because the
// century is not written; BirthDate and ExpiryDate resolve it.
type TD1 struct {
	DocumentCode   string // "ID" on Vietnamese cards; "I<", "AC"… elsewhere
	IssuingState   string // "VNM"
	DocumentNumber string // fillers removed
	OptionalData1  string // line 1, positions 16–30, fillers kept
	BirthDate      string // YYMMDD
	Sex            string // "M", "F" or "<"
	ExpiryDate     string // YYMMDD
	Nationality    string
	OptionalData2  string // line 2, positions 19–29, fillers kept
	Surname        string // words separated by spaces
	GivenNames     string // words separated by spaces
	// PIN is the 12-digit personal identification number that Vietnamese
	// cards carry at the start of the optional data; empty for other cards.
	PIN string
	// PINCheckOK reports whether the character after the PIN and its two
	// fillers is the check digit of the PIN. Real cards carry a digit there
	// whose meaning is not in a published specification, so it is reported,
	// never treated as a failure.
	PINCheckOK bool
	// Lines are the three lines as read.
	Lines [3]string
}

// mrzField is one check-digit-protected field of the zone, for reporting.
type mrzField struct {
	name  string
	value string
	check byte
}

// ParseTD1 parses a TD1 zone given as three lines (separated by newlines;
// carriage returns and surrounding spaces are ignored) or as one string of
// 90 characters. It verifies the character set, each check digit and the
// composite check digit, and for Vietnamese cards (issuing state VNM) that
// the optional data opens with a 12-digit PIN whose last nine digits are the
// document number. Errors are *cancuoc.Error of kind Invalid naming the
// failed rule.
func ParseTD1(s string) (*TD1, error) {
	const op = "mrtd.ParseTD1"
	bad := func(code, vi, en string) (*TD1, error) {
		return nil, cancuoc.InvalidField(op, "mrz", code, vi, en)
	}
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(strings.TrimRight(l, "\r"))
		if l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 1 && len(lines[0]) == td1Lines*td1Width {
		l := lines[0]
		lines = []string{l[:30], l[30:60], l[60:]}
	}
	if len(lines) != td1Lines {
		return bad("mrz_lines", "Vùng đọc máy (MRZ) loại TD1 phải có 3 dòng.", "A TD1 machine-readable zone has 3 lines.")
	}
	var t TD1
	for i, l := range lines {
		if len(l) != td1Width {
			return bad("mrz_line_length",
				fmt.Sprintf("Dòng %d của MRZ phải có đúng 30 ký tự.", i+1),
				fmt.Sprintf("Line %d of the MRZ must have exactly 30 characters.", i+1))
		}
		for j := 0; j < len(l); j++ {
			if _, ok := mrzValue(l[j]); !ok {
				return bad("mrz_charset",
					fmt.Sprintf("Dòng %d, vị trí %d: ký tự không thuộc bộ ký tự MRZ (0–9, A–Z, <).", i+1, j+1),
					fmt.Sprintf("Line %d, position %d: character outside the MRZ set (0–9, A–Z, <).", i+1, j+1))
			}
		}
		t.Lines[i] = l
	}
	l1, l2, l3 := lines[0], lines[1], lines[2]
	t.DocumentCode = l1[0:2]
	t.IssuingState = strings.TrimRight(l1[2:5], "<")
	t.OptionalData1 = l1[15:30]
	t.BirthDate = l2[0:6]
	t.Sex = l2[7:8]
	t.ExpiryDate = l2[8:14]
	t.Nationality = strings.TrimRight(l2[15:18], "<")
	t.OptionalData2 = l2[18:29]
	if t.DocumentCode[0] != 'I' && t.DocumentCode[0] != 'A' && t.DocumentCode[0] != 'C' {
		return bad("mrz_document_code", "Mã loại giấy tờ TD1 phải bắt đầu bằng I, A hoặc C.",
			"A TD1 document code starts with I, A or C.")
	}
	if t.Sex != "M" && t.Sex != "F" && t.Sex != "<" {
		return bad("mrz_sex", "Giới tính trong MRZ phải là M, F hoặc <.", "The sex in the MRZ must be M, F or <.")
	}
	// A document number longer than nine characters continues in the
	// optional data, ended by its check digit, with '<' at position 15.
	number, numberCheck := l1[5:14], l1[14]
	if numberCheck == '<' {
		rest := strings.TrimRight(t.OptionalData1, "<")
		if len(rest) < 2 {
			return bad("mrz_document_number", "Số giấy tờ kéo dài không có chữ số kiểm tra.",
				"An extended document number has no check digit.")
		}
		number += rest[:len(rest)-1]
		numberCheck = rest[len(rest)-1]
	}
	t.DocumentNumber = strings.TrimRight(number, "<")
	checks := []mrzField{
		{"document_number", number, numberCheck},
		{"birth_date", t.BirthDate, l2[6]},
		{"expiry_date", t.ExpiryDate, l2[14]},
		{"composite", l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29]},
	}
	for _, c := range checks {
		want, _ := CheckDigit(c.value) // the charset was checked above
		if c.check != want {
			return bad("mrz_check_"+c.name,
				fmt.Sprintf("Chữ số kiểm tra sai (%s).", c.name),
				fmt.Sprintf("Wrong check digit (%s).", c.name))
		}
	}
	if err := checkDate(t.BirthDate); err != nil {
		return bad("mrz_birth_date", "Ngày sinh trong MRZ không hợp lệ.", "The date of birth in the MRZ is not valid.")
	}
	if err := checkDate(t.ExpiryDate); err != nil {
		return bad("mrz_expiry_date", "Ngày hết hạn trong MRZ không hợp lệ.", "The expiry date in the MRZ is not valid.")
	}
	surname, given, _ := strings.Cut(l3, "<<")
	t.Surname = strings.Join(strings.FieldsFunc(surname, isFiller), " ")
	t.GivenNames = strings.Join(strings.FieldsFunc(given, isFiller), " ")
	if t.IssuingState == "VNM" {
		pin := t.OptionalData1[:12]
		if !allDigits(pin) {
			return bad("mrz_pin", "Dữ liệu tùy chọn của thẻ Việt Nam phải bắt đầu bằng số định danh 12 chữ số.",
				"The optional data of a Vietnamese card must start with the 12-digit PIN.")
		}
		if pin[3:] != t.DocumentNumber {
			return bad("mrz_pin_number", "Số thẻ phải là 9 chữ số cuối của số định danh.",
				"The card number must be the last 9 digits of the PIN.")
		}
		t.PIN = pin
		want, _ := CheckDigit(pin)
		t.PINCheckOK = t.OptionalData1[14] == want && t.OptionalData1[12:14] == "<<"
	}
	return &t, nil
}

func isFiller(r rune) bool { return r == '<' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// checkDate accepts YYMMDD where the month and day may be unknown ("<<"),
// as ICAO allows for partial dates of birth.
func checkDate(s string) error {
	if s == "<<<<<<" {
		return nil // unknown (a card that never expires)
	}
	if len(s) != 6 || !allDigits(s[:2]) {
		return fmt.Errorf("bad date")
	}
	m, d := s[2:4], s[4:6]
	if m == "<<" {
		if d != "<<" {
			return fmt.Errorf("day without month")
		}
		return nil
	}
	if !allDigits(m) || m < "01" || m > "12" {
		return fmt.Errorf("bad month")
	}
	if d == "<<" {
		return nil
	}
	if !allDigits(d) || d < "01" || d > "31" {
		return fmt.Errorf("bad day")
	}
	return nil
}

// String returns the three lines joined by newlines.
func (t *TD1) String() string { return strings.Join(t.Lines[:], "\n") }

// Date resolves a YYMMDD field of the zone to a (possibly partial) date.
// The zone does not write the century: pivot is the first year the two
// digits may mean (for a birth date, 100 years before today; for an expiry,
// the year of issue or today minus some years).
func Date(yymmdd string, pivot int) cancuoc.Date {
	if len(yymmdd) != 6 || !allDigits(yymmdd[:2]) {
		return cancuoc.Date{}
	}
	yy := int(yymmdd[0]-'0')*10 + int(yymmdd[1]-'0')
	y := pivot - pivot%100 + yy
	if y < pivot {
		y += 100
	}
	d := cancuoc.Date{Year: y}
	if allDigits(yymmdd[2:4]) {
		d.Month = int(yymmdd[2]-'0')*10 + int(yymmdd[3]-'0')
		if allDigits(yymmdd[4:6]) {
			d.Day = int(yymmdd[4]-'0')*10 + int(yymmdd[5]-'0')
		}
	}
	return d
}

// Birth resolves the date of birth: the latest century that does not put
// it after now (a person born in 2026 or 1926 is told apart by the PIN, not
// by the zone; for Vietnamese cards use the PIN's century).
func (t *TD1) Birth(now time.Time) cancuoc.Date {
	if len(t.PIN) == 12 {
		return Date(t.BirthDate, cancuoc.PIN(t.PIN).BirthYear()/100*100)
	}
	d := Date(t.BirthDate, now.Year()-99)
	if d.After(now) {
		d.Year -= 100
	}
	return d
}

// Expiry resolves the expiry date within the century starting 50 years
// before now; the zero date when the card never expires.
func (t *TD1) Expiry(now time.Time) cancuoc.Date {
	return Date(t.ExpiryDate, now.Year()-50)
}

// MRZName transliterates a name into the MRZ character set: Vietnamese
// letters lose their marks (Đ → D), letters become capitals, spaces and
// hyphens become the filler '<', and other punctuation (the apostrophe of
// H'Mông names) is dropped, as Doc 9303 Part 3 §4.6 says.
func MRZName(s string) string {
	s = strings.ToUpper(vntext.StripDiacritics(vntext.CleanName(s)))
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r == ' ' || r == '-':
			b.WriteByte('<')
		case unicode.IsLetter(r):
			// A letter with no ASCII base (none in Vietnamese) is dropped
			// rather than written outside the character set.
		}
	}
	return b.String()
}

// NameLine is line 3 of the zone for a Vietnamese full name, as NewTD1
// writes it; verifiers compare a card's line with it.
func NameLine(fullName string) string { return nameLine(fullName) }

// nameLine composes line 3 from a Vietnamese full name: the first word is
// the surname (Vietnamese names are written family name first), the rest
// are given names. A name too long is cut at 30 characters, as Doc 9303
// allows when the primary identifier stays whole.
func nameLine(fullName string) string {
	words := strings.Fields(vntext.CleanName(fullName))
	line := ""
	if len(words) > 0 {
		line = MRZName(words[0]) + "<<" + MRZName(strings.Join(words[1:], " "))
	}
	return pad(line, td1Width)
}

// pad fills s with '<' to n characters, cutting it if longer.
func pad(s string, n int) string {
	if len(s) >= n {
		return s[:n]
	}
	return s + strings.Repeat("<", n-len(s))
}

// mrzDate writes a possibly partial date as YYMMDD with '<' for unknown
// parts; the zero date (no expiry) is all fillers.
func mrzDate(d cancuoc.Date) string {
	if d.IsZero() {
		return "<<<<<<"
	}
	s := fmt.Sprintf("%02d", d.Year%100)
	if d.Month == 0 {
		return s + "<<<<"
	}
	s += fmt.Sprintf("%02d", d.Month)
	if d.Day == 0 {
		return s + "<<"
	}
	return s + fmt.Sprintf("%02d", d.Day)
}

// NewTD1 composes the zone of a Vietnamese card for a citizen: document
// code ID, state VNM, the last nine digits of the PIN as the card number,
// the PIN in the optional data followed by its check digit, birth date,
// sex, expiry (all fillers for a card that never expires, issued from age
// 58), nationality VNM and the transliterated name.
func NewTD1(c *cancuoc.Citizen, expiry cancuoc.Date) (*TD1, error) {
	const op = "mrtd.NewTD1"
	pin := string(c.PIN)
	if len(pin) != 12 || !allDigits(pin) {
		return nil, cancuoc.InvalidField(op, "pin", "pin_format",
			"Số định danh cá nhân phải gồm đúng 12 chữ số.", "A personal identification number has exactly 12 digits.")
	}
	number := pin[3:]
	nc, _ := CheckDigit(number)
	pc, _ := CheckDigit(pin)
	opt1 := pin + "<<" + string(pc)
	l1 := "IDVNM" + number + string(nc) + opt1
	sex := "<"
	switch c.Sex {
	case cancuoc.Male:
		sex = "M"
	case cancuoc.Female:
		sex = "F"
	}
	dob, exp := mrzDate(c.BirthDate), mrzDate(expiry)
	dc, _ := CheckDigit(dob)
	ec, _ := CheckDigit(exp)
	opt2 := strings.Repeat("<", 11)
	l2 := dob + string(dc) + sex + exp + string(ec) + "VNM" + opt2
	comp, _ := CheckDigit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
	l2 += string(comp)
	return ParseTD1(l1 + "\n" + l2 + "\n" + nameLine(c.FullName))
}
