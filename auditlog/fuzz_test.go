package auditlog_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/auditlog"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// FuzzVerify feeds Verify, the parser of exports handed in from outside,
// arbitrary bytes seeded with real exports: it must never panic, and an
// export it calls intact must hold every entry its header announces.
func FuzzVerify(f *testing.F) {
	ctx := f.Context()
	s, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	pub, key, _ := ed25519.GenerateKey(nil)
	l := auditlog.New(s, key, nil)
	for _, n := range []int{3, 5, 9} {
		if err := appendSome(f, s, n); err != nil {
			f.Fatal(err)
		}
		if _, err := l.Checkpoint(ctx); err != nil {
			f.Fatal(err)
		}
	}
	for _, r := range [][2]int64{{1, 0}, {4, 12}, {9, 17}} {
		var buf bytes.Buffer
		if err := l.Export(ctx, &buf, r[0], r[1]); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	// A bulk job's block entry and its block.
	b := cancuoc.NewTouchedBlock("rc_f", 1, []cancuoc.PIN{storetest.PIN(1), storetest.PIN(2)})
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AppendTouched(ctx, b); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: storetest.T0, Actor: "p", Action: cancuoc.TouchedAction,
			Purpose: "reconciliation rc_f", Outcome: b.Outcome()})
	}); err != nil {
		f.Fatal(err)
	}
	if _, err := l.Checkpoint(ctx); err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := l.Export(ctx, &buf, 15, 0); err != nil {
		f.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"type":"block"`)) {
		f.Fatal("the export has no block line")
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"type":"header","header":{"version":1,"from":1,"to":1,"frontier":[]}}`))
	f.Add([]byte("{}\n{\"type\":\"entry\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := auditlog.Verify(bytes.NewReader(data), pub)
		if err != nil {
			return
		}
		if rep.Problem == nil && rep.Entries != rep.To-rep.From+1 {
			t.Fatalf("intact export of %d…%d checked %d entries", rep.From, rep.To, rep.Entries)
		}
	})
}
