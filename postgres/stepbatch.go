package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

// updateStepsSQL replaces many steps at their versions in one statement:
// the rows of the arrays, by index, are the steps' keys, the versions
// they must have and what they become.
const updateStepsSQL = `UPDATE procedure_steps s SET status = v.status, version = v.version, doc = v.doc::json
	FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::bigint[], $6::text[])
		AS v(procedure_id, no, prev, status, version, doc)
	WHERE s.procedure_id = v.procedure_id AND s.no = v.no AND s.version = v.prev`

// UpdateSteps replaces the steps ss at the versions prev, all or none. A
// batch claim's tasks, which the transaction has locked (StepQuery.
// ForClaim) at the versions it updates from, cannot be refused: they are
// one statement, held (pipetx.go) like UpdateStep's of a locked step, and
// the server runs one statement for the batch rather than one per task.
// Any other set is updated step by step in a savepoint, which a refusal
// rolls back whole.
func (c *conn) UpdateSteps(ctx context.Context, ss []*cancuoc.ProcedureStep, prev []int64) error {
	const op = "postgres.UpdateSteps"
	if len(ss) != len(prev) {
		return cancuoc.E(cancuoc.Internal, op, "steps_versions", "Lỗi nội bộ.", "UpdateSteps needs one previous version per step.")
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
	var (
		ids, statuses, docs []string
		nos                 []int
		prevs, versions     []int64
	)
	for i, s := range ss {
		doc, err := json.Marshal(s)
		if err != nil {
			return cancuoc.WithOp(op, err)
		}
		ids, nos, prevs = append(ids, s.ProcedureID), append(nos, s.No), append(prevs, prev[i])
		statuses, versions, docs = append(statuses, string(s.Status)), append(versions, s.Version), append(docs, string(doc))
	}
	for i, s := range ss {
		c.forgetProc(s.ProcedureID)
		c.lockStep(s.ProcedureID, s.No, s.Version)
		c.wroteFileStep(s.ProcedureID, s.No, []byte(docs[i]))
	}
	n := int64(len(ss))
	return c.later(ctx, op, updateStepsSQL, []any{ids, nos, prevs, statuses, versions, docs}, func(tag pgconn.CommandTag) error {
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
