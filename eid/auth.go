package eid

import (
	"context"
	"crypto/subtle"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/cancuoc/cancuoc"
)

func accountKey(id string) string { return "acct:" + id }
func sourceKey(src string) string { return "src:" + src }
func totpKey(id string) string    { return "totp:" + id }
func lockedOut(op string, d time.Duration) error {
	secs := int(math.Ceil(d.Seconds()))
	e := cancuoc.E(cancuoc.Unavailable, op, "locked_out",
		fmt.Sprintf("Đã nhập sai quá nhiều lần. Vui lòng thử lại sau %d giây.", secs),
		fmt.Sprintf("Too many failed attempts. Try again in %d seconds.", secs))
	e.RetryAfter = d
	return e
}

// wait returns how long key must still wait under policy, 0 if none.
func (s *Service) wait(ctx context.Context, key string, p LockoutPolicy) (time.Duration, error) {
	t, err := s.store.Throttle(ctx, key)
	if err != nil {
		return 0, err
	}
	if t.Failures == 0 {
		return 0, nil
	}
	now := s.clock()
	if now.Sub(t.LastFailure) > p.Window {
		return 0, nil
	}
	if until := t.LastFailure.Add(p.Delay(t.Failures)); until.After(now) {
		return until.Sub(now), nil
	}
	return 0, nil
}

// checkThrottles refuses an attempt while the account's or the source's
// delay runs.
func (s *Service) checkThrottles(ctx context.Context, op, acctKey, source string) error {
	if source != "" {
		d, err := s.wait(ctx, sourceKey(source), s.cfg.SourceLockout)
		if err != nil {
			return cancuoc.WithOp(op, err)
		}
		if d > 0 {
			return lockedOut(op, d)
		}
	}
	if acctKey != "" {
		d, err := s.wait(ctx, acctKey, s.cfg.AccountLockout)
		if err != nil {
			return cancuoc.WithOp(op, err)
		}
		if d > 0 {
			return lockedOut(op, d)
		}
	}
	return nil
}

// fail counts a failure against the account and the source.
func (s *Service) fail(ctx context.Context, op, acctKey, source string) error {
	now := s.clock()
	if source != "" {
		if _, err := s.store.AddFailure(ctx, sourceKey(source), now, now.Add(-s.cfg.SourceLockout.Window)); err != nil {
			return cancuoc.WithOp(op, err)
		}
	}
	if acctKey != "" {
		if _, err := s.store.AddFailure(ctx, acctKey, now, now.Add(-s.cfg.AccountLockout.Window)); err != nil {
			return cancuoc.WithOp(op, err)
		}
	}
	return nil
}

// VerifyPassword authenticates a citizen by PIN and password. source is the
// client's address, for the per-source lockout ("" when unknown). It
// answers Unauthenticated "invalid_credentials" for an unknown PIN or a
// wrong password alike; Unavailable "locked_out" while a lockout delay runs;
// and, only after a correct password, Forbidden "account_locked",
// "account_suspended" or "account_closed", so that a guesser learns nothing
// about an account's state.
func (s *Service) VerifyPassword(ctx context.Context, pin cancuoc.PIN, password, source string) (*cancuoc.Account, error) {
	const op = "eid.VerifyPassword"
	if err := s.checkThrottles(ctx, op, "", source); err != nil {
		return nil, err
	}
	a, err := s.store.AccountByPIN(ctx, pin)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		if err := s.slots.do(ctx, op, func() { _, _, _ = VerifyPassword(s.dummy, password, s.cfg.Password) }); err != nil {
			return nil, err
		}
		if err := s.fail(ctx, op, "", source); err != nil {
			return nil, err
		}
		return nil, opErr(op, errBadCredentials)
	}
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.checkThrottles(ctx, op, accountKey(a.ID), ""); err != nil {
		return nil, err
	}
	sec, err := s.store.Secrets(ctx, a.ID)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	hash := sec.PasswordHash
	if hash == "" {
		hash = s.dummy // an account without a password (never the case today) refuses every one
	}
	var ok, rehash bool
	if serr := s.slots.do(ctx, op, func() { ok, rehash, err = VerifyPassword(hash, password, s.cfg.Password) }); serr != nil {
		return nil, serr
	}
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if !ok || sec.PasswordHash == "" {
		if err := s.fail(ctx, op, accountKey(a.ID), source); err != nil {
			return nil, err
		}
		return nil, opErr(op, errBadCredentials)
	}
	if err := statusError(op, a.Status); err != nil {
		return nil, err
	}
	if err := s.store.ClearThrottle(ctx, accountKey(a.ID)); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if rehash {
		// The parameters changed since this hash was made: upgrade it now
		// that the password is known. A failure only delays the upgrade.
		if h, err := s.hash(ctx, op, password); err == nil {
			sec.PasswordHash = h
			_ = s.store.PutSecrets(ctx, sec)
		}
	}
	return a, nil
}

// checkPassword validates a new password's form.
func (s *Service) checkPassword(op, password string) error {
	n := len([]rune(password))
	if n < s.cfg.MinPasswordLen || len(password) > 256 {
		return cancuoc.InvalidField(op, "password", "password_length",
			fmt.Sprintf("Mật khẩu phải có từ %d đến 256 ký tự.", s.cfg.MinPasswordLen),
			fmt.Sprintf("The password must have %d to 256 characters.", s.cfg.MinPasswordLen))
	}
	return nil
}

// totpOpts are RFC 6238's defaults, which every authenticator app supports.
func totpOpts(digits otp.Digits) totp.ValidateOpts {
	return totp.ValidateOpts{Period: 30, Skew: 0, Digits: digits, Algorithm: otp.AlgorithmSHA1}
}

// TOTPCode is the RFC 6238 code of a base32 secret at t (SHA-1, 30-second
// steps) with the given number of digits.
func TOTPCode(secret string, t time.Time, digits int) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts(otp.Digits(digits)))
}

// matchTOTP finds the time step (t/30 s) whose code equals code, allowing
// one step of clock drift either way. It returns -1 if none does.
func matchTOTP(secret, code string, now time.Time) int64 {
	step := now.Unix() / 30
	for _, d := range []int64{0, -1, 1} {
		want, err := TOTPCode(secret, time.Unix((step+d)*30, 0), 6)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d
		}
	}
	return -1
}

// HasTOTP reports whether the account has an enrolled TOTP authenticator.
func (s *Service) HasTOTP(ctx context.Context, accountID string) (bool, error) {
	sec, err := s.store.Secrets(ctx, accountID)
	if err != nil {
		return false, cancuoc.WithOp("eid.HasTOTP", err)
	}
	return sec.TOTPSecret != "", nil
}

// HasPasskey reports whether the account has a registered passkey.
func (s *Service) HasPasskey(ctx context.Context, accountID string) (bool, error) {
	pks, err := s.store.Passkeys(ctx, accountID)
	if err != nil {
		return false, cancuoc.WithOp("eid.HasPasskey", err)
	}
	return len(pks) > 0, nil
}

// VerifyTOTP checks a TOTP code as a second factor. A code is accepted once:
// a replay, even inside its 30 seconds, fails. Unauthenticated
// "invalid_otp" on a wrong or replayed code or when none is enrolled;
// Unavailable "locked_out" while a lockout delay runs.
func (s *Service) VerifyTOTP(ctx context.Context, accountID, code, source string) error {
	const op = "eid.VerifyTOTP"
	if err := s.checkThrottles(ctx, op, totpKey(accountID), source); err != nil {
		return err
	}
	bad := cancuoc.E(cancuoc.Unauthenticated, op, "invalid_otp", "Mã xác thực không đúng hoặc đã được dùng.",
		"The code is wrong or was already used.")
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		sec, err := tx.Secrets(ctx, accountID)
		if err != nil {
			return err
		}
		secret, stale, err := s.seal.open(accountID, sec.TOTPSecret)
		if err != nil {
			return err
		}
		code = strings.TrimSpace(code)
		if secret == "" || len(code) != 6 {
			return bad
		}
		step := matchTOTP(secret, code, s.clock())
		if step < 0 || step <= sec.TOTPLastStep {
			return bad
		}
		if stale {
			// Stored in clear by an earlier version, or under an old
			// server secret: seal it under the current one now.
			if sec.TOTPSecret, err = s.seal.seal(accountID, secret); err != nil {
				return err
			}
		}
		sec.TOTPLastStep = step
		return tx.PutSecrets(ctx, sec)
	})
	if err == bad {
		if ferr := s.fail(ctx, op, totpKey(accountID), source); ferr != nil {
			return ferr
		}
		return err
	}
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	return cancuoc.WithOp(op, s.store.ClearThrottle(ctx, totpKey(accountID)))
}

// TOTPEnrolment is a started TOTP enrolment: the otpauth:// URI to show as
// a QR code, and the challenge to confirm with a first code.
type TOTPEnrolment struct {
	ChallengeID string    `json:"challenge_id"`
	URI         string    `json:"uri"`
	Secret      string    `json:"secret"` // for typing in by hand
	ExpiresAt   time.Time `json:"expires_at"`
}

// BeginTOTP starts enrolling a TOTP authenticator for an account. The
// secret is kept in a challenge until a code from the app confirms it, so a
// mistyped scan never replaces a working authenticator.
func (s *Service) BeginTOTP(ctx context.Context, a *cancuoc.Account) (*TOTPEnrolment, error) {
	const op = "eid.BeginTOTP"
	if err := statusError(op, a.Status); err != nil {
		return nil, err
	}
	label := a.OrgName
	if a.PIN != "" {
		label = "••••" + string(a.PIN[len(a.PIN)-4:])
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.cfg.TOTPIssuer, AccountName: label, Period: 30,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	now := s.clock()
	c := &cancuoc.Challenge{ID: newID("c_"), Purpose: "totp_enrol", AccountID: a.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.CeremonyTTL)}
	// The pending secret is sealed too: a challenge row is as readable as
	// the secrets table.
	sealed, err := s.seal.seal(c.ID, key.Secret())
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	c.Data = []byte(sealed)
	if err := s.store.InsertChallenge(ctx, c); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return &TOTPEnrolment{ChallengeID: c.ID, URI: key.URL(), Secret: key.Secret(), ExpiresAt: c.ExpiresAt}, nil
}

// ConfirmTOTP finishes an enrolment with a code from the app.
func (s *Service) ConfirmTOTP(ctx context.Context, a *cancuoc.Account, challengeID, code string) error {
	const op = "eid.ConfirmTOTP"
	var secret string
	_, err := s.useChallenge(ctx, op, challengeID, "totp_enrol", a.ID, func(c *cancuoc.Challenge) bool {
		plain, _, err := s.seal.open(c.ID, string(c.Data))
		secret = plain
		return err == nil && plain != "" && matchTOTP(plain, strings.TrimSpace(code), s.clock()) >= 0
	})
	if err != nil {
		return err
	}
	step := matchTOTP(secret, strings.TrimSpace(code), s.clock())
	sealed, err := s.seal.seal(a.ID, secret)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	return cancuoc.WithOp(op, s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		sec, err := tx.Secrets(ctx, a.ID)
		if err != nil {
			return err
		}
		sec.TOTPSecret, sec.TOTPLastStep = sealed, step
		if err := tx.PutSecrets(ctx, sec); err != nil {
			return err
		}
		return s.record(ctx, tx, a.ID, "eid.totp_enrol", "", a, "")
	}))
}
