package workflow

import (
	"context"
	"sync"

	"github.com/cancuoc/cancuoc"
)

// maxAdvanceGroup bounds how many completed steps one handler transaction
// advances.
const maxAdvanceGroup = 64

// advancer groups the handler's work: the dispatcher calls HandleEvent for
// many completed steps at once (in parallel by citizen, in process or from
// JetStream), and instead of one transaction (and one durable commit) each,
// the calls waiting meanwhile are advanced together in one transaction,
// each in its own savepoint, so that one failing rolls back only itself.
// Every caller learns its own outcome after the shared commit; a failed
// commit fails them all, and the dispatcher delivers their events again.
type advancer struct {
	mu      sync.Mutex
	pending []*advanceCall
	leading bool
}

type advanceCall struct {
	ref  stepRef
	done chan error
}

// advanceGrouped advances ref, in a transaction shared with the calls
// waiting at the same time.
func (s *Service) advanceGrouped(ctx context.Context, ref stepRef) error {
	c := &advanceCall{ref: ref, done: make(chan error, 1)}
	a := &s.adv
	a.mu.Lock()
	a.pending = append(a.pending, c)
	lead := !a.leading
	if lead {
		a.leading = true
	}
	a.mu.Unlock()
	if lead {
		s.leadAdvance(context.WithoutCancel(ctx))
	}
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		// The group may still commit it; the dispatcher delivers the event
		// again, and advancing twice changes nothing.
		return ctx.Err()
	}
}

// leadAdvance runs one group, then hands the lead to a new goroutine if
// more calls came meanwhile, so that no caller waits for later groups.
func (s *Service) leadAdvance(ctx context.Context) {
	a := &s.adv
	a.mu.Lock()
	n := min(len(a.pending), maxAdvanceGroup)
	group := a.pending[:n:n]
	a.pending = a.pending[n:]
	a.mu.Unlock()

	errs := make([]error, len(group))
	now := s.clock()
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		for i, c := range group {
			if len(group) == 1 {
				errs[i] = s.advance(ctx, tx, c.ref, now)
				return errs[i]
			}
			errs[i] = tx.Savepoint(ctx, func(tx cancuoc.Tx) error { return s.advance(ctx, tx, c.ref, now) })
			if errs[i] != nil && !itemError(errs[i]) {
				return errs[i] // the transaction itself may be broken
			}
		}
		return nil
	})
	for i, c := range group {
		if err != nil {
			c.done <- err
		} else {
			c.done <- errs[i]
		}
	}
	if err == nil {
		s.notify()
	}

	a.mu.Lock()
	if len(a.pending) == 0 {
		a.leading = false
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	go s.leadAdvance(ctx)
}

// itemError reports an error that concerns one item only, after which the
// transaction goes on.
func itemError(err error) bool {
	switch cancuoc.KindOf(err) {
	case cancuoc.Invalid, cancuoc.NotFound, cancuoc.Conflict, cancuoc.Forbidden:
		return true
	}
	return false
}
