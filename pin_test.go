package cancuoc_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// nowYear is the "current year" the PIN tests parse against, fixed so the
// tests do not change meaning as time passes.
const nowYear = 2026

// errCode returns the Code and Field of err's *cancuoc.Error, failing the
// test when err is not one.
func errCode(t *testing.T, err error) (code, field string, kind cancuoc.Kind) {
	t.Helper()
	var e *cancuoc.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *cancuoc.Error", err, err)
	}
	return e.Code, e.Field, e.Kind
}

func TestParsePIN(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code string // "" means valid
	}{
		{"valid Hà Nội male 2003", "001203012345", ""},
		{"valid Cà Mau female 1985", "096185000001", ""},
		{"valid surrounding space trimmed", " 001203012345 ", ""},
		{"valid this year", "079226999999", ""},
		{"11 digits", "00120301234", "pin_format"},
		{"13 digits", "0012030123456", "pin_format"},
		{"empty", "", "pin_format"},
		{"letters", "00120301234a", "pin_format"},
		{"all letters", "abcdefghijkl", "pin_format"},
		{"inner space", "001203 12345", "pin_format"},
		{"sign", "+01203012345", "pin_format"},
		{"non-ASCII digits", "００１２０３０１２３４５", "pin_format"},
		{"unknown province 003", "003203012345", "pin_region_unknown"},
		{"unknown province 000", "000203012345", "pin_region_unknown"},
		{"unknown province 099", "099203012345", "pin_region_unknown"},
		{"country code 101", "101203012345", ""},
		{"country code 295", "295203012345", ""},
		{"country code 100", "100203012345", "pin_region_unknown"},
		{"country code 296", "296203012345", "pin_region_unknown"},
		{"country code 999", "999203012345", "pin_region_unknown"},
		{"future year 2027", "001227012345", "pin_year_future"},
		{"next century", "001400012345", "pin_year_future"},
		{"2300s", "001900012345", "pin_year_future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := cancuoc.ParsePIN(tt.in, nowYear)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("ParsePIN(%q) = %v, want valid", tt.in, err)
				}
				if len(p) != 12 {
					t.Fatalf("ParsePIN(%q) = %q, want 12 digits", tt.in, p)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParsePIN(%q) = %q, want error %s", tt.in, p, tt.code)
			}
			code, field, kind := errCode(t, err)
			if code != tt.code || kind != cancuoc.Invalid || field != "pin" {
				t.Fatalf("ParsePIN(%q): code %q kind %v field %q, want %q invalid pin (%v)", tt.in, code, kind, field, tt.code, err)
			}
			if !errors.Is(err, cancuoc.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			if p != "" {
				t.Errorf("ParsePIN returned %q with an error", p)
			}
		})
	}
}

func TestPINDecode(t *testing.T) {
	for g := 0; g <= 9; g++ {
		t.Run(fmt.Sprint("G=", g), func(t *testing.T) {
			s := fmt.Sprintf("001%d85123456", g)
			p, err := cancuoc.ParsePIN(s, 9999)
			if err != nil {
				t.Fatal(err)
			}
			wantYear := []int{1985, 1985, 2085, 2085, 2185, 2185, 2285, 2285, 2385, 2385}[g]
			wantSex := cancuoc.Male
			if g%2 == 1 {
				wantSex = cancuoc.Female
			}
			if y := p.BirthYear(); y != wantYear {
				t.Errorf("BirthYear = %d, want %d", y, wantYear)
			}
			if sx := p.Sex(); sx != wantSex {
				t.Errorf("Sex = %q, want %q", sx, wantSex)
			}
			if r := p.Region(); r != "001" {
				t.Errorf("Region = %q", r)
			}
			if pc := p.ProvinceCode(); pc != "01" {
				t.Errorf("ProvinceCode = %q", pc)
			}
			if sr := p.Serial(); sr != "123456" {
				t.Errorf("Serial = %q", sr)
			}
			if p.String() != s {
				t.Errorf("String = %q", p.String())
			}
		})
	}
	abroad, err := cancuoc.ParsePIN("203300000007", nowYear)
	if err != nil {
		t.Fatal(err)
	}
	if abroad.ProvinceCode() != "" || abroad.Region() != "203" {
		t.Errorf("abroad: ProvinceCode %q Region %q, want \"\" and 203", abroad.ProvinceCode(), abroad.Region())
	}
	if abroad.Sex() != cancuoc.Female || abroad.BirthYear() != 2000 {
		t.Errorf("abroad: %v %d", abroad.Sex(), abroad.BirthYear())
	}
}

func TestNewPINRoundTrip(t *testing.T) {
	for _, region := range []string{"001", "079", "096", "101", "295"} {
		for _, sex := range []cancuoc.Sex{cancuoc.Male, cancuoc.Female} {
			for _, year := range []int{1900, 1999, 2000, 2024, 2099, 2100, 2399} {
				for _, serial := range []uint32{0, 7, 999999} {
					p, err := cancuoc.NewPIN(region, sex, year, serial)
					if err != nil {
						t.Fatalf("NewPIN(%s,%s,%d,%d): %v", region, sex, year, serial, err)
					}
					q, err := cancuoc.ParsePIN(p.String(), 9999)
					if err != nil || q != p {
						t.Fatalf("ParsePIN(NewPIN) = %q, %v; want %q", q, err, p)
					}
					if p.Region() != region || p.Sex() != sex || p.BirthYear() != year || p.Serial() != fmt.Sprintf("%06d", serial) {
						t.Errorf("NewPIN(%s,%s,%d,%d) = %s decodes to %s %s %d %s", region, sex, year, serial, p,
							p.Region(), p.Sex(), p.BirthYear(), p.Serial())
					}
					if err := p.CheckPerson(sex, cancuoc.Date{Year: year}); err != nil {
						t.Errorf("CheckPerson of its own data: %v", err)
					}
				}
			}
		}
	}
	bad := []struct {
		name   string
		region string
		sex    cancuoc.Sex
		year   int
		serial uint32
		field  string
		code   string
	}{
		{"unknown province", "003", cancuoc.Male, 2000, 1, "region", "pin_region_unknown"},
		{"country 100", "100", cancuoc.Male, 2000, 1, "region", "pin_region_unknown"},
		{"country 296", "296", cancuoc.Male, 2000, 1, "region", "pin_region_unknown"},
		{"short region", "01", cancuoc.Male, 2000, 1, "region", "pin_region_unknown"},
		{"year 1899", "001", cancuoc.Male, 1899, 1, "birth_date", "pin_year_range"},
		{"year 2400", "001", cancuoc.Female, 2400, 1, "birth_date", "pin_year_range"},
		{"sex unknown", "001", cancuoc.SexUnknown, 2000, 1, "sex", "pin_sex_required"},
		{"sex garbage", "001", cancuoc.Sex("x"), 2000, 1, "sex", "pin_sex_required"},
		{"serial too big", "001", cancuoc.Male, 2000, 1000000, "serial", "pin_serial_range"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p, err := cancuoc.NewPIN(tt.region, tt.sex, tt.year, tt.serial)
			if err == nil {
				t.Fatalf("NewPIN = %q, want error", p)
			}
			code, field, kind := errCode(t, err)
			if code != tt.code || field != tt.field || kind != cancuoc.Invalid {
				t.Errorf("got %s/%s/%v, want %s/%s/invalid", code, field, kind, tt.code, tt.field)
			}
		})
	}
}

func TestCheckPerson(t *testing.T) {
	male2003 := cancuoc.PIN("001203012345") // G=2: 2000s male
	tests := []struct {
		name string
		pin  cancuoc.PIN
		sex  cancuoc.Sex
		date cancuoc.Date
		code string
	}{
		{"agrees", male2003, cancuoc.Male, cancuoc.Date{Year: 2003, Month: 5, Day: 1}, ""},
		{"unknown sex and date", male2003, cancuoc.SexUnknown, cancuoc.Date{}, ""},
		{"year only", male2003, cancuoc.Male, cancuoc.Date{Year: 2003}, ""},
		{"sex mismatch", male2003, cancuoc.Female, cancuoc.Date{Year: 2003}, "pin_sex_mismatch"},
		{"year mismatch", male2003, cancuoc.Male, cancuoc.Date{Year: 2004}, "pin_year_mismatch"},
		{"century mismatch", male2003, cancuoc.Male, cancuoc.Date{Year: 1903}, "pin_year_mismatch"},
		{"sex checked first", male2003, cancuoc.Female, cancuoc.Date{Year: 1990}, "pin_sex_mismatch"},
		{"female 1900s", "001185000001", cancuoc.Female, cancuoc.Date{Year: 1985, Month: 2}, ""},
		{"female PIN, male record", "001185000001", cancuoc.Male, cancuoc.Date{Year: 1985}, "pin_sex_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.pin.CheckPerson(tt.sex, tt.date)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CheckPerson = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckPerson = nil, want %s", tt.code)
			}
			code, field, kind := errCode(t, err)
			if code != tt.code || field != "pin" || kind != cancuoc.Invalid {
				t.Errorf("got %s/%s/%v, want %s/pin/invalid", code, field, kind, tt.code)
			}
		})
	}
}

func TestValidPINRegion(t *testing.T) {
	for code, want := range map[string]bool{
		"001": true, "096": true, "079": true, "002": true, // 002 Hà Giang: old set, still valid in PINs
		"003": false, "097": false, "101": true, "295": true, "100": false, "296": false,
		"": false, "01": false, "0011": false, "0a1": false,
	} {
		if got := cancuoc.ValidPINRegion(code); got != want {
			t.Errorf("ValidPINRegion(%q) = %v, want %v", code, got, want)
		}
	}
}

// FuzzParsePIN checks that ParsePIN never panics on outside input, and that
// a PIN it accepts re-serialises to a string that parses to the same PIN
// and decodes without panicking.
func FuzzParsePIN(f *testing.F) {
	for _, s := range []string{"001203012345", "096185000001", "101203012345", "295999999999",
		"003203012345", "00120301234", "0012030123456", "abcdefghijkl", " 001203012345\n", "", "\x00", "001９03012345"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := cancuoc.ParsePIN(s, nowYear)
		if err != nil {
			if cancuoc.KindOf(err) != cancuoc.Invalid {
				t.Fatalf("ParsePIN(%q) error of kind %v, want invalid", s, cancuoc.KindOf(err))
			}
			return
		}
		q, err := cancuoc.ParsePIN(p.String(), nowYear)
		if err != nil || q != p {
			t.Fatalf("ParsePIN(%q) = %q, but reparsing gives %q, %v", s, p, q, err)
		}
		if y := p.BirthYear(); y < 1900 || y > nowYear {
			t.Fatalf("ParsePIN(%q) accepted birth year %d", s, y)
		}
		_ = p.Sex()
		_ = p.ProvinceCode()
		if !cancuoc.ValidPINRegion(p.Region()) {
			t.Fatalf("ParsePIN(%q) accepted region %q", s, p.Region())
		}
	})
}
