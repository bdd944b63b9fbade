package synth

import (
	"fmt"
	"strings"

	"github.com/cancuoc/cancuoc/admin"
)

// oldCommune is a commune of the 63-province set with what the generator
// needs to place a household there: its district and the current commune(s)
// it went into in 2025.
type oldCommune struct {
	code, district string
	fullName       string
	urban          bool
	newCommunes    []string // current codes; empty when the mapping has no entry
}

// oldProvince is a province of the 63-province set.
type oldProvince struct {
	code     string
	fullName string
	communes []oldCommune
	newProv  int // index into geo.news
	south    bool
	mountain bool
	ethnic   weighted // ethnicity codes of geo.ethCodes for people born here
}

// newProvince is a province of the current 34-province set.
type newProvince struct {
	code     string
	communes []string
	urban    []bool
}

// geo is the geography of one Generate call, read from package admin once.
type geo struct {
	olds     []oldProvince
	oldPick  weighted
	news     []newProvince
	migrate  weighted // destination of temporary residence in another province
	district map[string]string
	ethCodes []string
}

// newGeo reads the unit sets, the mapping and the census weights. It fails
// rather than generate places that do not exist if the data disagrees.
func newGeo() (*geo, error) {
	g := &geo{district: map[string]string{}}
	newIdx := map[string]int{}
	for _, p := range admin.Current().Provinces() {
		np := newProvince{code: p.Code}
		for _, c := range admin.Current().Communes(p.Code) {
			np.communes = append(np.communes, c.Code)
			np.urban = append(np.urban, c.Type == "Phường")
		}
		if len(np.communes) == 0 {
			return nil, fmt.Errorf("synth: current province %s has no communes", p.Code)
		}
		newIdx[p.Code] = len(g.news)
		g.news = append(g.news, np)
	}
	pop := admin.ProvincePopulation()
	var weights []float64
	migrateW := make([]float64, len(g.news))
	for _, p := range admin.Old().Provinces() {
		op := oldProvince{code: p.Code, fullName: p.FullName}
		np := admin.NewProvincesOf(p.Code)
		if len(np) == 0 {
			return nil, fmt.Errorf("synth: old province %s has no current province", p.Code)
		}
		i, ok := newIdx[np[0].Code]
		if !ok {
			return nil, fmt.Errorf("synth: current province %s unknown", np[0].Code)
		}
		op.newProv = i
		for _, d := range admin.Old().Districts(p.Code) {
			g.district[d.Code] = d.FullName
		}
		for _, c := range admin.Old().Communes(p.Code) {
			oc := oldCommune{code: c.Code, district: c.DistrictCode, fullName: c.FullName,
				urban: c.Type == "Phường" || c.Type == "Thị trấn"}
			for _, n := range admin.NewCommunesOf(c.Code) {
				// A commune must stay in the province its old province
				// went into, or the household's places would disagree.
				if n.ProvinceCode == np[0].Code {
					oc.newCommunes = append(oc.newCommunes, n.Code)
				}
			}
			op.communes = append(op.communes, oc)
		}
		if len(op.communes) == 0 {
			return nil, fmt.Errorf("synth: old province %s has no communes", p.Code)
		}
		code := atoi2(p.Code)
		op.south = code >= 70
		op.mountain = isMountain(p.Code)
		w := float64(pop[p.Code])
		if w <= 0 {
			return nil, fmt.Errorf("synth: no population for old province %s", p.Code)
		}
		weights = append(weights, w)
		// Migrants go mostly to the big cities and industrial provinces.
		switch np[0].Code {
		case "79", "01":
			w *= 4
		case "75", "24", "48":
			w *= 2
		}
		migrateW[i] += w
		g.olds = append(g.olds, op)
	}
	g.oldPick = newWeighted(weights)
	g.migrate = newWeighted(migrateW)
	if err := g.buildEthnicity(weights); err != nil {
		return nil, err
	}
	return g, nil
}

func atoi2(s string) int {
	if len(s) != 2 {
		return -1
	}
	return int(s[0]-'0')*10 + int(s[1]-'0')
}

// isMountain marks the northern mountain and central highland provinces,
// where villages are "bản"/"buôn" and most ethnic minorities live.
func isMountain(code string) bool {
	switch code {
	case "02", "04", "06", "08", "10", "11", "12", "14", "15", "17", "20", "62", "64", "66", "67", "68":
		return true
	}
	return false
}

// ethnicGroup is an ethnic group's share of the national population (2019
// census, rounded) and the old provinces where it mostly lives.
type ethnicGroup struct {
	code  string
	share float64 // percent
	homes []string
}

// ethnicGroups places the larger minorities where they live, so that a
// household in Sóc Trăng may be Khmer and one in Hà Giang H'Mông. Groups not
// listed share "other" below.
var ethnicGroups = []ethnicGroup{
	{"02", 1.9, []string{"04", "20", "06", "02", "08", "19", "10", "15", "22", "24", "66"}},
	{"03", 1.9, []string{"14", "40", "11", "38", "12", "15", "17"}},
	{"04", 0.8, []string{"79", "75", "94", "91", "95", "22"}},
	{"05", 1.35, []string{"94", "84", "91", "89", "95", "96"}},
	{"06", 1.5, []string{"17", "38", "25", "14", "37"}},
	{"07", 1.1, []string{"20", "04", "02", "24", "66", "19"}},
	{"08", 1.5, []string{"02", "11", "12", "14", "10", "15", "04", "40"}},
	{"09", 0.9, []string{"02", "10", "15", "08", "22", "06", "04", "12"}},
	{"10", 0.53, []string{"64", "62"}},
	{"12", 0.41, []string{"66", "54"}},
	{"13", 0.3, []string{"64", "62", "52"}},
	{"14", 0.22, []string{"62", "49"}},
	{"15", 0.2, []string{"08", "19", "24"}},
	{"16", 0.21, []string{"68"}},
	{"17", 0.18, []string{"58", "60", "89"}},
	{"18", 0.19, []string{"19", "26", "24", "22"}},
	{"19", 0.15, []string{"51"}},
	{"20", 0.13, []string{"67", "66"}},
}

// otherEthnicShare is the combined share (percent) of the remaining groups,
// spread evenly over them in the mountain provinces.
const otherEthnicShare = 0.7

// buildEthnicity gives every old province its own ethnicity distribution:
// each group's national count is spread over its home provinces by
// population, and Kinh takes the rest (at least 5%), so the national shares
// come out close to the census.
func (g *geo) buildEthnicity(pop []float64) error {
	var total float64
	for _, w := range pop {
		total += w
	}
	codes := []string{"01"}
	listed := map[string]bool{"01": true}
	for _, e := range ethnicGroups {
		codes = append(codes, e.code)
		listed[e.code] = true
	}
	var others []string
	for _, c := range admin.Ethnicities() {
		if !listed[c.Code] {
			others = append(others, c.Code)
		}
	}
	for _, c := range codes {
		if _, ok := admin.Ethnicity(c); !ok {
			return fmt.Errorf("synth: ethnicity %s not in admin.Ethnicities", c)
		}
	}
	codes = append(codes, others...)
	g.ethCodes = codes
	idx := map[string]int{}
	for i, p := range g.olds {
		idx[p.code] = i
	}
	counts := make([][]float64, len(g.olds))
	for i := range counts {
		counts[i] = make([]float64, len(codes))
	}
	spread := func(col int, share float64, homes []string) {
		var hp float64
		for _, h := range homes {
			if i, ok := idx[h]; ok {
				hp += pop[i]
			}
		}
		for _, h := range homes {
			if i, ok := idx[h]; ok {
				counts[i][col] += share / 100 * total * pop[i] / hp
			}
		}
	}
	for j, e := range ethnicGroups {
		spread(j+1, e.share, e.homes)
	}
	var mountains []string
	for _, p := range g.olds {
		if p.mountain {
			mountains = append(mountains, p.code)
		}
	}
	for j := range others {
		spread(1+len(ethnicGroups)+j, otherEthnicShare/float64(len(others)), mountains)
	}
	for i := range g.olds {
		var minor float64
		for _, x := range counts[i][1:] {
			minor += x
		}
		if kinh := pop[i] - minor; kinh > 0.05*pop[i] {
			counts[i][0] = kinh
		} else {
			counts[i][0] = 0.05 * pop[i]
		}
		g.olds[i].ethnic = newWeighted(counts[i])
	}
	return nil
}

// provinceName is the display name used in free-text addresses of old
// records, e.g. "Tỉnh Hà Giang".
func (g *geo) provinceName(i int) string { return g.olds[i].fullName }

// villageWord is the customary word for a rural hamlet in a region.
func villageWord(p *oldProvince) string {
	switch {
	case p.south:
		return "Ấp"
	case p.mountain:
		return "Bản"
	}
	return "Thôn"
}

// joinNonEmpty joins the non-empty parts with ", ", as addresses are written.
func joinNonEmpty(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p)
	}
	return b.String()
}
