package dispatch

import (
	"context"
	"sync"

	"github.com/cancuoc/cancuoc"
)

// sharedReads lets the in-process consumers share their reads of the
// outbox. A commit's Notify wakes every consumer, and each read the same
// new events: six consumers, six identical queries and decodings per
// commit, most of them for events the consumer then skips. The last read
// is kept, with the Notify generation it started in; a consumer whose
// cursor lies within it takes its events from it while no Notify has come
// since (no commit announced since the read began), and reads the store
// otherwise. A consumer woken by its poll timer always reads the store, so
// events committed without a Notify (by another node) are found as before.
// Events are values, handed to handlers by copy, so the kept slice is
// shared read-only.
type sharedReads struct {
	mu    sync.Mutex
	gen   uint64 // Notify calls so far
	valid bool
	reads uint64          // reads begun so far
	no    uint64          // the kept read's number among them
	at    uint64          // gen when the kept read began
	after int64           // the kept read's cursor
	evs   []cancuoc.Event // what it returned, in Seq order
	full  bool            // it returned a whole batch: more may follow
	// flight is the read under way, which consumers woken by the same
	// Notify wait for rather than each starting their own (on PostgreSQL
	// a read takes a round trip, and they all wake at once).
	flight *flight
}

type flight struct {
	no    uint64
	at    uint64
	after int64
	done  chan struct{}
}

// notified starts a new generation: reads begun before are stale.
func (r *sharedReads) notified() {
	r.mu.Lock()
	r.gen++
	r.mu.Unlock()
}

// cached returns the events after cursor from the kept read, if it
// answers for them.
func (r *sharedReads) cached(cursor int64) ([]cancuoc.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.valid || r.at != r.gen || cursor < r.after {
		return nil, false
	}
	for i := range r.evs {
		if r.evs[i].Seq > cursor {
			return r.evs[i:len(r.evs):len(r.evs)], true
		}
	}
	if r.full {
		return nil, false // past the kept batch: the store has the rest
	}
	return nil, true // nothing after cursor that the read could see
}

// read is EventsAfter through the kept read: from it when it answers,
// else from the store, keeping the result. fresh skips the kept read.
func (d *Dispatcher) read(ctx context.Context, cursor int64, fresh bool) ([]cancuoc.Event, error) {
	r := &d.reads
	if !fresh {
		if evs, ok := r.cached(cursor); ok {
			return evs, nil
		}
		r.mu.Lock()
		f, gen := r.flight, r.gen
		r.mu.Unlock()
		if f != nil && f.at == gen && f.after <= cursor {
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if evs, ok := r.cached(cursor); ok {
				return evs, nil
			}
		}
	}
	r.mu.Lock()
	r.reads++
	f := &flight{no: r.reads, at: r.gen, after: cursor, done: make(chan struct{})}
	r.flight = f
	r.mu.Unlock()
	evs, err := d.store.EventsAfter(ctx, cursor, d.batch)
	r.mu.Lock()
	// Only a read begun after the kept one replaces it: it saw at least as
	// much of the outbox.
	if err == nil && (!r.valid || f.no > r.no) {
		r.valid, r.no, r.at, r.after, r.evs, r.full = true, f.no, f.at, cursor, evs, len(evs) >= d.batch
	}
	if r.flight == f {
		r.flight = nil
	}
	r.mu.Unlock()
	close(f.done)
	return evs, err
}
