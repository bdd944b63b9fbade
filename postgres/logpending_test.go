package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/storetest"
)

// freshSchema creates an empty schema and returns its name and a
// connection whose search_path is it.
func freshSchema(t *testing.T, prefix string) (string, *pgx.Conn) {
	t.Helper()
	ctx := t.Context()
	schema := prefix + "_" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""))
	raw, err := pgx.Connect(ctx, serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = raw.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		raw.Close(context.Background())
	})
	if _, err := raw.Exec(ctx, "SET search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return schema, raw
}

// chainOf reads the whole log and checks it is one chain 1…n.
func chainOf(t *testing.T, s *postgres.Store) []*cancuoc.AuditEntry {
	t.Helper()
	es, err := s.AuditRange(t.Context(), 1, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var prev []byte
	for i, e := range es {
		if e.ID != int64(i+1) || !bytes.Equal(e.Hash, cancuoc.AuditChainHash(prev, e)) {
			t.Fatalf("entry %d: ID %d, chain broken", i+1, e.ID)
		}
		prev = e.Hash
	}
	return es
}

func purposes(es []*cancuoc.AuditEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Purpose)
	}
	return out
}

func eventIDs(t *testing.T, s *postgres.Store) []string {
	t.Helper()
	evs, err := s.EventsAfter(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %s has seq %d, want %d", e.ID, e.Seq, i+1)
		}
		out = append(out, e.ID)
	}
	return out
}

// TestLogUpgradeFromRowQueues starts from the previous release's schema
// (00033) with entries and events left in its queues (audit_pending,
// events_pending, a row per entry): opening the store migrates them into
// the run queue, and they are sequenced first, in their order, as written
// (fields, none and empty alike). A node of the previous release still
// inserting into the old queues (a rolling upgrade) has its rows queued
// as runs too, sequenced after.
func TestLogUpgradeFromRowQueues(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema, raw := freshSchema(t, "upgrade")
	if err := postgres.MigrateTo(ctx, serverURL(t), schema, 33); err != nil {
		t.Fatal(err)
	}
	oldAudit := func(purpose string, pin, fields any) {
		t.Helper()
		if _, err := raw.Exec(ctx, `INSERT INTO audit_pending (at, actor, action, pin, fields, purpose, outcome)
			VALUES (now(), 'old', 'citizen.read', $1, $2, $3, 'ok')`, pin, fields, purpose); err != nil {
			t.Fatal(err)
		}
	}
	oldEvent := func(id string) {
		t.Helper()
		if _, err := raw.Exec(ctx, `INSERT INTO events_pending (event_id, type, pin, version, actor, at, data)
			VALUES ($1, 't', '001090000123', 2, 'old', now(), '{"x": 1}')`, id); err != nil {
			t.Fatal(err)
		}
	}
	oldAudit("e1", "001090000123", []string{"full_name", "birth_date"})
	oldEvent("ev1")
	oldAudit("e2", nil, nil)
	oldAudit("e3", "001090000124", []string{})
	oldEvent("ev2")

	s, err := postgres.Open(ctx, serverURL(t), postgres.WithSchema(schema), postgres.WithSequencerPoll(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor(t, "the store to lead", s.IsSequencer)
	if err := s.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
	es := chainOf(t, s)
	if got := purposes(es); !slices.Equal(got, []string{"e1", "e2", "e3"}) {
		t.Fatalf("log after the upgrade: %v, want e1 e2 e3", got)
	}
	if !slices.Equal(es[0].Fields, []string{"full_name", "birth_date"}) || es[0].PIN != "001090000123" ||
		es[1].Fields != nil || es[1].PIN != "" || es[2].Fields == nil || len(es[2].Fields) != 0 {
		t.Errorf("entries moved as %+v %+v %+v", es[0], es[1], es[2])
	}
	if got := eventIDs(t, s); !slices.Equal(got, []string{"ev1", "ev2"}) {
		t.Fatalf("outbox after the upgrade: %v, want ev1 ev2", got)
	}

	// A node of the previous release writes on.
	oldAudit("e4", "001090000123", []string{"photo"})
	oldEvent("ev3")
	var left int
	if err := raw.QueryRow(ctx, `SELECT (SELECT count(*) FROM audit_pending) + (SELECT count(*) FROM events_pending)`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("the old queues hold %d rows (%v), want none", left, err)
	}
	if err := s.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
	if got := purposes(chainOf(t, s)); !slices.Equal(got, []string{"e1", "e2", "e3", "e4"}) {
		t.Fatalf("log after an old node's write: %v", got)
	}
	if got := eventIDs(t, s); !slices.Equal(got, []string{"ev1", "ev2", "ev3"}) {
		t.Fatalf("outbox after an old node's write: %v", got)
	}
}

// TestUnsequencedRunsInCitizenView: entries of several runs, committed on
// a node that does not lead and not yet sequenced (the leader polls
// hourly), show in the citizen's view newest first with ID 0, whether the
// entry names the citizen or a touched block that holds them; a savepoint
// rolled back took its entries. Once sequenced, they show with their
// places in the same order.
func TestUnsequencedRunsInCitizenView(t *testing.T) {
	leader, other := leaderAndOther(t, "cancuoc_runs")
	ctx := t.Context()
	pin := storetest.PIN(7)
	read := func(purpose string, p cancuoc.PIN) *cancuoc.AuditEntry {
		return &cancuoc.AuditEntry{At: time.Now(), Actor: "bank", Action: "citizen.read", PIN: p,
			Fields: []string{"full_name"}, Purpose: purpose, Outcome: "ok"}
	}
	errBack := errors.New("back")
	err := other.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AppendAudit(ctx, read("a1", pin), read("o1", storetest.PIN(8)), read("a2", pin)); err != nil {
			return err
		}
		if err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error { return tx.AppendAudit(ctx, read("a3", pin)) }); err != nil {
			return err
		}
		if err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			if err := tx.AppendAudit(ctx, read("x", pin)); err != nil {
				return err
			}
			return errBack
		}); !errors.Is(err, errBack) {
			return fmt.Errorf("failing savepoint: %v", err)
		}
		return tx.AppendAudit(ctx, read("a4", pin))
	})
	if err != nil {
		t.Fatal(err)
	}
	block := cancuoc.NewTouchedBlock("job-runs", 0, []cancuoc.PIN{storetest.PIN(6), pin, storetest.PIN(9)})
	err = other.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AppendTouched(ctx, block); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: time.Now(), Actor: "partner", Action: cancuoc.TouchedAction,
			Purpose: "block", Outcome: block.Outcome()})
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"block", "a4", "a3", "a2", "a1"}
	got, err := other.AuditFor(ctx, pin, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(purposes(got), want) {
		t.Fatalf("citizen's view before sequencing: %v, want %v", purposes(got), want)
	}
	for _, e := range got {
		if e.ID != 0 || e.Hash != nil {
			t.Fatalf("entry %s: ID %d before sequencing", e.Purpose, e.ID)
		}
	}
	if got, err := other.AuditFor(ctx, pin, 2); err != nil || !slices.Equal(purposes(got), want[:2]) {
		t.Fatalf("first page of 2 before sequencing: %v, %v", purposes(got), err)
	}
	if got, err := other.AuditSearch(ctx, cancuoc.AuditQuery{Actor: "bank", Limit: 10}); err != nil ||
		!slices.Equal(purposes(got), []string{"a4", "a3", "a2", "o1", "a1"}) {
		t.Fatalf("auditor's search before sequencing: %v, %v", purposes(got), err)
	}
	if err := leader.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = other.AuditFor(ctx, pin, 10)
	if err != nil || !slices.Equal(purposes(got), want) {
		t.Fatalf("citizen's view after sequencing: %v, %v", purposes(got), err)
	}
	for i, e := range got {
		if e.ID == 0 || (i > 0 && e.ID >= got[i-1].ID) {
			t.Fatalf("entry %s has ID %d after sequencing", e.Purpose, e.ID)
		}
	}
	if all := purposes(chainOf(t, leader)); !slices.Equal(all, []string{"a1", "o1", "a2", "a3", "a4", "block"}) {
		t.Fatalf("log: %v", all)
	}
}

// TestSequencerLeaderChangeMidQueue: runs queued while the leader does not
// look (it polls hourly; they were committed on the standby) are taken by
// the standby once the leader goes, in their order: entries of one
// transaction's runs and of successive transactions, and their events.
func TestSequencerLeaderChangeMidQueue(t *testing.T) {
	leader := pgtest.OpenAsync(t, "cancuoc_midq", postgres.WithSequencerPoll(time.Hour))
	t.Parallel()
	ctx := t.Context()
	waitFor(t, "the first node to lead", leader.IsSequencer)
	standby, err := postgres.Open(ctx, serverURL(t), postgres.WithSchema(schemaOf(t, leader)))
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close()
	var wantAudit, wantEvents []string
	for i := range 20 {
		err := standby.InTx(ctx, func(tx cancuoc.Tx) error {
			for j := range 2 {
				name := fmt.Sprintf("t%02d-r%d", i, j)
				if err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
					if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: time.Now(), Actor: "t", Action: "citizen.read", Purpose: name + "-1", Outcome: "ok"},
						&cancuoc.AuditEntry{At: time.Now(), Actor: "t", Action: "citizen.read", Purpose: name + "-2", Outcome: "ok"}); err != nil {
						return err
					}
					return tx.AppendEvent(ctx, &cancuoc.Event{ID: name, Type: "t", Actor: "t", At: time.Now()})
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for j := range 2 {
			name := fmt.Sprintf("t%02d-r%d", i, j)
			wantAudit = append(wantAudit, name+"-1", name+"-2")
			wantEvents = append(wantEvents, name)
		}
	}
	var queued int
	if err := standby.Pool().QueryRow(ctx, `SELECT count(*) FROM log_pending`).Scan(&queued); err != nil || queued != 40 {
		t.Fatalf("%d runs queued (%v), want 40: the test needs them waiting for a leader", queued, err)
	}
	leader.Close()
	waitFor(t, "the standby to take over", standby.IsSequencer)
	if err := standby.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
	if got := purposes(chainOf(t, standby)); !slices.Equal(got, wantAudit) {
		t.Fatalf("log: %v\nwant %v", got, wantAudit)
	}
	if got := eventIDs(t, standby); !slices.Equal(got, wantEvents) {
		t.Fatalf("outbox: %v\nwant %v", got, wantEvents)
	}
}

// TestRunPINsKeepCharColumn: the queue's PINs have the log's column type,
// char(12), as the per-entry queues had. A PIN that does not fit fails its
// writer, not the sequencer (whose every pass would then fail on that run,
// stopping the whole log); a short one is kept as the log keeps it
// (padded), so the hash the sequencer computes is the one a reader of the
// log recomputes.
func TestRunPINsKeepCharColumn(t *testing.T) {
	s := pgtest.OpenAsync(t, "cancuoc_runpin")
	t.Parallel()
	ctx := t.Context()
	waitFor(t, "the store to lead", s.IsSequencer)
	entry := func(pin cancuoc.PIN, purpose string) *cancuoc.AuditEntry {
		return &cancuoc.AuditEntry{At: time.Now(), Actor: "t", Action: "audit.search", PIN: pin, Purpose: purpose, Outcome: "ok"}
	}
	if err := s.AppendAudit(ctx, entry("0010900001234", "long")); err == nil {
		t.Error("an entry with a 13-character PIN was queued")
	}
	if err := s.AppendEvent(ctx, &cancuoc.Event{ID: "long", Type: "t", PIN: "0010900001234", At: time.Now()}); err == nil {
		t.Error("an event with a 13-character PIN was queued")
	}
	if err := s.AppendAudit(ctx, entry("123", "short"), entry("001090000123", "full")); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := s.WaitSequenced(wait); err != nil {
		t.Fatalf("the log is not sequenced: %v", err)
	}
	if got := purposes(chainOf(t, s)); !slices.Equal(got, []string{"short", "full"}) {
		t.Fatalf("log: %v, want short full", got)
	}
}

// TestLogUpgradeBesideOldSequencer: the migration to the run queue runs
// while a node of the previous release is inside a sequencer pass, which
// takes events_pending (its move of events) before audit_pending (its
// read, then its move of entries). The migration must take the old queues
// in that order, or each waits for the other: a deadlock, which PostgreSQL
// breaks by failing the migration (the first to wait), and so the new
// node's start, whenever the old sequencer is busy.
func TestLogUpgradeBesideOldSequencer(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	schema, raw := freshSchema(t, "upgrade_busy")
	if err := postgres.MigrateTo(ctx, serverURL(t), schema, 33); err != nil {
		t.Fatal(err)
	}
	// The old sequencer's pass, up to its read of audit_pending.
	if _, err := raw.Exec(ctx, `INSERT INTO audit_pending (at, actor, action, outcome) VALUES (now(), 'old', 'a', 'ok')`); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{`BEGIN`, `DELETE FROM events_pending WHERE id IN (SELECT id FROM events_pending ORDER BY id LIMIT 5000)`,
		`SELECT id FROM audit_pending ORDER BY id LIMIT 5000`} {
		if _, err := raw.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	migrated := make(chan error, 1)
	go func() { migrated <- postgres.MigrateTo(ctx, serverURL(t), schema, 34) }()
	// Once the migration waits for a queue's lock, the pass moves on.
	waitFor(t, "the migration to wait for the old queues", func() bool {
		var waiting bool
		err := raw.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE NOT l.granted AND n.nspname = $1 AND c.relname IN ('audit_pending', 'events_pending'))`, schema).Scan(&waiting)
		return err == nil && waiting
	})
	if _, err := raw.Exec(ctx, `DELETE FROM audit_pending WHERE id = ANY($1)`, []int64{1}); err != nil {
		t.Fatalf("the old sequencer's move: %v", err)
	}
	if _, err := raw.Exec(ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	if err := <-migrated; err != nil {
		t.Fatalf("the migration beside a pass of the old sequencer: %v", err)
	}
}
