package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestGroupCommit: write transactions queued while the writer is busy run
// in one transaction, a savepoint each. Each caller gets its own outcome:
// one that fails or panics leaves nothing, the others commit; a cancelled
// caller's function does not run.
func TestGroupCommit(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	errFail := cancuoc.E(cancuoc.Conflict, "test", "planned_failure", "x", "x")

	// Hold the writer so that the calls below queue up behind it and run as
	// one group.
	release := make(chan struct{})
	holding := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = s.InTx(ctx, func(tx cancuoc.Tx) error {
			close(holding)
			<-release
			return tx.InsertProcedure(ctx, storetest.Procedure("holder", 0))
		})
	})
	<-holding
	const n = 20
	errs := make([]error, n)
	panics := make([]any, n)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	midway, cancelMidway := context.WithCancel(ctx) // call 11's caller goes away while it runs
	defer cancelMidway()
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			c := ctx
			if i == 7 {
				c = cancelled
			}
			errs[i] = s.InTx(c, func(tx cancuoc.Tx) error {
				if err := tx.InsertProcedure(ctx, storetest.Procedure(fmt.Sprintf("f%02d", i), i)); err != nil {
					return err
				}
				switch i {
				case 3:
					return errFail
				case 5:
					panic("planned panic")
				case 9:
					// A statement the database refuses, after a write: this
					// call's own file again (another call's file would
					// depend on which call queued first).
					return tx.InsertProcedure(ctx, storetest.Procedure("f09", 0))
				case 11:
					// Its caller gives up during a long write: SQLite rolls
					// back the whole transaction when it interrupts an
					// INSERT, which must not take the other callers' work.
					w := tx.(*ops).w
					if _, err := w.ExecContext(midway, `CREATE TEMP TABLE IF NOT EXISTS g (x)`); err != nil {
						return err
					}
					go func() { time.Sleep(20 * time.Millisecond); cancelMidway() }()
					_, err := w.ExecContext(midway, `INSERT INTO g WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 2000000) SELECT x FROM c`)
					return err
				}
				return nil
			})
		})
	}
	waitQueued(s, n) // then free the writer
	close(release)
	wg.Wait()
	if s.group.groups.Load() == 0 {
		t.Fatal("the queued calls did not run as a group")
	}
	for i := range n {
		_, gerr := s.Procedure(ctx, fmt.Sprintf("f%02d", i))
		stored := gerr == nil
		switch i {
		case 3:
			if errs[i] != errFail || stored {
				t.Errorf("failing call: %v, stored %v; want its error and nothing stored", errs[i], stored)
			}
		case 5:
			if panics[i] != "planned panic" || stored {
				t.Errorf("panicking call: panic %v, stored %v; want the panic again and nothing stored", panics[i], stored)
			}
		case 7:
			if errs[i] != context.Canceled || stored {
				t.Errorf("cancelled call: %v, stored %v", errs[i], stored)
			}
		case 9:
			if cancuoc.KindOf(errs[i]) != cancuoc.Conflict || stored {
				t.Errorf("call with a refused statement: %v, stored %v", errs[i], stored)
			}
		default:
			if errs[i] != nil || panics[i] != nil || !stored {
				t.Errorf("call %d: %v / %v, stored %v; want committed", i, errs[i], panics[i], stored)
			}
		}
	}
}

// waitQueued returns once n calls wait behind the single writer.
func waitQueued(s *Store, n int) {
	for {
		s.group.mu.Lock()
		queued := len(s.group.pending)
		s.group.mu.Unlock()
		if queued == n {
			return
		}
		runtime.Gosched()
	}
}

// TestGroupAuditChain: members of one group append audit entries and
// events, some in
// savepoints, and some members fail or panic after appending. The log
// keeps exactly the entries of what committed, as one chain without a
// gap: the head the group remembers between members (auditTip) goes back
// with every rollback.
func TestGroupAuditChain(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	entry := func(name string) *cancuoc.AuditEntry {
		return &cancuoc.AuditEntry{At: storetest.T0, Actor: "officer", Action: "test.append", Purpose: name, Outcome: "ok"}
	}
	release := make(chan struct{})
	holding := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = s.InTx(ctx, func(tx cancuoc.Tx) error {
			close(holding)
			<-release
			return tx.AppendAudit(ctx, entry("holder"))
		})
	})
	<-holding
	const n = 12
	for i := range n {
		wg.Go(func() {
			defer func() { _ = recover() }()
			_ = s.InTx(ctx, func(tx cancuoc.Tx) error {
				if err := tx.AppendAudit(ctx, entry(fmt.Sprintf("m%02d", i))); err != nil {
					return err
				}
				if err := tx.AppendEvent(ctx, logEvent(fmt.Sprintf("m%02d", i))); err != nil {
					return err
				}
				_ = tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
					if err := tx.AppendAudit(ctx, entry(fmt.Sprintf("m%02d-rolled-back", i))); err != nil {
						return err
					}
					if err := tx.AppendEvent(ctx, logEvent(fmt.Sprintf("m%02d-rolled-back", i))); err != nil {
						return err
					}
					return errAuditRollback
				})
				switch i % 4 {
				case 1:
					return errAuditRollback
				case 2:
					panic("planned panic")
				}
				return tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
					return tx.AppendAudit(ctx, entry(fmt.Sprintf("m%02d-kept", i)))
				})
			})
		})
	}
	waitQueued(s, n)
	close(release)
	wg.Wait()
	if s.group.groups.Load() == 0 {
		t.Fatal("the queued calls did not run as a group")
	}
	size, err := s.AuditSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.AuditRange(ctx, 1, size)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"holder"}
	for i := range n {
		if i%4 == 0 || i%4 == 3 {
			want = append(want, fmt.Sprintf("m%02d", i), fmt.Sprintf("m%02d-kept", i))
		}
	}
	var got []string
	var prev []byte
	for k, e := range es {
		got = append(got, e.Purpose)
		if e.ID != int64(k+1) || !bytes.Equal(cancuoc.AuditChainHash(prev, e), e.Hash) {
			t.Fatalf("entry %d (%s): ID %d, chain hash follows: %v", k+1, e.Purpose, e.ID,
				bytes.Equal(cancuoc.AuditChainHash(prev, e), e.Hash))
		}
		prev = e.Hash
	}
	// The members run in their order of arrival, which the test does not
	// fix: compare the sets.
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("log holds %v, want %v", got, want)
	}
	// The outbox likewise: the committed members' events, Seq 1… without
	// a gap.
	evs, err := s.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	got, want = nil, nil
	for i := range n {
		if i%4 == 0 || i%4 == 3 {
			want = append(want, fmt.Sprintf("m%02d", i))
		}
	}
	for k, e := range evs {
		got = append(got, e.ID)
		if e.Seq != int64(k+1) {
			t.Errorf("event %s has Seq %d, want %d", e.ID, e.Seq, k+1)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("outbox holds %v, want %v", got, want)
	}
}

var errAuditRollback = errors.New("roll back")

// TestGroupLeaderYields: a leader that finds its call alone lets a
// goroutine that is ready to run queue its own first, and both commit
// together. With one P the order is fixed: the second caller is ready
// (just started) when the first takes the lead; without the yield each
// would commit alone. The race detector's runtime, under a loaded CI
// machine, was once seen to run the two apart all the same (1 in many
// runs), so the pair is tried up to five times: without the yield every
// try commits them apart and the test fails.
func TestGroupLeaderYields(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "y.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var tries []int64
	for try := range 5 {
		before := s.group.groups.Load()
		first, second := fmt.Sprintf("first%d", try), fmt.Sprintf("second%d", try)
		done := make(chan error, 1)
		go func() {
			done <- s.InTx(ctx, func(tx cancuoc.Tx) error {
				return tx.InsertProcedure(ctx, storetest.Procedure(second, 1))
			})
		}()
		if err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			return tx.InsertProcedure(ctx, storetest.Procedure(first, 0))
		}); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{first, second} {
			if _, err := s.Procedure(ctx, id); err != nil {
				t.Errorf("procedure %s: %v", id, err)
			}
		}
		n := s.group.groups.Load() - before
		if n == 1 {
			return
		}
		tries = append(tries, n)
	}
	t.Errorf("transactions for more than one caller, per try: %v, want 1 (the two calls together) in at least one try", tries)
}

// TestCursorJoinsGroup: a consumer's cursor moved on the Store while the
// writer is busy queues with the other write transactions and commits in
// their group, rather than waiting for the writer's connection to commit
// alone; moved inside a transaction, it is part of it.
func TestCursorJoinsGroup(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	release := make(chan struct{})
	holding := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = s.InTx(ctx, func(cancuoc.Tx) error {
			close(holding)
			<-release
			return nil
		})
	})
	<-holding
	errs := make([]error, 3)
	wg.Go(func() { errs[0] = s.AdvanceCursor(ctx, "a", 5) })
	queuedWithin(t, s, 1)
	wg.Go(func() { errs[1] = s.ResetCursor(ctx, "b", 7) })
	queuedWithin(t, s, 2)
	wg.Go(func() {
		errs[2] = s.InTx(ctx, func(tx cancuoc.Tx) error {
			return tx.InsertProcedure(ctx, storetest.Procedure("p", 0))
		})
	})
	waitQueued(s, 3)
	before := s.group.groups.Load()
	close(release)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if s.group.groups.Load() != before+1 {
		t.Errorf("groups run: %d, want %d: the cursors did not commit with the queued transaction", s.group.groups.Load(), before+1)
	}
	for name, want := range map[string]int64{"a": 5, "b": 7} {
		if got, err := s.Cursor(ctx, name); err != nil || got != want {
			t.Errorf("cursor %s: %d, %v; want %d", name, got, err, want)
		}
	}

	// Inside a transaction the cursor moves with it: rolled back, it stays.
	errPlanned := errors.New("planned")
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.(*ops).AdvanceCursor(ctx, "a", 9); err != nil {
			return err
		}
		return errPlanned
	})
	if err != errPlanned {
		t.Fatalf("InTx: %v", err)
	}
	if got, err := s.Cursor(ctx, "a"); err != nil || got != 5 {
		t.Errorf("cursor a after a rolled-back move: %d, %v; want 5", got, err)
	}
}

// queuedWithin waits until n calls wait behind the single writer; a call
// that never queues (one that waits for the writer's connection instead)
// fails the test after a while rather than hanging it.
func queuedWithin(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.group.mu.Lock()
		queued := len(s.group.pending)
		s.group.mu.Unlock()
		if queued == n {
			return
		}
	}
	t.Fatalf("the calls queued for the writer did not reach %d", n)
}
