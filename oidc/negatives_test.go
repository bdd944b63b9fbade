package oidc_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/oidc"
)

// negJWTToken exchanges a code at the token endpoint authenticating with a
// client assertion (private_key_jwt), not HTTP Basic.
func (e *env) negJWTToken(form url.Values, assertion string) (int, map[string]any) {
	e.t.Helper()
	if assertion != "" {
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", assertion)
	}
	return e.tokenNoAuth(form)
}

func (e *env) tokenNoAuth(form url.Values) (int, map[string]any) {
	e.t.Helper()
	res, err := e.srv.Client().PostForm(e.issuer+"/oauth/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// TestPrivateKeyJWTAuthorizationCode: a confidential client registered
// for private_key_jwt redeems its code only with an assertion signed by
// its registered key: not with another key, another client's name, a
// stale or wrong-audience assertion, a replayed assertion, or none.
func TestPrivateKeyJWTAuthorizationCode(t *testing.T) {
	e := newEnv(t)
	key, jwks := partnerKey(t, "rp1")
	e.client(oidc.NewClient{ID: "jwtportal", Name: "Cổng JWT", Purpose: "Thủ tục trực tuyến", AuthMethod: cancuoc.ClientAuthPrivateKeyJWT,
		JWKS: jwks, RedirectURIs: []string{"http://localhost/jwt/callback"}})
	if e.secrets["jwtportal"] != "" {
		t.Error("a private_key_jwt client was given a secret")
	}
	p := e.portal("jwtportal", "http://localhost/jwt/callback", "openid", "profile")
	freshForm := func() url.Values {
		code, ver := e.codeFor(p, e.l2, "mật khẩu dài 2")
		form := exchange(code, ver, "http://localhost/jwt/callback")
		form.Set("client_id", "jwtportal")
		return form
	}
	good := func() string { return sign(t, key, "rp1", "jwtportal", e.issuer, time.Minute) }

	// Each refusal gets a fresh code. The provider reads the code without
	// claiming it and claims it only in the token's transaction, after the
	// client is authenticated: a code presented with a failed
	// authentication is not spent, so whoever stole it cannot burn it out
	// from under the client it was issued to, and still gets nothing.
	other, _ := partnerKey(t, "rp1")
	for _, tc := range []struct{ name, assertion string }{
		{"no assertion", ""},
		{"another key", sign(t, other, "rp1", "jwtportal", e.issuer, time.Minute)},
		{"unknown kid", sign(t, key, "rp9", "jwtportal", e.issuer, time.Minute)},
		{"another client", sign(t, key, "rp1", "portal", e.issuer, time.Minute)},
		{"wrong audience", sign(t, key, "rp1", "jwtportal", "https://evil.example/oidc", time.Minute)},
		{"expired", sign(t, key, "rp1", "jwtportal", e.issuer, -time.Minute)},
	} {
		form := freshForm()
		if st, body := e.negJWTToken(cloneForm(form), tc.assertion); st != http.StatusBadRequest && st != http.StatusUnauthorized {
			t.Errorf("%s: %d %v, want the client refused", tc.name, st, body)
		} else if body["access_token"] != nil {
			t.Errorf("%s: a token was issued", tc.name)
		}
		if tc.name == "another key" {
			if st, body := e.negJWTToken(cloneForm(form), good()); st != http.StatusOK {
				t.Errorf("the client could not redeem its code after a forged attempt: %d %v", st, body)
			}
		}
	}
	// HTTP Basic (with no secret to give) is not private_key_jwt.
	if st, _ := e.token("jwtportal", freshForm()); st < 400 {
		t.Errorf("Basic auth for a private_key_jwt client: %d", st)
	}
	form := freshForm()
	st, tok := e.negJWTToken(cloneForm(form), good())
	if st != http.StatusOK || tok["id_token"] == nil || tok["access_token"] == nil {
		t.Fatalf("the registered key's assertion: %d %v", st, tok)
	}
	// The code is single-use with a valid assertion too.
	if st, _ := e.negJWTToken(cloneForm(form), good()); st == http.StatusOK {
		t.Error("a code was redeemed twice")
	}
	if s := e.userinfo(tok["access_token"].(string)); s == http.StatusOK {
		t.Errorf("userinfo %d after the code was replayed: the replay did not revoke the token it gave", s)
	}
}

func cloneForm(f url.Values) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// TestLogoutRedirects: RP-initiated logout redirects only to a registered
// post_logout_redirect_uri of the client, exactly.
func TestLogoutRedirects(t *testing.T) {
	e := newEnv(t)
	e.client(oidc.NewClient{ID: "rp1", Name: "RP", Purpose: "Thử", RedirectURIs: []string{"http://localhost/rp/callback"},
		PostLogoutRedirectURIs: []string{"http://localhost/rp/bye"}})
	end := func(redirect string) resp {
		q := url.Values{"client_id": {"rp1"}, "post_logout_redirect_uri": {redirect}, "state": {"st1"}}
		return e.browser().get(e.issuer + "/end_session?" + q.Encode())
	}
	r := end("http://localhost/rp/bye")
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		t.Fatalf("registered post_logout_redirect_uri: %d %s", r.status, r.body)
	}
	if u, err := url.Parse(r.location); err != nil || u.Scheme+"://"+u.Host+u.Path != "http://localhost/rp/bye" || u.Query().Get("state") != "st1" {
		t.Errorf("registered post_logout_redirect_uri: Location %q", r.location)
	}
	for _, evil := range []string{"https://evil.example/bye", "http://localhost/rp/bye/../../evil", "http://localhost/rp/byex",
		"http://localhost/rp/callback", "//evil.example/bye"} {
		r := end(evil)
		if r.location != "" && !strings.HasPrefix(r.location, e.issuer) {
			t.Errorf("post_logout_redirect_uri %q: redirected to %q", evil, r.location)
		}
		if strings.Contains(r.location, "evil") {
			t.Errorf("post_logout_redirect_uri %q: open redirect %q", evil, r.location)
		}
	}
}

// TestPKCEPlainRefused: only S256 is accepted, for every client.
func TestPKCEPlainRefused(t *testing.T) {
	e := newEnv(t)
	q := url.Values{"client_id": {"portal"}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"},
		"redirect_uri": {"http://localhost/callback"}, "code_challenge": {"a-plain-verifier-of-enough-length-1234567890"},
		"code_challenge_method": {"plain"}}
	r := e.browser().get(e.issuer + "/authorize?" + q.Encode())
	if strings.Contains(r.body, `name="password"`) {
		t.Fatalf("code_challenge_method=plain reached the login page")
	}
	if r.location == "" || !strings.Contains(r.location, "error=invalid_request") || strings.Contains(r.location, "code=") {
		t.Errorf("plain PKCE: %d Location %q, want an invalid_request at the redirect URI", r.status, r.location)
	}
}

var listItem = regexp.MustCompile(`(?s)<ul class="fields">(.*?)</ul>`)

// TestConsentPageFieldsAndLanguage: the consent page lists exactly the
// fields of the scopes asked and the client's stated purpose, and
// ?lang=en switches the login page and, through its cookie, the consent
// page to English.
func TestConsentPageFieldsAndLanguage(t *testing.T) {
	e := newEnv(t)
	e.client(oidc.NewClient{ID: "health", Name: "Bệnh viện Bạch Mai", Purpose: "Đặt lịch khám bệnh trực tuyến",
		RedirectURIs: []string{"http://localhost/health/callback"}})
	p := e.portal("health", "http://localhost/health/callback", "openid", "profile", "phone")

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(u string) (string, string) {
		t.Helper()
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b := new(strings.Builder)
		_, _ = io.Copy(b, res.Body)
		return b.String(), res.Request.URL.String()
	}
	body, at := get(p.Start(nil))
	if !strings.Contains(body, `lang="vi"`) || !strings.Contains(body, "Mật khẩu") {
		t.Fatalf("the login page is not Vietnamese first:\n%s", body)
	}
	sep := "&"
	if !strings.Contains(at, "?") {
		sep = "?"
	}
	body, _ = get(at + sep + "lang=en")
	if !strings.Contains(body, `lang="en"`) || !strings.Contains(body, "Password") || strings.Contains(body, "Mật khẩu") {
		t.Fatalf("?lang=en did not switch the login page:\n%s", body)
	}
	f := fields(body)
	f.Set("pin", string(e.l1))
	f.Set("password", "mật khẩu dài 1")
	res, err := c.PostForm(e.root+"/oidc/login", f)
	if err != nil {
		t.Fatal(err)
	}
	b := new(strings.Builder)
	_, _ = io.Copy(b, res.Body)
	res.Body.Close()
	consent := b.String()
	if !strings.Contains(consent, `value="allow"`) || !strings.Contains(consent, `lang="en"`) {
		t.Fatalf("no English consent page:\n%s", consent)
	}
	m := listItem.FindStringSubmatch(consent)
	if m == nil {
		t.Fatalf("no field list:\n%s", consent)
	}
	items := regexp.MustCompile(`<li>([^<]*)</li>`).FindAllStringSubmatch(m[1], -1)
	var got []string
	for _, it := range items {
		got = append(got, it[1])
	}
	want := []string{"An identifier for this service only (cannot link you across sectors)", "Full name; date of birth; sex",
		"Verified phone number"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("consent fields %q, want exactly %q", got, want)
	}
	if !strings.Contains(consent, "Purpose: Đặt lịch khám bệnh trực tuyến") || !strings.Contains(consent, "Bệnh viện Bạch Mai") {
		t.Errorf("consent page without the client's name and stated purpose:\n%s", consent)
	}
	for _, absent := range []string{"Current residence", "Personal identification number", "Thủ tục", "Giải quyết thủ tục"} {
		if strings.Contains(consent, absent) {
			t.Errorf("consent page mentions %q, which the client did not ask for", absent)
		}
	}
	// Back to Vietnamese.
	u, _ := url.Parse(res.Request.URL.String())
	q := u.Query()
	q.Set("lang", "vi")
	u.RawQuery = q.Encode()
	vi, _ := get(u.String())
	if !strings.Contains(vi, "Họ, chữ đệm và tên; ngày sinh; giới tính") || !strings.Contains(vi, "Mục đích: Đặt lịch khám bệnh trực tuyến") {
		t.Errorf("?lang=vi did not switch the consent page back:\n%s", vi)
	}
}
