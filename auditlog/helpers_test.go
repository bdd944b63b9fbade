package auditlog_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

func appendSome(tb testing.TB, s cancuoc.Store, n int) error {
	var es []*cancuoc.AuditEntry
	for i := range n {
		es = append(es, &cancuoc.AuditEntry{At: storetest.T0.Add(time.Duration(i) * time.Minute), Actor: fmt.Sprintf("officer-%d", i%3),
			Action: "citizen.read", PIN: storetest.PIN(i), Fields: []string{"*"}, Purpose: "kiểm tra", Outcome: "ok"})
	}
	return s.AppendAudit(tb.Context(), es...)
}
