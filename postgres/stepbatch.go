package postgres

import (
	"context"
	"github.com/cancuoc/cancuoc/internal/json"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

// UpdateSteps replaces the steps ss at the versions prev, all or none. A
// batch claim's tasks, which the transaction has locked (StepQuery.
// ForClaim) at the versions it updates from, cannot be refused: they are
// one statement (the form of a run of UpdateStep's, pipeset.go), held
// (pipetx.go) like UpdateStep's of a locked step, and the server runs one
// statement for the batch rather than one per task.
// Any other set is updated step by step in a savepoint, which a refusal
// rolls back whole.
func (c *conn) UpdateSteps(ctx context.Context, ss []*cancuoc.ProcedureStep, prev []int64) error {
	const op = "postgres.UpdateSteps"
	if err := cancuoc.CheckStepVersions(op, ss, prev); err != nil {
		return err
	}
	if len(ss) == 0 {
		return nil
	}
	locked := c.pipe != nil && c.allLockedAt(ss, prev)
	if locked && len(ss) == 1 {
		return c.UpdateStep(ctx, ss[0], prev[0]) // held alone, as cheap
	}
	if !locked {
		return c.Savepoint(ctx, func(tx cancuoc.Tx) error {
			for i, s := range ss {
				if err := tx.UpdateStep(ctx, s, prev[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	rows := make([][]any, len(ss))
	for i, s := range ss {
		doc, err := json.Marshal(s)
		if err != nil {
			return cancuoc.WithOp(op, err)
		}
		rows[i] = []any{string(s.Status), s.Province, s.Commune, s.Version, doc, s.ProcedureID, s.No, prev[i]} // UpdateStep's
		c.forgetProc(s.ProcedureID)
		c.lockStep(s.ProcedureID, s.No, s.Version)
		c.wroteFileStep(s.ProcedureID, s.No, doc)
	}
	cols, _ := columns(rows) // rows of one shape
	n := int64(len(ss))
	c.pipe.sealRuns() // a gathered write of one of the steps goes first
	return c.later(ctx, op, updateStepSet.sql, cols, func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() != n {
			return staleVersion(op) // cannot happen under the locks
		}
		return nil
	})
}

// allLockedAt tells whether the transaction holds every step of ss locked
// at the version of the same index in prev, each step once: no other
// transaction can have changed them, and one statement updates each once.
func (c *conn) allLockedAt(ss []*cancuoc.ProcedureStep, prev []int64) bool {
	seen := make(map[stepKey]bool, len(ss))
	for i, s := range ss {
		k := stepKey{s.ProcedureID, s.No}
		if seen[k] || !c.lockedAt(s.ProcedureID, s.No, prev[i]) {
			return false
		}
		seen[k] = true
	}
	return true
}
