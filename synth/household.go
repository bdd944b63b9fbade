package synth

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cancuoc/cancuoc"
)

// member is a household member while the household is being built. Links
// are indices into the household until PINs exist.
type member struct {
	rel      string
	sex      cancuoc.Sex
	birth    time.Time
	surname  string
	givenKey string // e-mail local part
	father   int    // index in the household, or -1
	mother   int
	spouse   int
	children []int
	origin   *cancuoc.Place // shared by a family; copied into each record
	rec      *record
	c        *cancuoc.Citizen
}

// record holds one person's citizen record together with the places,
// relatives, household link and card it points to, so that a person costs
// one allocation instead of a dozen: at millions of people the garbage
// collector, not the arithmetic, sets the pace.
type record struct {
	c      cancuoc.Citizen
	places [6]cancuoc.Place
	used   int
	rels   [3]cancuoc.Relative
	hh     cancuoc.HouseholdLink
	card   [1]cancuoc.Card
}

// place stores p in the record and returns a pointer to the copy.
func (r *record) place(p cancuoc.Place) *cancuoc.Place {
	if r.used == len(r.places) {
		// Not reached with today's fields; copying through new keeps p
		// itself on the stack on the common path.
		q := new(cancuoc.Place)
		*q = p
		return q
	}
	r.places[r.used] = p
	r.used++
	return &r.places[r.used-1]
}

// home is where a household lives: an old commune (where its children born
// before July 2025 were registered) and the current commune it went into.
type home struct {
	op         *oldProvince
	oc         *oldCommune
	np         *newProvince
	newCommune string
	detail     string
}

// household appends one household of at most limit people to batch.
func (g *generator) household(batch []*cancuoc.Citizen, limit int) ([]*cancuoc.Citizen, error) {
	h := g.pickHome()
	ms := g.plan(limit)
	religion := g.religionCodes[g.religion.pick(g.r)]
	ethnicity := g.geo.ethCodes[h.op.ethnic.pick(g.r)]

	// Names and origin (quê quán) follow the father's line.
	head := &ms[0]
	head.surname = g.names.surname(g.r)
	head.origin = g.originNear(h.op)
	for i := 1; i < len(ms); i++ {
		m := &ms[i]
		switch m.rel {
		case relFather:
			m.surname, m.origin = head.surname, head.origin
		case relWife, relHusband, relMother:
			m.surname, m.origin = g.names.surname(g.r), g.originNear(h.op)
		}
	}
	for i := range ms {
		m := &ms[i]
		if m.rel != relChild {
			continue
		}
		switch {
		case m.father >= 0:
			m.surname, m.origin = ms[m.father].surname, ms[m.father].origin
		case ms[m.mother].sex == cancuoc.Female && g.chance(0.3):
			// A single mother's child often takes her surname.
			m.surname, m.origin = ms[m.mother].surname, ms[m.mother].origin
		default:
			m.surname, m.origin = g.names.surname(g.r), g.originNear(h.op)
		}
	}

	hid := "HK" + h.np.code + pad(g.households.at(g.nHouseholds), 9)
	g.nHouseholds++
	start := len(batch)
	for i := range ms {
		m := &ms[i]
		c, err := g.person(h, m, ethnicity, religion)
		if err != nil {
			return batch, err
		}
		m.c = c
		batch = append(batch, c)
	}
	g.link(ms, hid)
	g.lifeEvents(ms)
	for i := range ms {
		g.contact(&ms[i])
	}
	return batch[:start+len(ms)], nil
}

// pickHome draws an old commune by province population and finds the
// current commune it went into.
func (g *generator) pickHome() home {
	op := &g.geo.olds[g.geo.oldPick.pick(g.r)]
	oc := &op.communes[g.r.IntN(len(op.communes))]
	np := &g.geo.news[op.newProv]
	h := home{op: op, oc: oc, np: np}
	urban := oc.urban
	if n := len(oc.newCommunes); n > 0 {
		h.newCommune = oc.newCommunes[g.r.IntN(n)]
	} else {
		// Units missing from the mapping (island districts): any commune
		// of the province keeps the household in the right province.
		i := g.r.IntN(len(np.communes))
		h.newCommune, urban = np.communes[i], np.urban[i]
	}
	h.detail = g.street(op, urban)
	return h
}

// street writes the free-text part of an address in the style of the
// region: numbered houses in lanes for towns, hamlets in the countryside.
func (g *generator) street(op *oldProvince, urban bool) string {
	r := g.r
	switch {
	case urban && op.south:
		return "Số " + strconv.Itoa(1+r.IntN(300)) + "/" + strconv.Itoa(1+r.IntN(60)) + ", Khu phố " + strconv.Itoa(1+r.IntN(12))
	case urban:
		return "Số " + strconv.Itoa(1+r.IntN(200)) + ", Ngõ " + strconv.Itoa(1+r.IntN(150)) + ", Tổ " + strconv.Itoa(1+r.IntN(40))
	case !op.south && !op.mountain && r.IntN(3) == 0:
		return "Xóm " + strconv.Itoa(1+r.IntN(15))
	}
	return villageWord(op) + " " + strconv.Itoa(1+r.IntN(20))
}

// plan decides who lives in the household: its kind, ages and links, in
// the order head, spouse, elderly parent, children. limit trims it so the
// population has exactly the requested size; links are made afterwards, so
// trimming never leaves a dangling one.
func (g *generator) plan(limit int) []member {
	r := g.r
	ms := make([]member, 0, maxHousehold)
	add := func(rel string, sex cancuoc.Sex, birth time.Time) int {
		ms = append(ms, member{rel: rel, sex: sex, birth: birth, father: -1, mother: -1, spouse: -1})
		return len(ms) - 1
	}
	kind := r.Float64()
	if kind < 0.11 || limit == 1 {
		age := g.singleAge.age(r)
		sex := cancuoc.Male
		if (age >= 65 && g.chance(0.68)) || (age < 65 && g.chance(0.45)) {
			sex = cancuoc.Female
		}
		add(cancuoc.RelationHead, sex, g.birthAt(age))
		return ms
	}
	headAge := g.headAge.age(r)
	hasSpouse := g.chance(0.86)
	headSex := cancuoc.Male
	if (hasSpouse && g.chance(0.2)) || (!hasSpouse && g.chance(0.6)) {
		headSex = cancuoc.Female
	}
	head := add(cancuoc.RelationHead, headSex, g.birthAt(headAge))
	father, mother := -1, -1
	if headSex == cancuoc.Male {
		father = head
	} else {
		mother = head
	}
	if hasSpouse {
		// Husbands are on average about three years older than wives.
		gap := max(-4, min(14, int(r.NormFloat64()*3+3.5)))
		if headSex == cancuoc.Female {
			s := add(relHusband, cancuoc.Male, g.birthAt(max(18, headAge+gap)))
			father = s
		} else {
			s := add(relWife, cancuoc.Female, g.birthAt(max(18, headAge-gap)))
			mother = s
		}
		ms[0].spouse, ms[1].spouse = 1, 0
	}
	if kind < 0.25 && headAge <= 62 {
		pa := min(99, headAge+22+r.IntN(17))
		if g.chance(0.65) {
			p := add(relMother, cancuoc.Female, g.birthAt(pa))
			ms[head].mother = p
		} else {
			p := add(relFather, cancuoc.Male, g.birthAt(pa))
			ms[head].father = p
		}
	}
	// Children: a mother's (or, without one, an imagined mother's) births,
	// each when both parents were 18–45, minus those who have moved out.
	var mb, fb time.Time
	if mother >= 0 {
		mb = ms[mother].birth
	} else {
		mb = ms[father].birth.AddDate(3, 0, 0)
	}
	if father >= 0 {
		fb = ms[father].birth
	} else {
		fb = mb.AddDate(-3, 0, 0)
	}
	var kids []time.Time
	for range g.childCount(mb.Year()) {
		for range 4 {
			u := 18 + r.IntN(8) + r.IntN(8) + r.IntN(8)
			cb := mb.AddDate(u, 0, r.IntN(365))
			if cb.After(g.now) {
				break
			}
			if fa := yearsBetween(fb, cb); fa < 18 || fa > 45 || yearsBetween(mb, cb) > 45 {
				continue
			}
			if g.movedOut(yearsBetween(cb, g.now)) {
				break
			}
			kids = append(kids, cb)
			break
		}
	}
	slices.SortFunc(kids, func(a, b time.Time) int { return a.Compare(b) })
	for _, cb := range kids {
		sex := cancuoc.Male
		// 1.12 boys per girl at birth in recent years.
		if g.chance(0.47) {
			sex = cancuoc.Female
		}
		k := add(relChild, sex, cb)
		ms[k].father, ms[k].mother = father, mother
	}
	if len(ms) > limit {
		ms = ms[:limit]
		for i := range ms {
			if ms[i].spouse >= limit {
				ms[i].spouse = -1
			}
			if ms[i].father >= limit {
				ms[i].father = -1
			}
			if ms[i].mother >= limit {
				ms[i].mother = -1
			}
		}
	}
	for i := range ms {
		if f := ms[i].father; f >= 0 {
			ms[f].children = append(ms[f].children, i)
		}
		if m := ms[i].mother; m >= 0 {
			ms[m].children = append(ms[m].children, i)
		}
	}
	return ms
}

// childCount draws how many children a woman had: more for older
// generations (fertility fell from about 4 in the 1980s to about 2 today).
func (g *generator) childCount(motherBorn int) int {
	x := g.r.Float64()
	cum := []float64{0.05, 0.15, 0.45, 0.75} // born before 1965
	if motherBorn >= 1965 {
		cum = []float64{0.06, 0.22, 0.72, 0.92}
	}
	for i, c := range cum {
		if x < c {
			return i
		}
	}
	return 4
}

// movedOut reports whether a child of this age no longer lives with the
// parents (most have left by their late twenties).
func (g *generator) movedOut(age int) bool {
	switch {
	case age < 18:
		return false
	case age < 23:
		return g.chance(0.3)
	case age < 28:
		return g.chance(0.6)
	case age < 33:
		return g.chance(0.85)
	}
	return true
}

// originNear draws a quê quán: usually in the household's own province.
func (g *generator) originNear(op *oldProvince) *cancuoc.Place {
	if !g.chance(0.75) {
		op = &g.geo.olds[g.geo.oldPick.pick(g.r)]
	}
	oc := &op.communes[g.r.IntN(len(op.communes))]
	return &cancuoc.Place{Era: cancuoc.Era63, Province: op.code, District: oc.district, Commune: oc.code}
}

// pad formats n with leading zeros to width digits (at most 20), in one
// allocation: it runs several times per person.
func pad(n uint64, width int) string {
	var b [20]byte
	i := len(b)
	for n > 0 || i > len(b)-width {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// errf wraps generator errors with the package name.
func errf(format string, a ...any) error { return fmt.Errorf("synth: "+format, a...) }
