package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/cancuoc/cancuoc"
)

// ClaimReconciliation takes or renews the job's lease in one conditional
// UPDATE (SQLite's single writer serialises racing claims).
func (o *ops) ClaimReconciliation(ctx context.Context, id, runner string, now, until time.Time) error {
	const op = "sqlite.ClaimReconciliation"
	res, err := o.w.ExecContext(ctx, `UPDATE reconciliations SET runner = ?, lease_until = ?
		WHERE id = ? AND (runner = ? OR runner = '' OR lease_until <= ?)`,
		runner, cancuoc.LeaseMicros(until), id, runner, cancuoc.LeaseMicros(now))
	if err != nil {
		return dbErr(op, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	return o.reconMissOr(ctx, op, id, cancuoc.ErrReconLeased(op))
}

// CheckpointLeased is a compare-and-set on the runner and the previous
// checkpoint.
func (o *ops) CheckpointLeased(ctx context.Context, r *cancuoc.Reconciliation, runner string, prevOffset, prevReportSize int64, until time.Time) error {
	const op = "sqlite.CheckpointLeased"
	holder := runner
	if until.IsZero() {
		holder = ""
	}
	res, err := o.w.ExecContext(ctx, `UPDATE reconciliations SET status = ?, offset_ = ?, line = ?, report_size = ?,
		counts = ?, error = ?, updated_at = ?, runner = ?, lease_until = ?
		WHERE id = ? AND runner = ? AND offset_ = ? AND report_size = ?`,
		r.Status, r.Offset, r.Line, r.ReportSize, countsJSON(r), r.Error, micros(r.UpdatedAt), holder, cancuoc.LeaseMicros(until),
		r.ID, runner, prevOffset, prevReportSize)
	if err != nil {
		return dbErr(op, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	return o.reconMissOr(ctx, op, r.ID, cancuoc.ErrReconLeaseLost(op))
}

// reconMissOr tells a missing job (NotFound) from a refused one.
func (o *ops) reconMissOr(ctx context.Context, op, id string, refused error) error {
	var one int
	err := o.w.QueryRowContext(ctx, `SELECT 1 FROM reconciliations WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return cancuoc.E(cancuoc.NotFound, op, "reconciliation_not_found", "Không tìm thấy phiên đối soát.", "No such reconciliation.")
	}
	if err != nil {
		return dbErr(op, err)
	}
	return refused
}

func countsJSON(r *cancuoc.Reconciliation) string {
	b, _ := json.Marshal(r.Counts)
	return string(b)
}
