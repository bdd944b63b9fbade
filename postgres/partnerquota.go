package postgres

import (
	"context"
	"time"
)

// AddQuotaUsage adds to a window's count with one upsert and reads the sum.
func (c *conn) AddQuotaUsage(ctx context.Context, partner, window string, start time.Time, n int64) (int64, error) {
	const op = "postgres.AddQuotaUsage"
	var total int64
	err := c.q.QueryRow(ctx, `INSERT INTO partner_quota_usage (partner, window_kind, window_start, calls) VALUES ($1, $2, $3, $4)
		ON CONFLICT (partner, window_kind, window_start) DO UPDATE SET calls = partner_quota_usage.calls + excluded.calls
		RETURNING calls`, partner, window, start.Unix(), n).Scan(&total)
	if err != nil {
		return 0, dbErr(op, err)
	}
	return total, nil
}

// DeleteQuotaUsage removes windows that started before cutoff.
func (c *conn) DeleteQuotaUsage(ctx context.Context, cutoff time.Time) error {
	_, err := c.q.Exec(ctx, `DELETE FROM partner_quota_usage WHERE window_start < $1`, cutoff.Unix())
	return dbErr("postgres.DeleteQuotaUsage", err)
}
