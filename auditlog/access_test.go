package auditlog_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/auditlog"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestAccessLogFilters: a citizen principal reads their own log narrowed to
// one reader and a period, and nobody else's.
func TestAccessLogFilters(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	w := audit.NewWriter(s, 0)
	t.Cleanup(func() { w.Close() })
	me := storetest.PIN(7)
	var es []*cancuoc.AuditEntry
	for i, actor := range []string{"bank-a", "bank-b", "bank-a", "officer-1"} {
		es = append(es, &cancuoc.AuditEntry{At: storetest.T0.Add(time.Duration(i) * 24 * time.Hour), Actor: actor,
			Action: "citizen.read", PIN: me, Purpose: "mở tài khoản", Outcome: "ok"})
	}
	es = append(es, &cancuoc.AuditEntry{At: storetest.T0, Actor: "bank-a", Action: "citizen.read", PIN: storetest.PIN(8), Outcome: "ok"})
	if err := s.AppendAudit(ctx, es...); err != nil {
		t.Fatal(err)
	}
	l := auditlog.New(s, nil, w, auditlog.WithCitizenPrincipal(cancuoc.SelfPIN))
	p := cancuoc.CitizenPrincipal("acc-7", me)
	count := func(q auditlog.AccessQuery) int {
		t.Helper()
		page, err := l.AccessLog(ctx, p, me, q)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range page.Entries {
			if e.Action == "citizen.read" {
				n++
			}
		}
		return n
	}
	if n := count(auditlog.AccessQuery{}); n != 4 {
		t.Errorf("all: %d", n)
	}
	if n := count(auditlog.AccessQuery{Actor: "bank-a"}); n != 2 {
		t.Errorf("bank-a: %d", n)
	}
	if n := count(auditlog.AccessQuery{From: storetest.T0.Add(24 * time.Hour), To: storetest.T0.Add(72 * time.Hour)}); n != 2 {
		t.Errorf("days 1–2: %d", n)
	}
	if n := count(auditlog.AccessQuery{Actor: "bank-a", From: storetest.T0.Add(time.Hour)}); n != 1 {
		t.Errorf("bank-a from day 1: %d", n)
	}
	_, err = l.AccessLog(ctx, p, storetest.PIN(8), auditlog.AccessQuery{})
	var e *cancuoc.Error
	if !errors.As(err, &e) || e.Code != "not_own_log" {
		t.Errorf("another's log: %v", err)
	}
}
