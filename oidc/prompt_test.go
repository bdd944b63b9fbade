package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// withParams adds authorization request parameters to a portal's URL.
func withParams(authURL string, kv ...string) string {
	u, _ := url.Parse(authURL)
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// authTime reads auth_time from an ID token's payload.
func authTime(t *testing.T, idToken string) time.Time {
	t.Helper()
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(idToken, ".")[1])
	var c struct {
		AuthTime *int64 `json:"auth_time"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.AuthTime == nil {
		t.Fatalf("ID token without auth_time: %s", raw)
	}
	return time.Unix(*c.AuthTime, 0)
}

// errorAt checks a redirect to the client carrying an OAuth error and the
// request's state.
func errorAt(t *testing.T, r resp, redirect, code string) {
	t.Helper()
	if r.status != http.StatusSeeOther && r.status != http.StatusFound {
		t.Fatalf("want a redirect with error %s, got %d: %.300s", code, r.status, r.body)
	}
	u, err := url.Parse(r.location)
	if err != nil || !strings.HasPrefix(r.location, redirect+"?") {
		t.Fatalf("redirect to %q, want %s", r.location, redirect)
	}
	if got := u.Query().Get("error"); got != code || u.Query().Get("state") == "" || u.Query().Get("code") != "" {
		t.Errorf("redirect %s: error %q, want %q with the state and no code", r.location, got, code)
	}
}

// TestPromptNone: without a session the answer is login_required; with a
// session and a consent in force, a code without any page; with a session
// but no consent, consent_required; a level too low, interaction_required.
func TestPromptNone(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	p := e.portal("portal", "http://localhost/callback", "openid", "profile")
	b := e.browser()
	errorAt(t, b.get(withParams(p.Start(nil), "prompt", "none")), "http://localhost/callback", "login_required")

	first, err := p.Finish(ctx, callback(t, b.login(p.Start(nil), e.l2, "mật khẩu dài 2")))
	if err != nil {
		t.Fatal(err)
	}
	r := b.get(withParams(p.Start(nil), "prompt", "none"))
	res, err := p.Finish(ctx, callback(t, r))
	if err != nil {
		t.Fatalf("prompt=none with a session: %v", err)
	}
	if res.Subject != first.Subject || !strings.Contains(strings.Join(res.AMR, " "), "otp") {
		t.Errorf("silent login as %q amr %v, want %q with the session's factors", res.Subject, res.AMR, first.Subject)
	}

	// The bank (level 2, other sector) has no consent yet.
	bk := e.portal("bank", "http://localhost/bank/callback")
	errorAt(t, b.get(withParams(bk.Start(nil), "prompt", "none")), "http://localhost/bank/callback", "consent_required")

	// A level-1 holder's session on the level-2 bank.
	b1 := e.browser()
	if _, err := p.Finish(ctx, callback(t, b1.login(p.Start(nil), e.l1, "mật khẩu dài 1"))); err != nil {
		t.Fatal(err)
	}
	errorAt(t, b1.get(withParams(bk.Start(nil), "prompt", "none")), "http://localhost/bank/callback", "interaction_required")

	// An id_token_hint of another citizen is not satisfied by this session.
	hint := withParams(p.Start(nil), "prompt", "none", "id_token_hint", first.IDToken)
	errorAt(t, b1.get(hint), "http://localhost/callback", "login_required")
	// The hint of the session's own citizen is.
	if _, err := p.Finish(ctx, callback(t, b.get(withParams(p.Start(nil), "prompt", "none", "id_token_hint", first.IDToken)))); err != nil {
		t.Errorf("prompt=none with the holder's own id_token_hint: %v", err)
	}
}

// TestMaxAgeAndPromptLogin: max_age older than the session's login and
// prompt=login ask for the password again; auth_time is the time of the
// login the session carries.
func TestMaxAgeAndPromptLogin(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	p := e.portal("portal", "http://localhost/callback", "openid")
	b := e.browser()
	start := e.clock.now()
	first, err := p.Finish(ctx, callback(t, b.login(withParams(p.Start(nil), "max_age", "600"), e.l2, "mật khẩu dài 2")))
	if err != nil {
		t.Fatal(err)
	}
	if at := authTime(t, first.IDToken); at.Before(start.Add(-2*time.Second)) || at.After(start.Add(5*time.Second)) {
		t.Errorf("auth_time %v, want about %v", at, start)
	}
	e.clock.add(10 * time.Minute)

	// A max_age the session still meets: a code, auth_time of the first login.
	res, err := p.Finish(ctx, callback(t, b.get(withParams(p.Start(nil), "max_age", "900"))))
	if err != nil {
		t.Fatalf("max_age met: %v", err)
	}
	if !authTime(t, res.IDToken).Equal(authTime(t, first.IDToken)) {
		t.Errorf("auth_time %v after a session login, want the first login's %v", authTime(t, res.IDToken), authTime(t, first.IDToken))
	}
	// A shorter max_age: the login page, and with prompt=none an error.
	if r := b.get(withParams(p.Start(nil), "max_age", "300")); r.status != http.StatusOK || !strings.Contains(r.body, `name="password"`) {
		t.Errorf("max_age exceeded: want the login page, got %d %s", r.status, r.location)
	}
	errorAt(t, b.get(withParams(p.Start(nil), "max_age", "300", "prompt", "none")), "http://localhost/callback", "login_required")
	// Logging in again gives a new auth_time.
	again, err := p.Finish(ctx, callback(t, b.login(withParams(p.Start(nil), "max_age", "300"), e.l2, "mật khẩu dài 2")))
	if err != nil {
		t.Fatal(err)
	}
	if got := authTime(t, again.IDToken); !got.After(authTime(t, first.IDToken).Add(9 * time.Minute)) {
		t.Errorf("auth_time after a fresh login %v, want about 10 minutes after %v", got, authTime(t, first.IDToken))
	}
	// prompt=login always shows the login page.
	if r := b.get(withParams(p.Start(nil), "prompt", "login")); r.status != http.StatusOK || !strings.Contains(r.body, `name="password"`) {
		t.Errorf("prompt=login: want the login page, got %d %s", r.status, r.location)
	}
	// prompt=consent shows the consent page though consent is in force.
	if r := b.get(withParams(p.Start(nil), "prompt", "consent")); r.status != http.StatusOK || !strings.Contains(r.body, `value="allow"`) {
		t.Errorf("prompt=consent: want the consent page, got %d %s", r.status, r.location)
	}
}
