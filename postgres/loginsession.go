package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// InsertLoginSession stores s. Conflict "duplicate" if its hash exists.
func (c *conn) InsertLoginSession(ctx context.Context, s *cancuoc.LoginSession) error {
	const op = "postgres.InsertLoginSession"
	amr := s.AMR
	if amr == nil {
		amr = []string{}
	}
	// No ON CONFLICT: a taken hash raises unique_violation (dbErr: Conflict
	// "duplicate"), which a transaction's queue can carry up to its COMMIT
	// (pipetx.go), where a count of rows could not.
	return c.later(ctx, op, `INSERT INTO oidc_sessions (hash, pin, account_id, amr, auth_time, created_at, expires_at, ended_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		[]any{s.Hash, string(s.PIN), s.AccountID, amr, ts(s.AuthTime), ts(s.CreatedAt), ts(s.ExpiresAt), tsPtr(s.EndedAt)}, nil)
}

// LoginSession returns a session by its hash. NotFound if absent.
func (c *conn) LoginSession(ctx context.Context, hash []byte) (*cancuoc.LoginSession, error) {
	const op = "postgres.LoginSession"
	var (
		s                      = cancuoc.LoginSession{Hash: hash}
		pin                    string
		auth, created, expires time.Time
		ended                  *time.Time
	)
	err := c.q.QueryRow(ctx, `SELECT pin, account_id, amr, auth_time, created_at, expires_at, ended_at
		FROM oidc_sessions WHERE hash = $1`, hash).Scan(&pin, &s.AccountID, &s.AMR, &auth, &created, &expires, &ended)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, oidcNotFound(op, "Không có phiên đăng nhập này.", "No such login session.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	s.PIN, s.AuthTime, s.CreatedAt, s.ExpiresAt, s.EndedAt = cancuoc.PIN(pin), ts(auth), ts(created), ts(expires), tsPtr(ended)
	return &s, nil
}

// EndLoginSession marks a session ended at t.
func (c *conn) EndLoginSession(ctx context.Context, hash []byte, t time.Time) error {
	_, err := c.q.Exec(ctx, `UPDATE oidc_sessions SET ended_at = $1 WHERE hash = $2 AND ended_at IS NULL`, ts(t), hash)
	return dbErr("postgres.EndLoginSession", err)
}

// EndLoginSessions ends every open session of a citizen at t.
func (c *conn) EndLoginSessions(ctx context.Context, pin cancuoc.PIN, t time.Time) (int64, error) {
	tag, err := c.q.Exec(ctx, `UPDATE oidc_sessions SET ended_at = $1 WHERE pin = $2 AND ended_at IS NULL`, ts(t), string(pin))
	if err != nil {
		return 0, dbErr("postgres.EndLoginSessions", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteExpiredLoginSessions removes sessions that expired before t.
func (c *conn) DeleteExpiredLoginSessions(ctx context.Context, before time.Time) (int64, error) {
	tag, err := c.q.Exec(ctx, `DELETE FROM oidc_sessions WHERE expires_at < $1`, ts(before))
	if err != nil {
		return 0, dbErr("postgres.DeleteExpiredLoginSessions", err)
	}
	return tag.RowsAffected(), nil
}
