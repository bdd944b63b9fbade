package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ChipChallengeStore = (*conn)(nil)

// InsertChipChallenge stores a challenge. Conflict "duplicate" if the ID exists.
func (c *conn) InsertChipChallenge(ctx context.Context, ch *cancuoc.ChipChallenge) error {
	const op = "postgres.InsertChipChallenge"
	_, err := c.q.Exec(ctx, `INSERT INTO chip_challenges (id, challenge, issued_to, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, ch.ID, ch.Challenge, ch.IssuedTo, ts(ch.CreatedAt), ts(ch.ExpiresAt))
	if uniqueOn(err, "chip_challenges_pkey") {
		return duplicate(op)
	}
	return dbErr(op, err)
}

// TakeChipChallenge deletes and returns a challenge. NotFound if absent;
// of two racing deletes only one sees the row.
func (c *conn) TakeChipChallenge(ctx context.Context, id string) (*cancuoc.ChipChallenge, error) {
	const op = "postgres.TakeChipChallenge"
	ch := cancuoc.ChipChallenge{}
	err := c.q.QueryRow(ctx, `DELETE FROM chip_challenges WHERE id = $1
		RETURNING id, challenge, issued_to, created_at, expires_at`, id).
		Scan(&ch.ID, &ch.Challenge, &ch.IssuedTo, &ch.CreatedAt, &ch.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, cancuoc.E(cancuoc.NotFound, op, "not_found", "Mã thử thách không tồn tại hoặc đã được dùng.",
			"The challenge is unknown or was already used.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	ch.CreatedAt, ch.ExpiresAt = ts(ch.CreatedAt), ts(ch.ExpiresAt)
	return &ch, nil
}

// PurgeChipChallenges deletes challenges expired at or before t.
func (c *conn) PurgeChipChallenges(ctx context.Context, t time.Time) (int64, error) {
	const op = "postgres.PurgeChipChallenges"
	tag, err := c.q.Exec(ctx, `DELETE FROM chip_challenges WHERE expires_at <= $1`, ts(t))
	if err != nil {
		return 0, dbErr(op, err)
	}
	return tag.RowsAffected(), nil
}
