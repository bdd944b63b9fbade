package mrtd

import (
	"errors"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// The check-digit examples of ICAO Doc 9303 Part 3 §4.9 and the fields of
// the TD1 and TD3 specimens, each recomputed by hand with weights 7-3-1:
// D23145890 → 7, 740812 → 2, 120415 → 9, L898902C3 → 6, 520727 → 3.
func TestCheckDigit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want byte
	}{
		{"D23145890", '7'},
		{"740812", '2'},
		{"120415", '9'},
		{"L898902C3", '6'},
		{"520727", '3'},
		{"<<<<<<", '0'},
		{"", '0'},
	} {
		got, err := CheckDigit(c.in)
		if err != nil || got != c.want {
			t.Errorf("CheckDigit(%q) = %c, %v; want %c", c.in, got, err, c.want)
		}
	}
	if _, err := CheckDigit("ab"); err == nil {
		t.Error("lower case accepted")
	}
}

// The TD1 specimen of Doc 9303 Part 5 (Anna Maria Eriksson, Utopia).
const specimen = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"

func TestParseTD1Specimen(t *testing.T) {
	m, err := ParseTD1(specimen)
	if err != nil {
		t.Fatal(err)
	}
	want := TD1{DocumentCode: "I<", IssuingState: "UTO", DocumentNumber: "D23145890", BirthDate: "740812",
		Sex: "F", ExpiryDate: "120415", Nationality: "UTO", Surname: "ERIKSSON", GivenNames: "ANNA MARIA"}
	if m.DocumentCode != want.DocumentCode || m.IssuingState != want.IssuingState || m.DocumentNumber != want.DocumentNumber ||
		m.BirthDate != want.BirthDate || m.Sex != want.Sex || m.ExpiryDate != want.ExpiryDate ||
		m.Nationality != want.Nationality || m.Surname != want.Surname || m.GivenNames != want.GivenNames {
		t.Fatalf("got %+v", m)
	}
	if m.String() != specimen {
		t.Fatal("lines not kept")
	}
	if d := Date(m.BirthDate, 1926); d != (cancuoc.Date{Year: 1974, Month: 8, Day: 12}) {
		t.Fatalf("birth date %v", d)
	}
	// One string of 90 characters is accepted too.
	if _, err := ParseTD1(strings.ReplaceAll(specimen, "\n", "")); err != nil {
		t.Fatal(err)
	}
}

func TestParseTD1Errors(t *testing.T) {
	lines := strings.Split(specimen, "\n")
	set := func(line, pos int, c byte) string {
		l := []byte(lines[line])
		l[pos] = c
		cp := append([]string(nil), lines...)
		cp[line] = string(l)
		return strings.Join(cp, "\n")
	}
	for _, c := range []struct{ name, in, code string }{
		{"two lines", lines[0] + "\n" + lines[1], "mrz_lines"},
		{"short line", lines[0][:29] + "\n" + lines[1] + "\n" + lines[2], "mrz_line_length"},
		{"lower case", set(2, 0, 'e'), "mrz_charset"},
		{"number check", set(0, 14, '8'), "mrz_check_document_number"},
		{"number changed", set(0, 6, '3'), "mrz_check_document_number"},
		{"birth check", set(1, 6, '3'), "mrz_check_birth_date"},
		{"expiry check", set(1, 14, '0'), "mrz_check_expiry_date"},
		{"composite", set(1, 29, '5'), "mrz_check_composite"},
		{"optional data changed", set(0, 20, 'X'), "mrz_check_composite"},
		{"sex", set(1, 7, 'X'), "mrz_sex"},
		{"month", strings.Join([]string{lines[0], "7413122F1204159UTO<<<<<<<<<<<6", lines[2]}, "\n"), ""},
	} {
		_, err := ParseTD1(c.in)
		var e *cancuoc.Error
		if !errors.As(err, &e) || e.Kind != cancuoc.Invalid || (c.code != "" && e.Code != c.code) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestVietnameseMRZ(t *testing.T) {
	c := &cancuoc.Citizen{PIN: "001203012345", FullName: "Đặng Thị Ngọc Ánh", Sex: cancuoc.Female,
		BirthDate: cancuoc.Date{Year: 2003, Month: 5, Day: 17}}
	m, err := NewTD1(c, cancuoc.Date{Year: 2028, Month: 5, Day: 17})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range m.Lines {
		if len(l) != 30 {
			t.Fatalf("line %d: %q", i, l)
		}
	}
	if !strings.HasPrefix(m.Lines[0], "IDVNM203012345") || m.Lines[2] != "DANG<<THI<NGOC<ANH<<<<<<<<<<<<" {
		t.Fatalf("zone:\n%s", m)
	}
	if m.PIN != "001203012345" || m.DocumentNumber != "203012345" || !m.PINCheckOK || m.Sex != "F" {
		t.Fatalf("%+v", m)
	}
	// The document number must be the PIN's last nine digits.
	l1 := []byte(m.Lines[0])
	l1[15] = '9' // first digit of the PIN in the optional data
	bad := string(l1) + "\n" + m.Lines[1] + "\n" + m.Lines[2]
	if _, err := ParseTD1(bad); err == nil {
		t.Fatal("changed PIN accepted (composite should fail)")
	}
	// A card that never expires and a birth date known only by year.
	c.BirthDate = cancuoc.Date{Year: 1950}
	c.PIN = "001150012345"
	m, err = NewTD1(c, cancuoc.Date{})
	if err != nil {
		t.Fatal(err)
	}
	if m.BirthDate != "50<<<<" || m.ExpiryDate != "<<<<<<" {
		t.Fatalf("%+v", m)
	}
}

func TestMRZName(t *testing.T) {
	for in, want := range map[string]string{
		"Nguyễn Văn Đức": "NGUYEN<VAN<DUC",
		"H'Mông":         "HMONG",
		"Trần-Lê  Thị":   "TRAN<LE<THI",
		"Đoàn Ngọc Ánh":  "DOAN<NGOC<ANH",
		"Ksor H'Bia":     "KSOR<HBIA",
	} {
		if got := MRZName(in); got != want {
			t.Errorf("MRZName(%q) = %q, want %q", in, got, want)
		}
	}
	long := nameLine("Nguyễn Hoàng Phương Thảo Nguyên Khánh Linh Chi")
	if len(long) != 30 || !strings.HasPrefix(long, "NGUYEN<<HOANG<PHUONG") {
		t.Fatalf("%q", long)
	}
}

func FuzzParseTD1(f *testing.F) {
	f.Add(specimen)
	f.Add(strings.ReplaceAll(specimen, "\n", ""))
	f.Add("IDVNM2030123459001203012345<<7\n0305171F2805170VNM<<<<<<<<<<<4\nDANG<<THI<NGOC<ANH<<<<<<<<<<<<")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseTD1(s)
		if err != nil {
			return
		}
		// Whatever parses must parse again from its own lines to the same.
		again, err := ParseTD1(m.String())
		if err != nil || *again != *m {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
