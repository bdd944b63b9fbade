package registry

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

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

// CurrentUnits is p in today's province and commune, as a record's Home is
// derived: false when p has no province code or old codes that map to none
// (a commune that does not map exactly is left empty).
func CurrentUnits(p *cancuoc.Place) (cancuoc.UnitRef, bool) { return toCurrent(p) }

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
	return diffOf(old, new, nil)
}

// diffOf is diff restricted to the fields named in only (nil: all). Each
// field is compared on its own (recordFields): one equal in both versions
// (most of them: an update changes a field or two) costs a comparison,
// and only a field that differs is encoded, where encoding both whole
// records was most of an update's own work (three times per update, with
// the check of protected fields).
func diffOf(old, new *cancuoc.Citizen, only []string) ([]cancuoc.FieldChange, error) {
	fs := recordFields()
	if old == nil || new == nil || fs == nil {
		return diffJSON(old, new, only)
	}
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(new).Elem()
	var out []cancuoc.FieldChange
	for _, f := range fs {
		if bookkeeping[f.name] || only != nil && !slices.Contains(only, f.name) {
			continue
		}
		a, b := ov.Field(f.index), nv.Field(f.index)
		if sameValue(a, b) {
			continue
		}
		aj, err := f.encode(a)
		if err != nil {
			return nil, err
		}
		bj, err := f.encode(b)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(aj, bj) {
			out = append(out, cancuoc.FieldChange{Field: f.name, Old: orNull(aj), New: orNull(bj)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out, nil
}

// diffJSON is diffOf by encoding both records whole: for a nil record,
// and the reference the field by field comparison must equal.
func diffJSON(old, new *cancuoc.Citizen, only []string) ([]cancuoc.FieldChange, error) {
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
		if bookkeeping[k] || only != nil && !slices.Contains(only, k) || bytes.Equal(om[k], nm[k]) {
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

// recordField is one top-level member of a record's JSON: the struct
// field at index, named name, left out when empty if omitEmpty.
type recordField struct {
	name      string
	index     int
	omitEmpty bool
}

// recordFields lists the record's JSON members, or nil when
// cancuoc.Citizen has a field whose JSON encoding/json would not give as
// its own value's (an embedded struct, ",string", ",omitzero"…): then
// every diff encodes the records whole.
var recordFields = sync.OnceValue(func() []recordField {
	t := reflect.TypeFor[cancuoc.Citizen]()
	var out []recordField
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous || !sf.IsExported() {
			return nil
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := recordField{name: name, index: i}
		if f.name == "" {
			f.name = sf.Name
		}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "":
			case "omitempty":
				f.omitEmpty = true
			default:
				return nil
			}
		}
		out = append(out, f)
	}
	return out
})

// encode is the field's member value as json.Marshal of the whole record
// writes it, or nil when the member is left out. The field is encoded
// through its address, as inside the record (methods on the pointer).
func (f recordField) encode(v reflect.Value) ([]byte, error) {
	if f.omitEmpty && emptyJSON(v) {
		return nil, nil
	}
	return json.Marshal(v.Addr().Interface())
}

// emptyJSON is encoding/json's test of an empty value for omitempty.
func emptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// sameValue reports that a and b (fields of the same type) hold equal
// values, and so encode alike; false may still encode alike (an empty
// slice and nil, left out), which the caller's encoding settles.
func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.String:
		return a.String() == b.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Pointer, reflect.Slice, reflect.Map:
		if a.IsNil() && b.IsNil() {
			return true
		}
	}
	return reflect.DeepEqual(a.Addr().Interface(), b.Addr().Interface())
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
