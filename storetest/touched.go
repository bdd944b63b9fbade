package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/auditlog"
)

// touchedPIN is the n-th PIN of the blocks' two regions (two segments).
func touchedPIN(n int) cancuoc.PIN {
	if n%2 == 0 {
		return PINFor("001", cancuoc.Male, 1990, n)
	}
	return PINFor("079", cancuoc.Female, 1985, n)
}

// appendBlock appends a bulk job's chunk the way reconcile does: its
// touched block and the one entry naming it, in one transaction.
func appendBlock(t *testing.T, s cancuoc.Store, job string, chunk int64, at time.Time, ns ...int) *cancuoc.AuditEntry {
	t.Helper()
	var pins []cancuoc.PIN
	for _, n := range ns {
		pins = append(pins, touchedPIN(n), touchedPIN(n)) // repeats are kept once
	}
	b := cancuoc.NewTouchedBlock(job, chunk, pins)
	e := &cancuoc.AuditEntry{At: at, Actor: "partner-bhxh", Action: cancuoc.TouchedAction,
		Fields: []string{"full_name", "birth_date"}, Purpose: "reconciliation " + job, Outcome: b.Outcome()}
	if err := s.InTx(t.Context(), func(tx cancuoc.Tx) error {
		if err := tx.AppendTouched(t.Context(), b); err != nil {
			return err
		}
		return tx.AppendAudit(t.Context(), e)
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// testTouchedBlocks checks the compact entries of bulk jobs: a citizen's
// view (AuditFor, AuditSearch by PIN with other criteria and paging) lists
// the entry of every chunk whose block holds their PIN, as stored, and no
// other; auditors find them by partner and purpose; blocks read back.
func testTouchedBlocks(t *testing.T, s cancuoc.Store, _ Exec) {
	ctx := t.Context()
	appendN(t, s, 0, 5)
	evens := []int{}
	for n := 0; n < 600; n += 2 {
		evens = append(evens, n, n+1)
	}
	appendBlock(t, s, "rc_one", 0, T0.Add(time.Hour), evens...)                // 0…599
	appendBlock(t, s, "rc_one", 600, T0.Add(2*time.Hour), 5, 6, 7, 1000, 1001) // overlaps the first
	read := &cancuoc.AuditEntry{At: T0.Add(3 * time.Hour), Actor: "officer-01", Action: "citizen.read",
		PIN: touchedPIN(6), Fields: []string{"*"}, Purpose: "xác minh", Outcome: "ok"}
	if err := s.AppendAudit(ctx, read); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	stored := checkChain(t, s)
	byOutcome := map[string]*cancuoc.AuditEntry{}
	for _, e := range stored {
		byOutcome[e.Outcome] = e
	}
	blocks := func(es []*cancuoc.AuditEntry) []int64 {
		var out []int64
		for _, e := range es {
			if ref, ok := cancuoc.ParseTouched(e); ok {
				out = append(out, ref.Chunk)
				// As stored: its chain hash and proofs verify.
				if st := byOutcome[e.Outcome]; st == nil || st.ID != e.ID || !bytes.Equal(st.Hash, e.Hash) ||
					!bytes.Equal(cancuoc.AuditCanonical(st), cancuoc.AuditCanonical(e)) {
					t.Errorf("block entry returned as %+v, stored as %+v", e, st)
				}
			}
		}
		return out
	}
	for _, c := range []struct {
		n    int
		want []int64
	}{{0, []int64{0}}, {599, []int64{0}}, {6, []int64{600, 0}}, {7, []int64{600, 0}}, {1000, []int64{600}},
		{1001, []int64{600}}, {602, nil}, {999, nil}, {1002, nil}} {
		es, err := s.AuditFor(ctx, touchedPIN(c.n), 100)
		if err != nil {
			t.Fatal(err)
		}
		if got := blocks(es); !slices.Equal(got, c.want) {
			t.Errorf("AuditFor(PIN %d): chunks %v, want %v (newest first)", c.n, got, c.want)
		}
	}
	// With other criteria, and page by page.
	es, err := s.AuditSearch(ctx, cancuoc.AuditQuery{PIN: touchedPIN(6), Actor: "partner-bhxh"})
	if err != nil || len(es) != 2 {
		t.Errorf("AuditSearch(PIN, partner) = %d entries, %v; want the 2 block entries", len(es), err)
	}
	es, err = s.AuditSearch(ctx, cancuoc.AuditQuery{PIN: touchedPIN(6), Action: "citizen.read"})
	if err != nil || len(es) != 1 || es[0].Action != "citizen.read" {
		t.Errorf("AuditSearch(PIN, citizen.read) = %v, %v", es, err)
	}
	es, err = s.AuditSearch(ctx, cancuoc.AuditQuery{PIN: touchedPIN(6), From: T0.Add(90 * time.Minute), To: T0.Add(150 * time.Minute)})
	if err != nil || !slices.Equal(blocks(es), []int64{600}) || len(es) != 1 {
		t.Errorf("AuditSearch(PIN, period of the second chunk) = %v, %v", es, err)
	}
	var pages []int64
	before := int64(0)
	for range 5 {
		page, err := s.AuditSearch(ctx, cancuoc.AuditQuery{PIN: touchedPIN(7), Before: before, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages = append(pages, blocks(page)...)
		before = page[0].ID
	}
	if !slices.Equal(pages, []int64{600, 0}) {
		t.Errorf("paging PIN 7's log one entry at a time: chunks %v, want [600 0]", pages)
	}
	es, err = s.AuditSearch(ctx, cancuoc.AuditQuery{Purpose: "reconciliation rc_one", Limit: 10})
	if err != nil || !slices.Equal(blocks(es), []int64{600, 0}) {
		t.Errorf("auditors' search by purpose: %v, %v", es, err)
	}
	// The blocks read back whole; a chunk has one.
	b, err := s.TouchedBlock(ctx, "rc_one", 600)
	if err != nil || b.Len() != 5 {
		t.Fatalf("TouchedBlock: %+v, %v", b, err)
	}
	want := cancuoc.NewTouchedBlock("rc_one", 600, []cancuoc.PIN{touchedPIN(1001), touchedPIN(5), touchedPIN(6), touchedPIN(7), touchedPIN(1000)})
	if !bytes.Equal(b.Pins, want.Pins) {
		t.Error("TouchedBlock: the segments do not read back as the block")
	}
	if _, err := s.TouchedBlock(ctx, "rc_one", 1); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("TouchedBlock of a chunk without one: %v, want NotFound", err)
	}
	if err := s.AppendTouched(ctx, want); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("a second block for a chunk: %v, want Conflict", err)
	}
}

// touchedTamper builds a log with two block entries (11 and 12) between
// ordinary ones, checks it verifies, runs sql and returns verify's verdict.
func touchedTamper(t *testing.T, s cancuoc.Store, exec Exec, sql ...string) *auditlog.Problem {
	t.Helper()
	ctx := t.Context()
	l, pub := newLog(t, s)
	appendN(t, s, 0, 10)
	appendBlock(t, s, "rc_two", 1, T0.Add(time.Hour), 0, 1, 2, 3, 4, 5)
	appendBlock(t, s, "rc_two", 2, T0.Add(time.Hour), 6, 7, 8, 9, 10)
	settle(t, s)
	appendN(t, s, 12, 5)
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if rep := exportAndVerify(t, l, pub, 1, 0); rep.Problem != nil || rep.Blocks != 2 {
		t.Fatalf("before tampering: %v, %d blocks checked", rep.Problem, rep.Blocks)
	}
	for _, q := range sql {
		if err := exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rep := exportAndVerify(t, l, pub, 1, 0)
	if rep.Problem == nil {
		t.Fatal("verify found nothing wrong after tampering with a block")
	}
	return rep.Problem
}

func testTouchedTamperChanged(t *testing.T, s cancuoc.Store, exec Exec) {
	// One segment of block 1 gets block 2's segment of the same bucket.
	p := touchedTamper(t, s, exec, `UPDATE reconcile_touched SET pins = (SELECT t2.pins FROM reconcile_touched t2
		WHERE t2.chunk = 2 AND t2.bucket = reconcile_touched.bucket) WHERE chunk = 1 AND bucket = (SELECT min(bucket) FROM reconcile_touched)`)
	if p.Kind != auditlog.ProblemChanged || p.Entry != 11 {
		t.Errorf("verify said %+v, want entry 11's block changed", p)
	}
}

func testTouchedTamperRemoved(t *testing.T, s cancuoc.Store, exec Exec) {
	p := touchedTamper(t, s, exec, `DELETE FROM reconcile_touched WHERE chunk = 2`)
	if p.Kind != auditlog.ProblemChanged || p.Entry != 12 {
		t.Errorf("verify said %+v, want entry 12's block removed", p)
	}
}

func testTouchedTamperSegment(t *testing.T, s cancuoc.Store, exec Exec) {
	p := touchedTamper(t, s, exec, `DELETE FROM reconcile_touched WHERE chunk = 1 AND bucket = (SELECT max(bucket) FROM reconcile_touched)`)
	if p.Kind != auditlog.ProblemChanged || p.Entry != 11 {
		t.Errorf("verify said %+v, want entry 11's block changed (a segment removed)", p)
	}
}

func testTouchedTamperSwapped(t *testing.T, s cancuoc.Store, exec Exec) {
	p := touchedTamper(t, s, exec,
		`UPDATE reconcile_touched SET chunk = -1 WHERE chunk = 1`,
		`UPDATE reconcile_touched SET chunk = 1 WHERE chunk = 2`,
		`UPDATE reconcile_touched SET chunk = 2 WHERE chunk = -1`)
	if p.Kind != auditlog.ProblemChanged || p.Entry != 11 {
		t.Errorf("verify said %+v, want entry 11's block swapped", p)
	}
}
