package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/examples/portal"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// accounts is a small Accounts over a real store: the citizen comes from
// the registry, the password and TOTP secret from the test. (The real
// eid.Service is the one wired in cmd/cancuoc.)
type accounts struct {
	store   cancuoc.Store
	mu      sync.Mutex
	byPIN   map[cancuoc.PIN]*holder
	sources []string // the client addresses VerifyPassword was given
}

type holder struct {
	acc      cancuoc.Account
	password string
	totp     string
}

func (a *accounts) get(pin cancuoc.PIN) (*holder, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h, ok := a.byPIN[pin]
	if !ok {
		return nil, cancuoc.E(cancuoc.NotFound, "test", "not_found", "không có", "none")
	}
	return h, nil
}

func (a *accounts) AccountByPIN(ctx context.Context, pin cancuoc.PIN) (*cancuoc.Account, error) {
	h, err := a.get(pin)
	if err != nil {
		return nil, err
	}
	acc := h.acc
	return &acc, nil
}

func (a *accounts) VerifyPassword(ctx context.Context, pin cancuoc.PIN, password, source string) (*cancuoc.Account, error) {
	a.mu.Lock()
	a.sources = append(a.sources, source)
	a.mu.Unlock()
	h, err := a.get(pin)
	if err != nil || h.password != password {
		return nil, cancuoc.E(cancuoc.Unauthenticated, "test", "bad_credentials", "sai", "wrong")
	}
	if _, err := a.store.Citizen(ctx, pin); err != nil { // the holder must be in the registry
		return nil, err
	}
	acc := h.acc
	return &acc, nil
}

func (a *accounts) byID(id string) *holder {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, h := range a.byPIN {
		if h.acc.ID == id {
			return h
		}
	}
	return nil
}

func (a *accounts) HasTOTP(ctx context.Context, id string) (bool, error) {
	h := a.byID(id)
	return h != nil && h.totp != "", nil
}

func (a *accounts) VerifyTOTP(ctx context.Context, id, code, source string) error {
	if h := a.byID(id); h != nil && totp.Validate(code, h.totp) {
		return nil
	}
	return cancuoc.E(cancuoc.Unauthenticated, "test", "bad_code", "sai mã", "wrong code")
}

func (a *accounts) RecordLogin(ctx context.Context, id, clientID string, amr []string, source string) error {
	h := a.byID(id)
	return a.store.AppendAudit(ctx, &cancuoc.AuditEntry{At: time.Now(), Actor: "eid", Action: "eid.login", PIN: h.acc.PIN,
		Fields: amr, Purpose: clientID, Outcome: "ok"})
}

// clock is a movable clock.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// env is a running cancuoc OpenID provider with citizens and clients.
type env struct {
	t       *testing.T
	store   cancuoc.Store
	prov    *oidc.Provider
	srv     *httptest.Server
	issuer  string
	clock   *clock
	acc     *accounts
	secrets map[string]string
	l2, l1  cancuoc.PIN // a level-2 holder with TOTP, a level-1 holder without
	root    string      // the server's URL: the issuer without /oidc
}

const totpSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvOn(t, st)
}

func newEnvOn(t *testing.T, st cancuoc.Store) *env {
	t.Helper()
	return newEnvWith(t, st, "", nil)
}

// newEnvWith builds the env with host (default the listener's address) in
// the issuer, and with the Accounts that real(e) returns instead of the
// test's own when real is not nil; it is called once the server's URL is
// known, which WebAuthn's origin needs.
func newEnvWith(t *testing.T, st cancuoc.Store, host string, real func(e *env) oidc.Accounts, mods ...func(*oidc.Config)) *env {
	t.Helper()
	ctx := t.Context()
	var err error
	e := &env{t: t, store: st, clock: &clock{}, secrets: map[string]string{}, l2: storetest.PIN(1), l1: storetest.PIN(2)}
	for _, pin := range []cancuoc.PIN{e.l2, e.l1} {
		if err := st.InsertCitizen(ctx, storetest.Citizen(pin)); err != nil {
			t.Fatal(err)
		}
	}
	e.acc = &accounts{store: st, byPIN: map[cancuoc.PIN]*holder{
		e.l2: {acc: cancuoc.Account{ID: "acc-2", Kind: cancuoc.AccountCitizen, PIN: e.l2, Level: cancuoc.Level2,
			Status: cancuoc.AccountActive, Phone: "+84912345678"}, password: "mật khẩu dài 2", totp: totpSecret},
		e.l1: {acc: cancuoc.Account{ID: "acc-1", Kind: cancuoc.AccountCitizen, PIN: e.l1, Level: cancuoc.Level1,
			Status: cancuoc.AccountActive}, password: "mật khẩu dài 1"},
	}}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.root = e.srv.URL
	if host != "" {
		e.root = "http://" + host + ":" + strconv.Itoa(e.srv.Listener.Addr().(*net.TCPAddr).Port)
	}
	e.issuer = e.root + "/oidc"
	var accs oidc.Accounts = e.acc
	if real != nil {
		accs = real(e)
	}
	cfg := oidc.Config{Issuer: e.issuer, Secret: []byte(strings.Repeat("s", 32)), Insecure: true, Now: e.clock.now}
	for _, m := range mods {
		m(&cfg)
	}
	e.prov, err = oidc.New(st, accs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/oidc/", e.prov.Handler())
	e.client(oidc.NewClient{ID: "portal", Name: "Cổng dịch vụ công", Purpose: "Giải quyết thủ tục hành chính trực tuyến",
		RedirectURIs: []string{"http://localhost/callback"}, MinLevel: 1, Scopes: []string{oidc.ScopePID}})
	e.client(oidc.NewClient{ID: "bank", Name: "Ngân hàng", Purpose: "Mở tài khoản (eKYC)",
		RedirectURIs: []string{"http://localhost/bank/callback"}, MinLevel: 2, IDTokenAlg: oidc.AlgRS256, Sector: "bank.example"})
	return e
}

func (e *env) client(n oidc.NewClient) {
	e.t.Helper()
	_, secret, err := e.prov.CreateClient(e.t.Context(), nil, n)
	if err != nil {
		e.t.Fatal(err)
	}
	e.secrets[n.ID] = secret
}

func (e *env) portal(clientID, redirect string, scopes ...string) *portal.Portal {
	e.t.Helper()
	p, err := portal.New(e.t.Context(), portal.Config{Issuer: e.issuer, ClientID: clientID, ClientSecret: e.secrets[clientID],
		RedirectURL: redirect, Scopes: scopes, HTTPClient: e.srv.Client()})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// browser is a cookie-keeping client that stops at redirects leaving the
// provider (to the relying party).
type browser struct {
	t *testing.T
	c *http.Client
	e *env
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), e.issuer) {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

type resp struct {
	status   int
	body     string
	location string
}

func (b *browser) do(req *http.Request) resp {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(body), res.Header.Get("Location")}
}

func (b *browser) get(u string) resp {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) resp {
	req, _ := http.NewRequest(http.MethodPost, b.e.root+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var hidden = regexp.MustCompile(`name="(id|csrf|ar)" value="([^"]*)"`)

func fields(body string) url.Values {
	v := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
	}
	return v
}

// login runs the browser side: authorize, password, TOTP when enrolled,
// consent when asked; it returns the final redirect to the client.
func (b *browser) login(authURL string, pin cancuoc.PIN, password string) resp {
	b.t.Helper()
	r := b.get(authURL)
	if r.status != http.StatusOK || !strings.Contains(r.body, `name="password"`) {
		b.t.Fatalf("authorize: %d %s", r.status, r.body)
	}
	f := fields(r.body)
	f.Set("pin", string(pin))
	f.Set("password", password)
	r = b.post("/oidc/login", f)
	if strings.Contains(r.body, `name="code"`) {
		code, _ := totp.GenerateCode(totpSecret, time.Now())
		f = fields(r.body)
		f.Set("code", code)
		r = b.post("/oidc/login/otp", f)
	}
	if r.status == http.StatusOK && strings.Contains(r.body, `value="allow"`) {
		f = fields(r.body)
		f.Set("decision", "allow")
		r = b.post("/oidc/consent", f)
	}
	return r
}

func callback(t *testing.T, r resp) *http.Request {
	t.Helper()
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("want a redirect to the client, got %d: %s", r.status, r.body)
	}
	req, err := http.NewRequest(http.MethodGet, r.location, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestEndToEnd logs a level-2 citizen into the portal with password and
// TOTP through the full authorization code + PKCE flow, then checks the
// claims, the access record and a second login that skips consent.
func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	p := e.portal("portal", "http://localhost/callback", "openid", "profile", "address", "phone", oidc.ScopePID)
	b := e.browser()
	res, err := p.Finish(ctx, callback(t, b.login(p.Start(nil), e.l2, "mật khẩu dài 2")))
	if err != nil {
		t.Fatal(err)
	}
	if res.ACR != oidc.ACRLevel2 || !slices.Contains(res.AMR, "otp") || !slices.Contains(res.AMR, "pwd") {
		t.Errorf("acr %q amr %v", res.ACR, res.AMR)
	}
	want := map[string]any{"name": "Nguyễn Văn Đức", "family_name": "Nguyễn", "given_name": "Đức", "gender": "male",
		"phone_number": "+84912345678", "pid": string(e.l2)}
	for k, v := range want {
		if res.Claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, res.Claims[k], v)
		}
	}
	if bd, _ := res.Claims["birthdate"].(string); !strings.HasSuffix(bd, "-05-17") {
		t.Errorf("birthdate %v", res.Claims["birthdate"])
	}
	if addr, _ := res.Claims["address"].(map[string]any); addr == nil || !strings.Contains(addr["formatted"].(string), "phòng 1204") {
		t.Errorf("address %v", res.Claims["address"])
	}
	if res.Subject == "" || strings.Contains(res.Subject, string(e.l2)) {
		t.Errorf("subject %q must be pairwise, not the PIN", res.Subject)
	}
	// The ID token carries no personal data, only the subject.
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(res.IDToken, ".")[1])
	if strings.Contains(string(payload), string(e.l2)) || strings.Contains(string(payload), "Nguy") {
		t.Errorf("ID token holds personal data: %s", payload)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(res.IDToken, ".")[0])
	if !strings.Contains(string(hdr), `"ES256"`) {
		t.Errorf("ID token header %s, want ES256", hdr)
	}

	// Every step is on the citizen's access record.
	entries, err := e.store.AuditFor(ctx, e.l2, 50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, en := range entries {
		seen[en.Action] = true
	}
	for _, a := range []string{"eid.login", "oidc.consent", "oidc.token", "oidc.userinfo"} {
		if !seen[a] {
			t.Errorf("no %s entry in the access record (%v)", a, seen)
		}
	}

	// A second login in the same browser: the session spares the password
	// and the stored consent spares the consent page.
	r := b.get(p.Start(nil))
	if _, err := p.Finish(ctx, callback(t, r)); err != nil {
		t.Fatalf("second login: %v", err)
	}

	// Revoking the consent asks again.
	if err := e.prov.RevokeConsent(ctx, e.l2, "portal"); err != nil {
		t.Fatal(err)
	}
	r = b.get(p.Start(nil))
	if r.status != http.StatusOK || !strings.Contains(r.body, `value="allow"`) {
		t.Fatalf("after revocation, want the consent page: %d %s", r.status, r.location)
	}
	if cs, _ := e.prov.Consents(ctx, e.l2); len(cs) != 1 || cs[0].RevokedAt == nil {
		t.Errorf("consents after revocation: %+v", cs)
	}
}

// TestEndToEndPostgres runs the flow, a refresh and a code replay on
// PostgreSQL.
func TestEndToEndPostgres(t *testing.T) {
	e := newEnvOn(t, pgtest.Open(t, "cancuoc_oidc"))
	p := e.portal("portal", "http://localhost/callback", "openid", "profile", "offline_access")
	code, ver := e.codeFor(p, e.l2, "mật khẩu dài 2")
	st, tok := e.token("portal", exchange(code, ver, "http://localhost/callback"))
	if st != http.StatusOK || e.userinfo(tok["access_token"].(string)) != http.StatusOK {
		t.Fatalf("exchange: %d %v", st, tok)
	}
	if st, _ := e.token("portal", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}); st != http.StatusOK {
		t.Fatalf("refresh: %d", st)
	}
	if st, _ := e.token("portal", exchange(code, ver, "http://localhost/callback")); st != http.StatusBadRequest {
		t.Fatalf("replay: %d", st)
	}
}

// TestPairwiseAndRS256: the bank gets another subject and an RS256 token.
func TestPairwiseAndRS256(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := e.portal("portal", "http://localhost/callback")
	bk := e.portal("bank", "http://localhost/bank/callback")
	ra, err := a.Finish(ctx, callback(t, e.browser().login(a.Start(nil), e.l2, "mật khẩu dài 2")))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := bk.Finish(ctx, callback(t, e.browser().login(bk.Start(nil), e.l2, "mật khẩu dài 2")))
	if err != nil {
		t.Fatal(err)
	}
	if ra.Subject == rb.Subject {
		t.Error("two sectors see the same subject")
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(rb.IDToken, ".")[0])
	if !strings.Contains(string(hdr), `"RS256"`) {
		t.Errorf("bank's ID token header %s, want RS256", hdr)
	}
	if _, ok := rb.Claims["pid"]; ok {
		t.Error("pid released to a client not registered for it")
	}
}

// codeFor runs a login and returns the code and the PKCE verifier.
func (e *env) codeFor(p *portal.Portal, pin cancuoc.PIN, password string) (code, verifier string) {
	e.t.Helper()
	authURL := p.Start(nil)
	u, _ := url.Parse(authURL)
	verifier = p.PendingVerifier(u.Query().Get("state"))
	req := callback(e.t, e.browser().login(authURL, pin, password))
	return req.URL.Query().Get("code"), verifier
}

// token posts to the token endpoint as clientID.
func (e *env) token(clientID string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, e.secrets[clientID])
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func exchange(code, verifier, redirect string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {redirect}}
}

func (e *env) userinfo(access string) int {
	req, _ := http.NewRequest(http.MethodGet, e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestCodeReplay(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback")
	code, ver := e.codeFor(p, e.l2, "mật khẩu dài 2")
	st, tok := e.token("portal", exchange(code, ver, "http://localhost/callback"))
	if st != http.StatusOK {
		t.Fatalf("first exchange: %d %v", st, tok)
	}
	access := tok["access_token"].(string)
	if s := e.userinfo(access); s != http.StatusOK {
		t.Fatalf("userinfo: %d", s)
	}
	if st, body := e.token("portal", exchange(code, ver, "http://localhost/callback")); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("replayed code: %d %v", st, body)
	}
	// The replay revoked what the code gave.
	if s := e.userinfo(access); s == http.StatusOK {
		t.Error("access token still valid after its code was replayed")
	}
}

func TestPKCEMismatch(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback")
	code, _ := e.codeFor(p, e.l2, "mật khẩu dài 2")
	if st, body := e.token("portal", exchange(code, "wrong-verifier-wrong-verifier-wrong-verifier-00", "http://localhost/callback")); st != http.StatusBadRequest {
		t.Fatalf("wrong verifier: %d %v", st, body)
	}
}

func TestCodeOfAnotherClient(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback")
	code, ver := e.codeFor(p, e.l2, "mật khẩu dài 2")
	if st, body := e.token("bank", exchange(code, ver, "http://localhost/callback")); st < 400 || body["access_token"] != nil {
		t.Fatalf("bank exchanged the portal's code: %d %v", st, body)
	}
}

func TestExpiredCode(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback")
	code, ver := e.codeFor(p, e.l2, "mật khẩu dài 2")
	e.clock.add(2 * time.Minute)
	if st, body := e.token("portal", exchange(code, ver, "http://localhost/callback")); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("expired code: %d %v", st, body)
	}
}

func TestRedirectURIMismatch(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback")
	good := p.Start(nil)
	for _, evil := range []string{
		"https://evil.example/callback",
		"http://localhost/callback/../evil",
		"http://localhost/callback?next=https://evil.example",
		"http://localhost/callbackx",
		"http://LOCALHOST/callback",
		"//evil.example/callback",
	} {
		u, _ := url.Parse(good)
		q := u.Query()
		q.Set("redirect_uri", evil)
		u.RawQuery = q.Encode()
		r := e.browser().get(u.String())
		if r.location != "" && !strings.HasPrefix(r.location, e.issuer) || r.status < 400 {
			t.Errorf("redirect_uri %q: %d, Location %q", evil, r.status, r.location)
		}
	}
	// The code's redirect_uri must match the one authorized.
	code, ver := e.codeFor(p, e.l2, "mật khẩu dài 2")
	if st, _ := e.token("portal", exchange(code, ver, "http://localhost/other")); st != http.StatusBadRequest {
		t.Errorf("token with another redirect_uri: %d", st)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback", "openid", "offline_access")
	code, ver := e.codeFor(p, e.l2, "mật khẩu dài 2")
	st, tok := e.token("portal", exchange(code, ver, "http://localhost/callback"))
	if st != http.StatusOK || tok["refresh_token"] == nil {
		t.Fatalf("exchange: %d %v", st, tok)
	}
	r1 := tok["refresh_token"].(string)
	refresh := func(rt string) (int, map[string]any) {
		return e.token("portal", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
	st, tok2 := refresh(r1)
	if st != http.StatusOK || tok2["refresh_token"] == nil || tok2["refresh_token"] == r1 {
		t.Fatalf("refresh: %d %v", st, tok2)
	}
	r2 := tok2["refresh_token"].(string)
	if st, body := refresh(r1); st != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("reused refresh token: %d %v", st, body)
	}
	// Reuse revoked the family: the newer token is dead too.
	if st, _ := refresh(r2); st != http.StatusBadRequest {
		t.Errorf("rotated token after reuse: %d", st)
	}
	if s := e.userinfo(tok2["access_token"].(string)); s == http.StatusOK {
		t.Error("access token of a reused family still valid")
	}
}

func TestForgedIDTokens(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback")
	res, err := p.Finish(t.Context(), callback(t, e.browser().login(p.Start(nil), e.l2, "mật khẩu dài 2")))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(res.IDToken, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := strings.Replace(string(claims), res.Subject, "someone-else", 1)
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2]
	if _, err := p.Verifier().Verify(t.Context(), forged); err == nil {
		t.Error("tampered ID token accepted")
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	if _, err := p.Verifier().Verify(t.Context(), none); err == nil {
		t.Error("alg:none ID token accepted")
	}
	if _, err := p.Verifier().Verify(t.Context(), res.IDToken); err != nil {
		t.Errorf("genuine token refused: %v", err)
	}
}

func TestConsentCSRF(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback")
	b := e.browser()
	r := b.get(p.Start(nil))
	f := fields(r.body)
	f.Set("pin", string(e.l1))
	f.Set("password", "mật khẩu dài 1")
	r = b.post("/oidc/login", f)
	if r.status != http.StatusOK || !strings.Contains(r.body, `value="allow"`) {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	f = fields(r.body)
	f.Set("decision", "allow")
	good := f.Get("csrf")
	f.Set("csrf", "forged")
	if r := b.post("/oidc/consent", f); r.status != http.StatusForbidden {
		t.Errorf("consent with a forged CSRF token: %d", r.status)
	}
	// Another browser (an attacker's page cannot send the victim's cookie
	// with a token it cannot read) is refused even with the right token.
	f.Set("csrf", good)
	if r := e.browser().post("/oidc/consent", f); r.status != http.StatusForbidden {
		t.Errorf("consent from another browser: %d", r.status)
	}
	if _, err := e.store.Consent(t.Context(), e.l1, "portal"); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("a consent was stored: %v", err)
	}
	if r := b.post("/oidc/consent", f); r.status != http.StatusFound || !strings.HasPrefix(r.location, "http://localhost/callback?code=") {
		t.Errorf("genuine consent: %d %s", r.status, r.location)
	}
}

func TestLevel1OnLevel2Client(t *testing.T) {
	e := newEnv(t)
	bk := e.portal("bank", "http://localhost/bank/callback")
	r := e.browser().login(bk.Start(nil), e.l1, "mật khẩu dài 1")
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "mức độ 2") || r.location != "" {
		t.Fatalf("level-1 holder on a level-2 client: %d %q", r.status, r.location)
	}
	// A level-1 client asked for level 2 through acr_values refuses too.
	p := e.portal("portal", "http://localhost/callback")
	u, _ := url.Parse(p.Start(nil))
	q := u.Query()
	q.Set("acr_values", oidc.ACRLevel2)
	u.RawQuery = q.Encode()
	if r := e.browser().login(u.String(), e.l1, "mật khẩu dài 1"); r.status != http.StatusForbidden {
		t.Fatalf("acr_values loa2 for a level-1 holder: %d", r.status)
	}
}

func TestWrongPasswordRecorded(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback")
	b := e.browser()
	r := b.get(p.Start(nil))
	f := fields(r.body)
	f.Set("pin", string(e.l2))
	f.Set("password", "sai")
	if r := b.post("/oidc/login", f); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "không đúng") {
		t.Fatalf("wrong password: %d", r.status)
	}
	entries, _ := e.store.AuditFor(t.Context(), e.l2, 10)
	if len(entries) == 0 || entries[0].Action != "eid.login" || entries[0].Outcome != "failed" {
		t.Errorf("failed login not recorded: %+v", entries)
	}
}

func TestPublicClientNeedsPKCE(t *testing.T) {
	e := newEnv(t)
	e.client(oidc.NewClient{ID: "app", Name: "Ứng dụng", Purpose: "Tra cứu", Kind: "public",
		RedirectURIs: []string{"https://app.example/cb"}})
	u := e.issuer + "/authorize?" + url.Values{"client_id": {"app"}, "response_type": {"code"}, "scope": {"openid"},
		"redirect_uri": {"https://app.example/cb"}, "state": {"s"}}.Encode()
	r := e.browser().get(u)
	if r.location == "" || !strings.Contains(r.location, "error=invalid_request") {
		t.Fatalf("public client without PKCE: %d %s", r.status, r.location)
	}
}

func TestDiscoveryAndJWKS(t *testing.T) {
	e := newEnv(t)
	res, err := e.srv.Client().Get(e.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	_ = json.NewDecoder(res.Body).Decode(&d)
	res.Body.Close()
	if d["issuer"] != e.issuer {
		t.Errorf("issuer %v", d["issuer"])
	}
	jwks := func() []map[string]any {
		res, err := e.srv.Client().Get(d["jwks_uri"].(string))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		_ = json.NewDecoder(res.Body).Decode(&set)
		return set.Keys
	}
	// Both keys are published before the first token is signed.
	keys := jwks()
	if len(keys) != 2 {
		t.Fatalf("JWKS before any token has %d keys, want ES256 and RS256", len(keys))
	}
	kids := map[string]bool{}
	for _, k := range keys {
		if k["d"] != nil || k["p"] != nil {
			t.Fatal("JWKS publishes a private key")
		}
		kids[k["kid"].(string)] = true
	}
	// The tokens are signed with those very keys.
	p := e.portal("portal", "http://localhost/callback")
	bk := e.portal("bank", "http://localhost/bank/callback")
	old, err := p.Finish(t.Context(), callback(t, e.browser().login(p.Start(nil), e.l2, "mật khẩu dài 2")))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := bk.Finish(t.Context(), callback(t, e.browser().login(bk.Start(nil), e.l2, "mật khẩu dài 2")))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{old.IDToken, rb.IDToken} {
		var hdr struct {
			Kid string `json:"kid"`
		}
		h, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		_ = json.Unmarshal(h, &hdr)
		if !kids[hdr.Kid] {
			t.Errorf("token signed with kid %q, not one published at start %v", hdr.Kid, kids)
		}
	}
	if n := len(jwks()); n != 2 {
		t.Errorf("after the first tokens JWKS has %d keys, want the same 2", n)
	}
	// Rotation: after the rotation period new keys sign, and the old ones
	// stay published until their tokens have expired: an ID token signed
	// before the rotation still verifies at a relying party that fetches
	// the JWKS afresh.
	e.clock.add(30*24*time.Hour + time.Minute)
	fresh := e.portal("portal", "http://localhost/callback")
	if _, err := fresh.Finish(t.Context(), callback(t, e.browser().login(fresh.Start(nil), e.l2, "mật khẩu dài 2"))); err != nil {
		t.Fatal(err)
	}
	if n := len(jwks()); n != 4 {
		t.Errorf("after rotation JWKS has %d keys, want 4 (old and new of both algorithms)", n)
	}
	if _, err := fresh.Verifier().Verify(t.Context(), old.IDToken); err != nil {
		t.Errorf("a token signed before the rotation no longer verifies: %v", err)
	}
	e.clock.add(2 * time.Hour)
	if n := len(jwks()); n != 2 {
		t.Errorf("after the grace period JWKS has %d keys, want 2", n)
	}
	for _, k := range jwks() {
		if kids[k["kid"].(string)] {
			t.Errorf("retired key %s still published", k["kid"])
		}
	}
}

func TestIntrospectionAndRevocation(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback")
	code, ver := e.codeFor(p, e.l2, "mật khẩu dài 2")
	_, tok := e.token("portal", exchange(code, ver, "http://localhost/callback"))
	access := tok["access_token"].(string)
	introspect := func(client string) map[string]any {
		req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/introspect", strings.NewReader(url.Values{"token": {access}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(client, e.secrets[client])
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return m
	}
	if m := introspect("portal"); m["active"] != true || m["client_id"] != "portal" || m["acr"] != oidc.ACRLevel2 {
		t.Errorf("introspection: %v", m)
	}
	if m := introspect("bank"); m["active"] == true {
		t.Error("another client may introspect the portal's token")
	}
	req, _ := http.NewRequest(http.MethodPost, e.issuer+"/revoke", strings.NewReader(url.Values{"token": {access}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("portal", e.secrets["portal"])
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	if m := introspect("portal"); m["active"] == true {
		t.Error("revoked token still active")
	}
}

// TestCodeExchangeOnce exchanges one code many times at once: the code is
// claimed in the token's transaction, and exactly one exchange gets
// tokens, on both databases.
func TestCodeExchangeOnce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testCodeExchangeOnce(t, newEnv(t)) })
	t.Run("postgres", func(t *testing.T) { testCodeExchangeOnce(t, newEnvOn(t, pgtest.Open(t, "cancuoc_oidc_code_once"))) })
}

func testCodeExchangeOnce(t *testing.T, e *env) {
	p := e.portal("portal", "http://localhost/callback", "openid", "profile")
	code, ver := e.codeFor(p, e.l2, "mật khẩu dài 2")
	form := exchange(code, ver, "http://localhost/callback").Encode()
	const n = 8
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		mu     sync.Mutex
		ok     int
		failed []error
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodPost, e.issuer+"/oauth/token", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("portal", e.secrets["portal"])
			res, err := e.srv.Client().Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, err)
				return
			}
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				ok++
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range failed {
		t.Error(err)
	}
	if ok != 1 {
		t.Fatalf("%d of %d exchanges of one code got tokens, want 1", ok, n)
	}
}
