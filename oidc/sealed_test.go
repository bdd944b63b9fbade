package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSealedRequestRefusals: /authorize stores nothing; its login page
// carries the request sealed (sealed.go). A sealed form that was altered,
// has expired, comes from another browser or names another request is
// refused with a page that says so, and nothing is logged in or stored.
func TestSealedRequestRefusals(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback", "openid")
	b := e.browser()
	page := b.get(p.Start(nil))
	f := fields(page.body)
	if f.Get("ar") == "" {
		t.Fatalf("login page without its sealed request: %.300s", page.body)
	}
	if _, err := e.store.AuthRequest(t.Context(), f.Get("id")); err == nil {
		t.Fatal("authorize stored the request")
	}
	login := func(b *browser, f url.Values) resp {
		g := url.Values{}
		for k, v := range f {
			g[k] = v
		}
		g.Set("pin", string(e.l1))
		g.Set("password", "mật khẩu dài 1")
		return b.post("/oidc/login", g)
	}
	refused := func(what string, r resp, status int, msg string) {
		t.Helper()
		if r.status != status || !strings.Contains(r.body, msg) {
			t.Errorf("%s: %d, want %d with %q: %.300s", what, r.status, status, msg, r.body)
		}
		if _, err := e.store.AuthRequest(t.Context(), f.Get("id")); err == nil {
			t.Errorf("%s: the request was stored", what)
		}
	}
	tampered := func(s string) string {
		c := []byte(s)
		i := len(c) / 2
		if c[i] == 'A' {
			c[i] = 'B'
		} else {
			c[i] = 'A'
		}
		return string(c)
	}
	g := url.Values{"id": {f.Get("id")}, "csrf": {f.Get("csrf")}, "ar": {tampered(f.Get("ar"))}}
	refused("an altered sealed request", login(b, g), http.StatusForbidden, "bị thay đổi")

	// Another request's sealed form under this request's ID (and CSRF
	// token): the form names its own request, of its own client and
	// redirect URI, and does not open for another ID.
	other := fields(b.get(e.portal("bank", "http://localhost/bank/callback", "openid").Start(nil)).body)
	g = url.Values{"id": {f.Get("id")}, "csrf": {f.Get("csrf")}, "ar": {other.Get("ar")}}
	refused("another request's sealed form", login(b, g), http.StatusForbidden, "bị thay đổi")
	g = url.Values{"id": {other.Get("id")}, "csrf": {other.Get("csrf")}, "ar": {f.Get("ar")}}
	if r := login(b, g); r.status != http.StatusForbidden {
		t.Errorf("the sealed form under another request's ID: %d", r.status)
	}

	// Another browser, with the page's whole form.
	refused("another browser", login(e.browser(), f), http.StatusForbidden, "trình duyệt khác")

	// Without the sealed form, the request is unknown.
	g = url.Values{"id": {f.Get("id")}, "csrf": {f.Get("csrf")}}
	refused("no sealed form", login(b, g), http.StatusForbidden, "Không tìm thấy yêu cầu")

	// The language switch carries it, and shows the page again.
	if r := b.get(e.root + "/oidc/login?" + url.Values{"id": {f.Get("id")}, "ar": {f.Get("ar")}, "lang": {"vi"}}.Encode()); r.status != http.StatusOK ||
		!strings.Contains(r.body, `name="ar" value="`) {
		t.Errorf("language switch with the sealed request: %d %.300s", r.status, r.body)
	}

	// Expired.
	e.clock.add(11 * time.Minute)
	refused("an expired sealed request", login(b, f), http.StatusForbidden, "hết hạn")
	e.clock.add(-11 * time.Minute)

	// The genuine form logs in, once: the request is stored by that step,
	// and the same form posted again finds it finished.
	r := login(b, f)
	if r.status == http.StatusOK && strings.Contains(r.body, `value="allow"`) {
		cf := fields(r.body)
		cf.Set("decision", "allow")
		r = b.post("/oidc/consent", cf)
	}
	if _, err := p.Finish(t.Context(), callback(t, r)); err != nil {
		t.Fatalf("genuine login: %d %v %.300s", r.status, err, r.body)
	}
	if r := login(b, f); r.status != http.StatusConflict || !strings.Contains(r.body, "đã hoàn tất") {
		t.Errorf("the sealed form after the login: %d %.300s", r.status, r.body)
	}
}
