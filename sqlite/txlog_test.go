package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

func openTxLogStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func logEntry(name string) *cancuoc.AuditEntry {
	return &cancuoc.AuditEntry{At: storetest.T0, Actor: "officer", Action: "test.append", Purpose: name, Outcome: "ok"}
}

func logEvent(id string) *cancuoc.Event {
	return &cancuoc.Event{ID: id, Type: cancuoc.EventCitizenUpdated, Actor: "test", At: storetest.T0}
}

// checkLogs checks that the audit log holds the entries named audit, in
// order, as one chain from 1, and the outbox the events ids with Seq
// counting up from first without a gap.
func checkLogs(t *testing.T, s *Store, audit []string, first int64, ids []string) {
	t.Helper()
	ctx := t.Context()
	size, err := s.AuditSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.AuditRange(ctx, 1, size)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var prev []byte
	for k, e := range es {
		got = append(got, e.Purpose)
		if e.ID != int64(k+1) || !bytes.Equal(cancuoc.AuditChainHash(prev, e), e.Hash) {
			t.Fatalf("audit entry %d (%s): ID %d or its chain hash is wrong", k+1, e.Purpose, e.ID)
		}
		prev = e.Hash
	}
	if !slices.Equal(got, audit) {
		t.Errorf("audit log holds %v, want %v", got, audit)
	}
	evs, err := s.EventsAfter(ctx, first-1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for k, e := range evs {
		got = append(got, e.ID)
		if e.Seq != first+int64(k) {
			t.Errorf("event %s has Seq %d, want %d", e.ID, e.Seq, first+int64(k))
		}
	}
	if !slices.Equal(got, ids) {
		t.Errorf("outbox holds %v, want %v", got, ids)
	}
}

// TestTxLogReadsOwnWrites: a transaction's audit entries and events,
// held until its commit, are read back inside it (the reads write them
// first), and a savepoint begun before such a read and rolled back after
// it takes back only what it appended: the rows appended before it, which
// the read wrote inside the savepoint, are written again.
func TestTxLogReadsOwnWrites(t *testing.T) {
	s := openTxLogStore(t)
	ctx := t.Context()
	boom := errors.New("boom")
	var seqs []int64
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AppendAudit(ctx, logEntry("a")); err != nil {
			return err
		}
		e1 := logEvent("e1")
		if err := tx.AppendEvent(ctx, e1); err != nil {
			return err
		}
		seqs = append(seqs, e1.Seq)
		if err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			if n, err := tx.(*ops).AuditSize(ctx); err != nil || n != 1 {
				return fmt.Errorf("AuditSize inside the transaction = %d, %v; want 1", n, err)
			}
			if evs, err := tx.EventsAfter(ctx, 0, 10); err != nil || len(evs) != 1 || evs[0].ID != "e1" || evs[0].Seq != e1.Seq {
				return fmt.Errorf("EventsAfter inside the transaction = %v, %v; want e1", evs, err)
			}
			if err := tx.AppendAudit(ctx, logEntry("b")); err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, logEvent("rolled-back")); err != nil {
				return err
			}
			if es, err := tx.(*ops).AuditRange(ctx, 1, 2); err != nil || len(es) != 2 || es[1].Purpose != "b" {
				return fmt.Errorf("AuditRange inside the savepoint = %v, %v", es, err)
			}
			return boom
		}); !errors.Is(err, boom) {
			return fmt.Errorf("savepoint: %v", err)
		}
		if err := tx.AppendAudit(ctx, logEntry("c")); err != nil {
			return err
		}
		e2 := logEvent("e2")
		if err := tx.AppendEvent(ctx, e2); err != nil {
			return err
		}
		seqs = append(seqs, e2.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs, []int64{1, 2}) {
		t.Errorf("Seqs given = %v, want [1 2]: the rolled-back event's Seq is given again", seqs)
	}
	checkLogs(t, s, []string{"a", "c"}, 1, []string{"e1", "e2"})

	// A transaction that fails leaves nothing, and the next one goes on
	// from the committed rows.
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AppendAudit(ctx, logEntry("x")); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, logEvent("x")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, logEntry("d")); err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error { return tx.AppendEvent(ctx, logEvent("e3")) }); err != nil {
		t.Fatal(err)
	}
	checkLogs(t, s, []string{"a", "c", "d"}, 1, []string{"e1", "e2", "e3"})
}

// TestTxLogSeqAfterPruning: Seqs keep growing past events deleted from
// the outbox, as AUTOINCREMENT gives them, so that no consumer sees a Seq
// twice.
func TestTxLogSeqAfterPruning(t *testing.T) {
	s := openTxLogStore(t)
	ctx := t.Context()
	for i := range 5 {
		if err := s.InTx(ctx, func(tx cancuoc.Tx) error { return tx.AppendEvent(ctx, logEvent(fmt.Sprintf("old%d", i))) }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.write.ExecContext(context.Background(), `DELETE FROM events WHERE seq > 2`); err != nil {
		t.Fatal(err)
	}
	e := logEvent("new")
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error { return tx.AppendEvent(ctx, e) }); err != nil {
		t.Fatal(err)
	}
	if e.Seq != 6 {
		t.Errorf("Seq after pruning = %d, want 6", e.Seq)
	}
	// And the Store's own appends (outside a transaction) follow.
	f := logEvent("direct")
	if err := s.AppendEvent(ctx, f); err != nil || f.Seq != 7 {
		t.Errorf("Store.AppendEvent after = %d, %v; want Seq 7", f.Seq, err)
	}
}
