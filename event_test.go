package cancuoc

import (
	"strconv"
	"strings"
	"testing"
)

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

// TestMayHaveChangedKept: the field lists decoded are kept by their data
// and answer later events alike, for any fields asked; the kept lists stay
// bounded, and data too long to keep is decoded each time.
func TestMayHaveChangedKept(t *testing.T) {
	data := `{"fields":["household","permanent_residence"]}`
	for range 3 {
		e := &Event{Type: EventCitizenUpdated, Data: []byte(data)}
		if e.MayHaveChanged("life_status") || !e.MayHaveChangedAny("sex", "household") || e.MayHaveChangedAny() {
			t.Fatalf("%s: wrong answer once kept", data)
		}
	}
	changedCache.mu.RLock()
	_, kept := changedCache.m[data]
	changedCache.mu.RUnlock()
	if !kept {
		t.Errorf("%s: not kept", data)
	}
	for i := range 3 * changedKeep {
		e := &Event{Data: []byte(`{"fields":["f` + strconv.Itoa(i) + `"]}`)}
		if e.MayHaveChanged("life_status") || !e.MayHaveChanged("f"+strconv.Itoa(i)) {
			t.Fatalf("field list %d: wrong answer", i)
		}
	}
	changedCache.mu.RLock()
	n := len(changedCache.m)
	changedCache.mu.RUnlock()
	if n > changedKeep {
		t.Errorf("%d field lists kept; want at most %d", n, changedKeep)
	}
	long := `{"fields":["life_status"],"note":"` + strings.Repeat("x", changedKeepBytes) + `"}`
	if !(&Event{Data: []byte(long)}).MayHaveChanged("life_status") {
		t.Error("long data: wrong answer")
	}
	changedCache.mu.RLock()
	_, kept = changedCache.m[long]
	changedCache.mu.RUnlock()
	if kept {
		t.Error("data longer than changedKeepBytes was kept")
	}
}
