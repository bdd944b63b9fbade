package httpapi

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/partner"
)

// Tokens resolves bearer access tokens of the OpenID provider
// (*oidc.Provider).
type Tokens interface {
	// ResolveAccessToken returns who a token belongs to. Unauthenticated
	// for a token that is unknown, expired or revoked.
	ResolveAccessToken(ctx context.Context, token string) (*oidc.TokenInfo, error)
}

// partnerDeps are the partners capability and the token resolver.
type partnerDeps struct {
	svc    *partner.Service
	tokens Tokens
	cache  tokenCache
	now    func() time.Time // the token issuer's clock; time.Now when nil
}

// WithTokenClock gives the clock of the token issuer (oidc.Config.Now):
// a cached partner token is used only while it is unexpired by that clock,
// the one that set its expiry, not the wall clock.
func (a *API) WithTokenClock(now func() time.Time) *API {
	a.verif.now = now
	return a
}

func (v *partnerDeps) clock() time.Time {
	if v.now != nil {
		return v.now()
	}
	return time.Now()
}

// WithPartners gives the API the partners capability: the administrators'
// /v1/partners routes, the partners' /v1/partner routes and the citizens'
// /v1/me/consents; without it they answer 503.
func (a *API) WithPartners(s *partner.Service) *API {
	a.verif.svc = s
	return a
}

// WithTokens lets partners' systems call with the client credentials tokens
// of the OpenID provider, and citizens with their access tokens (scope
// eid_account) besides HTTP Basic.
func (a *API) WithTokens(t Tokens) *API {
	a.verif.tokens = t
	return a
}

// partnerRoutes registers the partner, match, release and consent routes.
func (a *API) partnerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/partners", a.partnersOn(a.authed(a.createPartner)))
	mux.HandleFunc("GET /v1/partners", a.partnersOn(a.authed(a.listPartners)))
	mux.HandleFunc("GET /v1/partners/{id}", a.partnersOn(a.authed(a.getPartner)))
	mux.HandleFunc("PATCH /v1/partners/{id}", a.partnersOn(a.authed(a.updatePartner)))
	mux.HandleFunc("POST /v1/partners/{id}/disable", a.partnersOn(a.authed(a.disablePartner)))
	mux.HandleFunc("POST /v1/partner/match", a.partnersOn(a.partnerAuthed(a.match)))
	mux.HandleFunc("GET /v1/partner/citizens/{pin}", a.partnersOn(a.partnerAuthed(a.release)))
	mux.HandleFunc("GET /v1/partner/consents/{id}", a.partnersOn(a.partnerAuthed(a.partnerConsent)))
	mux.HandleFunc("GET /v1/me/consents", a.partnersOn(a.citizen(a.myConsents)))
	mux.HandleFunc("POST /v1/me/consents", a.partnersOn(a.citizenStrong(a.grantConsent)))
	mux.HandleFunc("DELETE /v1/me/consents/{id}", a.partnersOn(a.citizen(a.revokeConsent)))
}

var errNoPartners = cancuoc.E(cancuoc.Unavailable, "httpapi.partners", "partners_unavailable",
	"Dịch vụ đối tác chưa được bật.", "The partner services are not enabled.")

func (a *API) partnersOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.verif.svc == nil {
			a.fail(w, r, errNoPartners)
			return
		}
		h(w, r)
	}
}

// bearer returns the request's bearer token, if it has one.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// tokenCache keeps resolved partner tokens briefly: resolving costs two
// lookups, and a partner's system sends one token on thousands of calls. A
// revoked token therefore stops within tokenCacheTTL on every node, as a
// revoked API key stops within the registry's key cache time.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]cachedToken
}

type cachedToken struct {
	info  *oidc.TokenInfo
	until time.Time
}

const (
	tokenCacheTTL = 5 * time.Second
	tokenCacheMax = 100_000
)

func (c *tokenCache) get(tok string, now time.Time) *oidc.TokenInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[tok]
	if !ok || !now.Before(e.until) {
		return nil
	}
	return e.info
}

func (c *tokenCache) put(tok string, info *oidc.TokenInfo, now time.Time) {
	until := now.Add(tokenCacheTTL)
	if info.ExpiresAt.Before(until) {
		until = info.ExpiresAt
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= tokenCacheMax {
		c.m = make(map[string]cachedToken) // crude but bounded: under churn, start again
	}
	c.m[tok] = cachedToken{info: info, until: until}
}

type ctxPartner struct{}

func partnerToken(ctx context.Context) *oidc.TokenInfo {
	t, _ := ctx.Value(ctxPartner{}).(*oidc.TokenInfo)
	return t
}

// partnerAuthed admits a partner's system: a bearer access token of the
// client credentials grant whose client belongs to a partner. The policy
// and quota are checked by the partner service on each operation, where
// the fields asked are known. A citizen's token is refused here.
func (a *API) partnerAuthed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok {
			a.fail(w, r, cancuoc.E(cancuoc.Unauthenticated, "httpapi.partner", "token_missing",
				"Thiếu mã truy cập: gửi Authorization: Bearer <mã nhận từ /oidc/oauth/token>.",
				"Missing access token: send Authorization: Bearer <token from /oidc/oauth/token (client credentials)>."))
			return
		}
		if a.verif.tokens == nil {
			a.fail(w, r, errNoPartners)
			return
		}
		now := a.verif.clock()
		info := a.verif.cache.get(tok, now)
		if info == nil {
			var err error
			if info, err = a.verif.tokens.ResolveAccessToken(r.Context(), tok); err != nil {
				a.fail(w, r, err)
				return
			}
			if info.PartnerID != "" {
				a.verif.cache.put(tok, info, now)
			}
		}
		if info.Citizen() || info.PartnerID == "" {
			a.fail(w, r, cancuoc.E(cancuoc.Forbidden, "httpapi.partner", "partner_token_required",
				"Chỉ hệ thống của đối tác (mã truy cập client credentials) được gọi đường dẫn này.",
				"Only a partner's system (a client credentials access token) may call this route."))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxPartner{}, info)))
	}
}

// citizenByToken resolves a citizen's bearer token for a.citizen: a token
// of our provider issued for a citizen with the eid_account scope, whose
// account is active; with the token's amr (how the holder logged in).
func (a *API) citizenByToken(ctx context.Context, tok string) (*cancuoc.Account, []string, error) {
	const op = "httpapi.citizen"
	info, err := a.verif.tokens.ResolveAccessToken(ctx, tok)
	if err != nil {
		return nil, nil, err
	}
	if !info.Citizen() {
		return nil, nil, cancuoc.E(cancuoc.Forbidden, op, "citizen_token_required",
			"Đường dẫn này dành cho công dân; mã truy cập của hệ thống đối tác không dùng được.",
			"This route is for citizens; a partner system's token cannot be used.")
	}
	if !info.HasScope(oidc.ScopeAccount) {
		return nil, nil, cancuoc.E(cancuoc.Forbidden, op, "scope_missing",
			"Mã truy cập thiếu phạm vi eid_account (chỉ cổng dịch vụ công và ứng dụng được cấp).",
			"The access token lacks the eid_account scope (granted only to the portal and the app).")
	}
	acc, err := a.eid.AccountByPIN(ctx, info.PIN)
	if err != nil {
		return nil, nil, cancuoc.E(cancuoc.Unauthenticated, op, "token_invalid",
			"Mã truy cập không hợp lệ.", "The access token is not valid.")
	}
	if acc.Status != cancuoc.AccountActive {
		return nil, nil, cancuoc.E(cancuoc.Forbidden, op, "account_inactive",
			"Tài khoản định danh không hoạt động.", "The eID account is not active.")
	}
	return acc, info.AMR, nil
}

func (a *API) createPartner(w http.ResponseWriter, r *http.Request) {
	var n partner.NewPartner
	if err := decodeJSON(w, r, &n); err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.verif.svc.Create(r.Context(), principal(r.Context()), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/partners/"+p.ID)
	writeJSON(w, http.StatusCreated, p)
}

func (a *API) listPartners(w http.ResponseWriter, r *http.Request) {
	ps, err := a.verif.svc.List(r.Context(), principal(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ps})
}

func (a *API) getPartner(w http.ResponseWriter, r *http.Request) {
	p, err := a.verif.svc.Get(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *API) updatePartner(w http.ResponseWriter, r *http.Request) {
	var c partner.Change
	if err := decodeJSON(w, r, &c); err != nil {
		a.fail(w, r, err)
		return
	}
	if c.Version == 0 {
		a.fail(w, r, cancuoc.InvalidField("httpapi.updatePartner", "version", "version_required",
			"Cần số phiên bản đang sửa (trường version).", "Send the version you are changing (field version)."))
		return
	}
	p, err := a.verif.svc.Update(r.Context(), principal(r.Context()), r.PathValue("id"), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *API) disablePartner(w http.ResponseWriter, r *http.Request) {
	p, err := a.verif.svc.Disable(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *API) match(w http.ResponseWriter, r *http.Request) {
	var q partner.MatchRequest
	if err := decodeJSON(w, r, &q); err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.verif.svc.Match(r.Context(), partnerToken(r.Context()).PartnerID, q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The bytes writeJSON would write (with its newline), encoded without
	// reflection: this route runs thousands of times a second.
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(append(res.AppendJSON(make([]byte, 0, 256)), '\n'))
}

func (a *API) release(w http.ResponseWriter, r *http.Request) {
	pin, err := pinParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rel, err := a.verif.svc.Release(r.Context(), partnerToken(r.Context()).PartnerID, pin)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, rel)
}

func (a *API) partnerConsent(w http.ResponseWriter, r *http.Request) {
	c, err := a.verif.svc.ConsentFor(r.Context(), partnerToken(r.Context()).PartnerID, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// myConsentsView lists both kinds of consent a citizen has given: to
// partners for named fields (this capability), and to relying parties for
// login scopes (the OpenID consent screen).
type myConsentsView struct {
	Partners []*cancuoc.PartnerConsent `json:"partner_consents"`
	Logins   []*cancuoc.Consent        `json:"login_consents"`
}

func (a *API) myConsents(w http.ResponseWriter, r *http.Request) {
	pin := account(r.Context()).PIN
	ps, err := a.verif.svc.Consents(r.Context(), pin)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ls, err := a.reg.Store().Consents(r.Context(), pin)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, myConsentsView{Partners: ps, Logins: ls})
}

func (a *API) grantConsent(w http.ResponseWriter, r *http.Request) {
	var req partner.ConsentRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.verif.svc.Grant(r.Context(), account(r.Context()).PIN, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/me/consents/"+c.ID)
	writeJSON(w, http.StatusCreated, c)
}

func (a *API) revokeConsent(w http.ResponseWriter, r *http.Request) {
	if err := a.verif.svc.Revoke(r.Context(), account(r.Context()).PIN, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
