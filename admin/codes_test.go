package admin

import (
	"fmt"
	"testing"
)

func TestCodeLists(t *testing.T) {
	lists := []struct {
		name string
		all  []Code
		get  func(string) (Code, bool)
		n    int
	}{
		{"ethnicities", Ethnicities(), Ethnicity, 54},
		{"religions", Religions(), Religion, 17},
		{"nationalities", Nationalities(), Nationality, 249},
		{"blood types", BloodTypes(), BloodType, 8},
	}
	for _, l := range lists {
		if len(l.all) != l.n {
			t.Errorf("%s: %d entries, want %d", l.name, len(l.all), l.n)
		}
		seen := map[string]bool{}
		for _, c := range l.all {
			if seen[c.Code] {
				t.Errorf("%s: code %q repeated", l.name, c.Code)
			}
			seen[c.Code] = true
			if c.Name == "" || c.NameEn == "" {
				t.Errorf("%s: code %q lacks a name: %+v", l.name, c.Code, c)
			}
			if got, ok := l.get(c.Code); !ok || got != c {
				t.Errorf("%s: lookup %q = %+v, %v", l.name, c.Code, got, ok)
			}
		}
		if _, ok := l.get(""); ok {
			t.Errorf("%s: empty code found", l.name)
		}
	}
}

func TestEthnicities(t *testing.T) {
	es := Ethnicities()
	for i, e := range es {
		if want := fmt.Sprintf("%02d", i+1); e.Code != want {
			t.Errorf("ethnicity %d has code %q, want %q", i, e.Code, want)
		}
	}
	want := map[string]string{
		"01": "Kinh", "02": "Tày", "03": "Thái", "04": "Hoa", "05": "Khmer", "06": "Mường",
		"07": "Nùng", "08": "H'Mông", "09": "Dao", "10": "Gia Rai", "53": "Ơ Đu", "54": "Rơ Măm",
	}
	for code, name := range want {
		if e, ok := Ethnicity(code); !ok || e.Name != name {
			t.Errorf("Ethnicity(%s) = %+v, want %s", code, e, name)
		}
	}
}

func TestReligionsAndOthers(t *testing.T) {
	if r, ok := Religion("00"); !ok || r.Name != "Không" {
		t.Errorf("Religion(00) = %+v, %v", r, ok)
	}
	for code, en := range map[string]string{"VNM": "Vietnam", "USA": "United States", "FRA": "France", "KOR": "South Korea"} {
		if c, ok := Nationality(code); !ok || c.NameEn != en || c.Name == "" {
			t.Errorf("Nationality(%s) = %+v, %v", code, c, ok)
		}
	}
	if c, _ := Nationality("VNM"); c.Name != "Việt Nam" {
		t.Errorf("Nationality(VNM).Name = %q", c.Name)
	}
	for _, gone := range []string{"SUN", "YUG", "ZZZ", "XKK"} {
		if _, ok := Nationality(gone); ok {
			t.Errorf("Nationality(%s) should not exist", gone)
		}
	}
	for _, bt := range []string{"A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"} {
		if _, ok := BloodType(bt); !ok {
			t.Errorf("BloodType(%s) missing", bt)
		}
	}
}
