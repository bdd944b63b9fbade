package residence

import (
	"context"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"sync"

	"github.com/cancuoc/cancuoc"
)

// Stay notifications are the busiest residence write (every hotel night in
// the country). Each one commits with its audit entries and event, and both
// the access log's hash chain and the outbox hold a lock to commit, so one
// transaction per notification would make the commit latency their rate.
// Concurrent notifications are therefore committed together (group
// commit): the first caller leads, commits what is queued in one
// transaction, answers everyone in it, and hands leadership to the oldest
// caller still waiting. Nothing runs in the background.

// maxStayBatch bounds the notifications committed together.
const maxStayBatch = 256

type stayReq struct {
	n     *cancuoc.StayNotification
	audit []*cancuoc.AuditEntry
	dup   bool          // the reporter had already sent this reference
	done  chan error    // the batch's outcome
	lead  chan struct{} // this caller now leads the next batch
}

type stayBatcher struct {
	mu      sync.Mutex
	pending []*stayReq
	busy    bool // a leader is committing; pending is then waiting for it
}

// submit commits r in some batch and returns the batch's outcome.
func (b *stayBatcher) submit(r *stayReq, commit func([]*stayReq) error) error {
	r.done, r.lead = make(chan error, 1), make(chan struct{}, 1)
	b.mu.Lock()
	b.pending = append(b.pending, r)
	if b.busy {
		b.mu.Unlock()
		select {
		case err := <-r.done:
			return err
		case <-r.lead:
		}
	} else {
		b.busy = true
		b.mu.Unlock()
	}
	b.commitOne(commit)
	return <-r.done
}

// commitOne commits the oldest queued requests (the leader's among them),
// then passes leadership on or gives it up.
func (b *stayBatcher) commitOne(commit func([]*stayReq) error) {
	b.mu.Lock()
	n := min(len(b.pending), maxStayBatch)
	batch := append([]*stayReq(nil), b.pending[:n]...)
	b.pending = b.pending[n:]
	b.mu.Unlock()
	err := commit(batch)
	for _, r := range batch {
		r.done <- err
	}
	b.mu.Lock()
	if len(b.pending) == 0 {
		b.busy = false
	} else {
		b.pending[0].lead <- struct{}{}
	}
	b.mu.Unlock()
}

// commitStays writes a batch in one transaction: the notifications, then
// the audit entries of those that were new, then their events (audit before
// events: the lock order of the log). A reference already used marks its
// request dup and writes nothing for it.
func (s *Service) commitStays(ctx context.Context, batch []*stayReq) error {
	return s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var entries []*cancuoc.AuditEntry
		for _, r := range batch {
			r.dup = false
			err := tx.InsertStay(ctx, r.n)
			var ce *cancuoc.Error
			if errors.As(err, &ce) && ce.Kind == cancuoc.Conflict && ce.Code == "duplicate" && r.n.Reference != "" {
				r.dup = true
				continue
			}
			if err != nil {
				return err
			}
			entries = append(entries, r.audit...)
		}
		if len(entries) > 0 {
			if err := tx.AppendAudit(ctx, entries...); err != nil {
				return err
			}
		}
		for _, r := range batch {
			if r.dup {
				continue
			}
			n := r.n
			data, err := json.Marshal(map[string]any{"stay": n.ID, "unit": n.Unit, "guests": len(n.Guests), "on_time": n.OnTime})
			if err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, &cancuoc.Event{ID: newID("ev_"), Type: cancuoc.EventStayNotified, Actor: n.Reporter,
				At: n.NotifiedAt, Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
}
