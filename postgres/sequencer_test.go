package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
)

// TestSequencerFailover runs two nodes on one schema: exactly one leads the
// sequencing; rows written on the standby are sequenced by the leader's
// poll; when the leader closes, the standby takes over, and the log stays
// one chain 1…n with every event once, in order.
func TestSequencerFailover(t *testing.T) {
	a := open(t)
	t.Parallel()
	ctx := t.Context()
	b, err := postgres.Open(ctx, serverURL(t), postgres.WithSchema(schemaOf(t, a)), postgres.WithSequencerPoll(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	waitFor(t, "a leader", func() bool { return a.IsSequencer() || b.IsSequencer() })
	leader, standby := a, b
	if b.IsSequencer() {
		leader, standby = b, a
	}
	if standby.IsSequencer() {
		t.Fatal("both nodes lead the sequencing")
	}

	write := func(s *postgres.Store, n int, tag string) {
		t.Helper()
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				err := s.InTx(ctx, func(tx cancuoc.Tx) error {
					if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: time.Now(), Actor: tag, Action: "citizen.read",
						Purpose: fmt.Sprint(i), Outcome: "ok"}); err != nil {
						return err
					}
					return tx.AppendEvent(ctx, &cancuoc.Event{ID: fmt.Sprintf("%s-%d", tag, i), Type: "t", Actor: tag, At: time.Now()})
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	var woken atomic.Int32 // the leader's NOTIFY reaches the standby's dispatcher
	standby.OnSequenced(func() { woken.Add(1) })
	write(standby, 40, "standby") // only the leader's poll sees these
	if err := standby.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the standby's hooks to run", func() bool { return woken.Load() > 0 })
	if n, err := standby.AuditSize(ctx); err != nil || n != 40 {
		t.Fatalf("after the leader's poll: %d entries, %v; want 40", n, err)
	}

	leader.Close()
	waitFor(t, "the standby to take over", standby.IsSequencer)
	write(standby, 40, "after")
	if err := standby.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
	es, err := standby.AuditRange(ctx, 1, 1000)
	if err != nil || len(es) != 80 {
		t.Fatalf("AuditRange: %d entries, %v; want 80", len(es), err)
	}
	var prev []byte
	for i, e := range es {
		if e.ID != int64(i+1) || !bytes.Equal(e.Hash, cancuoc.AuditChainHash(prev, e)) {
			t.Fatalf("entry %d: ID %d, chain broken", i+1, e.ID)
		}
		prev = e.Hash
	}
	evs, err := standby.EventsAfter(ctx, 0, 1000)
	if err != nil || len(evs) != 80 {
		t.Fatalf("EventsAfter: %d events, %v; want 80", len(evs), err)
	}
	seen := map[string]bool{}
	for i, e := range evs {
		if e.Seq != int64(i+1) || seen[e.ID] {
			t.Fatalf("event %d: seq %d, id %s (repeated: %v)", i, e.Seq, e.ID, seen[e.ID])
		}
		seen[e.ID] = true
	}
}

// TestUnsequencedVisibleToCitizen checks the window: an entry committed on
// a node that does not lead, while the leader has not polled yet, is
// durable and shows in the citizen's view with ID 0, but not in the chain
// or the outbox; it gets its place at the leader's next pass.
func TestUnsequencedVisibleToCitizen(t *testing.T) {
	leader, other := leaderAndOther(t, "cancuoc_seq")
	ctx := t.Context()
	pin := cancuoc.PIN("001090000123")
	if err := other.AppendAudit(ctx, &cancuoc.AuditEntry{At: time.Now(), Actor: "bank", Action: "citizen.read",
		PIN: pin, Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	if err := other.AppendEvent(ctx, &cancuoc.Event{ID: "e1", Type: "t", PIN: pin, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	got, err := other.AuditFor(ctx, pin, 10)
	if err != nil || len(got) != 1 || got[0].ID != 0 || got[0].Hash != nil || got[0].Actor != "bank" {
		t.Fatalf("citizen's view of the unsequenced entry: %+v, %v", got, err)
	}
	if n, err := other.AuditSize(ctx); err != nil || n != 0 {
		t.Fatalf("AuditSize before sequencing: %d, %v", n, err)
	}
	if evs, err := other.EventsAfter(ctx, 0, 10); err != nil || len(evs) != 0 {
		t.Fatalf("EventsAfter before sequencing: %v, %v", evs, err)
	}
	// The node that does not lead can only wait for the leader, which
	// polls hourly here.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := other.WaitSequenced(short); err == nil {
		t.Fatal("WaitSequenced on the standby returned before any node sequenced")
	}
	if err := leader.WaitSequenced(ctx); err != nil { // wakes the leader
		t.Fatal(err)
	}
	got, err = other.AuditFor(ctx, pin, 10)
	if err != nil || len(got) != 1 || got[0].ID != 1 || len(got[0].Hash) != cancuoc.AuditHashSize {
		t.Fatalf("after the leader's pass: %+v, %v", got, err)
	}
	if evs, err := other.EventsAfter(ctx, 0, 10); err != nil || len(evs) != 1 || evs[0].Seq != 1 || evs[0].ID != "e1" {
		t.Fatalf("EventsAfter after the leader's pass: %v, %v", evs, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestSequencerPerSchemaURL opens two stores whose schemas are chosen by
// the URL's search_path (as `cancuoc serve` and the bench scripts do), in
// one database: each must lead its own schema's sequencing. They once
// shared one advisory-lock key, and the second store never sequenced.
func TestSequencerPerSchemaURL(t *testing.T) {
	base := open(t) // makes sure the server is there; its schema is not used
	_ = base
	t.Parallel()
	ctx := t.Context()
	var stores []*postgres.Store
	for i := range 2 {
		name := fmt.Sprintf("seq_url_%d_%d", time.Now().UnixNano()%1e9, i)
		if _, err := base.Pool().Exec(ctx, "CREATE SCHEMA "+name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { base.Pool().Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE") })
		url, sep := serverURL(t), "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		s, err := postgres.Open(ctx, url+sep+"search_path="+name, postgres.WithSequencerPoll(5*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	for i, s := range stores {
		waitFor(t, fmt.Sprintf("store %d to lead its schema", i), s.IsSequencer)
	}
	for i, s := range stores {
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			return tx.AppendEvent(ctx, &cancuoc.Event{ID: fmt.Sprint("e", i), Type: "t", Actor: "test", At: time.Now()})
		})
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = cancuoc.WaitSequenced(wctx, s)
		cancel()
		if err != nil {
			t.Fatalf("store %d: its event was not sequenced: %v", i, err)
		}
	}
}

// TestSequencerVacuumsQueues: the leader vacuums its queues itself after
// moving WithQueueVacuum rows through them, since their every row dies
// soon after its insert (the test server runs with autovacuum off).
func TestSequencerVacuumsQueues(t *testing.T) {
	a := open(t)
	t.Parallel()
	ctx := t.Context()
	schema := schemaOf(t, a)
	s, err := postgres.Open(ctx, serverURL(t), postgres.WithSchema(schema), postgres.WithQueueVacuum(50))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a.Close() // s must lead
	waitFor(t, "the store to lead", s.IsSequencer)
	for i := range 120 {
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: time.Now(), Actor: "t", Action: "citizen.read", Purpose: fmt.Sprint(i), Outcome: "ok"})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := cancuoc.WaitSequenced(ctx, s); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a vacuum of log_pending", func() bool {
		var n int
		err := s.Pool().QueryRow(ctx, `SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'log_pending'`, schema).Scan(&n)
		return err == nil && n > 0
	})
	// No vacuum truncates a queue: truncating locks out every writer's
	// insert (migrations 00032, 00034).
	for _, q := range []string{"log_pending"} {
		var opts []string
		if err := s.Pool().QueryRow(ctx, `SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = $1::regclass`, schema+"."+q).Scan(&opts); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(opts, "vacuum_truncate=false") {
			t.Errorf("%s: reloptions %v, want vacuum_truncate=false", q, opts)
		}
	}
}

// TestSequencerLogGather: while only access-log entries wait, passes are
// spaced by the log gather time (here far longer than the test could
// wait), but an event committed meanwhile, or a WaitSequenced caller,
// ends that wait: dispatch and readers who need the places do not pay for
// the batching of read audits.
func TestSequencerLogGather(t *testing.T) {
	s := leadingStore(t, postgres.WithLogGather(time.Minute))
	ctx := t.Context()
	read := func(i int) {
		t.Helper()
		if err := s.AppendAudit(ctx, &cancuoc.AuditEntry{At: time.Now(), Actor: "t", Action: "citizen.read",
			Purpose: fmt.Sprint(i), Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	size := func() int64 { return auditSize(t, s) }
	// An event is sequenced at once (its pass starts the log gather
	// time); a read audit after it is held.
	event := func(id string) {
		t.Helper()
		if err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			return tx.AppendEvent(ctx, &cancuoc.Event{ID: id, Type: "t", Actor: "t", At: time.Now()})
		}); err != nil {
			t.Fatal(err)
		}
	}
	events := func() int {
		evs, err := s.EventsAfter(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	event("e-1")
	waitFor(t, "the first event's seq", func() bool { return events() == 1 })
	read(1)
	time.Sleep(300 * time.Millisecond)
	if n := size(); n != 0 {
		t.Fatalf("a read audit alone was sequenced within the log gather time (size %d)", n)
	}
	// An event ends the wait: it and the held entry get their places.
	event("e-2")
	waitFor(t, "the event's seq and the held entry's place", func() bool { return events() == 2 && size() == 1 })
	// So does a caller waiting for the places.
	read(2)
	if err := s.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
	if n := size(); n != 2 {
		t.Fatalf("WaitSequenced returned with %d entries sequenced, want 2", n)
	}
}

// TestSequencerStraggler: an entry whose transaction stayed open while
// thousands of later entries were sequenced still gets its place once it
// commits, without anyone calling WaitSequenced (a guard for any pass that
// would not read the queue from its start).
func TestSequencerStraggler(t *testing.T) {
	s := leadingStore(t)
	ctx := t.Context()
	entry := func(tag string) *cancuoc.AuditEntry {
		return &cancuoc.AuditEntry{At: time.Now(), Actor: "t", Action: "citizen.read", Purpose: tag, Outcome: "ok"}
	}
	appended, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.AppendAudit(ctx, entry("straggler")); err != nil {
				return err
			}
			close(appended)
			<-release // commit only after many later entries were sequenced
			return nil
		})
	}()
	<-appended
	const later = 2000 // well past the floor's lag
	for lo := 0; lo < later; lo += 100 {
		es := make([]*cancuoc.AuditEntry, 100)
		for i := range es {
			es[i] = entry(fmt.Sprint(lo + i))
		}
		if err := s.AppendAudit(ctx, es...); err != nil {
			t.Fatal(err)
		}
	}
	size := func() int64 { return auditSize(t, s) }
	waitFor(t, "the later entries' places", func() bool { return size() == later })
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the straggler's place", func() bool { return size() == later+1 })
	es, err := s.AuditRange(ctx, later+1, later+1)
	if err != nil || len(es) != 1 || es[0].Purpose != "straggler" {
		t.Fatalf("place %d: %+v, %v", later+1, es, err)
	}
}

// leadingStore opens a store with opts on a fresh schema and waits until
// it leads the schema's sequencing (the test's own store closed first).
func leadingStore(t *testing.T, opts ...postgres.Option) *postgres.Store {
	a := open(t)
	t.Parallel()
	s, err := postgres.Open(t.Context(), serverURL(t), append([]postgres.Option{postgres.WithSchema(schemaOf(t, a))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	a.Close()
	waitFor(t, "the store to lead", s.IsSequencer)
	return s
}

// auditSize is the number of sequenced access-log entries.
func auditSize(t *testing.T, s *postgres.Store) int64 {
	t.Helper()
	n, err := s.AuditSize(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSequencerCloseLeavesNoWork: once Close returns, no statement of the
// store's sequencer is still running on the server. A pass cut by the
// closing context left its backend running the pass's statements, holding
// the queues' locks, so a DROP SCHEMA right after (every test's cleanup)
// deadlocked on them now and then. Closed with events pouring in, many
// times, the schema drops and no backend of the store's connections is
// left active.
func TestSequencerCloseLeavesNoWork(t *testing.T) {
	base := open(t)
	t.Parallel()
	ctx := t.Context()
	url, sep := serverURL(t), "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for round := range 12 {
		name := fmt.Sprintf("seq_close_%d_%d", time.Now().UnixNano()%1e9, round)
		if _, err := base.Pool().Exec(ctx, "CREATE SCHEMA "+name); err != nil {
			t.Fatal(err)
		}
		s, err := postgres.Open(ctx, url+sep+"search_path="+name+"&application_name="+name, postgres.WithSequencerPoll(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		writing, stop := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(writing)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_ = s.InTx(ctx, func(tx cancuoc.Tx) error {
					evs := make([]*cancuoc.Event, 20)
					for j := range evs {
						evs[j] = &cancuoc.Event{ID: fmt.Sprint("e", i, "_", j), Type: "t", Actor: "test", At: time.Now()}
					}
					for _, e := range evs {
						if err := tx.AppendEvent(ctx, e); err != nil {
							return err
						}
					}
					return nil
				})
			}
		}()
		time.Sleep(time.Duration(20+round*7) * time.Millisecond)
		close(stop)
		<-writing
		s.Close()
		var active int
		if err := base.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND state NOT IN ('idle')`, name).Scan(&active); err != nil {
			t.Fatal(err)
		}
		if active > 0 {
			t.Errorf("round %d: %d backends of the closed store still at work", round, active)
		}
		if _, err := base.Pool().Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Fatalf("round %d: drop schema after Close: %v", round, err)
		}
	}
}

// leaderAndOther opens a node of a new schema (prefix) whose sequencer
// leads but polls only hourly, and a second node of the same schema that
// does not lead: what the second commits waits in the queue until the test
// pokes the leader. The test runs in parallel from here.
func leaderAndOther(t *testing.T, prefix string) (leader, other *postgres.Store) {
	t.Helper()
	leader = pgtest.OpenAsync(t, prefix, postgres.WithSequencerPoll(time.Hour))
	t.Parallel()
	waitFor(t, "the first node to lead", leader.IsSequencer)
	other, err := postgres.Open(t.Context(), serverURL(t), postgres.WithSchema(schemaOf(t, leader)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return leader, other
}
