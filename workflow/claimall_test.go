package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/workflow"
)

// claimTx counts a claim's step writes and, if refuse, refuses its write
// of all the tasks at once (as a task taken meanwhile would), writing
// nothing.
type claimTx struct {
	cancuoc.Tx
	refuse     bool
	sets, ones int
}

func (tx *claimTx) UpdateSteps(ctx context.Context, ss []*cancuoc.ProcedureStep, prev []int64) error {
	tx.sets++
	if tx.refuse {
		return cancuoc.E(cancuoc.Conflict, "test", "stale_version", "x", "x")
	}
	return tx.Tx.UpdateSteps(ctx, ss, prev)
}

func (tx *claimTx) UpdateStep(ctx context.Context, s *cancuoc.ProcedureStep, prev int64) error {
	tx.ones++
	return tx.Tx.UpdateStep(ctx, s, prev)
}

// TestClaimNextWritesOnce: a batch claim writes all its tasks' steps with
// one UpdateSteps; when that is refused, each task is claimed on its own
// and the claim takes them all the same.
func TestClaimNextWritesOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		for range 4 {
			w.submitBirth(t)
			w.clock.set(w.clock.now().Add(time.Millisecond))
		}
		claim := func(tx *claimTx, by *cancuoc.Principal) []*cancuoc.ProcedureStep {
			t.Helper()
			var got []*cancuoc.ProcedureStep
			err := w.store.InTx(ctx, func(inner cancuoc.Tx) (err error) {
				tx.Tx = inner
				got, err = w.wf.ClaimNextTx(ctx, tx, by, workflow.ClaimQuery{Max: 2})
				return err
			})
			if err != nil {
				t.Fatalf("ClaimNextTx: %v", err)
			}
			return got
		}
		once := &claimTx{}
		got := claim(once, w.civil)
		if len(got) != 2 || once.sets != 1 || once.ones != 0 {
			t.Errorf("claim: %d tasks with %d UpdateSteps and %d UpdateStep; want 2 with 1 and 0", len(got), once.sets, once.ones)
		}
		refused := &claimTx{refuse: true}
		got = claim(refused, w.civil2)
		if len(got) != 2 || refused.sets != 1 || refused.ones != 2 {
			t.Errorf("claim refused at once: %d tasks with %d UpdateSteps and %d UpdateStep; want 2 with 1 and 2", len(got), refused.sets, refused.ones)
		}
		for _, st := range got {
			stored, err := w.store.Step(ctx, st.ProcedureID, st.No)
			if err != nil || stored.Status != cancuoc.StepClaimed || stored.ClaimedBy != w.civil2.ID || stored.Version != st.Version {
				t.Errorf("stored %s/%d: %+v, %v; want claimed by the second client at version %d", st.ProcedureID, st.No, stored, err, st.Version)
			}
		}
		// Claims already held are given back without a write.
		again := &claimTx{}
		if got := claim(again, w.civil); len(got) != 2 || again.ones != 0 {
			t.Errorf("claim again: %d tasks, %d UpdateStep; want 2, 0", len(got), again.ones)
		}
	})
}
