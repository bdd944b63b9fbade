package admin

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// Code is one entry of a national code list.
type Code struct {
	// Code is the stored value (e.g. "01", "VNM", "A+").
	Code string
	// Name is the Vietnamese name.
	Name string
	// NameEn is the English name.
	NameEn string
}

// codeList is an embedded code list, parsed on first use.
type codeList struct {
	file   string
	once   sync.Once
	err    error
	list   []Code
	byCode map[string]Code
}

func (l *codeList) load() *codeList {
	l.once.Do(func() {
		rows, err := readCSV(l.file, 3)
		if err != nil {
			l.err = err
			return
		}
		l.byCode = make(map[string]Code, len(rows))
		for _, r := range rows {
			c := Code{Code: r[0], Name: r[1], NameEn: r[2]}
			if _, dup := l.byCode[c.Code]; dup {
				l.err = fmt.Errorf("%s: code %q listed twice", l.file, c.Code)
				return
			}
			l.byCode[c.Code] = c
			l.list = append(l.list, c)
		}
	})
	if l.err != nil {
		panic("admin: embedded code list is corrupt: " + l.err.Error())
	}
	return l
}

func (l *codeList) all() []Code { return slices.Clone(l.load().list) }

func (l *codeList) get(code string) (Code, bool) {
	c, ok := l.load().byCode[code]
	return c, ok
}

var (
	ethnicities   = &codeList{file: "data/ethnicities.csv"}
	religions     = &codeList{file: "data/religions.csv"}
	nationalities = &codeList{file: "data/nationalities.csv"}
	bloodTypes    = &codeList{file: "data/blood-types.csv"}
)

// Ethnicities returns the 54 ethnic groups with the statistics office's
// codes "01" (Kinh) to "54" (Rơ Măm), in code order.
func Ethnicities() []Code { return ethnicities.all() }

// Ethnicity returns the ethnic group with the 2-digit code.
func Ethnicity(code string) (Code, bool) { return ethnicities.get(code) }

// Religions returns "00" Không (none), the most common value, followed by
// the state-recognised religions, in code order. The codes are the
// project's own (see data/SOURCES.md).
func Religions() []Code { return religions.all() }

// Religion returns the religion with the 2-digit code.
func Religion(code string) (Code, bool) { return religions.get(code) }

// Nationalities returns the countries by ISO 3166-1 alpha-3 code ("VNM",
// "USA", …), sorted by code, with CLDR names in Vietnamese and English.
func Nationalities() []Code { return nationalities.all() }

// Nationality returns the country with the ISO 3166-1 alpha-3 code.
func Nationality(code string) (Code, bool) { return nationalities.get(code) }

// BloodTypes returns the eight ABO/RhD blood types ("A+", …, "O-"). An
// unknown blood type is recorded as absence, so it has no code.
func BloodTypes() []Code { return bloodTypes.all() }

// BloodType returns the blood type with the code, such as "AB-".
func BloodType(code string) (Code, bool) { return bloodTypes.get(code) }

var population struct {
	once sync.Once
	err  error
	m    map[string]int
}

// ProvincePopulation returns the population of each of the 63 old provinces
// (2-digit codes) at the 2019 census, in persons, for weighting synthetic
// data. The map is a fresh copy the caller may modify.
func ProvincePopulation() map[string]int {
	population.once.Do(func() {
		rows, err := readCSV("data/population-2019.csv", 2)
		if err != nil {
			population.err = err
			return
		}
		population.m = make(map[string]int, len(rows))
		for _, r := range rows {
			n, err := strconv.Atoi(r[1])
			if err != nil || n <= 0 {
				population.err = fmt.Errorf("population-2019.csv: province %s: bad count %q", r[0], r[1])
				return
			}
			population.m[r[0]] = n
		}
	})
	if population.err != nil {
		panic("admin: embedded population data is corrupt: " + population.err.Error())
	}
	out := make(map[string]int, len(population.m))
	for k, v := range population.m {
		out[k] = v
	}
	return out
}
