package sqlite

import (
	"context"

	"github.com/cancuoc/cancuoc"
)

// UpdateSteps replaces the steps ss at the versions prev, all or none: in
// a savepoint, which a refusal rolls back whole. One writer holds the
// database, so a statement for the set would save SQLite nothing a loop
// of prepared updates costs (no server parses them).
func (o *ops) UpdateSteps(ctx context.Context, ss []*cancuoc.ProcedureStep, prev []int64) error {
	const op = "sqlite.UpdateSteps"
	if err := cancuoc.CheckStepVersions(op, ss, prev); err != nil {
		return err
	}
	if len(ss) == 0 {
		return nil
	}
	return o.Savepoint(ctx, func(tx cancuoc.Tx) error {
		for i, s := range ss {
			if err := tx.UpdateStep(ctx, s, prev[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
