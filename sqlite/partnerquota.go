package sqlite

import (
	"context"
	"time"
)

// AddQuotaUsage adds to a window's count with one upsert and reads the sum.
func (o *ops) AddQuotaUsage(ctx context.Context, partner, window string, start time.Time, n int64) (int64, error) {
	const op = "sqlite.AddQuotaUsage"
	var total int64
	err := o.w.QueryRowContext(ctx, `INSERT INTO partner_quota_usage (partner, window_kind, window_start, calls) VALUES (?, ?, ?, ?)
		ON CONFLICT (partner, window_kind, window_start) DO UPDATE SET calls = partner_quota_usage.calls + excluded.calls
		RETURNING calls`, partner, window, start.Unix(), n).Scan(&total)
	if err != nil {
		return 0, dbErr(op, err)
	}
	return total, nil
}

// DeleteQuotaUsage removes windows that started before cutoff.
func (o *ops) DeleteQuotaUsage(ctx context.Context, cutoff time.Time) error {
	_, err := o.w.ExecContext(ctx, `DELETE FROM partner_quota_usage WHERE window_start < ?`, cutoff.Unix())
	return dbErr("sqlite.DeleteQuotaUsage", err)
}
