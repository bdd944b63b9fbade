package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
)

// batchProbe is a subscription with PrepareBatch that records, for every
// event, which handler its successful attempt went to: the handler a
// batch's preparation returned ("prepared") or the subscription's own
// ("plain"). The prepared handler of one event's first attempt fails
// (failFirst), and the preparation of one batch (failBatch, counted from 1).
type batchProbe struct {
	wanted    map[string]bool // the event types the subscription takes
	failFirst string          // an event whose prepared attempt fails
	failBatch int
	serial    bool // without Concurrency: every event after failFirst in its batch waited behind it

	mu       sync.Mutex
	batches  [][]string     // each preparation's event IDs
	by       map[string]int // successful handlings per event
	how      map[string]string
	handled  []cancuoc.Event // in order of success
	problems []string
}

func newBatchProbe(types []string, failFirst string, failBatch int) *batchProbe {
	p := &batchProbe{wanted: map[string]bool{}, failFirst: failFirst, failBatch: failBatch,
		by: map[string]int{}, how: map[string]string{}}
	for _, t := range types {
		p.wanted[t] = true
	}
	return p
}

func (p *batchProbe) problem(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *batchProbe) prepare(ctx context.Context, evs []cancuoc.Event) (func(context.Context, cancuoc.Event) error, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]string, len(evs))
	in := make(map[string]bool, len(evs))
	for i, e := range evs {
		ids[i], in[e.ID] = e.ID, true
		if !p.wanted[e.Type] {
			p.problem("batch %d holds %s of type %s, not subscribed", len(p.batches)+1, e.ID, e.Type)
		}
		if i > 0 && e.Seq <= evs[i-1].Seq {
			p.problem("batch %d out of Seq order at %s", len(p.batches)+1, e.ID)
		}
	}
	p.batches = append(p.batches, ids)
	if len(p.batches) == p.failBatch {
		return nil, errors.New("preparation failed")
	}
	return func(ctx context.Context, e cancuoc.Event) error {
		if !in[e.ID] {
			p.mu.Lock()
			p.problem("the prepared handler of a batch got %s, not in it", e.ID)
			p.mu.Unlock()
		}
		if e.ID == p.failFirst {
			return errors.New("the prepared attempt fails")
		}
		return p.handle(e, "prepared")
	}, nil
}

func (p *batchProbe) plain(ctx context.Context, e cancuoc.Event) error { return p.handle(e, "plain") }

func (p *batchProbe) handle(e cancuoc.Event, how string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.wanted[e.Type] {
		p.problem("%s of type %s handled, not subscribed", e.ID, e.Type)
	}
	p.by[e.ID]++
	p.how[e.ID] = how
	p.handled = append(p.handled, e)
	return nil
}

func (p *batchProbe) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.by)
}

// check checks that each event of want that the probe takes was handled
// once, in order per citizen, by the handler its batch was prepared for,
// except failFirst (retried by the plain handler), the events after it in
// its batch (see afterFail) and the events of the batch whose preparation
// failed; and that batches held several events.
func (p *batchProbe) check(t *testing.T, name string, want []cancuoc.Event) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.problems {
		t.Errorf("%s: %s", name, s)
	}
	unprepared := map[string]bool{p.failFirst: true}
	if p.failBatch > 0 && p.failBatch <= len(p.batches) {
		for _, id := range p.batches[p.failBatch-1] {
			unprepared[id] = true
		}
	} else {
		t.Errorf("%s: %d preparations, the one meant to fail (%d) never came", name, len(p.batches), p.failBatch)
	}
	// The events of failFirst's batch still to come when it failed: their
	// first attempts go to the plain handler (what the preparation read may
	// be old by then). Serially, those after it; in parallel, other
	// citizens' may come before or after the failure, so either will do.
	afterFail, sameBatch := map[string]bool{}, map[string]bool{}
	for _, b := range p.batches {
		if i := slices.Index(b, p.failFirst); i >= 0 {
			for j, id := range b {
				sameBatch[id], afterFail[id] = j != i, j > i
			}
		}
	}
	n := 0
	for _, e := range want {
		if !p.wanted[e.Type] {
			continue
		}
		n++
		wantHow := "prepared"
		if unprepared[e.ID] || afterFail[e.ID] && p.serial {
			wantHow = "plain"
		}
		if sameBatch[e.ID] && !p.serial && p.by[e.ID] == 1 {
			continue
		}
		if p.by[e.ID] != 1 || p.how[e.ID] != wantHow {
			t.Errorf("%s: event %s handled %d times, last by the %s handler; want once, by the %s one",
				name, e.ID, p.by[e.ID], p.how[e.ID], wantHow)
		}
	}
	if p.how[p.failFirst] != "plain" {
		t.Errorf("%s: the event whose prepared attempt failed was not retried by the plain handler", name)
	}
	biggest := 0
	for _, b := range p.batches {
		biggest = max(biggest, len(b))
	}
	if biggest < 2 || len(p.batches) >= n {
		t.Errorf("%s: %d events in %d preparations (largest %d): not prepared by batch", name, n, len(p.batches), biggest)
	}
	checkOrder(t, name, p.handled)
}

// firstOfType is the first event of want at index from or later of type typ.
func firstOfType(t *testing.T, want []cancuoc.Event, from int, typ string) cancuoc.Event {
	t.Helper()
	i := slices.IndexFunc(want[from:], func(e cancuoc.Event) bool { return e.Type == typ })
	if i < 0 {
		t.Fatalf("no %s event after index %d", typ, from)
	}
	return want[from+i]
}

// TestPrepareBatch: in-process, each batch read from the outbox is
// prepared once, with only the events the subscription takes; every event
// is handled once, in order per citizen, by the handler prepared for its
// batch; a failing event is retried alone, by the subscription's handler,
// and a failed preparation leaves its batch to that handler. Serially and
// in parallel by citizen (with the events about no citizen as barriers).
func TestPrepareBatch(t *testing.T) {
	testkit.Stores(t, "dispatch_test", func(t *testing.T, st cancuoc.Store) {
		want := appendEvents(t, st, 400, 20, 37, "p")
		types := []string{cancuoc.EventCitizenUpdated, cancuoc.EventCitizensLoaded} // not citizen.died
		failing := firstOfType(t, want, 120, cancuoc.EventCitizenUpdated).ID
		serial := newBatchProbe(types, failing, 2)
		serial.serial = true
		parallel := newBatchProbe(types, failing, 3)
		d := newDispatcher(st)
		d.Subscribe("prepared-serial", types, serial.plain, PrepareBatch(serial.prepare))
		d.Subscribe("prepared-parallel", types, parallel.plain, PrepareBatch(parallel.prepare), Concurrency(4))
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		n := 0
		for _, e := range want {
			if e.Type != cancuoc.EventCitizenDied {
				n++
			}
		}
		waitFor(t, "every event", func() bool { return serial.count() == n && parallel.count() == n })
		d.Stop()
		serial.check(t, "serial", want)
		parallel.check(t, "parallel", want)
	})
}

// TestJetStreamPrepareBatch: the same through JetStream, where a batch is
// what one fetch brought.
func TestJetStreamPrepareBatch(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		st, js, want := nt.relayedStream(t, 300, 15, "pj")
		types := []string{cancuoc.EventCitizenUpdated}
		probe := newBatchProbe(types, firstOfType(t, want, 100, cancuoc.EventCitizenUpdated).ID, 2)
		d := newDispatcher(st, WithJetStream(js, nt.cfg))
		d.Subscribe("prepared", types, probe.plain, PrepareBatch(probe.prepare), Concurrency(4))
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		n := 0
		for _, e := range want {
			if e.Type == cancuoc.EventCitizenUpdated {
				n++
			}
		}
		waitFor(t, "every event", func() bool { return probe.count() == n })
		d.Stop()
		probe.check(t, "jetstream", want)
	})
}

// TestPreparePanics: a preparation that panics is a failed one: its batch
// goes to the subscription's handler.
func TestPreparePanics(t *testing.T) {
	st := memStore(t)
	want := appendEvents(t, st, 30, 5, 0, "pp")
	rec := newRecorder()
	d := newDispatcher(st)
	d.Subscribe("prepare-panics", nil, rec.handle, PrepareBatch(func(context.Context, []cancuoc.Event) (func(context.Context, cancuoc.Event) error, error) {
		panic("a preparation bug")
	}))
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	waitFor(t, "every event", func() bool { return rec.count() == len(want) })
	checkAll(t, "prepare-panics", rec, want)
}
