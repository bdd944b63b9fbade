package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/jackc/pgx/v5"
)

// ClaimReconciliation takes or renews the job's lease in one conditional
// UPDATE; its row lock makes racing claims wait, and the loser sees the
// winner's lease.
func (c *conn) ClaimReconciliation(ctx context.Context, id, runner string, now, until time.Time) error {
	const op = "postgres.ClaimReconciliation"
	tag, err := c.q.Exec(ctx, `UPDATE reconciliations SET runner = $1, lease_until = $2
		WHERE id = $3 AND (runner = $1 OR runner = '' OR lease_until <= $4)`,
		runner, cancuoc.LeaseMicros(until), id, cancuoc.LeaseMicros(now))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return c.reconMissOr(ctx, op, id, cancuoc.ErrReconLeased(op))
}

// CheckpointLeased is a compare-and-set on the runner and the previous
// checkpoint.
func (c *conn) CheckpointLeased(ctx context.Context, r *cancuoc.Reconciliation, runner string, prevOffset, prevReportSize int64, until time.Time) error {
	const op = "postgres.CheckpointLeased"
	holder := runner
	if until.IsZero() {
		holder = ""
	}
	tag, err := c.q.Exec(ctx, `UPDATE reconciliations SET status = $1, offset_ = $2, line = $3, report_size = $4,
		counts = $5, error = $6, updated_at = $7, runner = $8, lease_until = $9
		WHERE id = $10 AND runner = $11 AND offset_ = $12 AND report_size = $13`,
		r.Status, r.Offset, r.Line, r.ReportSize, countsOf(r), r.Error, ts(r.UpdatedAt), holder, cancuoc.LeaseMicros(until),
		r.ID, runner, prevOffset, prevReportSize)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return c.reconMissOr(ctx, op, r.ID, cancuoc.ErrReconLeaseLost(op))
}

// reconMissOr tells a missing job (NotFound) from a refused one.
func (c *conn) reconMissOr(ctx context.Context, op, id string, refused error) error {
	var one int
	err := c.q.QueryRow(ctx, `SELECT 1 FROM reconciliations WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return reconNotFound(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return refused
}
