package postgres_test

import (
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestStepsForClaimSkipsLocked: while one transaction holds the steps it
// selected for claiming, another claimer's selection passes over them at
// once instead of waiting (and then losing on the version).
func TestStepsForClaimSkipsLocked(t *testing.T) {
	serverURL(t)
	s := open(t)
	ctx := t.Context()
	for i, id := range []string{"p1", "p2", "p3"} {
		p := storetest.Procedure(id, i)
		if err := s.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertStep(ctx, storetest.Step(p, 1, "police")); err != nil {
			t.Fatal(err)
		}
	}
	q := cancuoc.StepQuery{Agency: "police", Statuses: []cancuoc.StepStatus{cancuoc.StepPending}, ForClaim: true}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		q1 := q
		q1.Limit = 1
		first, err := tx.Steps(ctx, q1)
		if err != nil {
			return err
		}
		if len(first) != 1 || first[0].ProcedureID != "p1" {
			t.Fatalf("first claimer got %d steps, want p1", len(first))
		}
		// A second claimer, in its own transaction on another connection.
		return s.InTx(ctx, func(tx2 cancuoc.Tx) error {
			rest, err := tx2.Steps(ctx, q)
			if err != nil {
				return err
			}
			if len(rest) != 2 || rest[0].ProcedureID != "p2" || rest[1].ProcedureID != "p3" {
				var ids []string
				for _, st := range rest {
					ids = append(ids, st.ProcedureID)
				}
				t.Errorf("second claimer got %v, want [p2 p3]", ids)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}
