package cancuoc

import "testing"

func TestMayHaveChanged(t *testing.T) {
	for _, c := range []struct {
		data string
		want bool
	}{
		{``, true},                    // no data: anything
		{`{`, true},                   // undecodable: anything
		{`{"procedure":"HS1"}`, true}, // no field list
		{`{"fields":[]}`, true},       // an empty list says nothing
		{`{"fields":["*"]}`, true},    // a new record
		{`{"fields":["household","life_status"]}`, true},
		{`{"fields":["household","children"]}`, false},
		{`{"fields":["life_status_note"]}`, false}, // whole names only
	} {
		e := &Event{Type: EventCitizenUpdated, Data: []byte(c.data)}
		if got := e.MayHaveChanged("life_status"); got != c.want {
			t.Errorf("%q: %v, want %v", c.data, got, c.want)
		}
	}
}

func TestMayHaveChangedAny(t *testing.T) {
	for _, c := range []struct {
		data string
		want bool
	}{
		{``, true},
		{`{"fields":["*"]}`, true},
		{`{"fields":["household","sex"]}`, true},
		{`{"fields":["phone"]}`, true},
		{`{"fields":["household","children"]}`, false},
	} {
		e := &Event{Type: EventCitizenUpdated, Data: []byte(c.data)}
		if got := e.MayHaveChangedAny("sex", "phone"); got != c.want {
			t.Errorf("%q: %v, want %v", c.data, got, c.want)
		}
	}
	if (&Event{Data: []byte(`{"fields":["sex"]}`)}).MayHaveChangedAny() {
		t.Error("no fields asked: nothing they name can have changed")
	}
}
