package web

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strconv"
	"testing"
)

func TestLeafDiff(t *testing.T) {
	old := json.RawMessage(`{"era":"34","province":"01","commune":"00004","detail":"số 12"}`)
	cases := []struct {
		name     string
		old, new json.RawMessage
		want     []leafChange
	}{
		{"one leaf inside an object", old, json.RawMessage(`{"era":"34","province":"01","commune":"00008","detail":"số 12"}`),
			[]leafChange{{Field: "permanent_residence", Label: "Nơi thường trú", Path: "commune", Old: "00004", New: "00008"}}},
		{"added", nil, json.RawMessage(`"+84987654321"`), []leafChange{{Field: "permanent_residence", Label: "Nơi thường trú", New: "+84987654321"}}},
		{"removed object", old, json.RawMessage(`null`), []leafChange{
			{Field: "permanent_residence", Label: "Nơi thường trú", Path: "commune", Old: "00004"},
			{Field: "permanent_residence", Label: "Nơi thường trú", Path: "detail", Old: "số 12"},
			{Field: "permanent_residence", Label: "Nơi thường trú", Path: "era", Old: "34"},
			{Field: "permanent_residence", Label: "Nơi thường trú", Path: "province", Old: "01"}}},
		{"array item and number", json.RawMessage(`[{"pin":"1","n":2}]`), json.RawMessage(`[{"pin":"1","n":3},{"pin":"2"}]`), []leafChange{
			{Field: "permanent_residence", Label: "Nơi thường trú", Path: "[0].n", Old: "2", New: "3"},
			{Field: "permanent_residence", Label: "Nơi thường trú", Path: "[1].pin", New: "2"}}},
		{"same", old, old, nil},
	}
	for _, c := range cases {
		if got := leafDiff("vi", "permanent_residence", c.old, c.new); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
	if got := leafDiff("en", "not_a_field", nil, json.RawMessage(`true`)); len(got) != 1 || got[0].Label != "not_a_field" || got[0].New != "true" {
		t.Errorf("unknown field: %+v", got)
	}
}

// FuzzPartnerForm: any posted partner form parses without panicking,
// and quotas are never negative when it parses.
func FuzzPartnerForm(f *testing.F) {
	f.Add("id=bank-vd&name=N&kind=bank&operation=match&field=full_name&purpose=p&legal_basis=l&per_minute=10&per_day=&version=3")
	f.Add("per_minute=-1")
	f.Add("per_day=99999999999999999999999")
	f.Add("version=x&event_types=citizen.born,%20citizen.died")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		p, err := parsePartnerForm(v)
		if err == nil && (p.Policy.Quota.PerMinute < 0 || p.Policy.Quota.PerDay < 0) {
			t.Fatalf("negative quota accepted: %+v", p.Policy.Quota)
		}
	})
}

// FuzzClientForm: any posted client form parses without panicking; a
// minimum level that is not a number is refused.
func FuzzClientForm(f *testing.F) {
	f.Add("id=app&name=A&purpose=P&kind=public&redirect_uris=https://a.example/cb%0Ahttps://b.example/cb&grant=authorization_code&scope_pid=1&min_level=2")
	f.Add("min_level=hai")
	f.Add("jwks=%7B%22keys%22%3A%5B%5D%7D")
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		n, err := parseClientForm(v)
		if l := v.Get("min_level"); l != "" {
			want, aerr := strconv.Atoi(l)
			if (aerr == nil) != (err == nil) || err == nil && n.MinLevel != want {
				t.Fatalf("min_level %q: parsed %d, %v", l, n.MinLevel, err)
			}
		}
	})
}

func TestLabelOf(t *testing.T) {
	if got := labelOf("en", stepStatuses, "paused"); got != "paused" {
		t.Errorf("unknown status: %q", got)
	}
	if got := labelOf("vi", agencyNames, "police"); got != "Công an (cư trú)" {
		t.Errorf("police: %q", got)
	}
	if got := labelOf("vi", agencyNames, ""); got != "" {
		t.Errorf("no agency: %q", got)
	}
}
