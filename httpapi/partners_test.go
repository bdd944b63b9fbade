package httpapi_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/examples/portal"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// partnerEnv is the whole stack: registry, eID, the OpenID provider, the
// partner service and the API on one server, over SQLite in memory.
type partnerEnv struct {
	t      *testing.T
	srv    *httptest.Server
	store  *sqlite.Store
	prov   *oidc.Provider
	sms    *outbox
	admin  string // national administrator's API key
	cit    *cancuoc.Citizen
	issuer string
	otp    func() string // the TOTP code citizenToken gives when the login asks
}

// newPartnerEnv builds the stack; with gives further capabilities to the
// API before its routes are registered (reconciliation, the wallet).
func newPartnerEnv(t *testing.T, with ...func(*httpapi.API, *sqlite.Store, *partner.Service)) *partnerEnv {
	t.Helper()
	return newPartnerEnvAt(t, nil, with...)
}

// newPartnerEnvAt is newPartnerEnv with the token issuer's clock now
// (time.Now when nil), given to the provider and the API alike.
func newPartnerEnvAt(t *testing.T, now func() time.Time, with ...func(*httpapi.API, *sqlite.Store, *partner.Service)) *partnerEnv {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w := audit.NewWriter(store, 0)
	t.Cleanup(func() { w.Close() })
	reg := registry.New(store, w)
	sms := &outbox{}
	cfg := eid.DefaultConfig()
	cfg.Password = eid.FastTestPasswordParams()
	es, err := eid.New(store, sms, cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	prov, err := oidc.New(store, es, oidc.Config{Issuer: srv.URL + "/oidc", Secret: []byte(strings.Repeat("k", 32)), Insecure: true, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ps := partner.New(store, w, partner.WithPolicyCache(0))
	api := httpapi.New(reg, log).WithEID(es).WithPartners(ps).WithTokens(prov)
	if now != nil {
		api.WithTokenClock(now)
	}
	for _, f := range with {
		f(api, store, ps)
	}
	api.Routes(mux)
	mux.Handle("/oidc/", prov.Handler())
	e := &partnerEnv{t: t, srv: srv, store: store, prov: prov, sms: sms, issuer: srv.URL + "/oidc", cit: storetest.Citizen(storetest.PIN(1))}
	if _, e.admin, err = reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: "Quản trị", Role: cancuoc.RoleNationalAdmin}); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertCitizen(ctx, e.cit); err != nil {
		t.Fatal(err)
	}
	return e
}

// do sends a request with auth "" (none), "bearer:<token>" or
// "basic:<pin>:<password>".
func (e *partnerEnv) do(method, path, auth string, body any) *response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok, ok := strings.CutPrefix(auth, "bearer:"); ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if up, ok := strings.CutPrefix(auth, "basic:"); ok {
		u, p, _ := strings.Cut(up, ":")
		req.SetBasicAuth(u, p)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return &response{t: e.t, status: res.StatusCode, header: res.Header, body: raw}
}

// addPartner creates a partner through the API and registers its system
// as a private_key_jwt client; it returns a client-credentials token.
func (e *partnerEnv) addPartner(id string, policy cancuoc.PartnerPolicy) string {
	e.t.Helper()
	var p cancuoc.Partner
	e.do("POST", "/v1/partners", "bearer:"+e.admin, partner.NewPartner{ID: id, Name: "Đối tác " + id, Kind: cancuoc.PartnerBank,
		Policy: policy}).ok(http.StatusCreated, &p)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k", Algorithm: "ES256", Use: "sig"}}})
	if _, _, err := e.prov.CreateClient(e.t.Context(), nil, oidc.NewClient{ID: id + "-system", Name: id, Purpose: policy.Purpose,
		AuthMethod: cancuoc.ClientAuthPrivateKeyJWT, JWKS: jwks, GrantTypes: []string{cancuoc.GrantClientCredentials}, PartnerID: id}); err != nil {
		e.t.Fatal(err)
	}
	a, err := oidc.SignClientAssertion(key, jose.ES256, "k", id+"-system", e.issuer, time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.srv.Client().PostForm(e.issuer+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}})
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != http.StatusOK || tok.AccessToken == "" {
		e.t.Fatalf("client credentials token: %d %v", res.StatusCode, err)
	}
	return tok.AccessToken
}

const citizenPW = "mật khẩu dài 123"

// registerCitizen opens the citizen's eID account; it returns the Basic
// credentials.
func (e *partnerEnv) registerCitizen() string {
	e.t.Helper()
	var p eid.Pending
	e.do("POST", "/v1/eid/registrations", "", map[string]any{"pin": e.cit.PIN, "full_name": "nguyen van duc",
		"birth_date": "1990-05-17", "phone": "0912345678"}).ok(http.StatusAccepted, &p)
	e.do("POST", "/v1/eid/registrations/"+p.ChallengeID+"/confirm", "", map[string]any{"code": e.sms.code("+84912345678"),
		"password": citizenPW, "photo": map[string]any{"content_type": "image/png", "data": pngPhoto()}}).ok(http.StatusCreated, nil)
	return "basic:" + string(e.cit.PIN) + ":" + citizenPW
}

var formField = regexp.MustCompile(`name="(id|csrf|ar)" value="([^"]*)"`)

// citizenToken logs the citizen into a relying party registered with
// scopes and returns its access token.
func (e *partnerEnv) citizenToken(clientID string, scopes ...string) string {
	e.t.Helper()
	ctx := e.t.Context()
	_, secret, err := e.prov.CreateClient(ctx, nil, oidc.NewClient{ID: clientID, Name: clientID, Purpose: "Cổng dịch vụ công",
		RedirectURIs: []string{"http://localhost/cb"}, Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := portal.New(ctx, portal.Config{Issuer: e.issuer, ClientID: clientID, ClientSecret: secret, RedirectURL: "http://localhost/cb",
		Scopes: append([]string{"openid"}, scopes...), HTTPClient: e.srv.Client()})
	if err != nil {
		e.t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), e.issuer) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	get := func(req *http.Request) (*http.Response, string) {
		res, err := c.Do(req)
		if err != nil {
			e.t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	post := func(path string, f url.Values) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return get(req)
	}
	form := func(body string) url.Values {
		v := url.Values{}
		for _, m := range formField.FindAllStringSubmatch(body, -1) {
			v.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
		}
		return v
	}
	req, _ := http.NewRequest(http.MethodGet, p.Start(nil), nil)
	_, body := get(req)
	f := form(body)
	f.Set("pin", string(e.cit.PIN))
	f.Set("password", citizenPW)
	res, body := post("/oidc/login", f)
	if strings.Contains(body, "/login/otp") && e.otp != nil {
		f = form(body)
		f.Set("code", e.otp())
		res, body = post("/oidc/login/otp", f)
	}
	if res.StatusCode == http.StatusOK && strings.Contains(body, `value="allow"`) {
		f = form(body)
		f.Set("decision", "allow")
		res, _ = post("/oidc/consent", f)
	}
	cb, err := http.NewRequest(http.MethodGet, res.Header.Get("Location"), nil)
	if err != nil || res.StatusCode/100 != 3 {
		e.t.Fatalf("login did not reach the client: %d", res.StatusCode)
	}
	r, err := p.Finish(ctx, cb)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Token.AccessToken
}

func bankPolicy(q cancuoc.Quota) cancuoc.PartnerPolicy {
	return cancuoc.PartnerPolicy{Operations: []cancuoc.PartnerOp{cancuoc.OpMatch, cancuoc.OpRelease},
		Fields:  []string{"full_name", "birth_date", "sex", "current_residence", "cards"},
		Purpose: "Định danh khách hàng mở tài khoản", LegalBasis: "Thông tư 17/2024/TT-NHNN", Quota: q}
}

func TestPartnerAdminAPI(t *testing.T) {
	e := newPartnerEnv(t)
	e.addPartner("vcb", bankPolicy(cancuoc.Quota{}))
	var list struct {
		Items []cancuoc.Partner `json:"items"`
	}
	e.do("GET", "/v1/partners", "bearer:"+e.admin, nil).ok(http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != "vcb" {
		t.Fatalf("list %+v", list)
	}
	var p cancuoc.Partner
	e.do("PATCH", "/v1/partners/vcb", "bearer:"+e.admin, map[string]any{"version": 1, "name": "Vietcombank"}).ok(http.StatusOK, &p)
	if p.Name != "Vietcombank" || p.Version != 2 {
		t.Errorf("updated %+v", p)
	}
	e.do("PATCH", "/v1/partners/vcb", "bearer:"+e.admin, map[string]any{"version": 1, "name": "x"}).problem(http.StatusConflict, "stale_version")
	e.do("POST", "/v1/partners", "bearer:"+e.admin, map[string]any{"id": "xy", "name": "x", "kind": "bank",
		"policy": map[string]any{"operations": []string{"match"}, "fields": []string{"salary"}, "purpose": "p", "legal_basis": "l"}}).
		problem(http.StatusBadRequest, "field_unknown")
	e.do("GET", "/v1/partners/nobody", "bearer:"+e.admin, nil).problem(http.StatusNotFound, "not_found")
	e.do("POST", "/v1/partners/vcb/disable", "bearer:"+e.admin, nil).ok(http.StatusOK, &p)
	if !p.Disabled {
		t.Error("not disabled")
	}
}

func TestMatchAPI(t *testing.T) {
	e := newPartnerEnv(t)
	tok := "bearer:" + e.addPartner("vcb", bankPolicy(cancuoc.Quota{PerMinute: 4}))
	var r partner.MatchResult
	e.do("POST", "/v1/partner/match", tok, map[string]any{"pin": e.cit.PIN, "name": "Nguyen Van Duc", "name_rule": "no_diacritics",
		"birth_date": "1990-05-17", "current_address": map[string]any{"province": "79", "commune": "26734"}}).ok(http.StatusOK, &r)
	if !r.Found || !r.Match || r.NameRule != "no_diacritics" || r.LifeStatus != cancuoc.Alive || len(r.Fields) != 3 {
		t.Errorf("match %+v", r)
	}
	// A field outside the policy is refused and named.
	p := e.do("POST", "/v1/partner/match", tok, map[string]any{"pin": e.cit.PIN, "phone": "0912345678"}).problem(http.StatusForbidden, "field_not_allowed")
	if p.Field != "phone" || !strings.Contains(p.MessageEN, "phone") {
		t.Errorf("problem %+v", p)
	}
	e.do("POST", "/v1/partner/match", tok, `{"pin":"`+string(e.cit.PIN)+`","nmae":"x"}`).problem(http.StatusBadRequest, "unknown_field")
	e.do("POST", "/v1/partner/match", tok, map[string]any{"pin": e.cit.PIN, "sex": "male"}).ok(http.StatusOK, &r)
	// The fourth accepted call of the minute is the last one.
	e.do("POST", "/v1/partner/match", tok, map[string]any{"pin": e.cit.PIN, "sex": "female"}).ok(http.StatusOK, &r)
	if r.Match {
		t.Error("wrong sex matched")
	}
	e.do("POST", "/v1/partner/match", tok, map[string]any{"pin": e.cit.PIN, "sex": "male"}).ok(http.StatusOK, nil)
	res := e.do("POST", "/v1/partner/match", tok, map[string]any{"pin": e.cit.PIN, "sex": "male"})
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" || !strings.Contains(string(res.body), "quota_exceeded") {
		t.Fatalf("over quota: %d %q %s", res.status, res.header.Get("Retry-After"), res.body)
	}

	// Without a token, with an API key, or with garbage: refused.
	e.do("POST", "/v1/partner/match", "", map[string]any{"pin": e.cit.PIN, "sex": "male"}).problem(http.StatusUnauthorized, "token_missing")
	e.do("POST", "/v1/partner/match", "bearer:"+e.admin, map[string]any{"pin": e.cit.PIN, "sex": "male"}).problem(http.StatusUnauthorized, "token_invalid")
}

func TestConsentedReleaseAPI(t *testing.T) {
	e := newPartnerEnv(t)
	tok := "bearer:" + e.addPartner("vcb", bankPolicy(cancuoc.Quota{}))
	basic := e.registerCitizen()
	path := "/v1/partner/citizens/" + string(e.cit.PIN)
	e.do("GET", path, tok, nil).problem(http.StatusForbidden, "consent_required")

	var c cancuoc.PartnerConsent
	e.do("POST", "/v1/me/consents", basic, map[string]any{"partner_id": "vcb", "fields": []string{"full_name", "birth_date"},
		"expires_at": time.Now().Add(time.Hour)}).ok(http.StatusCreated, &c)
	e.do("POST", "/v1/me/consents", basic, map[string]any{"partner_id": "vcb", "fields": []string{"religion"},
		"expires_at": time.Now().Add(time.Hour)}).problem(http.StatusForbidden, "field_not_allowed")

	var rel partner.Release
	e.do("GET", path, tok, nil).ok(http.StatusOK, &rel)
	var rec map[string]any
	_ = json.Unmarshal(rel.Record, &rec)
	if len(rec) != 2 || rec["full_name"] != e.cit.FullName || len(rel.ConsentIDs) != 1 || rel.ConsentIDs[0] != c.ID {
		t.Fatalf("release %+v %s", rel, rel.Record)
	}
	// The partner proves the consent by fetching its record.
	var proof cancuoc.PartnerConsent
	e.do("GET", "/v1/partner/consents/"+c.ID, tok, nil).ok(http.StatusOK, &proof)
	if proof.ID != c.ID || proof.PIN != e.cit.PIN || proof.RevokedAt != nil {
		t.Errorf("proof %+v", proof)
	}
	var mine struct {
		Partners []cancuoc.PartnerConsent `json:"partner_consents"`
	}
	e.do("GET", "/v1/me/consents", basic, nil).ok(http.StatusOK, &mine)
	if len(mine.Partners) != 1 {
		t.Errorf("my consents %+v", mine)
	}
	// Withdrawal blocks the very next fetch.
	e.do("DELETE", "/v1/me/consents/"+c.ID, basic, nil)
	e.do("GET", path, tok, nil).problem(http.StatusForbidden, "consent_required")
	e.do("DELETE", "/v1/me/consents/"+c.ID, basic, nil).problem(http.StatusNotFound, "consent_not_found")
	e.do("GET", "/v1/partner/consents/"+c.ID, tok, nil).ok(http.StatusOK, &proof)
	if proof.RevokedAt == nil {
		t.Error("the proof does not show the withdrawal")
	}

	// An expired consent blocks it too.
	e.do("POST", "/v1/me/consents", basic, map[string]any{"partner_id": "vcb", "fields": []string{"sex"},
		"expires_at": time.Now().Add(1500 * time.Millisecond)}).ok(http.StatusCreated, &c)
	e.do("GET", path, tok, nil).ok(http.StatusOK, &rel)
	time.Sleep(1600 * time.Millisecond)
	e.do("GET", path, tok, nil).problem(http.StatusForbidden, "consent_required")
}

func TestTokensKeepToTheirRoutes(t *testing.T) {
	e := newPartnerEnv(t)
	partnerTok := "bearer:" + e.addPartner("vcb", bankPolicy(cancuoc.Quota{}))
	e.registerCitizen()
	account := "bearer:" + e.citizenToken("dichvucong", oidc.ScopeAccount)
	login := "bearer:" + e.citizenToken("bank-login")

	// A citizen's token (even the portal's) cannot call partner routes.
	e.do("POST", "/v1/partner/match", account, map[string]any{"pin": e.cit.PIN, "sex": "male"}).problem(http.StatusForbidden, "partner_token_required")
	e.do("GET", "/v1/partner/citizens/"+string(e.cit.PIN), login, nil).problem(http.StatusForbidden, "partner_token_required")
	// A partner's token cannot act for a citizen.
	e.do("GET", "/v1/me/consents", partnerTok, nil).problem(http.StatusForbidden, "citizen_token_required")
	e.do("GET", "/v1/eid/account", partnerTok, nil).problem(http.StatusForbidden, "citizen_token_required")
	// A relying party's token for its own login cannot manage the
	// citizen's consents (it could grant itself one).
	e.do("POST", "/v1/me/consents", login, map[string]any{"partner_id": "vcb", "fields": []string{"full_name"},
		"expires_at": time.Now().Add(time.Hour)}).problem(http.StatusForbidden, "scope_missing")
	// The portal's token with eid_account works like the password.
	var c cancuoc.PartnerConsent
	e.do("POST", "/v1/me/consents", account, map[string]any{"partner_id": "vcb", "fields": []string{"full_name"},
		"expires_at": time.Now().Add(time.Hour)}).ok(http.StatusCreated, &c)
	var acc cancuoc.Account
	e.do("GET", "/v1/eid/account", account, nil).ok(http.StatusOK, &acc)
	if acc.PIN != e.cit.PIN {
		t.Errorf("account %+v", acc)
	}
	e.do("GET", "/v1/me/consents", "bearer:garbage", nil).problem(http.StatusUnauthorized, "token_invalid")
}

// TestPartnerTokenExpiresByIssuerClock: a partner's token cached by the API
// stops at its expiry by the issuer's clock, not the wall clock: once the
// provider's clock passes the expiry, the next call is refused at once,
// although the cache entry is seconds old.
func TestPartnerTokenExpiresByIssuerClock(t *testing.T) {
	var mu sync.Mutex
	at := time.Now()
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return at
	}
	e := newPartnerEnvAt(t, now)
	tok := "bearer:" + e.addPartner("vcb", bankPolicy(cancuoc.Quota{PerMinute: 100}))
	e.do("POST", "/v1/partner/match", tok, map[string]any{"pin": e.cit.PIN, "sex": "male"}).ok(http.StatusOK, nil)
	mu.Lock()
	at = at.Add(25 * time.Hour) // past any access token's lifetime
	mu.Unlock()
	e.do("POST", "/v1/partner/match", tok, map[string]any{"pin": e.cit.PIN, "sex": "male"}).problem(http.StatusUnauthorized, "token_invalid")
}
