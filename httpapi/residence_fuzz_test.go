package httpapi

import (
	"reflect"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/residence"
)

// TestResidenceSchemasMatchTypes keeps the residence schemas of
// openapi.json in step with the types the API encodes and decodes.
func TestResidenceSchemasMatchTypes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	checkSchemaFields(t, doc, map[string]reflect.Type{
		"HeadConsent":           reflect.TypeFor[cancuoc.HeadConsent](),
		"HouseholdMember":       reflect.TypeFor[cancuoc.HouseholdMember](),
		"Household":             reflect.TypeFor[cancuoc.Household](),
		"HouseholdView":         reflect.TypeFor[residence.HouseholdView](),
		"NewHousehold":          reflect.TypeFor[residence.NewHousehold](),
		"JoinHousehold":         reflect.TypeFor[residence.Join](),
		"NewHead":               reflect.TypeFor[residence.NewHead](),
		"Temporary":             reflect.TypeFor[residence.Temporary](),
		"TemporaryRegistration": reflect.TypeFor[cancuoc.TemporaryRegistration](),
		"Renewal":               reflect.TypeFor[residence.Renewal](),
		"ExpiryItem":            reflect.TypeFor[residence.ExpiryItem](),
		"ExpiryPage":            reflect.TypeFor[expiryPage](),
		"Absence":               reflect.TypeFor[residence.Absence](),
		"Deregistration":        reflect.TypeFor[residence.Deregistration](),
		"ResidenceEntry":        reflect.TypeFor[cancuoc.ResidenceEntry](),
		"StayGuest":             reflect.TypeFor[cancuoc.StayGuest](),
		"Stay":                  reflect.TypeFor[residence.Stay](),
		"StayNotification":      reflect.TypeFor[cancuoc.StayNotification](),
		"StayPage":              reflect.TypeFor[stayPage](),
		"Marriage":              reflect.TypeFor[residence.Marriage](),
		"Divorce":               reflect.TypeFor[residence.Divorce](),
		"Couple":                reflect.TypeFor[couple](),
		"DeregistrationCause":   reflect.TypeFor[causeItem](),
	})
}

func FuzzDecodeStay(f *testing.F) {
	addSeeds(f,
		`{"reference":"B-1","host":"Khách sạn","place":{"era":"34","province":"01","commune":"00004","detail":"số 1"},"guests":[{"pin":"001090000001"},{"name":"John Smith","document":"P123"}],"arrival":"2026-03-10T23:30:00+07:00","departure":"2026-03-12"}`,
		`{"arrival":"2026-03-10"}`, `{"arrival":"2026-03-10T25:00:00Z"}`, `{"arrival":1}`, `{"guests":{}}`, `{"guests":[{"pin":5}]}`,
		`{"departure":"2026-02-30"}`, `{"place":{"era":"63","district":"001"}}`)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[residence.Stay](t, data) })
}

func FuzzDecodeJoin(f *testing.F) {
	addSeeds(f,
		`{"pin":"001090000001","relation":"con","consent":{"by":"001090000002","at":"2026-03-10T08:00:00Z","method":"written"},"reason":"r","legal_basis":"l"}`,
		`{"consent":{"at":"yesterday"}}`, `{"consent":null}`, `{"relation":["con"]}`)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[residence.Join](t, data) })
}

func FuzzDecodeResidenceRequests(f *testing.F) {
	addSeeds(f,
		`{"a":"001090000001","b":"001190000002","date":"2026-03-08","reason":"r","legal_basis":"l"}`,
		`{"cause":"death","reason":"r","legal_basis":"l"}`, `{"pin":"001090000001","place":{"era":"34"},"from":"2026","until":"2027-01-01"}`,
		`{"until":"2027-13-01"}`, `{"from":"2026-03-01","destination":{"country":"JPN"},"purpose":"x"}`,
		`{"address":{"era":"34","province":"01","commune":"00004"},"head_pin":"001090000001"}`,
		`{"head_pin":"001090000001","relations":{"001190000002":"mẹ","x":"con"}}`, `{"relations":[]}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode[residence.Marriage](t, data)
		fuzzDecode[residence.Deregistration](t, data)
		fuzzDecode[residence.Temporary](t, data)
		fuzzDecode[residence.Absence](t, data)
		fuzzDecode[residence.NewHousehold](t, data)
		fuzzDecode[residence.Renewal](t, data)
		fuzzDecode[residence.NewHead](t, data)
	})
}

// FuzzResidenceCursor: a cursor this API made comes back whole; anything
// else either splits in two or is refused, never panics.
func FuzzResidenceCursor(f *testing.F) {
	f.Add("2026-03-10", "001090000001")
	f.Add("", "")
	f.Add("a\x00b", "c")
	f.Fuzz(func(t *testing.T, a, b string) {
		c := makeCursor(a, b)
		x, y, ok := cutCursor(c)
		if !ok {
			t.Fatalf("own cursor %q refused", c)
		}
		if x+"\x00"+y != a+"\x00"+b {
			t.Fatalf("cursor of %q/%q came back as %q/%q", a, b, x, y)
		}
		_, _, _ = cutCursor(a)
	})
}
