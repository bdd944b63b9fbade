package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ChipChallengeStore = (*ops)(nil)

// InsertChipChallenge stores a challenge. Conflict "duplicate" if the ID exists.
func (o *ops) InsertChipChallenge(ctx context.Context, c *cancuoc.ChipChallenge) error {
	const op = "sqlite.InsertChipChallenge"
	_, err := o.w.ExecContext(ctx, `INSERT INTO chip_challenges (id, challenge, issued_to, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, c.ID, c.Challenge, c.IssuedTo, micros(c.CreatedAt), micros(c.ExpiresAt))
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return conflict(op, "duplicate", "Bản ghi đã tồn tại.", "The record already exists.")
	}
	return dbErr(op, err)
}

// TakeChipChallenge deletes and returns a challenge. NotFound if absent.
func (o *ops) TakeChipChallenge(ctx context.Context, id string) (*cancuoc.ChipChallenge, error) {
	const op = "sqlite.TakeChipChallenge"
	c := cancuoc.ChipChallenge{}
	var created, expires int64
	err := o.w.QueryRowContext(ctx, `DELETE FROM chip_challenges WHERE id = ?
		RETURNING id, challenge, issued_to, created_at, expires_at`, id).
		Scan(&c.ID, &c.Challenge, &c.IssuedTo, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Mã thử thách không tồn tại hoặc đã được dùng.", "The challenge is unknown or was already used.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &c, nil
}

// PurgeChipChallenges deletes challenges expired at or before t.
func (o *ops) PurgeChipChallenges(ctx context.Context, t time.Time) (int64, error) {
	const op = "sqlite.PurgeChipChallenges"
	res, err := o.w.ExecContext(ctx, `DELETE FROM chip_challenges WHERE expires_at <= ?`, micros(t))
	if err != nil {
		return 0, dbErr(op, err)
	}
	n, err := res.RowsAffected()
	return n, dbErr(op, err)
}
