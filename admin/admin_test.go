package admin

import (
	"slices"
	"strings"
	"testing"
)

func TestCounts(t *testing.T) {
	count := func(s *Set) (p, d, c int) {
		for _, pr := range s.Provinces() {
			p++
			d += len(s.Districts(pr.Code))
			c += len(s.Communes(pr.Code))
		}
		return
	}
	if p, d, c := count(Old()); p != 63 || d != 696 || c != 10047 {
		t.Errorf("old set: %d provinces, %d districts, %d communes; want 63, 696, 10047", p, d, c)
	}
	if p, d, c := count(Current()); p != 34 || d != 0 || c != 3321 {
		t.Errorf("current set: %d provinces, %d districts, %d communes; want 34, 0, 3321", p, d, c)
	}
	if Old().Name() != "63" || Current().Name() != "34" {
		t.Errorf("set names %q, %q", Old().Name(), Current().Name())
	}
}

func TestLookups(t *testing.T) {
	tests := []struct {
		set                                    *Set
		level                                  Level
		code, name, full, nameEn, typ, prov, d string
	}{
		{Old(), LevelProvince, "01", "Hà Nội", "Thành phố Hà Nội", "Ha Noi", "Thành phố Trung ương", "", ""},
		{Old(), LevelProvince, "79", "Hồ Chí Minh", "Thành phố Hồ Chí Minh", "Ho Chi Minh", "Thành phố Trung ương", "", ""},
		{Old(), LevelProvince, "66", "Đắk Lắk", "Tỉnh Đắk Lắk", "Dak Lak", "Tỉnh", "", ""},
		{Old(), LevelDistrict, "001", "Ba Đình", "Quận Ba Đình", "Ba Dinh", "Quận", "01", ""},
		{Old(), LevelCommune, "00001", "Phúc Xá", "Phường Phúc Xá", "Phuc Xa", "Phường", "01", "001"},
		{Old(), LevelCommune, "27046", "Phường 5", "Phường 5", "Ward 5", "Phường", "79", "768"},
		{Current(), LevelProvince, "01", "Hà Nội", "Thành phố Hà Nội", "Hanoi", "Thành phố Trung ương", "", ""},
		{Current(), LevelCommune, "00004", "Ba Đình", "Phường Ba Đình", "Ba Dinh", "Phường", "01", ""},
		{Current(), LevelCommune, "26732", "Côn Đảo", "Đặc khu Côn Đảo", "Con Dao", "Đặc khu", "79", ""},
	}
	for _, tt := range tests {
		var u Unit
		var ok bool
		switch tt.level {
		case LevelProvince:
			u, ok = tt.set.Province(tt.code)
		case LevelDistrict:
			u, ok = tt.set.District(tt.code)
		case LevelCommune:
			u, ok = tt.set.Commune(tt.code)
		}
		if !ok {
			t.Errorf("set %s: %s %s not found", tt.set.Name(), tt.level, tt.code)
			continue
		}
		want := Unit{Code: tt.code, Name: tt.name, FullName: tt.full, NameEn: tt.nameEn, Type: tt.typ,
			Level: tt.level, ProvinceCode: tt.prov, DistrictCode: tt.d, FullNameEn: u.FullNameEn}
		if u != want {
			t.Errorf("set %s %s %s = %+v, want %+v", tt.set.Name(), tt.level, tt.code, u, want)
		}
		if u.FullNameEn == "" {
			t.Errorf("set %s %s %s: empty FullNameEn", tt.set.Name(), tt.level, tt.code)
		}
	}
	for _, miss := range []func() bool{
		func() bool { _, ok := Old().Province("00"); return ok },
		func() bool { _, ok := Old().Commune("99999"); return ok },
		func() bool { _, ok := Current().District("001"); return ok },
		func() bool { _, ok := Current().Province("02"); return ok }, // Hà Giang merged into Tuyên Quang
	} {
		if miss() {
			t.Error("lookup of a missing code succeeded")
		}
	}
}

func TestHierarchyConsistent(t *testing.T) {
	for _, s := range []*Set{Old(), Current()} {
		ps := s.Provinces()
		if !slices.IsSortedFunc(ps, func(a, b Unit) int { return strings.Compare(a.Code, b.Code) }) {
			t.Errorf("set %s: provinces not sorted", s.Name())
		}
		for _, p := range ps {
			if len(p.Code) != 2 || p.Level != LevelProvince || p.Name == "" || p.NameEn == "" {
				t.Errorf("set %s: bad province %+v", s.Name(), p)
			}
			for _, d := range s.Districts(p.Code) {
				if len(d.Code) != 3 || d.ProvinceCode != p.Code {
					t.Errorf("set %s: bad district %+v", s.Name(), d)
				}
			}
			cs := s.Communes(p.Code)
			if !slices.IsSortedFunc(cs, func(a, b Unit) int { return strings.Compare(a.Code, b.Code) }) {
				t.Errorf("set %s: communes of %s not sorted", s.Name(), p.Code)
			}
			for _, c := range cs {
				if len(c.Code) != 5 || c.ProvinceCode != p.Code || c.Name == "" || c.NameEn == "" || c.Type == "" {
					t.Errorf("set %s: bad commune %+v", s.Name(), c)
				}
				if s == Old() {
					if d, ok := s.District(c.DistrictCode); !ok || d.ProvinceCode != p.Code {
						t.Errorf("old commune %s: district %q missing or in another province", c.Code, c.DistrictCode)
					}
				} else if c.DistrictCode != "" {
					t.Errorf("current commune %s has a district %q", c.Code, c.DistrictCode)
				}
			}
		}
	}
}

// crossProvince lists old communes the source maps outside their province's
// successor; flagged in data/SOURCES.md as unverified. A new entry here needs
// checking against the National Assembly resolution for that province.
var crossProvince = map[string]bool{
	"30622": true, // Xã Tân Phú (An Giang) → Xã Tân Phú Trung (Đồng Tháp)
}

func TestMappingCoverage(t *testing.T) {
	reached := map[string]bool{}
	for _, p := range Old().Provinces() {
		nps := NewProvincesOf(p.Code)
		if len(nps) == 0 {
			t.Errorf("old province %s maps to no current province", p.Code)
			continue
		}
		for _, c := range Old().Communes(p.Code) {
			ncs := NewCommunesOf(c.Code)
			if len(ncs) == 0 {
				t.Errorf("old commune %s maps to no current commune", c.Code)
			}
			for _, nc := range ncs {
				reached[nc.Code] = true
				if !slices.ContainsFunc(nps, func(np Unit) bool { return np.Code == nc.ProvinceCode }) && !crossProvince[c.Code] {
					t.Errorf("old commune %s (province %s) maps to %s in province %s, not among %v",
						c.Code, p.Code, nc.Code, nc.ProvinceCode, nps)
				}
			}
		}
		// Island districts without communes map as a whole.
		for _, d := range Old().Districts(p.Code) {
			for _, nc := range NewCommunesOfDistrict(d.Code) {
				reached[nc.Code] = true
			}
		}
	}
	for _, p := range Current().Provinces() {
		for _, c := range Current().Communes(p.Code) {
			if !reached[c.Code] {
				t.Errorf("current commune %s %s is reached by no old unit", c.Code, c.FullName)
			}
		}
	}
	if got := NewCommunesOfDistrict("755"); len(got) != 1 || got[0].Code != "26732" {
		t.Errorf("NewCommunesOfDistrict(755 Côn Đảo) = %v", got)
	}
	if NewCommunesOfDistrict("001") != nil || NewCommunesOf("99999") != nil || NewProvincesOf("00") != nil {
		t.Error("unknown codes should map to nil")
	}
	if got := NewProvincesOf("02"); len(got) != 1 || got[0].Code != "08" {
		t.Errorf("NewProvincesOf(02 Hà Giang) = %v, want Tuyên Quang 08", got)
	}
}

func TestToCurrent(t *testing.T) {
	tests := []struct {
		oldProv, oldComm string
		newProv, newComm string
		exact            bool
	}{
		{"01", "00001", "01", "00097", true},  // Phúc Xá → Hồng Hà
		{"", "00001", "01", "00097", true},    // province inferred from the commune
		{"01", "00007", "01", "00008", false}, // Cống Vị split: Ngọc Hà, Giảng Võ
		{"01", "", "01", "", false},           // province only
		{"02", "", "08", "", false},           // Hà Giang → Tuyên Quang
		{"79", "00001", "", "", false},        // commune not in that province
		{"01", "99999", "", "", false},
		{"00", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, tt := range tests {
		p, c, ex := ToCurrent(tt.oldProv, tt.oldComm)
		if p != tt.newProv || c != tt.newComm || ex != tt.exact {
			t.Errorf("ToCurrent(%q, %q) = %q, %q, %v; want %q, %q, %v",
				tt.oldProv, tt.oldComm, p, c, ex, tt.newProv, tt.newComm, tt.exact)
		}
	}
	if got := NewCommunesOf("00007"); len(got) != 2 || got[0].Code != "00008" || got[1].Code != "00025" {
		t.Errorf("NewCommunesOf(00007) = %v", got)
	}
}

func TestPINProvinceCodes(t *testing.T) {
	codes := PINProvinceCodes()
	if len(codes) != 63 {
		t.Fatalf("%d PIN province codes, want 63", len(codes))
	}
	for _, want := range []string{"001", "002", "079", "096"} {
		if !slices.Contains(codes, want) {
			t.Errorf("PIN province codes lack %s", want)
		}
	}
	if !slices.IsSorted(codes) || len(slices.Compact(slices.Clone(codes))) != 63 {
		t.Error("PIN province codes not sorted or not unique")
	}
	for _, c := range codes {
		if len(c) != 3 || c[0] != '0' {
			t.Errorf("bad PIN province code %q", c)
		}
	}
}

func TestProvincePopulation(t *testing.T) {
	pop := ProvincePopulation()
	if len(pop) != 63 {
		t.Fatalf("%d provinces with population, want 63", len(pop))
	}
	total := 0
	for _, p := range Old().Provinces() {
		if pop[p.Code] <= 0 {
			t.Errorf("no population for province %s", p.Code)
		}
		total += pop[p.Code]
	}
	// 2019 census total: 96,208,984.
	if total != 96208984 {
		t.Errorf("total population %d, want 96208984", total)
	}
	pop["01"] = 0
	if ProvincePopulation()["01"] == 0 {
		t.Error("ProvincePopulation returned shared map")
	}
}
