package cancuoc

import (
	"context"
	"time"
)

// LoginSession is a citizen's login at the OpenID provider, kept
// server-side so that it can end: the browser holds only a random value in
// an HttpOnly cookie, and the store keeps its SHA-256 with who logged in,
// how, when, and until when the session stands. A session that ended
// (logout, or a new login in the same browser) or expired no longer counts.
type LoginSession struct {
	Hash      []byte // SHA-256 of the cookie's value
	PIN       PIN
	AccountID string
	AMR       []string
	AuthTime  time.Time // when the citizen proved who they are
	CreatedAt time.Time
	ExpiresAt time.Time
	EndedAt   *time.Time
}

// LoginSessionStore keeps the provider's login sessions.
type LoginSessionStore interface {
	// InsertLoginSession stores s. Conflict "duplicate" if its hash exists.
	InsertLoginSession(ctx context.Context, s *LoginSession) error
	// LoginSession returns a session by the hash of its cookie, ended or
	// not. NotFound if absent.
	LoginSession(ctx context.Context, hash []byte) (*LoginSession, error)
	// EndLoginSession marks a session ended at t; absent or ended already
	// is not an error.
	EndLoginSession(ctx context.Context, hash []byte, t time.Time) error
	// EndLoginSessions ends at t every session of a citizen that has not
	// ended, and returns how many.
	EndLoginSessions(ctx context.Context, pin PIN, t time.Time) (int64, error)
	// DeleteExpiredLoginSessions removes sessions that expired before t
	// and returns how many.
	DeleteExpiredLoginSessions(ctx context.Context, before time.Time) (int64, error)
}
