package reconcile

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// TestLookupAllLikeLookup: the batched lookups (lookupAll, behind
// MatchRecords and recordsInOrder) find for every PIN what lookup finds
// one at a time — known PINs, unknown ones beside them, malformed ones,
// people changed on top of the index and people gone from it — over
// several batches and a partial last one, in buckets both full and sparse
// (where a search's first guess is and is not the person).
func TestLookupAllLikeLookup(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rec := func(pin string, i int) cancuoc.MatchRecord {
		return cancuoc.MatchRecord{PIN: cancuoc.PIN(pin), FullName: fmt.Sprintf("Người %d", i), NameKey: fmt.Sprintf("nguoi %d", i),
			BirthDate: cancuoc.Date{Year: 1990, Month: 1, Day: 1 + i%28}, Sex: cancuoc.Male, LifeStatus: cancuoc.Alive}
	}
	var recs []cancuoc.MatchRecord
	var pins []cancuoc.PIN
	for i := range 3000 {
		prefix := 1_000 + r.IntN(3) // three crowded buckets of six digits...
		if i%3 == 0 {
			prefix = 100_000 + r.IntN(5000) // ...and many sparse ones
		}
		pin := fmt.Sprintf("%06d%06d", prefix, r.IntN(1_000_000))
		recs = append(recs, rec(pin, i))
		pins = append(pins, cancuoc.PIN(pin))
	}
	b := newBuilder()
	if err := b.add(recs); err != nil {
		t.Fatal(err)
	}
	if err := b.finish(); err != nil {
		t.Fatal(err)
	}
	base := b.ix
	// Changes: some people renamed (on top), some gone, one new.
	ch := cancuoc.MatchChanges{Records: []cancuoc.MatchRecord{rec(string(pins[5]), 9001), rec("001000999999", 9002)},
		Gone: []cancuoc.PIN{pins[7], pins[100]}}
	for i := 200; i < 260; i++ {
		ch.Records = append(ch.Records, rec(string(pins[i]), 10000+i))
	}
	changed, err := base.withChanges(ch)
	if err != nil {
		t.Fatal(err)
	}
	ask := append([]cancuoc.PIN{}, pins...)
	for i := range 500 {
		n := r.IntN(len(pins))
		ask = append(ask, cancuoc.PIN(fmt.Sprintf("%s%06d", pins[n][:6], r.IntN(1_000_000)))) // likely unknown
		if i%50 == 0 {
			ask = append(ask, "12", "abcdefghijkl", "999999999999", "-00000000001", "001000999999")
		}
	}
	r.Shuffle(len(ask), func(i, j int) { ask[i], ask[j] = ask[j], ask[i] })
	ask = ask[:len(ask)-7] // a partial last batch
	for _, ix := range []*Index{base, changed} {
		got := ix.recordsInOrder(ask)
		var want []cancuoc.MatchRecord
		for k, p := range ask {
			var w cancuoc.MatchRecord
			if at, e := ix.lookup(p); e != nil {
				w = at.record(e, p)
				want = append(want, w)
			}
			if !reflect.DeepEqual(got[k], w) {
				t.Fatalf("PIN %q: batched %+v, one by one %+v", p, got[k], w)
			}
		}
		all, err := ix.MatchRecords(t.Context(), ask, false)
		if err != nil || len(all) != len(want) {
			t.Fatalf("MatchRecords: %d records, %v; want %d", len(all), err, len(want))
		}
		for k := range all {
			if !reflect.DeepEqual(all[k], want[k]) {
				t.Fatalf("MatchRecords %d: %+v, want %+v", k, all[k], want[k])
			}
		}
	}
	if _, e := changed.lookup(pins[7]); e != nil {
		t.Errorf("a person gone from the registry is found")
	}
}
