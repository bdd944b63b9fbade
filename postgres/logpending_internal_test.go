package postgres

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// stoppedSequencer opens a store in a schema of its own (a parallel
// test) whose sequencer is stopped, so the test's passes are the only
// ones: its first pass, which runs whenever its connection is up, took the
// runs between two reads of TestReadLogBound when it connected late (CI).
// Close stops it again harmlessly.
func stoppedSequencer(t *testing.T, name string) *Store {
	t.Helper()
	url, schema, _ := testSchema(t, name)
	t.Parallel()
	st, err := Open(t.Context(), url, WithSchema(schema), WithSequencerPoll(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.seq.stop()
	return st
}

// TestReadLogBound: a pass reads at most its batch of runs, and stops
// after the run that brings the entries and events to the batch, so that
// a backlog of large runs (access-log batches) is still taken in bounded
// transactions; the first run is read whatever its size.
func TestReadLogBound(t *testing.T) {
	st := stoppedSequencer(t, "readbound")
	ctx := t.Context()
	// Runs of 5, 4, 1 and 6 entries and events.
	sizes := [][2]int{{3, 2}, {4, 0}, {0, 1}, {3, 3}}
	b := &pgx.Batch{}
	for i, sz := range sizes {
		var es []*cancuoc.AuditEntry
		var evs []cancuoc.Event
		for j := range sz[0] {
			es = append(es, &cancuoc.AuditEntry{At: time.Now(), Action: "citizen.read", Purpose: fmt.Sprint(i, j)})
		}
		for j := range sz[1] {
			evs = append(evs, cancuoc.Event{ID: fmt.Sprint(i, j), Type: "t", At: time.Now()})
		}
		queueLog(b, es, evs)
	}
	if err := st.pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		limit         int
		runs, entries int
		events        int64
	}{
		{1, 1, 3, 2},    // the first run alone, over the bound
		{5, 1, 3, 2},    // the first run reaches it
		{6, 2, 7, 2},    // the second run starts below it
		{10, 3, 7, 3},   // the third run starts below it (at 9)
		{11, 4, 10, 6},  // the fourth too (at 10)
		{100, 4, 10, 6}, // all
	} {
		rows, err := st.pool.Query(ctx, readLogSQL, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		ids, entries, events, err := scanRuns(rows)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != c.runs || len(entries) != c.entries || events != c.events {
			t.Errorf("batch %d: %d runs, %d entries, %d events; want %d, %d, %d",
				c.limit, len(ids), len(entries), events, c.runs, c.entries, c.events)
		}
	}
}

// TestMoveRunsOfEveryShape: one pass moves runs of entries and events,
// of entries alone and of events alone, of one element and of several,
// in run order and each run's elements in array order, with the chain
// hashed over them, each entry's fields as written (some, none, empty).
// A run whose event columns are of unequal lengths (no writer queues one)
// fails the pass and stays queued: no NULL-padded event gets a seq.
func TestMoveRunsOfEveryShape(t *testing.T) {
	st := stoppedSequencer(t, "moveshape")
	ctx := t.Context()
	c, err := pgx.ConnectConfig(ctx, st.pool.Config().ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())

	entry := func(name string, fields ...string) *cancuoc.AuditEntry {
		return &cancuoc.AuditEntry{At: time.Now(), Actor: "officer", Action: "citizen.read", PIN: "001200000001",
			Fields: fields, Purpose: name}
	}
	event := func(name string) cancuoc.Event {
		return cancuoc.Event{ID: name, Type: "t", At: time.Now(), Data: []byte(`{"n":"` + name + `"}`)}
	}
	runs := []struct {
		entries []*cancuoc.AuditEntry
		events  []cancuoc.Event
	}{
		{[]*cancuoc.AuditEntry{entry("a1", "full_name", "birth_date"), entry("a2"), entry("a3", []string{}...)}, []cancuoc.Event{event("a1"), event("a2")}},
		{nil, []cancuoc.Event{event("b1"), event("b2"), event("b3")}},
		{[]*cancuoc.AuditEntry{entry("c1", "photo"), entry("c2")}, nil},
		{[]*cancuoc.AuditEntry{entry("d1")}, []cancuoc.Event{event("d1")}},
	}
	b := &pgx.Batch{}
	var wantEntries, wantEvents []string
	for _, r := range runs {
		queueLog(b, r.entries, r.events)
		for _, e := range r.entries {
			wantEntries = append(wantEntries, e.Purpose)
		}
		for _, e := range r.events {
			wantEvents = append(wantEvents, e.ID)
		}
	}
	if err := st.pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	n, events, _, err := st.seq.pass(ctx, c)
	if err != nil || n != int64(len(runs)) || events != int64(len(wantEvents)) {
		t.Fatalf("pass: %d runs, %d events, %v; want %d, %d", n, events, err, len(runs), len(wantEvents))
	}
	got, err := st.AuditRange(ctx, 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	var prev []byte
	var purposes []string
	fields := map[string]string{}
	for i, e := range got {
		if e.ID != int64(i+1) || !bytes.Equal(e.Hash, cancuoc.AuditChainHash(prev, e)) {
			t.Fatalf("entry %d: ID %d, chain broken", i+1, e.ID)
		}
		prev = e.Hash
		purposes = append(purposes, e.Purpose)
		fields[e.Purpose] = fmt.Sprintf("%q", e.Fields)
		if e.Fields == nil {
			fields[e.Purpose] = "nil"
		}
	}
	if !slices.Equal(purposes, wantEntries) {
		t.Errorf("the log holds %v, want %v", purposes, wantEntries)
	}
	if want := map[string]string{"a1": `["full_name" "birth_date"]`, "a2": "nil", "a3": "[]", "c1": `["photo"]`, "c2": "nil", "d1": "nil"}; !maps.Equal(fields, want) {
		t.Errorf("the entries' fields are %v, want %v", fields, want)
	}
	evs, err := st.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, e := range evs {
		if e.Seq != int64(i+1) || string(e.Data) != `{"n":"`+e.ID+`"}` {
			t.Errorf("event %d is %+v", i+1, e)
		}
		ids = append(ids, e.ID)
	}
	if !slices.Equal(ids, wantEvents) {
		t.Errorf("the outbox holds %v, want %v", ids, wantEvents)
	}

	// A run of two event ids and one type.
	if _, err := st.pool.Exec(ctx, `INSERT INTO log_pending (event_id, type, event_pin, version, event_actor, event_at, data)
		VALUES ('{x1,x2}', '{t}', '{NULL}', '{0}', '{""}', ARRAY[now()], '{"{}"}')`); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := st.seq.pass(ctx, c); err == nil {
		t.Error("a pass moved a run of unequal event columns")
	}
	var left int
	if err := st.pool.QueryRow(ctx, `SELECT count(*) FROM log_pending`).Scan(&left); err != nil || left != 1 {
		t.Errorf("%d runs queued after the failed pass (%v), want 1", left, err)
	}
	if evs, err := st.EventsAfter(ctx, 0, 100); err != nil || len(evs) != len(wantEvents) {
		t.Errorf("%d events after the failed pass (%v), want %d", len(evs), err, len(wantEvents))
	}
}
