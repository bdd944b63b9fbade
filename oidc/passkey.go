package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/cancuoc/cancuoc"
)

// maxPasskeyForm bounds the body of the passkey endpoints: an assertion is
// a few hundred bytes, and nothing larger deserves parsing.
const maxPasskeyForm = 64 << 10

// passkeyProblem is the JSON answer of passkeyBegin when it cannot start;
// the page's script shows Message in the page's language.
type passkeyProblem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (p *Provider) passkeyJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *Provider) passkeyError(w http.ResponseWriter, r *http.Request, status int, e *cancuoc.Error) {
	msg := e.MessageVI
	if p.lang(w, r) == "en" {
		msg = e.MessageEN
	}
	p.passkeyJSON(w, status, passkeyProblem{Code: e.Code, Message: msg})
}

var errNoPasskey = cancuoc.E(cancuoc.NotFound, "oidc.passkey", "no_passkey",
	"Không thể đăng nhập bằng khoá truy cập với số định danh này. Hãy dùng mật khẩu.",
	"No passkey login is possible for this identification number. Use your password.")

// passkeyBegin starts a passkey login for the PIN typed on the login page:
// called by the page's script (form-encoded id, csrf, pin), it answers
// the options for navigator.credentials.get as JSON and keeps the
// ceremony's state in the request, which only this browser can finish.
func (p *Provider) passkeyBegin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPasskeyForm)
	a, _, err := p.request(w, r, true)
	if err != nil {
		var e *cancuoc.Error
		if !errors.As(err, &e) {
			e = errBrowser
		}
		p.passkeyError(w, r, http.StatusForbidden, e)
		return
	}
	if a.d.Step != "" {
		p.passkeyError(w, r, http.StatusConflict, cancuoc.E(cancuoc.Conflict, "oidc.passkey", "login_finished",
			"Lượt đăng nhập này đã hoàn tất.", "This login is already finished."))
		return
	}
	ctx := r.Context()
	pin, err := cancuoc.ParsePIN(strings.TrimSpace(r.PostFormValue("pin")), p.now().Year())
	if err != nil {
		p.passkeyError(w, r, http.StatusBadRequest, cancuoc.InvalidField("oidc.passkey", "pin", "pin_invalid",
			"Hãy nhập số định danh cá nhân (12 chữ số) trước.", "Enter your personal identification number (12 digits) first."))
		return
	}
	assertion, session, err := p.accounts.BeginPasskeyLogin(ctx, pin)
	if errorsAsKind(err, cancuoc.NotFound) {
		// One answer for "no account" and "no passkey", so the endpoint
		// does not tell who holds an account.
		p.passkeyError(w, r, http.StatusNotFound, errNoPasskey)
		return
	}
	if err != nil {
		p.log.Error("beginning a passkey login", "err", err)
		p.passkeyError(w, r, http.StatusInternalServerError, cancuoc.E(cancuoc.Internal, "oidc.passkey", "internal",
			"Lỗi hệ thống; vui lòng thử lại sau.", "Internal error; please try again later."))
		return
	}
	a.d.Passkey, a.d.PasskeyPIN, a.d.PasskeyOptions = session, pin, nil
	if err := p.storage.saveAuthRequest(ctx, p.store, a); err != nil {
		p.log.Error("saving a passkey ceremony", "err", err)
		p.passkeyError(w, r, http.StatusInternalServerError, cancuoc.E(cancuoc.Internal, "oidc.passkey", "internal",
			"Lỗi hệ thống; vui lòng thử lại sau.", "Internal error; please try again later."))
		return
	}
	p.passkeyJSON(w, http.StatusOK, assertion)
}

// passkeyFinish takes the assertion (form field credential, the JSON of a
// PublicKeyCredential) posted by the page's script as an ordinary form, so
// that the browser follows the redirects to consent as on the password
// path. The ceremony is used up before it is checked: a failure or a
// replay has to start again.
func (p *Provider) passkeyFinish(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPasskeyForm)
	a, binding, err := p.sealedRequest(w, r)
	if err != nil {
		p.fail(w, r, http.StatusForbidden, err)
		return
	}
	if a.d.Step != "" {
		p.resume(w, r, a)
		return
	}
	ctx := r.Context()
	session, pin := a.d.Passkey, a.d.PasskeyPIN
	if len(session) == 0 {
		p.loginAgain(w, r, a, binding, http.StatusBadRequest, errPasskeyFailed)
		return
	}
	a.d.Passkey, a.d.PasskeyPIN, a.d.PasskeyOptions = nil, "", nil
	verifier, inTx := p.accounts.(PasskeyVerifier)
	if _, ok := p.accounts.(TxLoginRecorder); !ok {
		inTx = false
	}
	if !inTx {
		// The ceremony is used up first, on its own.
		if err := p.storage.saveAuthRequest(ctx, p.store, a); err != nil {
			p.failStep(w, r, err)
			return
		}
	}
	cred := []byte(r.PostFormValue("credential"))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(cred))
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	var (
		acc *cancuoc.Account
		amr []string
	)
	if inTx {
		// Verified without writing; the ceremony's use (the request saved
		// without it), the passkey's counter, the login's records and the
		// code are then written in one transaction, which a second finish
		// of the same ceremony, racing this one, cannot also commit.
		var uv bool
		acc, a.passkey, a.consent, uv, err = verifier.VerifyPasskeyLoginConsent(ctx, session, req, a.d.ClientID)
		a.consentRead = err == nil
		amr = amrOf(uv)
	} else {
		if acc, err = p.accounts.FinishPasskeyLogin(ctx, session, req); err == nil {
			amr = passkeyAMR(cred)
		}
	}
	if err != nil {
		var e *cancuoc.Error
		if !errors.As(err, &e) || e.Kind == cancuoc.Internal {
			p.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		if inTx {
			// A failure uses the ceremony up as well.
			if err := p.storage.saveAuthRequest(ctx, p.store, a); err != nil {
				p.failStep(w, r, err)
				return
			}
		}
		p.auditEntry(ctx, p.store, pin, "eid.login", a.d.ClientID, nil, "failed_passkey")
		shown := errPasskeyFailed
		if e.Kind == cancuoc.Forbidden || e.Kind == cancuoc.Unavailable {
			shown = e // a locked or suspended account: the holder should know why
		}
		p.loginAgain(w, r, a, binding, http.StatusUnauthorized, shown)
		return
	}
	a.d.AuthTime = p.now()
	p.finishLogin(w, r, a, acc, amr, true)
}

// DiscoverablePasskeys is implemented by Accounts that can start a passkey
// ceremony naming no one (*eid.Service): the provider starts one with each
// login request and puts its options in the login page.
type DiscoverablePasskeys interface {
	BeginDiscoverablePasskeyLogin() (*protocol.CredentialAssertion, []byte, error)
}

// PasskeyVerifier is implemented by Accounts that can verify a passkey
// assertion without writing (*eid.Service): the passkey's new record is
// then written in the transaction of the login's other records
// (TxLoginRecorder), with the ceremony's single use. The citizen's consent
// for the client (nil if none was ever given) comes with a verified login,
// read with the account: the login's next step needs it.
// userVerified is the assertion's user verification flag, for the amr.
type PasskeyVerifier interface {
	VerifyPasskeyLoginConsent(ctx context.Context, session []byte, r *http.Request, clientID string) (
		acc *cancuoc.Account, used *cancuoc.Passkey, consent *cancuoc.Consent, userVerified bool, err error)
}

var errPasskeyFailed = cancuoc.E(cancuoc.Unauthenticated, "oidc.passkey", "passkey_failed",
	"Không xác thực được bằng khoá truy cập. Hãy thử lại hoặc dùng mật khẩu.",
	"The passkey could not be verified. Try again or use your password.")

// loginAgain shows the login page again with an error.
func (p *Provider) loginAgain(w http.ResponseWriter, r *http.Request, a *authRequest, binding string, status int, e *cancuoc.Error) {
	pg, err := p.loginForm(w, r, a, binding)
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	pg.Client, _ = p.client(r.Context(), a.d.ClientID)
	pg.ErrVI, pg.ErrEN = e.MessageVI, e.MessageEN
	p.render(w, status, "login.html", pg)
}

// passkeyAMR is the amr of a verified passkey assertion (RFC 8176): swk,
// proof of possession of a key; and mfa when the authenticator verified
// the user (PIN or biometrics) besides their possession of the key. The
// flag is read from authenticator data that FinishPasskeyLogin has just
// verified the signature over, so it cannot be forged.
//
// Never hwk: registration does not check the authenticator's attestation
// against a trusted manufacturer root (no FIDO metadata is configured),
// so a passkey may be a key in software — a browser extension, or one
// made by whoever registered it through the API (review finding 1). hwk
// would need attestation checked at registration and kept with the key.
func passkeyAMR(cred []byte) []string {
	par, err := protocol.ParseCredentialRequestResponseBytes(cred)
	return amrOf(err == nil && par.Response.AuthenticatorData.Flags.HasUserVerified())
}

// amrOf is the amr of a verified passkey assertion whose user verification
// flag is userVerified (see passkeyAMR): a PasskeyVerifier hands the flag
// of the assertion it has just verified, which spares parsing the
// assertion again (JSON, base64, CBOR: about 2 % of the server's CPU in a
// passkey login).
func amrOf(userVerified bool) []string {
	if userVerified {
		return []string{"swk", "mfa"}
	}
	return []string{"swk"}
}
