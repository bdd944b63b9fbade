package partner

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// docReads counts the record reads made through it, one by one and by
// batch (with the PINs each batch asked for).
type docReads struct {
	cancuoc.Store
	mu      sync.Mutex
	one     int
	batches [][]cancuoc.PIN
}

func (r *docReads) CitizenDoc(ctx context.Context, pin cancuoc.PIN) (*cancuoc.CitizenDoc, error) {
	r.mu.Lock()
	r.one++
	r.mu.Unlock()
	return r.Store.CitizenDoc(ctx, pin)
}

func (r *docReads) CitizenDocs(ctx context.Context, pins []cancuoc.PIN) ([]*cancuoc.CitizenDoc, error) {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(pins))
	r.mu.Unlock()
	return r.Store.CitizenDocs(ctx, pins)
}

// TestProjectionPrepare: a batch prepared (one read of its citizens'
// records) leaves the projection exactly as Handle, event by event, does:
// births, a change (two events of one citizen), events that change no
// entry (a procedure's, fields outside the view, one the load's snapshot
// holds) and one about a PIN with no record; the batch reads only the
// records its events may change, and no record one by one. Before the
// load, the batch is left to Handle, which waits.
func TestProjectionPrepare(t *testing.T) {
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	pin := func(n int) cancuoc.PIN { return storetest.PINFor("001", cancuoc.Male, 1990, n) }
	insert := func(ns ...int) {
		for _, n := range ns {
			if err := st.InsertCitizen(ctx, storetest.Citizen(pin(n))); err != nil {
				t.Fatal(err)
			}
		}
	}
	update := func(n int, f func(c *cancuoc.Citizen)) {
		c, err := st.Citizen(ctx, pin(n))
		if err != nil {
			t.Fatal(err)
		}
		old := c.Version
		f(c)
		c.Version++
		if err := st.UpdateCitizen(ctx, c, old); err != nil {
			t.Fatal(err)
		}
	}
	insert(1, 2, 3)
	// An event before the load, so that its snapshot has a Seq.
	if err := st.AppendEvent(ctx, &cancuoc.Event{ID: "ev-0", Type: cancuoc.EventCitizensLoaded, Actor: "test", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	byEvent, byBatch := &docReads{Store: st}, &docReads{Store: st}
	a, b := NewProjection(byEvent), NewProjection(byBatch)
	b.seed = a.seed // the same hashes, so that the entries compare

	early, err := b.Prepare(ctx, []cancuoc.Event{{PIN: pin(1), Type: cancuoc.EventCitizenUpdated, Seq: 1}})
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := early(wait, cancuoc.Event{PIN: pin(1), Type: cancuoc.EventCitizenUpdated, Seq: 1}); err == nil {
		t.Error("a batch prepared before the load was handled; it must wait for the load")
	}
	for _, p := range []*Projection{a, b} {
		if err := p.Load(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	snap := a.Seq()
	if snap == 0 {
		t.Fatal("the load's snapshot has no Seq")
	}
	insert(5, 6)
	update(1, func(c *cancuoc.Citizen) { c.LifeStatus = cancuoc.Dead })
	update(3, func(c *cancuoc.Citizen) { c.FullName = "Nguyễn Văn Khác" }) // its event is older than the snapshot
	fields := func(f string) []byte { return []byte(`{"fields":["` + f + `"]}`) }
	evs := []cancuoc.Event{
		{PIN: pin(5), Type: cancuoc.EventCitizenBorn, Seq: snap + 1, Data: fields("*")},
		{PIN: pin(6), Type: "procedure.submitted", Seq: snap + 2},
		{PIN: pin(1), Type: cancuoc.EventCitizenDied, Seq: snap + 3, Data: fields("life_status")},
		{PIN: pin(2), Type: cancuoc.EventCitizenUpdated, Seq: snap + 4, Data: fields("children")},
		{PIN: pin(6), Type: cancuoc.EventCitizenBorn, Seq: snap + 5},
		{PIN: pin(1), Type: cancuoc.EventCitizenUpdated, Seq: snap + 6, Data: fields("life_status")},
		{PIN: pin(9), Type: cancuoc.EventCitizenUpdated, Seq: snap + 7},
		{PIN: pin(3), Type: cancuoc.EventCitizenUpdated, Seq: snap},
		{Type: cancuoc.EventCitizensLoaded, Seq: snap + 8},
	}
	for _, e := range evs {
		if err := a.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	h, err := b.Prepare(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if err := h(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if byEvent.one != 5 || len(byEvent.batches) != 0 {
		t.Errorf("Handle read %d records one by one and %d batches, want 5 and none", byEvent.one, len(byEvent.batches))
	}
	want := []cancuoc.PIN{pin(5), pin(1), pin(6), pin(9)}
	if byBatch.one != 0 || len(byBatch.batches) != 1 || !slices.Equal(byBatch.batches[0], want) {
		t.Errorf("the prepared batch read %d records one by one and batches %v, want none and one of %v", byBatch.one, byBatch.batches, want)
	}
	if a.Len() != 5 || b.Len() != a.Len() {
		t.Errorf("the projection holds %d people by batch, %d by event; want 5", b.Len(), a.Len())
	}
	for i := range a.shards {
		if !maps.Equal(a.shards[i].m, b.shards[i].m) {
			t.Fatalf("shard %d differs: by event %v, by batch %v", i, a.shards[i].m, b.shards[i].m)
		}
	}
	k, _ := pinKey(pin(1))
	if e := b.shard(k).m[k]; e.version != 2 || projStatuses[e.status] != cancuoc.Dead {
		t.Errorf("the changed citizen's entry %+v, want version 2, dead", e)
	}
}
