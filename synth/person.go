package synth

import (
	"strconv"

	"github.com/cancuoc/cancuoc"
)

// nationality of every generated person: births abroad and foreigners are
// out of scope.
const nationality = "VNM"

// person builds the record of one member: identity, places and codes.
// Links to other members come later, in link.
func (g *generator) person(h home, m *member, ethnicity, religion string) (*cancuoc.Citizen, error) {
	r := g.r
	year := m.birth.Year()
	if year < 1900 {
		return nil, errf("birth year %d is before the PIN's first century", year)
	}
	reg, bp, region := g.birthPlaces(h, m)
	pin, err := g.pins.issue(region, m.sex, year)
	if err != nil {
		return nil, err
	}
	given, key := g.names.given(r, m.sex, year)
	m.givenKey = key
	rec := new(record)
	m.rec = rec
	c := &rec.c
	*c = cancuoc.Citizen{
		PIN:               pin,
		FullName:          m.surname + " " + given,
		BirthDate:         cancuoc.DateOf(m.birth),
		Sex:               m.sex,
		BirthPlace:        rec.place(bp),
		BirthRegistration: rec.place(reg),
		Origin:            rec.place(*m.origin),
		Ethnicity:         ethnicity,
		Religion:          religion,
		Nationality:       nationality,
		LifeStatus:        cancuoc.Alive,
	}
	if m.rel == relWife || m.rel == relHusband {
		// Mixed marriages and conversions on marriage.
		if r.IntN(10) == 0 {
			c.Ethnicity = g.geo.ethCodes[h.op.ethnic.pick(r)]
		}
		if r.IntN(7) == 0 {
			c.Religion = g.religionCodes[g.religion.pick(r)]
		}
	}
	old := year < 1960
	// Incomplete old records: ~3% overall, mostly people born before 1960,
	// whose paper records knew only a year or month of birth and little else.
	incomplete := (old && g.chance(0.25)) || (!old && g.chance(0.008))
	if incomplete {
		switch x := r.Float64(); {
		case x < 0.55:
			c.BirthDate = cancuoc.Date{Year: year}
		case x < 0.85:
			c.BirthDate = cancuoc.Date{Year: year, Month: int(m.birth.Month())}
		}
		if g.chance(0.35) {
			c.Ethnicity = ""
		}
		if g.chance(0.35) {
			c.Religion = ""
		}
	}
	if !(incomplete && g.chance(0.7)) && !(old && g.chance(0.3)) {
		c.BloodType = g.bloodCodes[g.blood.pick(r)]
	}
	g.residence(h, m, c, old)
	g.cards(m, c)
	if incomplete {
		// Old records often lack a parent's name.
		m.father, m.mother = markMissingParent(m, r.IntN(2))
	}
	return c, nil
}

// markMissingParent keeps PIN links (they are symmetric) but flags, with -2,
// a parent outside the household whose name the old record lacks.
func markMissingParent(m *member, which int) (int, int) {
	f, mo := m.father, m.mother
	if which == 0 && f < 0 {
		f = -2
	}
	if which == 1 && mo < 0 {
		mo = -2
	}
	return f, mo
}

// birthPlaces returns the place of birth registration, the place of birth
// and the PIN region. Children born into the household were registered in
// its commune; adults were born in the household's province or, for a
// quarter of them, elsewhere. Births from July 2025 are in current units.
func (g *generator) birthPlaces(h home, m *member) (reg, bp cancuoc.Place, region string) {
	r := g.r
	if m.rel == relChild && !m.birth.Before(reorganisation) {
		reg = cancuoc.Place{Era: cancuoc.Era34, Province: h.np.code, Commune: h.newCommune}
		bp = reg
		if r.IntN(6) == 0 {
			// Born in a hospital in another commune of the province.
			bp.Commune = h.np.communes[r.IntN(len(h.np.communes))]
		}
		return reg, bp, "0" + h.np.code
	}
	op, oc := h.op, h.oc
	if m.rel != relChild && !g.chance(0.7) {
		op = &g.geo.olds[g.geo.oldPick.pick(r)]
		oc = &op.communes[r.IntN(len(op.communes))]
	}
	reg = cancuoc.Place{Era: cancuoc.Era63, Province: op.code, District: oc.district, Commune: oc.code}
	bp = reg
	if r.IntN(6) == 0 {
		o := &op.communes[r.IntN(len(op.communes))]
		bp.District, bp.Commune = o.district, o.code
	}
	return reg, bp, "0" + op.code
}

// residence sets permanent, current and temporary residence.
func (g *generator) residence(h home, m *member, c *cancuoc.Citizen, old bool) {
	r, rec := g.r, m.rec
	perm := rec.place(cancuoc.Place{Era: cancuoc.Era34, Province: h.np.code, Commune: h.newCommune, Detail: h.detail})
	// ~2% of records were never updated after the 2025 reorganisation or
	// hold only the address text of an old paper household book.
	if (old && g.chance(0.1)) || (!old && g.chance(0.013)) {
		if g.chance(0.6) {
			*perm = cancuoc.Place{Era: cancuoc.Era63, Province: h.op.code, District: h.oc.district, Commune: h.oc.code, Detail: h.detail}
		} else {
			*perm = cancuoc.Place{Detail: joinNonEmpty(h.detail, h.oc.fullName, g.geo.district[h.oc.district], h.op.fullName)}
		}
		c.PermanentResidence, c.CurrentResidence = perm, rec.place(*perm)
		return
	}
	c.PermanentResidence = perm
	age := yearsBetween(m.birth, g.now)
	switch {
	case age >= 18 && age <= 40 && g.chance(0.08):
		// Working or studying in another province, registered there.
		var np *newProvince
		for range 8 {
			np = &g.geo.news[g.geo.migrate.pick(r)]
			if np != h.np {
				break
			}
		}
		i := r.IntN(len(np.communes))
		detail := "Phòng " + strconv.Itoa(101+r.IntN(20)) + ", Số " + strconv.Itoa(1+r.IntN(300)) + ", Tổ " + strconv.Itoa(1+r.IntN(40))
		if !np.urban[i] {
			detail = "Thôn " + strconv.Itoa(1+r.IntN(20))
		}
		from := g.now.AddDate(0, 0, -r.IntN(700))
		t := &cancuoc.TemporaryResidence{
			Place: cancuoc.Place{Era: cancuoc.Era34, Province: np.code, Commune: np.communes[i], Detail: detail},
			From:  cancuoc.DateOf(from),
			Until: cancuoc.DateOf(from.AddDate(2, 0, 0)),
		}
		c.TemporaryResidence = t
		c.CurrentResidence = rec.place(t.Place)
	case age >= 18 && g.chance(0.02):
		// Moved within the province without updating the registration.
		cur := *perm
		cur.Commune = h.np.communes[r.IntN(len(h.np.communes))]
		cur.Detail = g.street(h.op, r.IntN(2) == 0)
		c.CurrentResidence = rec.place(cur)
	default:
		c.CurrentResidence = rec.place(*perm)
	}
}

// cards gives everyone aged 14 or over a chip card, issued after they last
// reached a renewal age (and not before mass issuance began in 2021), and
// an old 9-digit CMND number to many who had one.
func (g *generator) cards(m *member, c *cancuoc.Citizen) {
	// Counting from the earliest reading of the recorded birth date keeps
	// the card consistent with what the record says.
	born := c.BirthDate.Earliest()
	age := yearsBetween(born, g.now)
	if age < 14 {
		return
	}
	r := g.r
	last := 14
	for _, a := range cancuoc.CardRenewalAges {
		if age >= a {
			last = a
		}
	}
	start := born.AddDate(last, 0, 0)
	if start.Before(chipCards) {
		start = chipCards
	}
	span := int(g.now.Sub(start).Hours()/24) + 1
	issued := start.AddDate(0, 0, r.IntN(min(span, 2*365)))
	card := cancuoc.Card{
		Number:   string(c.PIN),
		Kind:     "cccd",
		IssuedOn: cancuoc.DateOf(issued),
		IssuedBy: issuer,
		Status:   cancuoc.CardValid,
	}
	if !issued.Before(canCuoc) {
		card.Kind = "can_cuoc"
	}
	card.ExpiresOn = cancuoc.CardExpiry(c.BirthDate, issued)
	if !card.ExpiresOn.IsZero() && card.ExpiresOn.Earliest().Before(g.now) {
		card.Status = cancuoc.CardExpired
	}
	m.rec.card[0] = card
	c.Cards = m.rec.card[:]
	// The 9-digit CMND was issued until 2016 (chip-less CCCD followed);
	// many older people's records still carry it.
	if y := m.birth.Year(); y+14 <= 2016 {
		p := 0.35
		if y < 1980 {
			p = 0.6
		}
		if g.chance(p) && g.nOldIDs < g.oldIDs.m {
			c.OldIDNumber = pad(g.oldIDs.at(g.nOldIDs), 9)
			g.nOldIDs++
		}
	}
}

// link fills the household and the family links by PIN, both ways, and the
// marital status.
func (g *generator) link(ms []member, hid string) {
	head := ms[0].c
	for i := range ms {
		m := &ms[i]
		c := m.c
		rec := m.rec
		rec.hh = cancuoc.HouseholdLink{ID: hid, HeadPIN: head.PIN, HeadName: head.FullName, Relation: m.rel}
		c.Household = &rec.hh
		switch {
		case m.father >= 0:
			rec.rels[0] = relative(ms[m.father].c)
			c.Father = &rec.rels[0]
		case m.father == -1 && m.rel != relChild && g.chance(0.6):
			// Parents outside the population are known by name only.
			rec.rels[0] = cancuoc.Relative{Name: m.surname + " " + g.names.givenName(g.r, cancuoc.Male, m.birth.Year()-28), Nationality: nationality}
			c.Father = &rec.rels[0]
		}
		switch {
		case m.mother >= 0:
			rec.rels[1] = relative(ms[m.mother].c)
			c.Mother = &rec.rels[1]
		case m.mother == -1 && m.rel != relChild && g.chance(0.6):
			rec.rels[1] = cancuoc.Relative{Name: g.names.surname(g.r) + " " + g.names.givenName(g.r, cancuoc.Female, m.birth.Year()-25), Nationality: nationality}
			c.Mother = &rec.rels[1]
		}
		if m.spouse >= 0 {
			rec.rels[2] = relative(ms[m.spouse].c)
			c.Spouse = &rec.rels[2]
		}
		if len(m.children) > 0 {
			c.Children = make([]cancuoc.Relative, len(m.children))
			for j, k := range m.children {
				c.Children[j] = relative(ms[k].c)
			}
		}
		c.MaritalStatus = g.marital(m, i)
	}
}

func (g *generator) marital(m *member, i int) cancuoc.MaritalStatus {
	age := yearsBetween(m.birth, g.now)
	switch {
	case m.spouse >= 0:
		return cancuoc.Married
	case m.rel == relFather || m.rel == relMother:
		return cancuoc.Widowed
	case m.rel == relChild || age < 25:
		return cancuoc.Single
	case i == 0 && len(m.children) > 0:
		if age >= 50 || g.chance(0.4) {
			return cancuoc.Widowed
		}
		return cancuoc.Divorced
	}
	x := g.r.Float64()
	switch {
	case age < 40:
		if x < 0.8 {
			return cancuoc.Single
		}
		return cancuoc.Divorced
	case age < 60:
		if x < 0.45 {
			return cancuoc.Single
		} else if x < 0.8 {
			return cancuoc.Divorced
		}
		return cancuoc.Widowed
	}
	if x < 0.15 {
		return cancuoc.Single
	} else if x < 0.3 {
		return cancuoc.Divorced
	}
	return cancuoc.Widowed
}

func relative(c *cancuoc.Citizen) cancuoc.Relative {
	return cancuoc.Relative{PIN: c.PIN, Name: c.FullName, Nationality: nationality}
}

// lifeEvents marks deaths in the last five years (~0.5%, mostly the old) and
// people declared missing (~0.02%). A household's head stays alive so the
// household keeps a living head; a dead person's spouse becomes widowed.
func (g *generator) lifeEvents(ms []member) {
	for i := range ms {
		if i == 0 && len(ms) > 1 {
			continue
		}
		m := &ms[i]
		c := m.c
		age := yearsBetween(m.birth, g.now)
		p := 0.0005
		switch {
		case age >= 80:
			p = 0.12
		case age >= 70:
			p = 0.05
		case age >= 60:
			p = 0.02
		}
		if g.chance(p) {
			d := g.now.AddDate(0, 0, -g.r.IntN(5*365))
			if d.Before(m.birth) {
				d = m.birth
			}
			c.LifeStatus, c.DeathDate = cancuoc.Dead, cancuoc.DateOf(d)
			if m.spouse >= 0 {
				ms[m.spouse].c.MaritalStatus = cancuoc.Widowed
			}
			continue
		}
		if age >= 18 && g.chance(0.0004) {
			d := g.now.AddDate(0, 0, -g.r.IntN(10*365))
			if d.Before(m.birth.AddDate(18, 0, 0)) {
				d = m.birth.AddDate(18, 0, 0)
			}
			c.LifeStatus, c.MissingSince = cancuoc.Missing, cancuoc.DateOf(d)
		}
	}
}

// phonePrefixes are the leading digits of Vietnamese mobile numbers; 09 and
// 03 repeat because they are the most common.
var phonePrefixes = [...]string{"09", "09", "03", "03", "08", "07", "05"}

// emailDomains in rough order of use.
var emailDomains = [...]string{"gmail.com", "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com"}

// contact gives living adults a mobile number and some an email, unique by
// construction (counters through permutations).
func (g *generator) contact(m *member) {
	c := m.c
	if c.LifeStatus == cancuoc.Dead {
		return
	}
	age := yearsBetween(m.birth, g.now)
	p := 0.93
	switch {
	case age < 18:
		return
	case age >= 80:
		p = 0.4
	case age >= 70:
		p = 0.7
	}
	if !g.chance(p) || g.nPhones >= g.phones.m {
		return
	}
	n := g.phones.at(g.nPhones)
	g.nPhones++
	c.Phone = phonePrefixes[n/1e8] + pad(n%1e8, 8)
	if age > 60 || !g.chance(0.35) || g.nEmail >= g.emails.m {
		return
	}
	c.Email = m.givenKey + "." + g.names.surnameKeys[m.surname] + strconv.FormatUint(g.emails.at(g.nEmail), 10) + "@" + emailDomains[g.r.IntN(len(emailDomains))]
	g.nEmail++
}
