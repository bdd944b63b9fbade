package oidc_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAuthorizeAnswersLoginPage: a valid authorization request is answered
// with the login page itself (no redirect to it), bound to the browser
// (the binding cookie set with the page, its CSRF token accepted by the
// login form), with the page's headers; its language switch names the
// stored request; and the login goes on from it to the client's code.
func TestAuthorizeAnswersLoginPage(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback", "openid", "profile")
	b := e.browser()
	res, err := b.c.Get(p.Start(nil))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	page := string(body)
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/oidc/authorize" {
		t.Fatalf("authorize: %d at %s, want the login page answered by /oidc/authorize itself", res.StatusCode, res.Request.URL.Path)
	}
	if !strings.Contains(page, `action="/oidc/login"`) || !strings.Contains(page, `name="password"`) {
		t.Fatalf("not the login page: %.300s", page)
	}
	h := res.Header
	if h.Get("Location") != "" || h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers of the login page: %v", h)
	}
	f := fields(page)
	if f.Get("id") == "" || f.Get("csrf") == "" {
		t.Fatalf("no request or CSRF token in the page: %v", f)
	}
	// The sealed request is in the page once, in the login form; the
	// language switch is a button of that form, which posts it, and
	// answers the same request's page in the other language, its switch
	// back a button again, without a password attempt.
	if n := strings.Count(page, f.Get("ar")); f.Get("ar") == "" || n != 1 {
		t.Errorf("the sealed request is %d times in the page, want once", n)
	}
	if !strings.Contains(page, `<button type="submit" name="lang" value="en" formnovalidate`) || strings.Contains(page, `class="lang" href=`) {
		t.Errorf("language switch: want a button of the login form and no link:\n%s", page)
	}
	sw := url.Values{"id": {f.Get("id")}, "csrf": {f.Get("csrf")}, "ar": {f.Get("ar")}, "lang": {"en"}}
	if r := b.post("/oidc/login", sw); r.status != http.StatusOK || !strings.Contains(r.body, "Log in") ||
		!strings.Contains(r.body, `value="`+f.Get("id")+`"`) || !strings.Contains(r.body, `name="lang" value="vi"`) ||
		strings.Contains(r.body, `<p class="error" role="alert">`) {
		t.Errorf("language switch: %d %.300s", r.status, r.body)
	}
	// Without the CSRF token, the switch is refused as the form is.
	sw.Del("csrf")
	if r := b.post("/oidc/login", sw); r.status != http.StatusForbidden {
		t.Errorf("language switch without the CSRF token: %d, want 403", r.status)
	}
	// The link of an earlier page (the request sealed in its URL) still
	// works.
	switchTo := "/oidc/login?" + url.Values{"id": {f.Get("id")}, "ar": {f.Get("ar")}, "lang": {"en"}}.Encode()
	if r := b.get(e.root + switchTo); r.status != http.StatusOK || !strings.Contains(r.body, "Log in") ||
		!strings.Contains(r.body, `value="`+f.Get("id")+`"`) {
		t.Errorf("language switch: %d %.200s", r.status, r.body)
	}
	// A page of another browser (no binding cookie) cannot use the form.
	if r := (&browser{t: t, e: e, c: &http.Client{}}).post("/oidc/login", f); r.status != http.StatusForbidden {
		t.Errorf("another browser posting the form: %d, want 403", r.status)
	}
	f.Set("pin", string(e.l1))
	f.Set("password", "mật khẩu dài 1")
	r := b.post("/oidc/login", f)
	if r.status == http.StatusOK && strings.Contains(r.body, `value="allow"`) {
		f = fields(r.body)
		f.Set("decision", "allow")
		r = b.post("/oidc/consent", f)
	}
	if _, err := p.Finish(t.Context(), callback(t, r)); err != nil {
		t.Fatal(err)
	}
}

// TestAuthorizeErrorsPassThrough: a request op refuses is answered as op
// answers it (here an error at the registered redirect URI), not with a
// login page.
func TestAuthorizeErrorsPassThrough(t *testing.T) {
	e := newEnv(t)
	u := e.issuer + "/authorize?" + url.Values{"client_id": {"portal"}, "response_type": {"code"}, "scope": {"openid"},
		"redirect_uri": {"http://localhost/callback"}, "state": {"s"}, "code_challenge": {"x"},
		"code_challenge_method": {"plain"}}.Encode()
	r := e.browser().get(u)
	if r.status != http.StatusFound || !strings.HasPrefix(r.location, "http://localhost/callback?") ||
		!strings.Contains(r.location, "error=invalid_request") || strings.Contains(r.body, `name="password"`) {
		t.Fatalf("refused request: %d %s %.200s", r.status, r.location, r.body)
	}
}

// TestAuthorizeAnswersFromSession: with a live session and a consent in
// force, /authorize itself answers with the redirect to the client
// carrying the code (no step through /login), and prompt=none without a
// session gets login_required from /authorize itself.
func TestAuthorizeAnswersFromSession(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback", "openid")
	b := e.browser()
	// Redirects are not followed, so the answer seen is /authorize's own.
	stay := &browser{t: t, e: e, c: &http.Client{Jar: b.c.Jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	errorAt(t, stay.get(withParams(p.Start(nil), "prompt", "none")), "http://localhost/callback", "login_required")
	if _, err := p.Finish(t.Context(), callback(t, b.login(p.Start(nil), e.l1, "mật khẩu dài 1"))); err != nil {
		t.Fatal(err)
	}
	r := stay.get(p.Start(nil))
	if !strings.HasPrefix(r.location, "http://localhost/callback?") {
		t.Fatalf("authorize with a session: %d to %q, want the redirect to the client", r.status, r.location)
	}
	if _, err := p.Finish(t.Context(), callback(t, r)); err != nil {
		t.Fatal(err)
	}
}
