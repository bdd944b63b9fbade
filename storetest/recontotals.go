package storetest

import (
	"reflect"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// RunReconcileTotals runs the conformance suite of ReconcileTotalsStore.
// open is as for Run.
func RunReconcileTotals(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	t.Run("ReconciliationTotals", func(t *testing.T) { testReconciliationTotals(t, open(t)) })
}

// testReconciliationTotals: done and expired jobs are summed per owner, key by key;
// running and failed jobs are not; a job finished by a checkpoint counts
// with its last counts.
func testReconciliationTotals(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	got, err := s.ReconciliationTotals(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v; want none", got, err)
	}
	mk := func(id, owner, status string, counts map[string]int64) *cancuoc.Reconciliation {
		j := &cancuoc.Reconciliation{ID: id, Owner: owner, Input: "i", Report: "o", Format: "csv", ReportFmt: "csv",
			Status: status, Counts: counts, CreatedAt: T0, UpdatedAt: T0}
		if err := s.CreateReconciliation(ctx, j); err != nil {
			t.Fatal(err)
		}
		return j
	}
	mk("t-1", "transport", cancuoc.ReconDone, map[string]int64{"matched": 7, "pin_unknown": 2})
	mk("t-2", "transport", cancuoc.ReconDone, map[string]int64{"matched": 3, "deceased": 1, "duplicate": 1})
	// An expired job (its files deleted by retention) still counts.
	mk("t-5", "transport", cancuoc.ReconExpired, map[string]int64{"matched": 20})
	// A failed job expired later keeps its error: it does not count.
	f := mk("t-6", "transport", cancuoc.ReconFailed, map[string]int64{"matched": 500})
	f.Status, f.Error = cancuoc.ReconExpired, "input unreadable"
	if err := s.CheckpointReconciliation(ctx, f); err != nil {
		t.Fatal(err)
	}
	mk("t-3", "transport", cancuoc.ReconFailed, map[string]int64{"matched": 100})
	mk("t-4", "transport", cancuoc.ReconRunning, map[string]int64{"matched": 1000})
	b := mk("b-1", "bank", cancuoc.ReconRunning, map[string]int64{"matched": 1})
	// The bank's job finishes through a checkpoint, as a runner ends it.
	b.Status, b.Counts = cancuoc.ReconDone, map[string]int64{"matched": 5, "matched_with_differences": 4}
	if err := s.CheckpointReconciliation(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err = s.ReconciliationTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []cancuoc.ReconciliationTotal{
		{Owner: "bank", Jobs: 1, Counts: map[string]int64{"matched": 5, "matched_with_differences": 4}},
		{Owner: "transport", Jobs: 3, Counts: map[string]int64{"matched": 30, "pin_unknown": 2, "deceased": 1, "duplicate": 1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReconciliationTotals = %+v\nwant %+v", got, want)
	}
}
