package reconcile

import (
	"strings"
	"sync"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/vntext"
)

// Place agreement between a partner's free-text address and a registry
// record's Home (today's units).
const (
	PlaceUnknown  = -1 // no address, or the registry knows no unit
	PlaceNone     = 0  // the address names neither the province nor the commune
	PlaceProvince = 1  // the address names the province only
	PlaceCommune  = 2  // the address names the commune and the province
)

// gazetteer holds, for each unit of today's set, the diacritic-free names it
// may be written under: its own, and those of the pre-2025 units that went
// into it, so an address written before the merger still matches.
type gazetteer struct {
	prov map[string][]string // today's province code → name keys
	comm map[string][]string // today's commune code → name keys
	// old lists, for each of today's communes, the old communes that went
	// (wholly or in part) into it: for writing old-style addresses.
	old map[string][]admin.Unit
}

var (
	gazOnce sync.Once
	gaz     *gazetteer
)

func places() *gazetteer {
	gazOnce.Do(func() { gaz = buildGazetteer() })
	return gaz
}

func buildGazetteer() *gazetteer {
	g := &gazetteer{prov: map[string][]string{}, comm: map[string][]string{}, old: map[string][]admin.Unit{}}
	add := func(m map[string][]string, code, name string) {
		k := vntext.Key(name)
		if k == "" {
			return
		}
		for _, x := range m[code] {
			if x == k {
				return
			}
		}
		m[code] = append(m[code], k)
	}
	cur := admin.Current()
	for _, p := range cur.Provinces() {
		add(g.prov, p.Code, p.Name)
		for _, c := range cur.Communes(p.Code) {
			add(g.comm, c.Code, c.Name)
		}
	}
	old := admin.Old()
	for _, p := range old.Provinces() {
		for _, np := range admin.NewProvincesOf(p.Code) {
			add(g.prov, np.Code, p.Name)
		}
		for _, c := range old.Communes(p.Code) {
			for _, nc := range admin.NewCommunesOf(c.Code) {
				add(g.comm, nc.Code, c.Name)
				g.old[nc.Code] = append(g.old[nc.Code], c)
			}
		}
	}
	// The common abbreviation of the largest city.
	add(g.prov, "79", "HCM")
	return g
}

// hasWords reports whether the words of key appear, consecutively, in the
// words of text (both keys: lower-case ASCII words separated by one space).
func hasWords(text, key string) bool {
	i := 0
	for {
		j := strings.Index(text[i:], key)
		if j < 0 {
			return false
		}
		s, e := i+j, i+j+len(key)
		if (s == 0 || text[s-1] == ' ') && (e == len(text) || text[e] == ' ') {
			return true
		}
		i = s + 1
	}
}

// PlaceMatch says how far an address (its vntext.Key) agrees with a Home.
func PlaceMatch(addrKey string, home cancuoc.UnitRef) int {
	if addrKey == "" || home.Province == "" {
		return PlaceUnknown
	}
	g := places()
	prov := false
	for _, k := range g.prov[home.Province] {
		if hasWords(addrKey, k) {
			prov = true
			break
		}
	}
	if !prov {
		return PlaceNone
	}
	for _, k := range g.comm[home.Commune] {
		if hasWords(addrKey, k) {
			return PlaceCommune
		}
	}
	return PlaceProvince
}

// placeNames returns today's full names of a Home, for revealing it.
func placeNames(home cancuoc.UnitRef) string {
	var parts []string
	if c, ok := admin.Current().Commune(home.Commune); ok {
		parts = append(parts, c.FullName)
	}
	if p, ok := admin.Current().Province(home.Province); ok {
		parts = append(parts, p.FullName)
	}
	return strings.Join(parts, ", ")
}
