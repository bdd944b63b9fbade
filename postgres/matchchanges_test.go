package postgres_test

import (
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestMatchChangesSeesPendingEvents holds an event in the sequencer's
// queue (log_pending, here through the trigger an old release's insert
// into events_pending meets: committed, no Seq yet) for as long as the test
// needs, which the conformance suite can only hope for: the store's
// sequencer polls once an hour and nothing pokes it, and the event is
// inserted behind its back. MatchChanges must name the citizen while the
// event waits, and still after the sequencer has moved it.
func TestMatchChangesSeesPendingEvents(t *testing.T) {
	ctx := t.Context()
	schema, raw := freshSchema(t, "pending")
	st, err := postgres.Open(ctx, serverURL(t), postgres.WithSchema(schema), postgres.WithSequencerPoll(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	c := storetest.Minimal(storetest.PIN(5), "Lê Thị Lan", "le thi lan")
	if err := st.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	snap, err := st.ScanMatchRecords(ctx, 100, func([]cancuoc.MatchRecord) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	// A rename committed with its event, the event left in the queue.
	renamed := c.Clone()
	renamed.Version++
	renamed.FullName, renamed.NameKey = "Lê Thị Lành", "le thi lanh"
	if err := st.InTx(ctx, func(tx cancuoc.Tx) error { return tx.UpdateCitizen(ctx, renamed, c.Version) }); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(ctx, `INSERT INTO events_pending (event_id, type, pin, version, actor, at)
		VALUES ('ev-pending', $1, $2, $3, 'test', now())`, cancuoc.EventCitizenUpdated, string(c.PIN), renamed.Version); err != nil {
		t.Fatal(err)
	}
	pending := func() int {
		var n int
		if err := raw.QueryRow(ctx, `SELECT coalesce(sum(cardinality(event_id)), 0) FROM log_pending`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	check := func(when string) {
		t.Helper()
		ch, err := st.MatchChanges(ctx, snap.Seq, 10)
		if err != nil || ch.Rescan || len(ch.Records) != 1 || ch.Records[0].PIN != c.PIN || ch.Records[0].FullName != "Lê Thị Lành" {
			t.Fatalf("%s: %+v, %v; want the renamed citizen", when, ch, err)
		}
	}
	if n := pending(); n != 1 {
		t.Fatalf("%d events waiting for the sequencer, want 1 (the test needs it unsequenced)", n)
	}
	check("event waiting for the sequencer")
	if n := pending(); n != 1 {
		t.Fatalf("the sequencer moved the event during the check (%d waiting): the pending path was not tested", n)
	}
	// Another write wakes the sequencer, which moves both events.
	if err := st.AppendEvent(ctx, &cancuoc.Event{ID: "ev-other", Type: cancuoc.EventCitizenUpdated, PIN: storetest.PIN(6),
		Actor: "test", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
	if n := pending(); n != 0 {
		t.Fatalf("%d events still waiting after WaitSequenced", n)
	}
	ch, err := st.MatchChanges(ctx, snap.Seq, 10)
	if err != nil || len(ch.Records) != 1 || ch.Records[0].FullName != "Lê Thị Lành" || len(ch.Gone) != 1 || ch.Seq <= snap.Seq {
		t.Fatalf("after sequencing: %+v, %v; want the renamed citizen, PIN 6 gone, Seq past %d", ch, err, snap.Seq)
	}
}
