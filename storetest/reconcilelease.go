package storetest

import (
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunReconcileLease checks a reconciliation job's lease: one holder at a
// time, renewal by the holder, take-over after expiry, checkpoints only by
// the holder and only from the stored checkpoint (compare-and-set), and a
// lease ended by a zero time.
func RunReconcileLease(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	t.Run("ReconcileLease", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		job := &cancuoc.Reconciliation{ID: "rc-lease", Owner: "bank-1", Input: "i", Report: "o", Format: "csv", ReportFmt: "csv",
			Status: cancuoc.ReconRunning, Counts: map[string]int64{}, CreatedAt: T0, UpdatedAt: T0}
		if err := s.CreateReconciliation(ctx, job); err != nil {
			t.Fatal(err)
		}
		lease := time.Minute
		if err := s.ClaimReconciliation(ctx, job.ID, "node-a", T0, T0.Add(lease)); err != nil {
			t.Fatalf("first claim: %v", err)
		}
		err := s.ClaimReconciliation(ctx, job.ID, "node-b", T0.Add(time.Second), T0.Add(time.Second+lease))
		wantErr(t, "second runner while the lease lasts", err, cancuoc.Conflict, "reconciliation_leased")
		if err := s.ClaimReconciliation(ctx, job.ID, "node-a", T0.Add(30*time.Second), T0.Add(30*time.Second+lease)); err != nil {
			t.Fatalf("the holder renews: %v", err)
		}
		// Renewed to T0+90s: still held at T0+60s.
		err = s.ClaimReconciliation(ctx, job.ID, "node-b", T0.Add(lease), T0.Add(2*lease))
		wantErr(t, "second runner after the renewal", err, cancuoc.Conflict, "reconciliation_leased")

		// The holder checkpoints from the stored checkpoint.
		step := *job
		step.Offset, step.Line, step.ReportSize, step.Counts = 100, 2, 50, map[string]int64{"matched": 2}
		if err := s.CheckpointLeased(ctx, &step, "node-a", 0, 0, T0.Add(2*lease)); err != nil {
			t.Fatalf("holder's checkpoint: %v", err)
		}
		// The same checkpoint again (from a previous offset that moved on).
		err = s.CheckpointLeased(ctx, &step, "node-a", 0, 0, T0.Add(2*lease))
		wantErr(t, "checkpoint from a stale offset", err, cancuoc.Conflict, "reconciliation_lease_lost")

		// The lease expires (at T0+120s); another runner takes over.
		if err := s.ClaimReconciliation(ctx, job.ID, "node-b", T0.Add(3*lease), T0.Add(4*lease)); err != nil {
			t.Fatalf("take-over after expiry: %v", err)
		}
		late := step
		late.Offset, late.Line, late.ReportSize = 200, 4, 100
		err = s.CheckpointLeased(ctx, &late, "node-a", 100, 50, T0.Add(4*lease))
		wantErr(t, "the old holder's checkpoint", err, cancuoc.Conflict, "reconciliation_lease_lost")
		if got, _ := s.Reconciliation(ctx, job.ID); got.Offset != 100 || got.ReportSize != 50 {
			t.Errorf("a refused checkpoint moved the job: offset %d report %d", got.Offset, got.ReportSize)
		}
		err = s.ClaimReconciliation(ctx, job.ID, "node-a", T0.Add(3*lease), T0.Add(4*lease))
		wantErr(t, "the old holder's claim", err, cancuoc.Conflict, "reconciliation_leased")

		// The new holder finishes and ends the lease.
		done := step
		done.Status, done.Offset, done.Line, done.ReportSize = cancuoc.ReconDone, 300, 6, 150
		if err := s.CheckpointLeased(ctx, &done, "node-b", 100, 50, time.Time{}); err != nil {
			t.Fatalf("final checkpoint: %v", err)
		}
		got, err := s.Reconciliation(ctx, job.ID)
		if err != nil || got.Status != cancuoc.ReconDone || got.Offset != 300 || got.ReportSize != 150 || got.Counts["matched"] != 2 {
			t.Errorf("after the final checkpoint: %+v %v", got, err)
		}
		if err := s.ClaimReconciliation(ctx, job.ID, "node-a", T0.Add(3*lease), T0.Add(4*lease)); err != nil {
			t.Errorf("claim after the lease ended: %v", err)
		}

		// Racing claims on a free job: exactly one wins.
		race2 := &cancuoc.Reconciliation{ID: "rc-race", Owner: "bank-1", Input: "i", Report: "o", Format: "csv", ReportFmt: "csv",
			Status: cancuoc.ReconRunning, Counts: map[string]int64{}, CreatedAt: T0, UpdatedAt: T0}
		if err := s.CreateReconciliation(ctx, race2); err != nil {
			t.Fatal(err)
		}
		errs := race(func(i int) error {
			return s.ClaimReconciliation(ctx, race2.ID, "node-"+string(rune('a'+i)), T0, T0.Add(lease))
		})
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if cancuoc.KindOf(err) != cancuoc.Conflict {
				t.Errorf("racing claim: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d racing claims won, want exactly 1", won)
		}

		err = s.ClaimReconciliation(ctx, "rc-none", "node-a", T0, T0.Add(lease))
		wantErr(t, "claim of a missing job", err, cancuoc.NotFound, "reconciliation_not_found")
		err = s.CheckpointLeased(ctx, &cancuoc.Reconciliation{ID: "rc-none", Status: cancuoc.ReconRunning}, "node-a", 0, 0, T0)
		wantErr(t, "checkpoint of a missing job", err, cancuoc.NotFound, "reconciliation_not_found")
	})
}
