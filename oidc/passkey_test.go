package oidc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/internal/webauthntest"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/sqlite"
)

// The test's own accounts have no passkeys; passkey logins are tested with
// the real eid.Service (newEIDEnv).

func (a *accounts) BeginPasskeyLogin(ctx context.Context, pin cancuoc.PIN) (*protocol.CredentialAssertion, []byte, error) {
	return nil, nil, cancuoc.E(cancuoc.NotFound, "test", "no_passkey", "không có", "none")
}

func (a *accounts) FinishPasskeyLogin(ctx context.Context, session []byte, r *http.Request) (*cancuoc.Account, error) {
	return nil, cancuoc.E(cancuoc.Unauthenticated, "test", "passkey_invalid", "sai", "wrong")
}

// smsBox stands for the SMS gateway, the edge of the system: it keeps the
// one-time codes for the test to read.
type smsBox struct {
	mu   sync.Mutex
	last string
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func (b *smsBox) Send(_ context.Context, phone, msg string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = sixDigits.FindString(msg)
	return nil
}

// eidEnv is the env with the real eid.Service behind the provider, served
// at localhost (a WebAuthn relying party ID must be a domain name), and
// the level-2 test citizen registered with a password.
type eidEnv struct {
	*env
	eid *eid.Service
	sms *smsBox
	acc *cancuoc.Account
}

const eidPassword = "mật khẩu dài 2"

func newEIDEnv(t *testing.T, st cancuoc.Store) *eidEnv {
	t.Helper()
	ee := &eidEnv{sms: &smsBox{}}
	ee.env = newEnvWith(t, st, "localhost", func(e *env) oidc.Accounts {
		cfg := eid.DefaultConfig()
		cfg.Password = eid.FastTestPasswordParams()
		cfg.RPID, cfg.RPOrigins = "localhost", []string{e.root}
		s, err := eid.New(st, ee.sms, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ee.eid = s
		return s
	})
	ctx := t.Context()
	c, err := st.Citizen(ctx, ee.l2)
	if err != nil {
		t.Fatal(err)
	}
	pend, err := ee.eid.StartRegistration(ctx, eid.Registration{PIN: c.PIN, FullName: c.FullName, BirthDate: c.BirthDate, Phone: "0912345678"}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	ee.sms.mu.Lock()
	code := ee.sms.last
	ee.sms.mu.Unlock()
	if ee.acc, err = ee.eid.ConfirmRegistration(ctx, pend.ChallengeID, code, eidPassword, facePhoto(t)); err != nil {
		t.Fatal(err)
	}
	return ee
}

// facePhoto is a valid PNG of the smallest accepted size.
func facePhoto(t *testing.T) eid.Photo {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return eid.Photo{ContentType: "image/png", Data: buf.Bytes()}
}

// enrolTOTP gives the account a TOTP authenticator and returns its secret.
func (ee *eidEnv) enrolTOTP(t *testing.T) string {
	t.Helper()
	en, err := ee.eid.BeginTOTP(t.Context(), ee.acc)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := eid.TOTPCode(en.Secret, time.Now(), 6)
	if err := ee.eid.ConfirmTOTP(t.Context(), ee.acc, en.ChallengeID, code); err != nil {
		t.Fatal(err)
	}
	return en.Secret
}

// registerPasskey registers k as a passkey of the account through eid.
func (ee *eidEnv) registerPasskey(t *testing.T, k *webauthntest.Authenticator) {
	t.Helper()
	reg, err := ee.eid.BeginPasskeyRegistration(t.Context(), ee.acc)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(k.Create(reg.Options.Response.Challenge)))
	r.Header.Set("Content-Type", "application/json")
	if _, err := ee.eid.FinishPasskeyRegistration(t.Context(), ee.acc, reg.ChallengeID, "khoá thử", r); err != nil {
		t.Fatal(err)
	}
}

// passkeyBegin is the login page's script asking for assertion options.
func (b *browser) passkeyBegin(f url.Values, pin cancuoc.PIN) (int, *protocol.CredentialAssertion, map[string]string) {
	b.t.Helper()
	g := url.Values{"id": {f.Get("id")}, "csrf": {f.Get("csrf")}, "ar": {f.Get("ar")}, "pin": {string(pin)}}
	req, _ := http.NewRequest(http.MethodPost, b.e.root+"/oidc/login/passkey/begin", strings.NewReader(g.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		var prob map[string]string
		_ = json.Unmarshal(body, &prob)
		return res.StatusCode, nil, prob
	}
	var ca protocol.CredentialAssertion
	if err := json.Unmarshal(body, &ca); err != nil {
		b.t.Fatalf("assertion options %s: %v", body, err)
	}
	f.Del("ar") // the request is stored now: the script clears its sealed form
	return res.StatusCode, &ca, nil
}

var optionsAttr = regexp.MustCompile(`data-options="([^"]*)"`)

// pageOptions reads the discoverable ceremony's options from a login page
// (nil if it has none).
func pageOptions(t *testing.T, body string) *protocol.CredentialAssertion {
	t.Helper()
	m := optionsAttr.FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	var ca protocol.CredentialAssertion
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &ca); err != nil {
		t.Fatalf("options %s: %v", m[1], err)
	}
	return &ca
}

// passkeyFinish is the script posting the assertion as a form, with the
// sealed request the page carries when f has it (a discoverable login;
// after passkeyBegin the script clears it).
func (b *browser) passkeyFinish(f url.Values, cred []byte) resp {
	return b.post("/oidc/login/passkey", url.Values{"id": {f.Get("id")}, "csrf": {f.Get("csrf")}, "ar": {f.Get("ar")}, "credential": {string(cred)}})
}

// TestPasskeyLogin logs a citizen into the portal with a passkey through
// the login page's endpoints, as its script does, on both databases.
func TestPasskeyLogin(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		testPasskeyLogin(t, st)
	})
	t.Run("postgres", func(t *testing.T) { testPasskeyLogin(t, pgtest.Open(t, "cancuoc_oidc_pk")) })
}

func testPasskeyLogin(t *testing.T, st cancuoc.Store) {
	ee := newEIDEnv(t, st)
	ctx := t.Context()
	key := webauthntest.New(t, "localhost", ee.root)
	ee.registerPasskey(t, key)
	p := ee.portal("portal", "http://localhost/callback", "openid", "profile")

	b := ee.browser()
	r := b.get(p.Start(nil))
	if r.status != http.StatusOK || !strings.Contains(r.body, "Đăng nhập bằng khoá truy cập") || !strings.Contains(r.body, "/static/passkey.js") {
		t.Fatalf("login page: %d %s", r.status, r.body)
	}
	f := fields(r.body)

	// The page carries the discoverable ceremony started with the request.
	// An answer to another challenge is refused and uses it up; then
	// finishing without a started ceremony is refused, as are a forged
	// CSRF token and another browser.
	if dopts := pageOptions(t, r.body); dopts == nil || len(dopts.Response.AllowedCredentials) != 0 || len(dopts.Response.Challenge) < 16 {
		t.Fatalf("login page without the discoverable ceremony's options: %+v", dopts)
	}
	if r := b.passkeyFinish(f, key.Get(t, []byte("not the ceremony's challenge 0123456789"), []byte(ee.acc.ID))); r.status != http.StatusUnauthorized {
		t.Errorf("finish with another challenge: %d", r.status)
	}
	// The page's sealed request, used up by that failure, is refused when
	// posted again; without it the stored request has no ceremony.
	if r := b.passkeyFinish(f, key.Get(t, []byte("no ceremony was started 0123456789"), []byte(ee.acc.ID))); r.status != http.StatusConflict ||
		!strings.Contains(r.body, "đã được dùng") {
		t.Errorf("sealed request posted again: %d", r.status)
	}
	f.Del("ar")
	if r := b.passkeyFinish(f, key.Get(t, []byte("no ceremony was started 0123456789"), []byte(ee.acc.ID))); r.status != http.StatusBadRequest {
		t.Errorf("finish without begin: %d", r.status)
	}
	forged := url.Values{"id": {f.Get("id")}, "csrf": {"forged"}}
	if st, _, _ := b.passkeyBegin(forged, ee.l2); st != http.StatusForbidden {
		t.Errorf("begin with a forged CSRF token: %d", st)
	}
	if st, _, _ := ee.browser().passkeyBegin(f, ee.l2); st != http.StatusForbidden {
		t.Errorf("begin from another browser: %d", st)
	}
	// No passkey and no account get the same answer.
	st1, _, prob1 := b.passkeyBegin(f, ee.l1)
	if st1 != http.StatusNotFound || prob1["code"] != "no_passkey" {
		t.Errorf("begin for a citizen without an account: %d %v", st1, prob1)
	}

	// A signature by another key fails, is recorded, and uses the
	// ceremony up: the genuine answer to the same challenge is refused.
	status, ca, prob := b.passkeyBegin(f, ee.l2)
	if status != http.StatusOK {
		t.Fatalf("begin: %d %v", status, prob)
	}
	if ca.Response.RelyingPartyID != "localhost" || len(ca.Response.AllowedCredentials) != 1 {
		t.Errorf("options %+v", ca.Response)
	}
	evil := webauthntest.New(t, "localhost", ee.root)
	evil.CredID = key.CredID
	if r := b.passkeyFinish(f, evil.Get(t, ca.Response.Challenge, []byte(ee.acc.ID))); r.status != http.StatusUnauthorized ||
		!strings.Contains(r.body, "khoá truy cập") {
		t.Errorf("another key: %d", r.status)
	}
	if r := b.passkeyFinish(f, key.Get(t, ca.Response.Challenge, []byte(ee.acc.ID))); r.status != http.StatusBadRequest {
		t.Errorf("replayed ceremony: %d", r.status)
	}
	entries, _ := ee.store.AuditFor(ctx, ee.l2, 20)
	if !slices.ContainsFunc(entries, func(e *cancuoc.AuditEntry) bool { return e.Outcome == "failed_passkey" }) {
		t.Error("failed passkey login not recorded")
	}

	// The genuine login: consent, then the code at the portal.
	_, ca, _ = b.passkeyBegin(f, ee.l2)
	r = b.passkeyFinish(f, key.Get(t, ca.Response.Challenge, []byte(ee.acc.ID)))
	if r.status != http.StatusOK || !strings.Contains(r.body, `value="allow"`) {
		t.Fatalf("passkey login: want the consent page, got %d %s", r.status, r.body)
	}
	cf := fields(r.body)
	cf.Set("decision", "allow")
	res, err := p.Finish(ctx, callback(t, b.post("/oidc/consent", cf)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.AMR, []string{"swk", "mfa"}) || res.ACR != oidc.ACRLevel1 {
		t.Errorf("amr %v acr %q, want [swk mfa] and level 1", res.AMR, res.ACR)
	}
	if res.Claims["name"] != "Nguyễn Văn Đức" {
		t.Errorf("claims %v", res.Claims)
	}

	// Without user verification the passkey is one factor: no mfa.
	key.UV = false
	b = ee.browser()
	r = b.get(p.Start(nil))
	f = fields(r.body)
	_, ca, _ = b.passkeyBegin(f, ee.l2)
	res, err = p.Finish(ctx, callback(t, b.passkeyFinish(f, key.Get(t, ca.Response.Challenge, []byte(ee.acc.ID)))))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.AMR, []string{"swk"}) {
		t.Errorf("amr without user verification %v, want [swk]", res.AMR)
	}

	// That login, with its consent in force, wrote its records in the
	// code's transaction: the login is on the account, and the browser's
	// session spares the next login.
	logins, err := ee.eid.Logins(ctx, ee.acc.ID, 10)
	if err != nil || len(logins) != 2 || !slices.Equal(logins[0].AMR, []string{"swk"}) {
		t.Errorf("logins %v %v, want the two passkey logins", logins, err)
	}
	if _, err := p.Finish(ctx, callback(t, b.get(p.Start(nil)))); err != nil {
		t.Errorf("login through the session: %v", err)
	}

	// The discoverable ceremony of the page, without typing the PIN: the
	// user handle names the account. An unknown handle is refused.
	b = ee.browser()
	r = b.get(p.Start(nil))
	f, dopts := fields(r.body), pageOptions(t, r.body)
	if r := b.passkeyFinish(f, key.Get(t, dopts.Response.Challenge, []byte("acc-unknown"))); r.status != http.StatusUnauthorized {
		t.Errorf("discoverable login with an unknown user handle: %d", r.status)
	}
	r = b.get(p.Start(nil))
	f, dopts = fields(r.body), pageOptions(t, r.body)
	res, err = p.Finish(ctx, callback(t, b.passkeyFinish(f, key.Get(t, dopts.Response.Challenge, []byte(ee.acc.ID)))))
	if err != nil {
		t.Fatal(err)
	}
	if res.Claims["name"] != "Nguyễn Văn Đức" || !slices.Equal(res.AMR, []string{"swk"}) {
		t.Errorf("discoverable login: claims %v amr %v", res.Claims, res.AMR)
	}
	if logins, _ := ee.eid.Logins(ctx, ee.acc.ID, 10); len(logins) != 3 {
		t.Errorf("%d logins after the discoverable one, want 3", len(logins))
	}
}

// TestPasskeyCeremonyOnce finishes one passkey ceremony many times at once
// with the same genuine assertion: at most one finish logs in (one
// login recorded, one code), on both databases, whether
// the login goes to the consent page or straight to the code.
func TestPasskeyCeremonyOnce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "db.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		testPasskeyCeremonyOnce(t, st)
	})
	t.Run("postgres", func(t *testing.T) { testPasskeyCeremonyOnce(t, pgtest.Open(t, "cancuoc_oidc_pk_once")) })
}

func testPasskeyCeremonyOnce(t *testing.T, st cancuoc.Store) {
	ee := newEIDEnv(t, st)
	ctx := t.Context()
	key := webauthntest.New(t, "localhost", ee.root)
	ee.registerPasskey(t, key)
	p := ee.portal("portal", "http://localhost/callback", "openid", "profile")

	// sealed: the page's discoverable ceremony, whose request the form
	// carries sealed and no step has stored; each finish inserts it, and
	// the primary key lets one through. Else a ceremony for the PIN
	// (passkeyBegin), which stores the request first.
	race := func(wantConsent, sealed bool) resp {
		t.Helper()
		b := ee.browser()
		page := b.get(p.Start(nil)).body
		f := fields(page)
		var challenge []byte
		if sealed {
			challenge = pageOptions(t, page).Response.Challenge
		} else {
			status, ca, prob := b.passkeyBegin(f, ee.l2)
			if status != http.StatusOK {
				t.Fatalf("begin: %d %v", status, prob)
			}
			challenge = ca.Response.Challenge
		}
		form := url.Values{"id": {f.Get("id")}, "csrf": {f.Get("csrf")}, "ar": {f.Get("ar")},
			"credential": {string(key.Get(t, challenge, []byte(ee.acc.ID)))}}.Encode()
		const n = 8
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			mu    sync.Mutex
			wins  []resp
			errs  []error
		)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				req, _ := http.NewRequest(http.MethodPost, ee.root+"/oidc/login/passkey", strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				res, err := b.c.Do(req)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				r := resp{status: res.StatusCode, body: string(body), location: res.Header.Get("Location")}
				consent := r.status == http.StatusOK && strings.Contains(r.body, `value="allow"`)
				code := r.status/100 == 3 && strings.Contains(r.location, "code=")
				// A second use is refused: a page saying so, or, where op
				// was issuing the code, an error at the client saying so.
				used := (r.status == http.StatusConflict && strings.Contains(r.body, "đã được dùng")) ||
					(r.status/100 == 3 && strings.Contains(r.location, "error=") && strings.Contains(r.location, "already+used"))
				if sealed && !consent && !code && !used {
					errs = append(errs, fmt.Errorf("a second use of the sealed request: %d %s, want 409 login_used", r.status, r.location))
				}
				if consent || code {
					if consent != wantConsent {
						errs = append(errs, fmt.Errorf("a finish gave consent=%v, want %v: %d %s", consent, wantConsent, r.status, r.location))
					}
					wins = append(wins, r)
				}
			}()
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		// A finish that comes after the winner's commit sees the request
		// at its next step and shows it again (the consent page, as on a
		// reload), without logging in: the login records below count
		// logins. A code is issued once.
		if len(wins) == 0 || ((sealed || !wantConsent) && len(wins) != 1) {
			t.Fatalf("%d of %d finishes of one ceremony succeeded", len(wins), n)
		}
		return wins[0]
	}

	// Without a consent: one finish reaches the consent page.
	race(true, false)
	logins, err := ee.eid.Logins(ctx, ee.acc.ID, 10)
	if err != nil || len(logins) != 1 {
		t.Fatalf("logins after the first race: %d %v, want 1", len(logins), err)
	}
	race(true, true)
	if logins, err = ee.eid.Logins(ctx, ee.acc.ID, 10); err != nil || len(logins) != 2 {
		t.Fatalf("logins after the sealed race: %d %v, want 2", len(logins), err)
	}
	// The consent, as the consent page would store it.
	if err := st.PutConsent(ctx, &cancuoc.Consent{PIN: ee.l2, ClientID: "portal", Scopes: []string{"openid", "profile"}, GrantedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// With the consent in force: one finish gets the code, and the login,
	// its session and the passkey's counter are written once.
	race(false, false)
	logins, err = ee.eid.Logins(ctx, ee.acc.ID, 10)
	if err != nil || len(logins) != 3 {
		t.Fatalf("logins after the second race: %d %v, want 3", len(logins), err)
	}
	race(false, true)
	if logins, err = ee.eid.Logins(ctx, ee.acc.ID, 10); err != nil || len(logins) != 4 {
		t.Fatalf("logins after the second sealed race: %d %v, want 4", len(logins), err)
	}
}

// TestPasskeyLoginConsentRead: the consent that decides between the code
// and the consent page is read with the passkey's account
// (AccountPasskeysConsent), not on its own. Only a consent of this citizen
// for this client, in force and covering every scope asked, spares the
// consent page: another client's, one for fewer scopes and a revoked one
// do not.
func TestPasskeyLoginConsentRead(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		testPasskeyLoginConsentRead(t, st)
	})
	t.Run("postgres", func(t *testing.T) { testPasskeyLoginConsentRead(t, pgtest.Open(t, "cancuoc_oidc_pkcs")) })
}

func testPasskeyLoginConsentRead(t *testing.T, st cancuoc.Store) {
	ee := newEIDEnv(t, st)
	ctx := t.Context()
	key := webauthntest.New(t, "localhost", ee.root)
	ee.registerPasskey(t, key)
	p := ee.portal("portal", "http://localhost/callback", "openid", "profile")
	// login finishes the page's discoverable ceremony in a new browser (no
	// session): true when it ends at the consent page, false with a code.
	login := func(label string) bool {
		t.Helper()
		b := ee.browser()
		r := b.get(p.Start(nil))
		f, opts := fields(r.body), pageOptions(t, r.body)
		r = b.passkeyFinish(f, key.Get(t, opts.Response.Challenge, []byte(ee.acc.ID)))
		if r.status == http.StatusOK && strings.Contains(r.body, `value="allow"`) {
			return true
		}
		if _, err := p.Finish(ctx, callback(t, r)); err != nil {
			t.Fatalf("%s: neither the consent page nor a code: %d %s %v", label, r.status, r.location, err)
		}
		return false
	}
	put := func(c *cancuoc.Consent) {
		t.Helper()
		if err := st.PutConsent(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	put(&cancuoc.Consent{PIN: ee.l2, ClientID: "other", Scopes: []string{"openid", "profile"}, GrantedAt: time.Now()})
	if !login("another client's consent") {
		t.Error("another client's consent spared the consent page")
	}
	put(&cancuoc.Consent{PIN: ee.l2, ClientID: "portal", Scopes: []string{"openid"}, GrantedAt: time.Now()})
	if !login("a consent for fewer scopes") {
		t.Error("a consent without profile spared the consent page")
	}
	put(&cancuoc.Consent{PIN: ee.l2, ClientID: "portal", Scopes: []string{"openid", "profile"}, GrantedAt: time.Now()})
	if login("a consent in force") {
		t.Error("a consent in force did not spare the consent page")
	}
	if err := st.RevokeConsent(ctx, ee.l2, "portal", time.Now()); err != nil {
		t.Fatal(err)
	}
	if !login("a revoked consent") {
		t.Error("a revoked consent spared the consent page")
	}
}
