package postgres

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// TestReadLogBound: a pass reads at most its batch of runs, and stops
// after the run that brings the entries and events to the batch, so that
// a backlog of large runs (access-log batches) is still taken in bounded
// transactions; the first run is read whatever its size.
func TestReadLogBound(t *testing.T) {
	url := os.Getenv("CANCUOC_TEST_POSTGRES")
	if url == "" {
		if os.Getenv("CANCUOC_REQUIRE_POSTGRES") != "" {
			t.Fatal("CANCUOC_TEST_POSTGRES is not set")
		}
		t.Skip("CANCUOC_TEST_POSTGRES is not set")
	}
	t.Parallel()
	ctx := t.Context()
	schema := "readbound_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	raw, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = raw.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		raw.Close(context.Background())
	})
	st, err := Open(ctx, url, WithSchema(schema), WithSequencerPoll(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The sequencer is stopped: its first pass, which runs whenever its
	// connection is up, took the runs between two of the reads below when
	// it connected late (CI). Close stops it again harmlessly.
	st.seq.stop()
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
