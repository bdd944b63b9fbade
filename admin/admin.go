// Package admin provides Vietnam's administrative units and the national code
// lists (ethnicity, religion, nationality, blood type) as embedded data.
//
// Two unit sets exist side by side because records outlive reorganisations:
// the 63-province set with districts (before 1 July 2025), which every PIN
// issued so far and most historical addresses refer to, and the current
// 34-province set with two levels only. The old→new mapping lets the registry
// show an old address in today's units.
//
// The data is generated from the shared reference data by admin/internal/gen
// (see data/SOURCES.md) and parsed lazily on first use, so programs that never
// touch it pay nothing at start-up.
package admin

//go:generate go run ./internal/gen -src ../../shared/data -out data

import (
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

//go:embed data/*.csv
var dataFS embed.FS

// Level is the tier of an administrative unit.
type Level string

// The unit levels. The current set has no districts.
const (
	// LevelProvince is a province or centrally governed city (2-digit code).
	LevelProvince Level = "province"
	// LevelDistrict is a district, town or provincial city (3-digit code),
	// old set only.
	LevelDistrict Level = "district"
	// LevelCommune is a commune, ward, township or special zone (5-digit code).
	LevelCommune Level = "commune"
)

// Unit is one administrative unit of a set.
type Unit struct {
	// Code is the statistics office's code: 2 digits for a province, 3 for
	// a district, 5 for a commune. Codes are unique within a level of a set
	// but the same code can mean different units in the old and current sets.
	Code string
	// Name is the name without its type ("Phúc Xá"); numbered units keep
	// the type ("Phường 12") because the number alone names nothing.
	Name string
	// NameEn is the English (diacritic-free) name. For the old set it is
	// derived from Name, since the source has none.
	NameEn string
	// FullName is the name with its type ("Phường Phúc Xá").
	FullName string
	// FullNameEn is the English full name ("Phuc Xa Ward").
	FullNameEn string
	// Type is the Vietnamese unit type: "Tỉnh", "Thành phố Trung ương",
	// "Quận", "Huyện", "Thị xã", "Thành phố", "Phường", "Xã", "Thị trấn",
	// "Đặc khu".
	Type string
	// Level is the unit's tier.
	Level Level
	// ProvinceCode is the parent province, for districts and communes.
	ProvinceCode string
	// DistrictCode is the parent district, for communes of the old set only.
	DistrictCode string
}

// Set is one complete set of administrative units, valid for a period.
// Its methods are safe for concurrent use.
type Set struct {
	name string
	file string

	once      sync.Once
	err       error
	provinces []Unit
	byLevel   map[Level]map[string]Unit
	children  map[string][]Unit // "d"+province or "c"+province → sorted children
}

// The two sets are package values rather than config: they are fixed by the
// embedded data and only ever filled once, lazily.
var (
	oldSet     = &Set{name: "63", file: "data/units-63.csv"}
	currentSet = &Set{name: "34", file: "data/units-34.csv"}
)

// Old returns the 63-province set in force until 30 June 2025, with
// provinces, districts and communes (statistics office, March 2025).
func Old() *Set { return oldSet }

// Current returns the 34-province set in force since 1 July 2025, with
// provinces and communes only.
func Current() *Set { return currentSet }

// Name returns the set's short name: "63" for the old set, "34" for the
// current one.
func (s *Set) Name() string { return s.name }

// load parses the set's file once. The embedded data is checked by the tests,
// so a parse failure is a build defect and panics rather than making every
// lookup return an error.
func (s *Set) load() {
	s.once.Do(func() {
		s.err = s.parse()
	})
	if s.err != nil {
		panic("admin: embedded data is corrupt: " + s.err.Error())
	}
}

func (s *Set) parse() error {
	rows, err := readCSV(s.file, 9)
	if err != nil {
		return err
	}
	s.byLevel = map[Level]map[string]Unit{
		LevelProvince: {}, LevelDistrict: {}, LevelCommune: {},
	}
	s.children = map[string][]Unit{}
	for _, r := range rows {
		u := Unit{
			Level: Level(r[0]), Code: r[1], ProvinceCode: r[2], DistrictCode: r[3],
			Type: r[4], Name: r[5], FullName: r[6], NameEn: r[7], FullNameEn: r[8],
		}
		m, ok := s.byLevel[u.Level]
		if !ok {
			return fmt.Errorf("%s: unknown level %q", s.file, u.Level)
		}
		if _, dup := m[u.Code]; dup {
			return fmt.Errorf("%s: %s %s listed twice", s.file, u.Level, u.Code)
		}
		m[u.Code] = u
		switch u.Level {
		case LevelProvince:
			s.provinces = append(s.provinces, u)
		case LevelDistrict:
			s.children["d"+u.ProvinceCode] = append(s.children["d"+u.ProvinceCode], u)
		case LevelCommune:
			s.children["c"+u.ProvinceCode] = append(s.children["c"+u.ProvinceCode], u)
		}
	}
	// The generator writes rows sorted by code; sorting again keeps the
	// documented order independent of the file.
	byCode := func(a, b Unit) int { return strings.Compare(a.Code, b.Code) }
	slices.SortFunc(s.provinces, byCode)
	for _, c := range s.children {
		slices.SortFunc(c, byCode)
	}
	return nil
}

func (s *Set) lookup(l Level, code string) (Unit, bool) {
	s.load()
	u, ok := s.byLevel[l][code]
	return u, ok
}

// Province returns the province with the 2-digit code.
func (s *Set) Province(code string) (Unit, bool) { return s.lookup(LevelProvince, code) }

// District returns the district with the 3-digit code. The current set has
// no districts, so it always reports false there.
func (s *Set) District(code string) (Unit, bool) { return s.lookup(LevelDistrict, code) }

// Commune returns the commune, ward, township or special zone with the
// 5-digit code.
func (s *Set) Commune(code string) (Unit, bool) { return s.lookup(LevelCommune, code) }

// Provinces returns all provinces sorted by code. The slice is a copy.
func (s *Set) Provinces() []Unit {
	s.load()
	return slices.Clone(s.provinces)
}

// Districts returns the districts of a province sorted by code (none for the
// current set). The slice is a copy.
func (s *Set) Districts(provinceCode string) []Unit {
	s.load()
	return slices.Clone(s.children["d"+provinceCode])
}

// Communes returns the communes of a province sorted by code. The slice is a
// copy.
func (s *Set) Communes(provinceCode string) []Unit {
	s.load()
	return slices.Clone(s.children["c"+provinceCode])
}

// readCSV reads an embedded CSV file, skipping its header, and checks the
// column count so a generator change cannot silently shift fields.
func readCSV(name string, cols int) ([][]string, error) {
	f, err := dataFS.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = cols
	r.ReuseRecord = false
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	var rows [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rows = append(rows, rec)
	}
}
