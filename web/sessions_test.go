package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// cookie is the value of the named cookie u holds for path.
func (u *user) cookie(path, name string) string {
	base, _ := url.Parse(u.e.root + path)
	for _, c := range u.c.Jar.Cookies(base) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signedIn reports whether a request with only the given cookie reaches
// path (a page behind the login) rather than being sent to log in.
func (e *env) signedIn(path, name, value string) bool {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.root+path, nil)
	req.AddCookie(&http.Cookie{Name: name, Value: value})
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// TestLogoutEndsSession: after logout, a copy of the portal's or the
// console's cookie is no session (review finding 14).
func TestLogoutEndsSession(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		login, page, home, logout, cookie string
		pin                               cancuoc.PIN
	}{
		{"/portal/login", "/portal/record", "/portal/record", "/portal/logout", "cancuoc_portal", e.me},
		{"/console/login", "/console/citizens/" + string(e.me), "/console", "/console/logout", "cancuoc_console", storetest.PIN(2)},
	} {
		u := e.user()
		u.login(c.login, c.pin)
		copied := u.cookie(c.page, c.cookie)
		if copied == "" || !e.signedIn(c.page, c.cookie, copied) {
			t.Fatalf("%s: no session after login", c.login)
		}
		p := u.get(c.home)
		if p := u.post(c.logout, hiddenFields(p.body)); p.status != http.StatusOK {
			t.Fatalf("%s: %d", c.logout, p.status)
		}
		if e.signedIn(c.page, c.cookie, copied) {
			t.Errorf("%s: the copied cookie still works after logout", c.cookie)
		}
	}
}

// TestAccountChangesEndSessions: a password reset ends the citizen's portal
// session; a lock of the officer's eID account ends their console session.
func TestAccountChangesEndSessions(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	u := e.user()
	u.login("/portal/login", e.me)
	if p := u.get("/portal/record"); !strings.Contains(p.body, `id="record"`) {
		t.Fatal("portal login failed")
	}
	pend, err := e.eid.StartPasswordReset(ctx, e.me, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e.sms.mu.Lock()
	code := e.sms.last
	e.sms.mu.Unlock()
	if err := e.eid.ConfirmPasswordReset(ctx, pend.ChallengeID, code, "một mật khẩu mới 789"); err != nil {
		t.Fatal(err)
	}
	if p := u.get("/portal/record"); strings.Contains(p.body, `id="record"`) {
		t.Error("the portal session survived a password reset")
	}

	o := e.user()
	o.login("/console/login", storetest.PIN(2))
	if p := o.get("/console/citizens/" + string(e.me)); p.status != http.StatusOK {
		t.Fatalf("console login failed: %d", p.status)
	}
	acc, err := e.eid.AccountByPIN(ctx, storetest.PIN(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eid.Lock(ctx, acc, acc.PIN); err != nil {
		t.Fatal(err)
	}
	if p := o.get("/console/citizens/" + string(e.me)); p.status == http.StatusOK && strings.Contains(p.body, `id="v2"`) {
		t.Error("the console session survived the lock of the officer's account")
	}
}
