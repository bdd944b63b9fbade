// Package eid holds the rules of electronic identity accounts (VNeID's
// role, Decree 69/2024): level-1 registration against the registry with a
// phone proven by a one-time code and a face photo; level 2 granted by an
// officer of the right jurisdiction or by a verified chip-card read;
// children's accounts managed by their guardians; organisations acting
// through their members; and the authenticators (argon2id passwords,
// RFC 6238 TOTP, WebAuthn passkeys) with lockout. Storage only stores:
// every decision is made here, and every change commits with its audit
// entry and outbox event in one transaction.
package eid

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/cancuoc/cancuoc"
)

// LockoutPolicy is how failed authentications slow down further attempts
// under one key (an account, or a source address). The first Free failures
// cost nothing; each one after that doubles the wait, from Base up to Max.
// Failures are forgotten after Window without one.
type LockoutPolicy struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Window time.Duration
}

// Delay is the wait imposed after failures failures.
func (p LockoutPolicy) Delay(failures int) time.Duration {
	if failures <= p.Free {
		return 0
	}
	n := failures - p.Free - 1
	if n > 30 {
		return p.Max
	}
	d := p.Base << n
	if d > p.Max || d <= 0 {
		return p.Max
	}
	return d
}

// Config holds the rules that deployments (and the law) may change.
type Config struct {
	// Password is the argon2id cost of new hashes.
	Password PasswordParams
	// AccountLockout applies per account, SourceLockout per client address:
	// the first stops guessing one person's password, the second one
	// address trying many accounts.
	AccountLockout LockoutPolicy
	SourceLockout  LockoutPolicy
	// OTPTTL is how long a one-time code is valid; OTPAttempts how many
	// guesses it allows.
	OTPTTL      time.Duration
	OTPAttempts int
	// CeremonyTTL bounds TOTP enrolment and WebAuthn ceremonies.
	CeremonyTTL time.Duration
	// SelfRegistrationAge is the age from which a citizen registers alone;
	// younger children are registered by a guardian (ChildAge is the age
	// below which a guardian may do so).
	SelfRegistrationAge int
	ChildAge            int
	// MaxPhotoBytes bounds the face photo.
	MaxPhotoBytes int
	// MinPasswordLen is the shortest password accepted, in characters.
	MinPasswordLen int
	// TOTPIssuer names the service in authenticator apps.
	TOTPIssuer string
	// RPID, RPDisplayName and RPOrigins configure WebAuthn: the relying
	// party ID is the site's registrable domain, the origins the exact
	// scheme://host[:port] the pages are served from.
	RPID          string
	RPDisplayName string
	RPOrigins     []string
	// SMSPerPhone and SMSPerSource limit the one-time codes sent by SMS per
	// phone number (and, for password resets, per PIN) and per client
	// address, so the service cannot be used to flood a phone or run up
	// the SMS bill. The counters are in the store, so they hold across
	// nodes. A Max of 0 disables a limit.
	SMSPerPhone  RateLimit
	SMSPerSource RateLimit
	// Secret (at least 32 bytes) is the server secret from which the keys
	// sealing TOTP secrets and naming rate-limit counters are derived
	// (HKDF-SHA256); SecretID ("1" if empty) names it in what it sealed.
	// After a change of secret, the old one stays in OldSecrets (by its
	// ID) so that what it sealed still opens; it is sealed again under
	// the new secret when next used. DefaultConfig draws a random secret,
	// which suits tests only: a deployment sets its own (cmd/cancuoc uses
	// the server secret it keeps in the data directory).
	Secret     []byte
	SecretID   string
	OldSecrets map[string][]byte
}

// RateLimit allows Max events per Window under one key, counted in fixed
// windows aligned on multiples of Window.
type RateLimit struct {
	Max    int
	Window time.Duration
}

// DefaultConfig returns safe defaults. RPID and RPOrigins must still be set
// for the deployment's host name.
func DefaultConfig() Config {
	return Config{
		Password:            DefaultPasswordParams(),
		AccountLockout:      LockoutPolicy{Free: 5, Base: 30 * time.Second, Max: time.Hour, Window: 24 * time.Hour},
		SourceLockout:       LockoutPolicy{Free: 20, Base: 10 * time.Second, Max: 15 * time.Minute, Window: time.Hour},
		OTPTTL:              5 * time.Minute,
		OTPAttempts:         5,
		CeremonyTTL:         5 * time.Minute,
		SelfRegistrationAge: 14,
		ChildAge:            LegalChildAge,
		MaxPhotoBytes:       512 << 10,
		MinPasswordLen:      8,
		TOTPIssuer:          "cancuoc",
		RPID:                "localhost",
		RPDisplayName:       "Căn cước điện tử",
		RPOrigins:           []string{"http://localhost:8080"},
		SMSPerPhone:         RateLimit{Max: 5, Window: time.Hour},
		SMSPerSource:        RateLimit{Max: 20, Window: time.Hour},
		Secret:              randomSecret(),
	}
}

func randomSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// Service is the eid use cases over one store.
type Service struct {
	store cancuoc.Store
	send  Sender
	cfg   Config
	wa    *webauthn.WebAuthn
	seal  *sealer
	slots hashSlots
	now   func() time.Time
	// dummy is a hash verified when no account exists, so that an unknown
	// PIN takes as long to refuse as a wrong password.
	dummy string
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces the wall clock (tests of lockout and expiry).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns a Service. sender delivers one-time codes.
func New(store cancuoc.Store, sender Sender, cfg Config, opts ...Option) (*Service, error) {
	if err := cfg.Password.validate(); err != nil {
		return nil, err
	}
	if sender == nil {
		return nil, errors.New("eid: a Sender is required")
	}
	if cfg.OTPAttempts < 1 || cfg.OTPTTL <= 0 || cfg.CeremonyTTL <= 0 || cfg.MaxPhotoBytes <= 0 {
		return nil, errors.New("eid: OTP attempts, TTLs and photo size must be positive")
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPDisplayName,
		RPOrigins:     cfg.RPOrigins,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: cfg.CeremonyTTL, TimeoutUVD: cfg.CeremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: cfg.CeremonyTTL, TimeoutUVD: cfg.CeremonyTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("eid: webauthn: %w", err)
	}
	seal, err := newSealer(cfg)
	if err != nil {
		return nil, err
	}
	for _, l := range []RateLimit{cfg.SMSPerPhone, cfg.SMSPerSource} {
		if l.Max < 0 || (l.Max > 0 && l.Window <= 0) {
			return nil, errors.New("eid: an SMS rate limit needs a positive window")
		}
	}
	dummy, err := HashPassword("not a password", cfg.Password)
	if err != nil {
		return nil, err
	}
	s := &Service{store: store, send: sender, cfg: cfg, wa: wa, seal: seal, slots: newHashSlots(), now: time.Now, dummy: dummy}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// WebAuthn returns the configured relying party.
func (s *Service) WebAuthn() *webauthn.WebAuthn { return s.wa }

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// clock is now in UTC at microsecond precision, what both databases keep.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns prefix + 20 random base32 characters (100 bits).
func newID(prefix string) string {
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	return prefix + strings.ToLower(b32.EncodeToString(b))[:20]
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40 // UUID v4
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// record appends the audit entry and outbox event of an account change in
// tx. actor is a principal ID, an account ID, or "system".
func (s *Service) record(ctx context.Context, tx cancuoc.Tx, actor, action, event string, a *cancuoc.Account, purpose string) error {
	at := s.clock()
	if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: at, Actor: actor, Action: action, PIN: a.PIN,
		Purpose: purpose, Outcome: "ok"}); err != nil {
		return err
	}
	if event == "" {
		return nil
	}
	return tx.AppendEvent(ctx, &cancuoc.Event{ID: newEventID(), Type: event, PIN: a.PIN, Version: a.Version,
		Actor: actor, At: at, Data: []byte(fmt.Sprintf(`{"account":%q,"status":%q,"level":%d}`, a.ID, a.Status, a.Level))})
}

// update applies fn to the current account in tx and stores it as a new
// version.
func (s *Service) update(ctx context.Context, tx cancuoc.Tx, id string, fn func(*cancuoc.Account) error) (*cancuoc.Account, error) {
	a, err := tx.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	prev := a.Version
	if err := fn(a); err != nil {
		return nil, err
	}
	a.Version, a.UpdatedAt = prev+1, s.clock()
	if err := tx.UpdateAccount(ctx, a, prev); err != nil {
		return nil, err
	}
	return a, nil
}

// endSessions ends every login session of the account's holder (the
// OpenID provider's and the portal's and console's, which share the store)
// in tx: a lock, suspension, closure or new password must not leave a
// stolen session cookie working. Organisation accounts have no PIN and no
// sessions of their own.
func (s *Service) endSessions(ctx context.Context, tx cancuoc.Tx, a *cancuoc.Account) error {
	if a.PIN == "" {
		return nil
	}
	_, err := tx.EndLoginSessions(ctx, a.PIN, s.clock())
	return err
}

// Errors shared by several operations. Their messages are deliberately
// generic where a precise one would tell a guesser what exists.
var (
	errBadCredentials = cancuoc.E(cancuoc.Unauthenticated, "", "invalid_credentials",
		"Số định danh hoặc mật khẩu không đúng.", "Wrong personal identification number or password.")
	errNoMatch = cancuoc.E(cancuoc.Invalid, "", "registry_mismatch",
		"Thông tin không khớp với Cơ sở dữ liệu quốc gia về dân cư.",
		"The details do not match the National Population Database.")
)

func opErr(op string, e *cancuoc.Error) error {
	c := *e
	c.Op = op
	return &c
}

// statusError explains why an account that exists may not be used.
func statusError(op string, st cancuoc.AccountStatus) error {
	switch st {
	case cancuoc.AccountLocked:
		return cancuoc.E(cancuoc.Forbidden, op, "account_locked",
			"Tài khoản đang bị khoá. Hãy đến cơ quan công an để mở khoá.",
			"The account is locked. Visit a police office to unlock it.")
	case cancuoc.AccountSuspended:
		return cancuoc.E(cancuoc.Forbidden, op, "account_suspended",
			"Tài khoản đang bị tạm dừng.", "The account is suspended.")
	case cancuoc.AccountClosed:
		return cancuoc.E(cancuoc.Forbidden, op, "account_closed",
			"Tài khoản đã bị đóng.", "The account is closed.")
	}
	return nil
}

// AccountByPIN returns the citizen account of pin (its open one, else the
// latest closed one). NotFound if none.
func (s *Service) AccountByPIN(ctx context.Context, pin cancuoc.PIN) (*cancuoc.Account, error) {
	a, err := s.store.AccountByPIN(ctx, pin)
	return a, cancuoc.WithOp("eid.AccountByPIN", err)
}

// Account returns an account by ID. NotFound if none.
func (s *Service) Account(ctx context.Context, id string) (*cancuoc.Account, error) {
	a, err := s.store.Account(ctx, id)
	return a, cancuoc.WithOp("eid.Account", err)
}

// RecordLogin keeps a successful login in the account's history (shown to
// the holder and, for a child, the guardian). amr lists the factors used.
func (s *Service) RecordLogin(ctx context.Context, accountID, clientID string, amr []string, source string) error {
	return s.RecordLoginTx(ctx, s.store, accountID, clientID, amr, source)
}

// RecordLoginTx is RecordLogin inside the caller's transaction, so that a
// login's record commits with what the login produced (the provider's
// session and code).
func (s *Service) RecordLoginTx(ctx context.Context, tx cancuoc.Tx, accountID, clientID string, amr []string, source string) error {
	return cancuoc.WithOp("eid.RecordLogin", tx.AppendLogin(ctx, &cancuoc.LoginRecord{AccountID: accountID,
		At: s.clock(), ClientID: clientID, AMR: amr, Source: source}))
}

// Logins lists an account's logins, newest first.
func (s *Service) Logins(ctx context.Context, accountID string, limit int) ([]*cancuoc.LoginRecord, error) {
	l, err := s.store.Logins(ctx, accountID, limit)
	return l, cancuoc.WithOp("eid.Logins", err)
}
