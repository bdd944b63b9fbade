package admin

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// mapping holds the old→new correspondence, parsed on first use.
type mapping struct {
	once     sync.Once
	err      error
	province map[string][]string
	district map[string][]string // only the island districts without communes
	commune  map[string][]string
}

var oldToNew = &mapping{}

func (m *mapping) load() *mapping {
	m.once.Do(func() {
		m.err = m.parse()
	})
	if m.err != nil {
		panic("admin: embedded mapping is corrupt: " + m.err.Error())
	}
	return m
}

func (m *mapping) parse() error {
	const file = "data/mapping-63-34.csv"
	rows, err := readCSV(file, 3)
	if err != nil {
		return err
	}
	m.province = map[string][]string{}
	m.district = map[string][]string{}
	m.commune = map[string][]string{}
	for _, r := range rows {
		codes := strings.Fields(r[2])
		var dst map[string][]string
		switch Level(r[0]) {
		case LevelProvince:
			dst = m.province
		case LevelDistrict:
			dst = m.district
		case LevelCommune:
			dst = m.commune
		default:
			return fmt.Errorf("%s: unknown level %q", file, r[0])
		}
		if len(codes) == 0 {
			return fmt.Errorf("%s: %s %s maps to nothing", file, r[0], r[1])
		}
		dst[r[1]] = codes
	}
	return nil
}

// units resolves codes in the current set, skipping none: the tests check
// every mapped code exists.
func units(codes []string, get func(string) (Unit, bool)) []Unit {
	out := make([]Unit, 0, len(codes))
	for _, c := range codes {
		if u, ok := get(c); ok {
			out = append(out, u)
		}
	}
	return out
}

// NewProvincesOf returns the current provinces an old province (2-digit code)
// went into, or nil if the code is unknown. In the 2025 reorganisation every
// old province went into exactly one new province, but the result is a
// slice because the source data allows splits.
func NewProvincesOf(oldProvince string) []Unit {
	codes, ok := oldToNew.load().province[oldProvince]
	if !ok {
		return nil
	}
	return units(codes, Current().Province)
}

// NewCommunesOf returns the current communes an old commune (5-digit code)
// went into, in the source's order, or nil if the code is unknown. An old
// commune split between new communes returns more than one.
func NewCommunesOf(oldCommune string) []Unit {
	codes, ok := oldToNew.load().commune[oldCommune]
	if !ok {
		return nil
	}
	return units(codes, Current().Commune)
}

// NewCommunesOfDistrict returns the current units an old district (3-digit
// code) went into as a whole. Only the island districts that had no communes
// (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo, now special zones) have
// such an entry; for other districts it returns nil, and their communes
// should be mapped one by one.
func NewCommunesOfDistrict(oldDistrict string) []Unit {
	codes, ok := oldToNew.load().district[oldDistrict]
	if !ok {
		return nil
	}
	return units(codes, Current().Commune)
}

// ToCurrent maps an old-set (province, commune) to today's units. commune may
// be "" (province only); province may be "" when the commune is known, since
// commune codes are unique nationwide.
//
// exact is false when the old commune split over several new communes (then
// newCommune is the first listed and the caller may show all of
// NewCommunesOf) or when only the province is known. Unknown codes, or a
// commune that does not belong to the given province, return empty strings
// and false.
func ToCurrent(oldProvince, oldCommune string) (newProvince, newCommune string, exact bool) {
	m := oldToNew.load()
	if oldCommune == "" {
		provs := m.province[oldProvince]
		if len(provs) == 0 {
			return "", "", false
		}
		return provs[0], "", false
	}
	c, ok := Old().Commune(oldCommune)
	if !ok || (oldProvince != "" && c.ProvinceCode != oldProvince) {
		return "", "", false
	}
	codes := m.commune[oldCommune]
	if len(codes) == 0 {
		return "", "", false
	}
	nc, ok := Current().Commune(codes[0])
	if !ok {
		return "", "", false
	}
	return nc.ProvinceCode, nc.Code, len(codes) == 1
}

// PINProvinceCodes returns the 3-digit province codes valid in a personal
// identification number, sorted: "0" followed by each old province's 2-digit
// code. PINs keep the code of the province where the birth was registered,
// so the old (63) set stays authoritative after the 2025 merger.
func PINProvinceCodes() []string {
	ps := Old().Provinces()
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = "0" + p.Code
	}
	return slices.Clip(out)
}
