package residence_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/residence"
)

var errInjected = errors.New("injected failure")

// failStore fails the chosen write method of its transactions on the
// (skip+1)-th call, to show a decision is all or nothing.
type failStore struct {
	cancuoc.Store
	mu     sync.Mutex
	method string
	skip   int
	fired  bool
}

func (s *failStore) arm(method string, skip int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.method, s.skip, s.fired = method, skip, false
}

func (s *failStore) hit(method string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method != s.method {
		return false
	}
	if s.skip > 0 {
		s.skip--
		return false
	}
	s.method, s.fired = "", true
	return true
}

func (s *failStore) InTx(ctx context.Context, fn func(cancuoc.Tx) error) error {
	return s.Store.InTx(ctx, func(tx cancuoc.Tx) error { return fn(&failTx{Tx: tx, s: s}) })
}

type failTx struct {
	cancuoc.Tx
	s *failStore
}

func (t *failTx) fail(m string) error {
	if t.s.hit(m) {
		return errInjected
	}
	return nil
}

func (t *failTx) AppendEvent(ctx context.Context, e *cancuoc.Event) error {
	if err := t.fail("AppendEvent"); err != nil {
		return err
	}
	return t.Tx.AppendEvent(ctx, e)
}

func (t *failTx) AppendAudit(ctx context.Context, es ...*cancuoc.AuditEntry) error {
	if err := t.fail("AppendAudit"); err != nil {
		return err
	}
	return t.Tx.AppendAudit(ctx, es...)
}

func (t *failTx) UpdateCitizen(ctx context.Context, c *cancuoc.Citizen, prev int64) error {
	if err := t.fail("UpdateCitizen"); err != nil {
		return err
	}
	return t.Tx.UpdateCitizen(ctx, c, prev)
}

func (t *failTx) AppendResidence(ctx context.Context, e *cancuoc.ResidenceEntry) error {
	if err := t.fail("AppendResidence"); err != nil {
		return err
	}
	return t.Tx.AppendResidence(ctx, e)
}

func (t *failTx) UpdateHousehold(ctx context.Context, h *cancuoc.Household, prev int64) error {
	if err := t.fail("UpdateHousehold"); err != nil {
		return err
	}
	return t.Tx.UpdateHousehold(ctx, h, prev)
}

// TestAtomic moves a member between households (the most writes of one
// decision: two households, the record, two entries, audit, events) with a
// failure injected at every write in turn: each failure leaves nothing.
func TestAtomic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w0 *world) {
		fs := &failStore{Store: w0.store}
		w := newWorld(t, fs)
		ctx := context.Background()
		for _, m := range []string{"AppendEvent", "AppendAudit", "UpdateCitizen", "AppendResidence", "UpdateHousehold"} {
			fs.arm("", 0)
			h, _, wife := family(t, w)
			bao := w.adult(t, "Phan Văn Bảo", cancuoc.Male, ngocHa).PIN
			other, err := w.svc.CreateHousehold(ctx, w.ngocHa, residence.NewHousehold{Address: home(ngocHa),
				HeadPIN: bao, Request: asks(bao), Meta: why})
			if err != nil {
				t.Fatal(err)
			}
			join := residence.Join{PIN: wife.PIN, Request: asks(wife.PIN), Relation: "khác", Meta: why,
				Consent: &cancuoc.HeadConsent{By: other.HeadPIN, At: now0.Add(-time.Minute), Method: "vneid"}}
			before := w.current(t, wife.PIN)
			seq := w.lastSeq(t)
			for skip := 0; ; skip++ {
				fs.arm(m, skip)
				_, err := w.svc.JoinHousehold(ctx, w.ngocHa, other.ID, join)
				if !fs.fired {
					// Fewer calls than skip+1: every call of m has failed
					// once, and this run, without failure, went through.
					if err != nil || w.current(t, wife.PIN).Household.ID != other.ID {
						t.Fatalf("%s: the run without failure: %v", m, err)
					}
					if skip == 0 {
						t.Fatalf("%s is never called", m)
					}
					break
				}
				if !errors.Is(err, errInjected) {
					t.Fatalf("%s #%d failing: %v", m, skip+1, err)
				}
				if c := w.current(t, wife.PIN); c.Version != before.Version || w.lastSeq(t) != seq {
					t.Fatalf("%s #%d failing left a change: version %d→%d, events after %d", m, skip+1, before.Version, c.Version, seq)
				}
				for id, v := range map[string]int64{h.ID: h.Version, other.ID: other.Version} {
					if got, _ := w.store.Household(ctx, id); got.Version != v {
						t.Fatalf("%s #%d failing changed household %s", m, skip+1, id)
					}
				}
				if hist, _ := w.store.ResidenceHistory(ctx, wife.PIN); len(hist) != 1 {
					t.Fatalf("%s #%d failing left %d entries", m, skip+1, len(hist))
				}
			}
		}
	})
}
