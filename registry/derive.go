package registry

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/vntext"
)

// derive fills the fields the registry computes: the search key of the name
// and the Home unit in today's units, which decides jurisdiction and counts.
func derive(c *cancuoc.Citizen) {
	c.NameKey = vntext.Key(c.FullName)
	for _, p := range places(c) {
		p.Today = nil
		if p.Era == cancuoc.Era63 {
			if u, ok := toCurrent(p); ok {
				p.Today = &u
			}
		}
	}
	c.Home = homeOf(c)
}

// places lists every place of a record, to derive or check them alike.
func places(c *cancuoc.Citizen) []*cancuoc.Place {
	out := []*cancuoc.Place{c.BirthPlace, c.BirthRegistration, c.Origin, c.PermanentResidence, c.CurrentResidence, tempPlace(c)}
	if c.TemporaryAbsence != nil {
		out = append(out, c.TemporaryAbsence.Destination)
	}
	n := 0
	for _, p := range out {
		if p != nil {
			out[n] = p
			n++
		}
	}
	return out[:n]
}

// homeOf picks the place that makes a citizen "belong" to a commune: the
// permanent residence, else the current, else the temporary residence, else
// the place of birth registration (its commune only when recorded in
// today's units, i.e. a recent birth). Old-era codes are mapped to today's
// units; a commune that split over several new ones is kept at province
// level, since guessing would put the person under the wrong officer.
func homeOf(c *cancuoc.Citizen) cancuoc.UnitRef {
	for _, p := range []*cancuoc.Place{c.PermanentResidence, c.CurrentResidence, tempPlace(c)} {
		if u, ok := toCurrent(p); ok {
			return u
		}
	}
	if u, ok := toCurrent(c.BirthRegistration); ok {
		// A registration in today's units is recent (since July 2025) and
		// made where a parent lives, so its commune is the newborn's until
		// a residence is registered; an older one only gives the province.
		if c.BirthRegistration.Era != cancuoc.Era34 {
			u.Commune = ""
		}
		return u
	}
	return cancuoc.UnitRef{}
}

func tempPlace(c *cancuoc.Citizen) *cancuoc.Place {
	if c.TemporaryResidence == nil {
		return nil
	}
	return &c.TemporaryResidence.Place
}

// toCurrent maps a place to today's province and commune.
func toCurrent(p *cancuoc.Place) (cancuoc.UnitRef, bool) {
	if p == nil || p.Province == "" || (p.Country != "" && p.Country != "VNM") {
		return cancuoc.UnitRef{}, false
	}
	switch p.Era {
	case cancuoc.Era34:
		return cancuoc.UnitRef{Province: p.Province, Commune: p.Commune}, true
	case cancuoc.Era63:
		prov, com, exact := admin.ToCurrent(p.Province, p.Commune)
		if prov == "" {
			return cancuoc.UnitRef{}, false
		}
		if !exact {
			com = ""
		}
		return cancuoc.UnitRef{Province: prov, Commune: com}, true
	}
	return cancuoc.UnitRef{}, false
}

// bookkeeping fields change on every write and are not part of a diff.
var bookkeeping = map[string]bool{"version": true, "updated_at": true, "created_at": true, "name_key": true, "home": true}

// diff lists the fields whose JSON differs between two versions of a record.
func diff(old, new *cancuoc.Citizen) ([]cancuoc.FieldChange, error) {
	om, err := fields(old)
	if err != nil {
		return nil, err
	}
	nm, err := fields(new)
	if err != nil {
		return nil, err
	}
	keys := make(map[string]bool)
	for k := range om {
		keys[k] = true
	}
	for k := range nm {
		keys[k] = true
	}
	var out []cancuoc.FieldChange
	for k := range keys {
		if bookkeeping[k] || bytes.Equal(om[k], nm[k]) {
			continue
		}
		out = append(out, cancuoc.FieldChange{Field: k, Old: orNull(om[k]), New: orNull(nm[k])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out, nil
}

func fields(c *cancuoc.Citizen) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if c == nil {
		return m, nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	if fast, ok := members(b); ok {
		return fast, nil
	}
	return m, json.Unmarshal(b, &m)
}

func orNull(b json.RawMessage) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return b
}

func changedNames(ch []cancuoc.FieldChange) []string {
	out := make([]string, len(ch))
	for i, c := range ch {
		out[i] = c.Field
	}
	return out
}
