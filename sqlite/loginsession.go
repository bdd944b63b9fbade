package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/cancuoc/cancuoc"
)

// InsertLoginSession stores s. Conflict "duplicate" if its hash exists.
func (o *ops) InsertLoginSession(ctx context.Context, s *cancuoc.LoginSession) error {
	const op = "sqlite.InsertLoginSession"
	amr, err := json.Marshal(s.AMR)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO oidc_sessions (hash, pin, account_id, amr, auth_time, created_at, expires_at, ended_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
		s.Hash, string(s.PIN), s.AccountID, string(amr), micros(s.AuthTime), micros(s.CreatedAt), micros(s.ExpiresAt), nullMicros(s.EndedAt))
	return inserted(op, res, err, "Phiên đăng nhập đã tồn tại.", "The login session exists.")
}

// LoginSession returns a session by its hash. NotFound if absent.
func (o *ops) LoginSession(ctx context.Context, hash []byte) (*cancuoc.LoginSession, error) {
	const op = "sqlite.LoginSession"
	var (
		s                      = cancuoc.LoginSession{Hash: hash}
		pin, amr               string
		auth, created, expires int64
		ended                  sql.NullInt64
	)
	err := o.r.QueryRowContext(ctx, `SELECT pin, account_id, amr, auth_time, created_at, expires_at, ended_at
		FROM oidc_sessions WHERE hash = ?`, hash).Scan(&pin, &s.AccountID, &amr, &auth, &created, &expires, &ended)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không có phiên đăng nhập này.", "No such login session.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	if err := json.Unmarshal([]byte(amr), &s.AMR); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	s.PIN, s.AuthTime, s.CreatedAt, s.ExpiresAt, s.EndedAt = cancuoc.PIN(pin), fromMicros(auth), fromMicros(created),
		fromMicros(expires), fromNullMicros(ended)
	return &s, nil
}

// EndLoginSession marks a session ended at t.
func (o *ops) EndLoginSession(ctx context.Context, hash []byte, t time.Time) error {
	_, err := o.w.ExecContext(ctx, `UPDATE oidc_sessions SET ended_at = ? WHERE hash = ? AND ended_at IS NULL`, micros(t), hash)
	return dbErr("sqlite.EndLoginSession", err)
}

// EndLoginSessions ends every open session of a citizen at t.
func (o *ops) EndLoginSessions(ctx context.Context, pin cancuoc.PIN, t time.Time) (int64, error) {
	const op = "sqlite.EndLoginSessions"
	res, err := o.w.ExecContext(ctx, `UPDATE oidc_sessions SET ended_at = ? WHERE pin = ? AND ended_at IS NULL`, micros(t), string(pin))
	if err != nil {
		return 0, dbErr(op, err)
	}
	n, err := res.RowsAffected()
	return n, dbErr(op, err)
}

// DeleteExpiredLoginSessions removes sessions that expired before t.
func (o *ops) DeleteExpiredLoginSessions(ctx context.Context, before time.Time) (int64, error) {
	const op = "sqlite.DeleteExpiredLoginSessions"
	res, err := o.w.ExecContext(ctx, `DELETE FROM oidc_sessions WHERE expires_at < ?`, micros(before))
	if err != nil {
		return 0, dbErr(op, err)
	}
	n, err := res.RowsAffected()
	return n, dbErr(op, err)
}
