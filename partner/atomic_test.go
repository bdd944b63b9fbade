package partner_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

var errInjected = errors.New("injected failure")

// failStore fails the named write inside transactions.
type failStore struct {
	cancuoc.Store
	fail string
}

func (s *failStore) InTx(ctx context.Context, fn func(cancuoc.Tx) error) error {
	return s.Store.InTx(ctx, func(tx cancuoc.Tx) error { return fn(&failTx{Tx: tx, fail: s.fail}) })
}

type failTx struct {
	cancuoc.Tx
	fail string
}

func (t *failTx) AppendEvent(ctx context.Context, e *cancuoc.Event) error {
	if t.fail == "AppendEvent" {
		return errInjected
	}
	return t.Tx.AppendEvent(ctx, e)
}

func (t *failTx) AppendAudit(ctx context.Context, es ...*cancuoc.AuditEntry) error {
	if t.fail == "AppendAudit" {
		return errInjected
	}
	return t.Tx.AppendAudit(ctx, es...)
}

// TestConsentWritesAreAtomic fails each write of a grant and of a
// withdrawal in turn: nothing of the failed change is left, neither the
// consent (or its withdrawal), nor its log entry, nor its event.
func TestConsentWritesAreAtomic(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := audit.NewWriter(st, 0)
	defer w.Close()
	pin := storetest.PIN(3)
	if err := st.InsertCitizen(ctx, storetest.Citizen(pin)); err != nil {
		t.Fatal(err)
	}
	if _, err := partner.New(st, w).Create(ctx, nil, bank("vcb", cancuoc.Quota{})); err != nil {
		t.Fatal(err)
	}
	req := partner.ConsentRequest{PartnerID: "vcb", Fields: []string{"full_name"}, ExpiresAt: time.Now().Add(time.Hour)}
	counts := func() (consents, entries, events int) {
		cs, _ := st.PartnerConsents(ctx, pin)
		es, _ := st.AuditFor(ctx, pin, 100)
		evs, _ := st.EventsAfter(ctx, 0, 100)
		return len(cs), len(es), len(evs)
	}
	for _, fail := range []string{"AppendAudit", "AppendEvent"} {
		svc := partner.New(&failStore{Store: st, fail: fail}, w)
		if _, err := svc.Grant(ctx, pin, req); !errors.Is(err, errInjected) {
			t.Fatalf("grant with %s failing: %v", fail, err)
		}
		if c, a, e := counts(); c != 0 || a != 0 || e != 0 {
			t.Errorf("grant with %s failing left %d consents, %d log entries, %d events", fail, c, a, e)
		}
	}
	c, err := partner.New(st, w).Grant(ctx, pin, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, fail := range []string{"AppendAudit", "AppendEvent"} {
		if err := partner.New(&failStore{Store: st, fail: fail}, w).Revoke(ctx, pin, c.ID); !errors.Is(err, errInjected) {
			t.Fatalf("revoke with %s failing: %v", fail, err)
		}
		got, err := st.PartnerConsent(ctx, c.ID)
		if err != nil || got.RevokedAt != nil {
			t.Errorf("revoke with %s failing left the consent %+v, %v", fail, got, err)
		}
		if _, a, e := counts(); a != 1 || e != 1 {
			t.Errorf("revoke with %s failing left %d log entries, %d events; want the grant's 1 and 1", fail, a, e)
		}
	}
}
