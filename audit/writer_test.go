package audit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/sqlite"
)

// counting wraps a real store's audit log and counts commits, optionally
// failing them, to observe the batching from outside.
type counting struct {
	log     audit.Appender
	commits atomic.Int64
	fail    atomic.Bool
	delay   time.Duration
}

func (c *counting) AppendAudit(ctx context.Context, e ...*cancuoc.AuditEntry) error {
	c.commits.Add(1)
	time.Sleep(c.delay)
	if c.fail.Load() {
		return errors.New("disk full")
	}
	return c.log.AppendAudit(ctx, e...)
}

func open(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const pin = cancuoc.PIN("001190000001")

func entry(i int) *cancuoc.AuditEntry {
	return &cancuoc.AuditEntry{At: time.Unix(int64(i), 0).UTC(), Actor: "p_test", Action: "citizen.read", PIN: pin, Fields: []string{"*"}, Outcome: "ok"}
}

func TestConcurrentRecordsAreDurableAndBatched(t *testing.T) {
	st := open(t)
	c := &counting{log: st, delay: 2 * time.Millisecond}
	w := audit.NewWriter(c, 0)
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Record(context.Background(), entry(i)); err != nil {
				t.Errorf("Record: %v", err)
			}
		}()
	}
	wg.Wait()
	// Every Record returned, so every entry must already be stored.
	got, err := st.AuditFor(context.Background(), pin, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("stored %d entries after %d Records returned, want all of them", len(got), n)
	}
	if k := c.commits.Load(); k >= n {
		t.Errorf("%d commits for %d concurrent entries: no batching happened", k, n)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFailureReachesEveryCallerOfTheBatch(t *testing.T) {
	c := &counting{log: open(t)}
	c.fail.Store(true)
	w := audit.NewWriter(c, 0)
	defer w.Close()
	if err := w.Record(context.Background(), entry(1)); err == nil {
		t.Fatal("Record succeeded although the commit failed: an access would go unlogged")
	}
}

func TestClosedWriterRefuses(t *testing.T) {
	w := audit.NewWriter(open(t), 0)
	if err := w.Record(context.Background()); err != nil {
		t.Fatalf("recording nothing: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Record(context.Background(), entry(1)); !errors.Is(err, cancuoc.ErrUnavailable) {
		t.Fatalf("Record after Close = %v, want Unavailable", err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("second Close succeeded")
	}
}

func TestCancelledCallerDoesNotBlock(t *testing.T) {
	c := &counting{log: open(t), delay: 200 * time.Millisecond}
	w := audit.NewWriter(c, 0)
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := w.Record(ctx, entry(1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Record with an expired context = %v", err)
	}
	if time.Since(start) > 150*time.Millisecond {
		t.Fatal("Record waited for the commit after its context ended")
	}
}

func TestCommittersAndLinger(t *testing.T) {
	st := open(t)
	c := &counting{log: st}
	w := audit.NewWriter(c, 0, audit.WithCommitters(3), audit.WithLinger(5*time.Millisecond, 1000))
	if err := w.Record(context.Background(), entry(0)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 1; i <= 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Record(context.Background(), entry(i)); err != nil {
				t.Errorf("Record: %v", err)
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := st.AuditFor(context.Background(), pin, 1000)
	if len(got) != 101 {
		t.Fatalf("stored %d entries, want 101", len(got))
	}
	if b, e := w.Stats(); e != 101 || b < 1 || b > 101 {
		t.Errorf("Stats = %d commits, %d entries", b, e)
	}
}

// TestLingerAdapts: a lone reader is not delayed by the linger, however
// long; after a commit shared by several requests the writer lingers, but
// only until a quarter of the linger time passes without an entry, not for
// the whole of it.
func TestLingerAdapts(t *testing.T) {
	st := open(t)
	c := &counting{log: st, delay: 50 * time.Millisecond}
	const linger = 4 * time.Second
	w := audit.NewWriter(c, 0, audit.WithLinger(linger, 1000))
	defer w.Close()
	record := func(i int) time.Duration {
		start := time.Now()
		if err := w.Record(context.Background(), entry(i)); err != nil {
			t.Error(err)
		}
		return time.Since(start)
	}
	if d := record(0); d >= linger/2 {
		t.Fatalf("a lone entry waited %s (linger %s)", d, linger)
	}
	// 2 and 3 arrive while 1's commit (50 ms) runs, so they share the next.
	var wg sync.WaitGroup
	wg.Go(func() { record(1) })
	time.Sleep(10 * time.Millisecond)
	wg.Go(func() { record(2) })
	wg.Go(func() { record(3) })
	wg.Wait()
	if d := record(4); d < linger/8 || d >= linger*3/4 {
		t.Fatalf("an entry after a shared commit waited %s; want about a quarter of the linger (%s)", d, linger/4)
	}
}
