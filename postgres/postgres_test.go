package postgres_test

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/storetest"
)

func serverURL(tb testing.TB) string { return pgtest.URL(tb) }

// open gives a store as in production: writes answer at commit and the
// sequencer follows, so the suites check what they read after a write
// through cancuoc.WaitSequenced.
func open(tb testing.TB) *postgres.Store { return pgtest.OpenAsync(tb, "cancuoc_test") }

func TestConformance(t *testing.T) {
	serverURL(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunOIDC(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunDispatch(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunEID(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunWorkflow(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunChip(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunPartners(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunResidence(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunLoginSessions(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunStats(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunDocuments(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunReconcile(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunWebhook(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunStatusSlots(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunReconcileLease(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunQuotaUsage(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunApplications(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunQuality(t, func(t *testing.T) cancuoc.Store { return open(t) })
	storetest.RunReconcileTotals(t, func(t *testing.T) cancuoc.Store { return open(t) })
}

// TestOutboxCommitOrder checks the promise consumers rely on: polling
// EventsAfter(last seen) while many transactions append concurrently sees
// every event exactly once. Each writer holds its transaction open a little
// after appending, which is when a seq allocated at insert time would
// commit out of order without AppendEvent's lock.
func TestOutboxCommitOrder(t *testing.T) {
	s := open(t)
	t.Parallel()
	ctx := t.Context()
	const writers, perWriter = 12, 25

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				err := s.InTx(ctx, func(tx cancuoc.Tx) error {
					e := &cancuoc.Event{ID: fmt.Sprintf("w%02d-%03d", w, i), Type: cancuoc.EventCitizenUpdated,
						Actor: "test", At: time.Now()}
					if err := tx.AppendEvent(ctx, e); err != nil {
						return err
					}
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	// The reader is another node: a store of its own on the same schema, so
	// it never waits for the writers' connections.
	reader, err := postgres.Open(ctx, serverURL(t), postgres.WithSchema(schemaOf(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	seen := map[string]int{}
	var last int64
	poll := func() {
		evs, err := reader.EventsAfter(ctx, last, 7)
		if err != nil {
			t.Fatalf("EventsAfter: %v", err)
		}
		for _, e := range evs {
			if e.Seq <= last {
				t.Fatalf("EventsAfter(%d) returned seq %d", last, e.Seq)
			}
			last = e.Seq
			seen[e.ID]++
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			poll()
		}
	}
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	// Drain what was committed after the last poll, once sequenced.
	if err := s.WaitSequenced(ctx); err != nil {
		t.Fatal(err)
	}
	for n := -1; n != len(seen); {
		n = len(seen)
		poll()
	}
	missing := 0
	for w := range writers {
		for i := range perWriter {
			switch id := fmt.Sprintf("w%02d-%03d", w, i); seen[id] {
			case 1:
			case 0:
				missing++
			default:
				t.Errorf("event %s seen %d times", id, seen[id])
			}
		}
	}
	if missing > 0 {
		t.Errorf("the polling reader never saw %d of %d events: seq order is not commit order", missing, writers*perWriter)
	}
}

// TestErrorsHoldNoPersonalData checks that a conflict names no PIN: the
// database's own message for a unique violation quotes the key.
func TestErrorsHoldNoPersonalData(t *testing.T) {
	s := open(t)
	t.Parallel()
	ctx := t.Context()
	v := storetest.FirstVersion(storetest.Citizen(storetest.PIN(7)))
	if err := s.BulkInsert(ctx, []*cancuoc.CitizenVersion{v}, nil); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		s.BulkInsert(ctx, []*cancuoc.CitizenVersion{v}, nil),
		s.InsertCitizen(ctx, v.Citizen),
		s.AppendVersion(ctx, v),
	} {
		if cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("got %v, want a Conflict", err)
		}
		if msg := fmt.Sprintf("%v %+v", err, err); contains(msg, string(v.PIN)) {
			t.Errorf("error quotes the PIN: %s", msg)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestUnavailable checks that an unreachable server is reported as
// Unavailable, so readiness probes and the HTTP layer answer 503.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if cancuoc.KindOf(err) != cancuoc.Unavailable {
		t.Errorf("Open(unreachable) = %v, want Unavailable", err)
	}
}

// TestReopen checks that a second Open of a migrated schema (another node
// starting) finds nothing to do and keeps the data.
func TestReopen(t *testing.T) {
	s := open(t)
	t.Parallel()
	ctx := t.Context()
	c := storetest.Citizen(storetest.PIN(9))
	if err := s.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	schema := schemaOf(t, s)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			s2, err := postgres.Open(ctx, serverURL(t), postgres.WithSchema(schema))
			if err != nil {
				t.Errorf("reopen: %v", err)
				return
			}
			defer s2.Close()
			if _, err := s2.Citizen(ctx, c.PIN); err != nil {
				t.Errorf("after reopen: %v", err)
			}
		})
	}
	wg.Wait()
}

// schemaOf returns the schema a test store lives in.
func schemaOf(t *testing.T, s *postgres.Store) string {
	var schema string
	if err := s.Pool().QueryRow(t.Context(), "SELECT current_schema()").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	return schema
}

// BenchmarkBulkInsert measures BulkInsert in batches of 10,000 fully
// populated records and reports citizens per second.
func BenchmarkBulkInsert(b *testing.B) {
	s := open(b)
	ctx := context.Background()
	const batch = 10000
	serial := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		vs := make([]*cancuoc.CitizenVersion, batch)
		for i := range vs {
			year := 1930 + serial/1000000
			c := storetest.Citizen(storetest.PINFor("001", cancuoc.Male, year, serial%1000000))
			c.BirthDate.Year = year
			vs[i] = storetest.FirstVersion(c)
			serial++
		}
		b.StartTimer()
		if err := s.BulkInsert(ctx, vs, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(serial)/b.Elapsed().Seconds(), "citizens/s")
}

// TestScanMatchRecordsOtherDocument: a document that does not start as the
// registry writes it (another key order) still gives its full name to the
// scan, through the json operators.
func TestScanMatchRecordsOtherDocument(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	a, b := storetest.Citizen(storetest.PIN(1)), storetest.Citizen(storetest.PIN(2))
	for _, c := range []*cancuoc.Citizen{a, b} {
		if err := s.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE citizens SET doc = json_build_object('version', 1, 'pin', pin,
		'full_name', 'Tên "Khác"') WHERE pin = $1`, string(b.PIN)); err != nil {
		t.Fatal(err)
	}
	names := map[cancuoc.PIN]string{}
	if _, err := s.ScanMatchRecords(ctx, 1, func(rs []cancuoc.MatchRecord) error {
		for _, r := range rs {
			names[r.PIN] = r.FullName
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if names[a.PIN] != a.FullName || names[b.PIN] != `Tên "Khác"` || len(names) != 2 {
		t.Errorf("scanned names %v", names)
	}
}

// TestScanMatchRecordsRawFormats: the registry scan's columns come in the
// formats its raw decoding reads (else every row would go through
// rows.Scan, correct but slower), and a scan gives the same records as
// MatchRecords.
func TestScanMatchRecordsRawFormats(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	a := storetest.Citizen(storetest.PIN(1))
	if err := s.InsertCitizen(ctx, a); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Pool().Query(ctx, postgres.MatchScanSQL, postgres.DocPrefix)
	if err != nil {
		t.Fatal(err)
	}
	ok := postgres.RawMatchFormats(rows.FieldDescriptions())
	rows.Close()
	if !ok {
		t.Errorf("the scan's columns are not in the formats the raw decoding reads: %+v", rows.FieldDescriptions())
	}
	var got []cancuoc.MatchRecord
	if _, err := s.ScanMatchRecords(ctx, 10, func(rs []cancuoc.MatchRecord) error {
		got = append(got, rs...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want, err := s.MatchRecords(ctx, []cancuoc.PIN{a.PIN}, false)
	if err != nil || len(got) != 1 || len(want) != 1 {
		t.Fatalf("scan %+v, MatchRecords %+v, %v", got, want, err)
	}
	if g, w := fmt.Sprintf("%+v", got[0]), fmt.Sprintf("%+v", want[0]); g != w {
		t.Errorf("scan %s, MatchRecords %s", g, w)
	}
}

// TestScanMatchRecordsParallel: the registry scan lets PostgreSQL use
// parallel workers (without parallelScanSQL the planner never does for a
// query returning every row), and the workers read the scan's snapshot: a
// change committed while the scan runs is not seen, a record is neither
// lost nor repeated. The server is told that parallel workers cost nothing
// to start and that every table is large enough, so that a small table
// gets them too.
func TestScanMatchRecordsParallel(t *testing.T) {
	serverURL(t)
	ctx := t.Context()
	admin := open(t).Pool()
	schema := "cancuoc_par_" + strings.ToLower(crand.Text()[:10])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	dsn := pgtest.URL(t) + "&options=" + strings.NewReplacer(" ", "%20", "=", "%3D").Replace("-c min_parallel_table_scan_size=0 -c parallel_setup_cost=0")
	s, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 400
	for i := range n {
		if err := s.InsertCitizen(ctx, storetest.Citizen(storetest.PIN(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Pool().Exec(ctx, "ANALYZE citizens"); err != nil {
		t.Fatal(err)
	}
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	if _, err := tx.Exec(ctx, postgres.ParallelScanSQL); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+postgres.MatchScanSQL, postgres.DocPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	rows.Close()
	_ = tx.Rollback(ctx)
	if !strings.Contains(plan.String(), "Gather") || !strings.Contains(plan.String(), "Parallel Seq Scan") {
		t.Fatalf("the scan's plan has no parallel workers:\n%s", plan.String())
	}

	seen := map[cancuoc.PIN]string{}
	changed := false
	_, err = s.ScanMatchRecords(ctx, 50, func(b []cancuoc.MatchRecord) error {
		if !changed {
			// Committed while the scan runs, by another connection.
			changed = true
			if _, err := s.Pool().Exec(ctx, `UPDATE citizens SET name_key = 'changed' WHERE pin <> $1`, string(b[0].PIN)); err != nil {
				return err
			}
			if err := s.InsertCitizen(ctx, storetest.Citizen(storetest.PIN(n+1))); err != nil {
				return err
			}
		}
		for _, m := range b {
			if _, dup := seen[m.PIN]; dup {
				t.Errorf("%s scanned twice", m.PIN)
			}
			seen[m.PIN] = m.NameKey
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Errorf("scanned %d records, want the %d of the snapshot", len(seen), n)
	}
	for pin, key := range seen {
		if key == "changed" {
			t.Fatalf("%s: a change committed after the snapshot was seen", pin)
		}
	}
}
