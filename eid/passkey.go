package eid

import (
	"bytes"
	"context"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"net/http"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/cancuoc/cancuoc"
)

// waUser adapts an account to the WebAuthn library. The user handle is the
// account ID, random and not the PIN, so an authenticator never stores the
// PIN and handles cannot be linked to people.
type waUser struct {
	a     *cancuoc.Account
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte { return []byte(u.a.ID) }

func (u *waUser) WebAuthnName() string {
	if u.a.PIN != "" {
		return string(u.a.PIN)
	}
	return u.a.OrgName
}

func (u *waUser) WebAuthnDisplayName() string { return u.WebAuthnName() }

func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// user loads an account's credentials for the library.
func (s *Service) user(ctx context.Context, a *cancuoc.Account) (*waUser, []*cancuoc.Passkey, error) {
	pks, err := s.store.Passkeys(ctx, a.ID)
	if err != nil {
		return nil, nil, err
	}
	return userOf(a, pks)
}

// accountUser reads an account and its passkeys in one statement
// (AccountPasskeys): a passkey login's one read of the account; with the
// citizen's consent for clientID when it is set (AccountPasskeysConsent).
func (s *Service) accountUser(ctx context.Context, id, clientID string) (*cancuoc.Account, *waUser, []*cancuoc.Passkey, *cancuoc.Consent, error) {
	var (
		a   *cancuoc.Account
		pks []*cancuoc.Passkey
		cs  *cancuoc.Consent
		err error
	)
	if clientID == "" {
		a, pks, err = s.store.AccountPasskeys(ctx, id)
	} else {
		a, pks, cs, err = s.store.AccountPasskeysConsent(ctx, id, clientID)
	}
	if err != nil {
		return nil, nil, nil, nil, err
	}
	u, pks, err := userOf(a, pks)
	return a, u, pks, cs, err
}

// userOf is an account with its passkeys as WebAuthn's user.
func userOf(a *cancuoc.Account, pks []*cancuoc.Passkey) (*waUser, []*cancuoc.Passkey, error) {
	u := &waUser{a: a}
	for _, p := range pks {
		var c webauthn.Credential
		if err := json.Unmarshal(p.Credential, &c); err != nil {
			return nil, nil, err
		}
		u.creds = append(u.creds, c)
	}
	return u, pks, nil
}

// PasskeyRegistration is a started passkey registration: the options to
// pass to navigator.credentials.create, and the challenge to finish with.
type PasskeyRegistration struct {
	ChallengeID string                       `json:"challenge_id"`
	Options     *protocol.CredentialCreation `json:"options"`
}

// BeginPasskeyRegistration starts registering a passkey for an account. A
// discoverable credential is preferred so the holder can later log in
// without typing the PIN; the account's existing credentials are excluded.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, a *cancuoc.Account) (*PasskeyRegistration, error) {
	const op = "eid.BeginPasskeyRegistration"
	if err := statusError(op, a.Status); err != nil {
		return nil, err
	}
	u, _, err := s.user(ctx, a)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	opts, sd, err := s.wa.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	data, err := json.Marshal(sd)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	now := s.clock()
	c := &cancuoc.Challenge{ID: newID("c_"), Purpose: purposeWebAuthn, AccountID: a.ID, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.CeremonyTTL)}
	if err := s.store.InsertChallenge(ctx, c); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return &PasskeyRegistration{ChallengeID: c.ID, Options: opts}, nil
}

func passkeyRefused(op string, err error) error {
	return &cancuoc.Error{Kind: cancuoc.Invalid, Op: op, Code: "passkey_invalid",
		MessageVI: "Khoá truy cập không hợp lệ hoặc không khớp với yêu cầu.",
		MessageEN: "The passkey response is invalid or does not match the request.", Err: err}
}

// FinishPasskeyRegistration verifies the authenticator's attestation
// (the body of r, as produced by navigator.credentials.create) and stores
// the credential under name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, a *cancuoc.Account, challengeID, name string, r *http.Request) (*cancuoc.Passkey, error) {
	const op = "eid.FinishPasskeyRegistration"
	c, err := s.useChallenge(ctx, op, challengeID, purposeWebAuthn, a.ID, func(*cancuoc.Challenge) bool { return true })
	if err != nil {
		return nil, err
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	u, _, err := s.user(ctx, a)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	cred, err := s.wa.FinishRegistration(u, sd, r)
	if err != nil {
		return nil, passkeyRefused(op, err)
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	name = strings.TrimSpace(name)
	if len(name) > 100 {
		name = name[:100]
	}
	p := &cancuoc.Passkey{ID: cred.ID, AccountID: a.ID, Name: strings.ToValidUTF8(name, ""), Credential: raw, CreatedAt: s.clock()}
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertPasskey(ctx, p); err != nil {
			return err
		}
		return s.record(ctx, tx, a.ID, "eid.passkey_register", "", a, "")
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return p, nil
}

// loginSession is the opaque state between BeginPasskeyLogin and
// FinishPasskeyLogin.
type loginSession struct {
	AccountID string `json:"account_id,omitempty"`
	// Discoverable: the ceremony names no account; the authenticator's
	// user handle (the account ID) does.
	Discoverable bool                 `json:"discoverable,omitempty"`
	Session      webauthn.SessionData `json:"session"`
}

// BeginPasskeyLogin starts a passkey login for the citizen with pin. The
// returned session must be kept server-side (it is not secret, but must
// not be chosen by the client) and given to FinishPasskeyLogin. NotFound
// "no_passkey" when the citizen has no account or no passkey.
func (s *Service) BeginPasskeyLogin(ctx context.Context, pin cancuoc.PIN) (*protocol.CredentialAssertion, []byte, error) {
	const op = "eid.BeginPasskeyLogin"
	none := cancuoc.E(cancuoc.NotFound, op, "no_passkey", "Tài khoản chưa đăng ký khoá truy cập.", "The account has no passkey.")
	a, err := s.store.AccountByPIN(ctx, pin)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil, nil, none
	}
	if err != nil {
		return nil, nil, cancuoc.WithOp(op, err)
	}
	u, _, err := s.user(ctx, a)
	if err != nil {
		return nil, nil, cancuoc.WithOp(op, err)
	}
	if len(u.creds) == 0 {
		return nil, nil, none
	}
	assertion, sd, err := s.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, nil, cancuoc.WithOp(op, err)
	}
	session, err := json.Marshal(loginSession{AccountID: a.ID, Session: *sd})
	if err != nil {
		return nil, nil, cancuoc.WithOp(op, err)
	}
	return assertion, session, nil
}

// BeginDiscoverablePasskeyLogin starts a passkey login that names no one:
// the browser offers the citizen's discoverable passkeys (registration asks
// for one), and the assertion's user handle says whose account it is. It
// reads nothing, so the provider can start it with every login request and
// put the options in the login page (no round trip to ask for them).
func (s *Service) BeginDiscoverablePasskeyLogin() (*protocol.CredentialAssertion, []byte, error) {
	const op = "eid.BeginDiscoverablePasskeyLogin"
	assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, nil, cancuoc.WithOp(op, err)
	}
	session, err := json.Marshal(loginSession{Discoverable: true, Session: *sd})
	if err != nil {
		return nil, nil, cancuoc.WithOp(op, err)
	}
	return assertion, session, nil
}

// FinishPasskeyLogin verifies the assertion in r's body against the session
// from BeginPasskeyLogin and returns the account. Unauthenticated
// "passkey_invalid" when the assertion does not verify, or when the
// signature counter shows a cloned authenticator; Forbidden for an account
// that is locked, suspended or closed.
func (s *Service) FinishPasskeyLogin(ctx context.Context, session []byte, r *http.Request) (*cancuoc.Account, error) {
	const op = "eid.FinishPasskeyLogin"
	a, used, err := s.VerifyPasskeyLogin(ctx, session, r)
	if err != nil {
		return nil, err
	}
	if err := s.store.UpdatePasskey(ctx, used); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return a, nil
}

// VerifyPasskeyLogin is FinishPasskeyLogin without the write: it verifies
// the assertion and returns the account and the passkey's record as it is
// to be stored (signature counter, last use), for the caller to write
// with UpdatePasskey in the transaction that also takes the login's other
// records, so that a ceremony finished twice at once records one login.
func (s *Service) VerifyPasskeyLogin(ctx context.Context, session []byte, r *http.Request) (*cancuoc.Account, *cancuoc.Passkey, error) {
	a, p, _, _, err := s.VerifyPasskeyLoginConsent(ctx, session, r, "")
	return a, p, err
}

// VerifyPasskeyLoginConsent is VerifyPasskeyLogin for a login to the
// OpenID client clientID: the citizen's consent for that client (nil if
// none was ever given) is read with the account and its passkeys
// (AccountPasskeysConsent), since the login's next step needs it; clientID
// "" reads none. userVerified is the assertion's user verification flag
// (the authenticator checked a PIN or biometric: a second factor), taken
// from the assertion as parsed for its verification, so that the caller
// need not parse it again. Both are returned only with a verified login.
func (s *Service) VerifyPasskeyLoginConsent(ctx context.Context, session []byte, r *http.Request, clientID string) (
	acc *cancuoc.Account, used *cancuoc.Passkey, consent *cancuoc.Consent, userVerified bool, err error) {
	const op = "eid.FinishPasskeyLogin"
	var ls loginSession
	if err := json.Unmarshal(session, &ls); err != nil || (ls.AccountID == "") == !ls.Discoverable {
		return nil, nil, nil, false, cancuoc.E(cancuoc.Invalid, op, "session_invalid", "Phiên đăng nhập không hợp lệ.", "Invalid login session.")
	}
	var (
		a      *cancuoc.Account
		pks    []*cancuoc.Passkey
		cs     *cancuoc.Consent
		cred   *webauthn.Credential
		parsed *protocol.ParsedCredentialAssertionData
	)
	if ls.Discoverable {
		// The user handle names the account; only a citizen's account
		// logs in to services. A store failure is not the passkey's fault.
		var storeErr error
		if parsed, err = protocol.ParseCredentialRequestResponse(r); err == nil {
			cred, err = s.wa.ValidateDiscoverableLogin(func(_, userHandle []byte) (webauthn.User, error) {
				acc, u, p, c, err := s.accountUser(ctx, string(userHandle), clientID)
				if err != nil {
					if cancuoc.KindOf(err) != cancuoc.NotFound {
						storeErr = err
					}
					return nil, err
				}
				if acc.PIN == "" {
					return nil, errors.New("not a citizen's account")
				}
				a, pks, cs = acc, p, c
				return u, nil
			}, ls.Session, parsed)
		}
		if storeErr != nil {
			return nil, nil, nil, false, cancuoc.WithOp(op, storeErr)
		}
	} else {
		var u *waUser
		if a, u, pks, cs, err = s.accountUser(ctx, ls.AccountID, clientID); err != nil {
			return nil, nil, nil, false, cancuoc.WithOp(op, err)
		}
		if parsed, err = protocol.ParseCredentialRequestResponse(r); err == nil {
			cred, err = s.wa.ValidateLogin(u, ls.Session, parsed)
		}
	}
	if err == nil && cred.Authenticator.CloneWarning {
		err = errClone
	}
	if err != nil {
		e := passkeyRefused(op, err).(*cancuoc.Error)
		e.Kind = cancuoc.Unauthenticated
		return nil, nil, nil, false, e
	}
	if err := statusError(op, a.Status); err != nil {
		return nil, nil, nil, false, err
	}
	for _, p := range pks {
		if bytes.Equal(p.ID, cred.ID) {
			raw, err := json.Marshal(cred)
			if err != nil {
				return nil, nil, nil, false, cancuoc.WithOp(op, err)
			}
			p.Credential, p.LastUsedAt = raw, s.clock()
			return a, p, cs, parsed.Response.AuthenticatorData.Flags.HasUserVerified(), nil
		}
	}
	// FinishLogin only accepts the user's own credentials.
	return nil, nil, nil, false, cancuoc.WithOp(op, errors.New("verified credential not among the account's passkeys"))
}

var errClone = &cloneError{}

type cloneError struct{}

func (*cloneError) Error() string {
	return "signature counter did not increase: possible cloned authenticator"
}
