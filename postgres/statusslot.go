package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// StatusSlotsIssued reads the issuer's slot counter without advancing it.
func (c *conn) StatusSlotsIssued(ctx context.Context, issuer string) (int64, error) {
	const op = "postgres.StatusSlotsIssued"
	var next int64
	err := c.q.QueryRow(ctx, `SELECT next FROM wallet_status_slots WHERE issuer = $1`, issuer).Scan(&next)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return next, dbErr(op, err)
}
