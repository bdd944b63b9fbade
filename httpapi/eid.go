package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/clientaddr"
	"github.com/cancuoc/cancuoc/eid"
)

// WithEID gives the API the electronic identity service, which serves the
// /v1/eid routes; without it they answer 503.
func (a *API) WithEID(s *eid.Service) *API {
	a.eid = s
	return a
}

// eidRoutes registers the account routes. Citizens authenticate to them
// with HTTP Basic over their PIN and password (the password is checked by
// eid.VerifyPassword, so lockout applies); officers use API keys as
// everywhere else. The OpenID provider, not these routes, is how relying
// parties log citizens in.
func (a *API) eidRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/eid/registrations", a.eidOn(a.startRegistration))
	mux.HandleFunc("POST /v1/eid/registrations/{id}/confirm", a.eidOn(a.confirmRegistration))
	mux.HandleFunc("POST /v1/eid/password-resets", a.eidOn(a.startReset))
	mux.HandleFunc("POST /v1/eid/password-resets/{id}/confirm", a.eidOn(a.confirmReset))
	mux.HandleFunc("GET /v1/eid/account", a.citizen(a.myAccount))
	mux.HandleFunc("GET /v1/eid/account/logins", a.citizen(a.myLogins))
	mux.HandleFunc("POST /v1/eid/account/lock", a.citizen(a.lockMine))
	mux.HandleFunc("POST /v1/eid/account/totp", a.citizen(a.beginTOTP))
	mux.HandleFunc("POST /v1/eid/account/totp/confirm", a.citizenStrong(a.confirmTOTP))
	mux.HandleFunc("POST /v1/eid/account/passkeys", a.citizen(a.beginPasskey))
	mux.HandleFunc("POST /v1/eid/account/passkeys/{id}", a.citizenStrong(a.finishPasskey))
	mux.HandleFunc("POST /v1/eid/children", a.citizenStrong(a.createChild))
	mux.HandleFunc("GET /v1/eid/children", a.citizen(a.children))
	mux.HandleFunc("GET /v1/eid/children/{pin}/logins", a.citizen(a.childLogins))
	mux.HandleFunc("POST /v1/eid/organisations", a.citizenStrong(a.createOrg))
	mux.HandleFunc("GET /v1/eid/organisations/{id}/members", a.citizen(a.orgMembers))
	mux.HandleFunc("POST /v1/eid/organisations/{id}/members", a.citizenStrong(a.addOrgMember))
	mux.HandleFunc("POST /v1/eid/accounts/{pin}/level2", a.eidOn(a.authed(a.grantLevel2)))
	mux.HandleFunc("POST /v1/eid/accounts/{pin}/unlock", a.eidOn(a.authed(a.unlock)))
}

var errNoEID = cancuoc.E(cancuoc.Unavailable, "httpapi.eid", "eid_unavailable",
	"Dịch vụ định danh điện tử chưa được bật.", "The electronic identity service is not enabled.")

// eidOn answers 503 when the service is not wired.
func (a *API) eidOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.eid == nil {
			a.fail(w, r, errNoEID)
			return
		}
		h(w, r)
	}
}

type ctxAccount struct{}

func account(ctx context.Context) *cancuoc.Account {
	acc, _ := ctx.Value(ctxAccount{}).(*cancuoc.Account)
	return acc
}

// WithTrustedProxies names the reverse proxies whose X-Forwarded-For is
// believed when finding the client's address; without it the header is
// ignored.
func (a *API) WithTrustedProxies(r *clientaddr.Resolver) *API {
	a.proxy = r
	return a
}

// source is the client's address for the per-source lockout and rate
// limits: the peer, or behind trusted proxies the right-most address they
// forwarded that is not one of them.
func (a *API) source(r *http.Request) string { return a.proxy.Addr(r) }

// citizen authenticates the holder with HTTP Basic (PIN, password) or,
// when the API has the provider's tokens (WithTokens), with a bearer access
// token of theirs carrying the eid_account scope. Sensitive actions use
// citizenStrong instead, which also wants the second factor.
func (a *API) citizen(h http.HandlerFunc) http.HandlerFunc { return a.citizenAuth(false, h) }

// citizenAuth is citizen, and with strong citizenStrong.
func (a *API) citizenAuth(strong bool, h http.HandlerFunc) http.HandlerFunc {
	return a.eidOn(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := bearer(r); ok && a.verif.tokens != nil {
			acc, amr, err := a.citizenByToken(r.Context(), tok)
			if err == nil && strong {
				err = a.tokenStrong(r.Context(), acc, amr)
			}
			if err != nil {
				a.fail(w, r, err)
				return
			}
			h(w, r.WithContext(context.WithValue(r.Context(), ctxAccount{}, acc)))
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok {
			a.fail(w, r, cancuoc.E(cancuoc.Unauthenticated, "httpapi.eid", "credentials_missing",
				"Cần đăng nhập: số định danh và mật khẩu (HTTP Basic).", "Log in with your PIN and password (HTTP Basic)."))
			return
		}
		pin, err := cancuoc.ParsePIN(user, time.Now().Year())
		if err != nil {
			a.fail(w, r, cancuoc.E(cancuoc.Unauthenticated, "httpapi.eid", "invalid_credentials",
				"Số định danh hoặc mật khẩu không đúng.", "Wrong personal identification number or password."))
			return
		}
		acc, err := a.eid.VerifyPassword(r.Context(), pin, pass, a.source(r))
		if err == nil && strong {
			err = a.basicStrong(r, acc)
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxAccount{}, acc)))
	})
}

func (a *API) startRegistration(w http.ResponseWriter, r *http.Request) {
	var req eid.Registration
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.eid.StartRegistration(r.Context(), req, a.source(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, p)
}

// confirmRegistrationRequest finishes a registration.
type confirmRegistrationRequest struct {
	Code     string    `json:"code"`
	Password string    `json:"password"`
	Photo    eid.Photo `json:"photo"`
}

func (a *API) confirmRegistration(w http.ResponseWriter, r *http.Request) {
	var req confirmRegistrationRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	acc, err := a.eid.ConfirmRegistration(r.Context(), r.PathValue("id"), req.Code, req.Password, req.Photo)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, acc)
}

// resetRequest starts a password reset.
type resetRequest struct {
	PIN string `json:"pin"`
}

func (a *API) startReset(w http.ResponseWriter, r *http.Request) {
	var req resetRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	pin, err := cancuoc.ParsePIN(req.PIN, time.Now().Year())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.eid.StartPasswordReset(r.Context(), pin, a.source(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, p)
}

// codePasswordRequest confirms a reset with the code and the new password.
type codePasswordRequest struct {
	Code     string `json:"code"`
	Password string `json:"password"`
}

func (a *API) confirmReset(w http.ResponseWriter, r *http.Request) {
	var req codePasswordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.eid.ConfirmPasswordReset(r.Context(), r.PathValue("id"), req.Code, req.Password); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// accountView is an account as its holder sees it, with whether a second
// factor is enrolled.
type accountView struct {
	*cancuoc.Account
	TOTP bool `json:"totp"`
}

func (a *API) myAccount(w http.ResponseWriter, r *http.Request) {
	acc := account(r.Context())
	has, err := a.eid.HasTOTP(r.Context(), acc.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, accountView{Account: acc, TOTP: has})
}

func (a *API) myLogins(w http.ResponseWriter, r *http.Request) {
	l, err := a.eid.Logins(r.Context(), account(r.Context()).ID, 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"logins": l})
}

func (a *API) lockMine(w http.ResponseWriter, r *http.Request) {
	acc := account(r.Context())
	out, err := a.eid.Lock(r.Context(), acc, acc.PIN)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) beginTOTP(w http.ResponseWriter, r *http.Request) {
	en, err := a.eid.BeginTOTP(r.Context(), account(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, en)
}

// totpConfirmRequest finishes a TOTP enrolment.
type totpConfirmRequest struct {
	ChallengeID string `json:"challenge_id"`
	Code        string `json:"code"`
}

func (a *API) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	var req totpConfirmRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.eid.ConfirmTOTP(r.Context(), account(r.Context()), req.ChallengeID, req.Code); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) beginPasskey(w http.ResponseWriter, r *http.Request) {
	reg, err := a.eid.BeginPasskeyRegistration(r.Context(), account(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reg)
}

// finishPasskey takes the PublicKeyCredential of navigator.credentials.create
// as the body; ?name= labels the passkey for its holder.
func (a *API) finishPasskey(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	p, err := a.eid.FinishPasskeyRegistration(r.Context(), account(r.Context()), r.PathValue("id"), r.URL.Query().Get("name"), r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": p.ID, "name": p.Name, "created_at": p.CreatedAt})
}

func (a *API) createChild(w http.ResponseWriter, r *http.Request) {
	var req eid.ChildRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	acc, err := a.eid.CreateChildAccount(r.Context(), account(r.Context()), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, acc)
}

func (a *API) children(w http.ResponseWriter, r *http.Request) {
	l, err := a.eid.Children(r.Context(), account(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"children": l})
}

func (a *API) childLogins(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	l, err := a.eid.ChildLogins(r.Context(), account(r.Context()), pin, 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"logins": l})
}

// orgRequest creates an organisation.
type orgRequest struct {
	Name string `json:"name"`
}

func (a *API) createOrg(w http.ResponseWriter, r *http.Request) {
	var req orgRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	org, err := a.eid.CreateOrganisation(r.Context(), account(r.Context()), req.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, org)
}

// memberRequest adds a member to an organisation.
type memberRequest struct {
	PIN  string `json:"pin"`
	Role string `json:"role"`
}

func (a *API) addOrgMember(w http.ResponseWriter, r *http.Request) {
	var req memberRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	pin, err := cancuoc.ParsePIN(req.PIN, time.Now().Year())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	m, err := a.eid.AddOrgMember(r.Context(), account(r.Context()), r.PathValue("id"), pin, strings.TrimSpace(req.Role))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (a *API) orgMembers(w http.ResponseWriter, r *http.Request) {
	l, err := a.eid.OrgMembers(r.Context(), account(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": l})
}

// reasonRequest is an officer's reason for a decision on an account.
type reasonRequest struct {
	Reason string `json:"reason"`
}

func (a *API) officerAction(w http.ResponseWriter, r *http.Request,
	fn func(context.Context, *cancuoc.Principal, cancuoc.PIN, string) (*cancuoc.Account, error)) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req reasonRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	acc, err := fn(r.Context(), principal(r.Context()), pin, req.Reason)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, acc)
}

func (a *API) grantLevel2(w http.ResponseWriter, r *http.Request) {
	a.officerAction(w, r, a.eid.GrantLevel2)
}

func (a *API) unlock(w http.ResponseWriter, r *http.Request) {
	a.officerAction(w, r, a.eid.Unlock)
}
