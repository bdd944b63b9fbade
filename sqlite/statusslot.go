package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// StatusSlotsIssued reads the issuer's slot counter without advancing it.
func (o *ops) StatusSlotsIssued(ctx context.Context, issuer string) (int64, error) {
	const op = "sqlite.StatusSlotsIssued"
	var next int64
	err := o.r.QueryRowContext(ctx, `SELECT next FROM wallet_status_slots WHERE issuer = ?`, issuer).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return next, dbErr(op, err)
}
