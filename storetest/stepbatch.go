package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// RunStepBatch runs the conformance tests of ProcedureStore.UpdateSteps.
// open is as for Run.
func RunStepBatch(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"UpdateStepsAllOrNone", testUpdateStepsAllOrNone},
		{"UpdateStepsClaimed", testUpdateStepsClaimed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// claimedBy returns each step of ss as claimed by by, one version later,
// and the versions they were at.
func claimedBy(ss []*cancuoc.ProcedureStep, by string) ([]*cancuoc.ProcedureStep, []int64) {
	out, prev := make([]*cancuoc.ProcedureStep, len(ss)), make([]int64, len(ss))
	for i, st := range ss {
		n := *st
		n.Status, n.ClaimedBy, n.Version = cancuoc.StepClaimed, by, st.Version+1
		out[i], prev[i] = &n, st.Version
	}
	return out, prev
}

// wantSteps checks the stored steps of the files ids (step no of each):
// each at version, claimed by by ("" for pending).
func wantSteps(ctx context.Context, t *testing.T, r cancuoc.Tx, no int, version int64, by string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		st, err := r.Step(ctx, id, no)
		if err != nil {
			t.Fatalf("Step %s/%d: %v", id, no, err)
		}
		status := cancuoc.StepPending
		if by != "" {
			status = cancuoc.StepClaimed
		}
		if st.Version != version || st.ClaimedBy != by || st.Status != status {
			t.Errorf("step %s/%d: version %d, %s by %q; want version %d, %s by %q",
				id, no, st.Version, st.Status, st.ClaimedBy, version, status, by)
		}
	}
	// The queue, which reads the columns beside the document, agrees.
	q := cancuoc.StepQuery{Agency: "police", Statuses: []cancuoc.StepStatus{cancuoc.StepClaimed}}
	claimed, err := r.Steps(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, st := range claimed {
		if st.No == no && st.ClaimedBy == by && slices.Contains(ids, st.ProcedureID) {
			n++
		}
	}
	if by != "" && n != len(ids) {
		t.Errorf("claimed by %q in the queue: %d, want %d", by, n, len(ids))
	}
}

// testUpdateStepsAllOrNone: UpdateSteps writes every step at its version,
// or, when one has another version or does not exist, none (Conflict or
// NotFound), and the transaction goes on.
func testUpdateStepsAllOrNone(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	insertFiles(t, s, "p1", "p2", "p3")
	read := func(r cancuoc.Tx, ids ...string) []*cancuoc.ProcedureStep {
		var out []*cancuoc.ProcedureStep
		for _, id := range ids {
			st, err := r.Step(ctx, id, 1)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, st)
		}
		return out
	}
	if err := s.UpdateSteps(ctx, nil, nil); err != nil {
		t.Fatalf("no steps: %v", err)
	}
	// On the store, all at their versions.
	ss, prev := claimedBy(read(s, "p1", "p2"), "a")
	if err := s.UpdateSteps(ctx, ss, prev); err != nil {
		t.Fatalf("UpdateSteps: %v", err)
	}
	wantSteps(ctx, t, s, 1, 2, "a", "p1", "p2")
	// One stale (p1 is at version 2 now): none written.
	stale := read(s, "p3", "p1")
	stale[1].Version = 1
	ss, prev = claimedBy(stale, "b")
	if err := s.UpdateSteps(ctx, ss, prev); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Fatalf("a stale step: %v, want Conflict", err)
	}
	wantSteps(ctx, t, s, 1, 1, "", "p3")
	wantSteps(ctx, t, s, 1, 2, "a", "p1")
	// One absent: none written.
	missing := read(s, "p3")
	ghost := *missing[0]
	ghost.ProcedureID = "p9"
	ss, prev = claimedBy(append(missing, &ghost), "c")
	if err := s.UpdateSteps(ctx, ss, prev); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Fatalf("an absent step: %v, want NotFound", err)
	}
	wantSteps(ctx, t, s, 1, 1, "", "p3")
	// In a transaction, a refusal leaves it usable: its other writes
	// commit, the refused set's do not.
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		stale := read(tx, "p3", "p2")
		stale[1].Version = 1
		ss, prev := claimedBy(stale, "d")
		if err := tx.UpdateSteps(ctx, ss, prev); cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("a stale step in a transaction: %v, want Conflict", err)
		}
		wantSteps(ctx, t, tx, 1, 1, "", "p3")
		ss, prev = claimedBy(read(tx, "p3", "p2"), "e")
		return tx.UpdateSteps(ctx, ss, prev)
	})
	if err != nil {
		t.Fatalf("transaction after a refusal: %v", err)
	}
	wantSteps(ctx, t, s, 1, 2, "e", "p3")
	wantSteps(ctx, t, s, 1, 3, "e", "p2")
	wantSteps(ctx, t, s, 2, 1, "", "p1", "p2", "p3")
}

// testUpdateStepsClaimed: the steps of a claim's selection (ForClaim,
// locked on PostgreSQL) written together are read back so in the
// transaction, again from the versions written, commit, and roll back
// with the transaction.
func testUpdateStepsClaimed(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	insertFiles(t, s, "p1", "p2", "p3")
	q := cancuoc.StepQuery{Agency: "police", Statuses: []cancuoc.StepStatus{cancuoc.StepPending}, Limit: 10, ForClaim: true}
	errAbort := cancuoc.E(cancuoc.Conflict, "test", "abort", "x", "x")
	claimAll := func(by string) error {
		return s.InTx(ctx, func(tx cancuoc.Tx) error {
			got, err := tx.Steps(ctx, q)
			if err != nil || len(got) != 6 {
				t.Fatalf("selection: %d, %v", len(got), err)
			}
			ss, prev := claimedBy(got, by)
			if err := tx.UpdateSteps(ctx, ss, prev); err != nil {
				return err
			}
			// Again from the versions just written, still under the locks.
			again, prev := claimedBy(ss, by)
			if err := tx.UpdateSteps(ctx, again, prev); err != nil {
				return err
			}
			// From the versions read: stale now, and nothing written.
			ss, prev = claimedBy(got, "stale")
			if err := tx.UpdateSteps(ctx, ss, prev); cancuoc.KindOf(err) != cancuoc.Conflict {
				t.Errorf("stale versions: %v, want Conflict", err)
			}
			// The file with all its steps, as the transaction reads it.
			all, err := tx.Steps(ctx, cancuoc.StepQuery{ProcedureID: "p2"})
			if err != nil || len(all) != 2 {
				t.Fatalf("steps of p2: %d, %v", len(all), err)
			}
			for _, st := range all {
				if st.Version != 3 || st.ClaimedBy != by {
					t.Errorf("read in the transaction: %+v; want version 3 by %s", st, by)
				}
			}
			wantSteps(ctx, t, tx, 1, 3, by, "p1", "p2", "p3")
			wantSteps(ctx, t, tx, 2, 3, by, "p1", "p2", "p3")
			if by == "rolled-back" {
				return errAbort
			}
			return nil
		})
	}
	if err := claimAll("rolled-back"); err != errAbort {
		t.Fatalf("rolled-back claim: %v", err)
	}
	wantSteps(ctx, t, s, 1, 1, "", "p1", "p2", "p3")
	wantSteps(ctx, t, s, 2, 1, "", "p1", "p2", "p3")
	if err := claimAll("a"); err != nil {
		t.Fatal(err)
	}
	wantSteps(ctx, t, s, 1, 3, "a", "p1", "p2", "p3")
	wantSteps(ctx, t, s, 2, 3, "a", "p1", "p2", "p3")
}
