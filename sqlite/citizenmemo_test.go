package sqlite

import (
	"reflect"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/synth"
)

// A record asRead gives must be the one a read of the row decodes: the
// memo answers the transaction's next reads in place of the row.
func TestAsReadIsWhatTheRowDecodes(t *testing.T) {
	var recs []*cancuoc.Citizen
	err := synth.Generate(t.Context(), synth.Config{Citizens: 300, Seed: 7, Now: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)},
		func(batch []*cancuoc.Citizen) error {
			recs = append(recs, batch...)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	hcm := time.FixedZone("ICT", 7*3600)
	for i, c := range recs {
		c.Version = int64(i%3 + 1)
		// Times as the services give them: with a monotonic reading,
		// nanoseconds, and a zone other than UTC for some.
		c.CreatedAt = time.Now()
		c.UpdatedAt = time.Now().In(hcm)
		if i%5 == 0 {
			c.Other = map[string]string{} // empty: JSON omits it
		}
		if i%7 == 0 {
			c.Other = map[string]string{"note": "x"}
		}
	}
	for _, c := range recs {
		doc, err := citizenDoc(c)
		if err != nil {
			t.Fatal(err)
		}
		want, err := decodeCitizen("test", doc)
		if err != nil {
			t.Fatal(err)
		}
		kept, ok := asRead(c, doc)
		if !ok {
			t.Fatalf("%s: not kept", c.PIN)
		}
		var m citizenMemo
		m.keep(kept)
		got, _ := m.get(c.PIN)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: kept %+v\nthe row decodes to %+v", c.PIN, got, want)
		}
		// The caller's record is its own: changing it changes nothing kept.
		c.FullName += " (changed)"
		if again, _ := m.get(c.PIN); again.FullName != want.FullName {
			t.Fatalf("%s: the kept record follows the caller's changes", c.PIN)
		}
	}
}

// Invalid UTF-8 does not survive JSON (it becomes U+FFFD): such a record is
// not taken as read.
func TestAsReadSkipsWhatJSONChanges(t *testing.T) {
	c := &cancuoc.Citizen{PIN: "001090000001", Version: 1, FullName: "Nguyễn Văn A"}
	doc, _ := citizenDoc(c)
	if _, ok := asRead(c, doc); !ok {
		t.Fatal("a plain record is not taken as read")
	}
	for _, name := range []string{"Nguy\xffn", "Nguy\ufffdn"} {
		bad := c.Clone()
		bad.FullName = name
		doc, _ = citizenDoc(bad)
		if got, ok := asRead(bad, doc); ok {
			t.Errorf("%q taken as read (doc %s)", got.FullName, doc)
		}
	}
}
