package oidc_test

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// sessionCookie returns the browser's session cookie at the provider.
func (b *browser) sessionCookie(t *testing.T) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(b.e.issuer + "/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "cancuoc_oidc_s" {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// TestServerSideSession: the session cookie is HttpOnly and SameSite=Lax
// and holds only a random value; the session lives in the store, so a
// logout ends it for a copied cookie too, and a new login in the browser
// ends the previous session.
func TestServerSideSession(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	p := e.portal("portal", "http://localhost/callback", "openid")

	// The cookie's attributes, on the response that sets it.
	b := e.browser()
	rec := &setCookies{next: http.DefaultTransport}
	b.c.Transport = rec
	if _, err := p.Finish(ctx, callback(t, b.login(p.Start(nil), e.l2, "mật khẩu dài 2"))); err != nil {
		t.Fatal(err)
	}
	var set string
	for _, h := range rec.seen {
		if strings.HasPrefix(h, "cancuoc_oidc_s=") {
			set = h
		}
	}
	if !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") || !strings.Contains(set, "Path=/oidc/") ||
		!strings.Contains(set, "Max-Age=1800") {
		t.Errorf("session cookie %q: want HttpOnly, SameSite=Lax, Path=/oidc/, Max-Age=1800", set)
	}
	if strings.Contains(set, string(e.l2)) {
		t.Error("the cookie holds the PIN")
	}

	// A copy of the cookie in another browser stands for the session while
	// it lives.
	first := b.sessionCookie(t)
	thief := e.browser()
	u, _ := url.Parse(e.issuer + "/")
	thief.c.Jar.SetCookies(u, []*http.Cookie{{Name: first.Name, Value: first.Value, Path: "/oidc/"}})
	if _, err := p.Finish(ctx, callback(t, thief.get(withParams(p.Start(nil), "prompt", "none")))); err != nil {
		t.Fatalf("copied live session: %v", err)
	}

	// A new login in the browser ends the session it replaces.
	if _, err := p.Finish(ctx, callback(t, b.login(withParams(p.Start(nil), "prompt", "login"), e.l2, "mật khẩu dài 2"))); err != nil {
		t.Fatal(err)
	}
	if b.sessionCookie(t).Value == first.Value {
		t.Error("the session value was not renewed at login")
	}
	errorAt(t, thief.get(withParams(p.Start(nil), "prompt", "none")), "http://localhost/callback", "login_required")

	// Logout (RP-initiated) ends the current session in the store.
	second := b.sessionCookie(t)
	b.get(e.issuer + "/end_session?client_id=portal")
	other := e.browser()
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(u, []*http.Cookie{{Name: second.Name, Value: second.Value, Path: "/oidc/"}})
	other.c.Jar = jar
	errorAt(t, other.get(withParams(p.Start(nil), "prompt", "none")), "http://localhost/callback", "login_required")
	// The browser that logged out has no session either.
	errorAt(t, b.get(withParams(p.Start(nil), "prompt", "none")), "http://localhost/callback", "login_required")
}

// setCookies records the Set-Cookie headers of every response.
type setCookies struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (s *setCookies) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := s.next.RoundTrip(r)
	if err == nil {
		s.mu.Lock()
		s.seen = append(s.seen, res.Header.Values("Set-Cookie")...)
		s.mu.Unlock()
	}
	return res, err
}

// TestCleanup: expired authorization requests and sessions are removed,
// live ones kept.
func TestCleanup(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	p := e.portal("portal", "http://localhost/callback", "openid")
	b := e.browser()
	if _, err := p.Finish(ctx, callback(t, b.login(p.Start(nil), e.l2, "mật khẩu dài 2"))); err != nil {
		t.Fatal(err)
	}
	// A request still being filled in, stored by its first step (an
	// authorize alone stores nothing: sealed.go).
	now := e.clock.now().UTC()
	id := "live-request"
	if err := e.store.InsertAuthRequest(ctx, &cancuoc.AuthRequest{ID: id, ClientID: "portal", CreatedAt: now,
		ExpiresAt: now.Add(10 * time.Minute), Doc: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte(b.sessionCookie(t).Value))
	if err := e.prov.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.LoginSession(ctx, hash[:]); err != nil {
		t.Errorf("a live session was removed: %v", err)
	}
	if _, err := e.store.AuthRequest(ctx, id); err != nil {
		t.Errorf("a live request was removed: %v", err)
	}
	// Expired, the row stays a while: its sealed form is refused from
	// now on, on this node; a node whose clock is behind may still take
	// it, and only the row refuses its second use.
	e.clock.add(12 * time.Minute)
	if err := e.prov.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.AuthRequest(ctx, id); err != nil {
		t.Errorf("a request expired a moment ago was removed: %v", err)
	}
	e.clock.add(19 * time.Minute)
	if err := e.prov.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.LoginSession(ctx, hash[:]); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("an expired session was kept: %v", err)
	}
	if _, err := e.store.AuthRequest(ctx, id); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("an expired request was kept: %v", err)
	}
}
