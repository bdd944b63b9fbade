// Package chipcheck verifies what a card reader extracted from the chip of
// an identity card, for the counter devices of banks and hospitals and for
// the citizen's app: passive authentication against the configured CSCA
// trust store (mrtd.Verify), active authentication over a challenge this
// server issued (single use, short-lived, stored so any node accepts it),
// the chip-authentication info of DG14, and a field-by-field comparison of
// the proven DG1/DG13 data with the registry record and its card records.
// The outcome is a Verdict with named reasons. Every verification is an
// entry of the access log; a successful one by the card's own holder raises
// their eID account to level 2.
package chipcheck

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/mrtd"
)

// Defaults.
const (
	// DefaultChallengeTTL is how long a challenge may be answered: a reader
	// sends INTERNAL AUTHENTICATE seconds after receiving it.
	DefaultChallengeTTL = 2 * time.Minute
	// ActionVerify is the audit action of a verification.
	ActionVerify = "chip.verify"
)

// Checker verifies chip data. It is safe for concurrent use.
type Checker struct {
	store cancuoc.Store
	audit *audit.Writer
	trust *mrtd.TrustStore
	eid   *eid.Service
	ttl   time.Duration
	now   func() time.Time

	lastPurge atomic.Int64 // unix nanoseconds of the last purge of expired challenges
}

// Option configures a Checker.
type Option func(*Checker)

// WithClock replaces the wall clock (tests).
func WithClock(now func() time.Time) Option { return func(c *Checker) { c.now = now } }

// WithChallengeTTL sets how long a challenge lives.
func WithChallengeTTL(d time.Duration) Option { return func(c *Checker) { c.ttl = d } }

// WithEID enables the level-2 hook: a verification by the card's holder
// raises their account through eid.Service.RaiseToLevel2ByChip.
func WithEID(s *eid.Service) Option { return func(c *Checker) { c.eid = s } }

// New returns a Checker verifying against trust, reading the registry and
// storing challenges in store, and logging through w.
func New(store cancuoc.Store, w *audit.Writer, trust *mrtd.TrustStore, opts ...Option) *Checker {
	c := &Checker{store: store, audit: w, trust: trust, ttl: DefaultChallengeTTL, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Caller is who asks: a principal (a bank's or hospital's counter system,
// an officer) or a citizen through the app.
type Caller struct {
	// ID is the principal's ID, or "citizen:"+PIN for the app.
	ID string
	// Citizen is the authenticated eID holder's PIN; empty for principals.
	Citizen cancuoc.PIN
	// Role of a principal; empty for citizens.
	Role cancuoc.Role
}

// PrincipalCaller is a caller authenticated by API key.
func PrincipalCaller(p *cancuoc.Principal) Caller { return Caller{ID: p.ID, Role: p.Role} }

// CitizenCaller is the eID holder of pin, through the app.
func CitizenCaller(pin cancuoc.PIN) Caller { return Caller{ID: "citizen:" + string(pin), Citizen: pin} }

// authorize lets counter systems, officers and citizens verify; auditors
// read the log, they do not check cards.
func authorize(op string, who Caller) error {
	switch {
	case who.ID == "":
		return cancuoc.E(cancuoc.Unauthenticated, op, "unauthenticated",
			"Cần đăng nhập bằng khoá API hoặc tài khoản định danh điện tử.", "Authenticate with an API key or an eID account.")
	case who.Citizen != "":
		return nil
	}
	switch who.Role {
	case cancuoc.RoleMinistrySystem, cancuoc.RoleCommuneOfficer, cancuoc.RoleProvinceOfficer, cancuoc.RoleNationalAdmin:
		return nil
	}
	return cancuoc.E(cancuoc.Forbidden, op, "role_forbidden",
		"Vai trò của bạn không được phép xác thực thẻ.", "Your role ("+string(who.Role)+") may not verify cards.")
}

// Challenge is an active-authentication challenge as handed to the reader.
type Challenge struct {
	ID        string    `json:"challenge_id"`
	Challenge []byte    `json:"challenge"`
	ExpiresAt time.Time `json:"expires_at"`
}

// NewChallenge issues a challenge to who: 8 random bytes (the INTERNAL
// AUTHENTICATE data) under a random 128-bit ID, stored until answered or
// expired. Expired challenges are purged at most once per lifetime.
func (c *Checker) NewChallenge(ctx context.Context, who Caller) (*Challenge, error) {
	const op = "chipcheck.NewChallenge"
	if err := authorize(op, who); err != nil {
		return nil, err
	}
	now := c.now().UTC().Truncate(time.Microsecond)
	c.purge(ctx, now)
	ch := &cancuoc.ChipChallenge{ID: randomHex(16), Challenge: make([]byte, mrtd.ChallengeSize), IssuedTo: who.ID,
		CreatedAt: now, ExpiresAt: now.Add(c.ttl)}
	rand.Read(ch.Challenge) // never fails (Go 1.24+)
	if err := c.store.InsertChipChallenge(ctx, ch); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return &Challenge{ID: ch.ID, Challenge: ch.Challenge, ExpiresAt: ch.ExpiresAt}, nil
}

// purge deletes expired challenges when a lifetime has passed since the
// last purge on this node; a failure only delays it.
func (c *Checker) purge(ctx context.Context, now time.Time) {
	last := c.lastPurge.Load()
	if now.UnixNano()-last < int64(c.ttl) || !c.lastPurge.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	_, _ = c.store.PurgeChipChallenges(ctx, now)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// takeChallenge consumes the challenge of id and says why it cannot be
// used, as a reason code ("" when it can).
func (c *Checker) takeChallenge(ctx context.Context, who Caller, id string, now time.Time) ([]byte, string, error) {
	ch, err := c.store.TakeChipChallenge(ctx, id)
	switch {
	case cancuoc.KindOf(err) == cancuoc.NotFound:
		return nil, "aa.challenge_unknown", nil
	case err != nil:
		return nil, "", err
	case ch.IssuedTo != who.ID:
		return nil, "aa.challenge_not_yours", nil
	case !now.Before(ch.ExpiresAt):
		return nil, "aa.challenge_expired", nil
	}
	return ch.Challenge, "", nil
}

// outcome is the audit outcome of a verdict: "ok" or "refused:" with the
// reason codes, which name checks, never values.
func outcome(v *Verdict) string {
	if v.Accepted {
		return "ok"
	}
	codes := make([]string, 0, len(v.Reasons))
	for _, r := range v.Reasons {
		codes = append(codes, r.Code)
	}
	s := "refused:" + strings.Join(codes, ",")
	if len(s) > 240 {
		s = s[:240]
	}
	return s
}
