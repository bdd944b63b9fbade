package oidc

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/seal"
	"github.com/cancuoc/cancuoc/sqlite"
)

// FuzzAssertionIssuer feeds the token endpoint's unverified read of a
// client assertion: it must never panic, whatever arrives.
func FuzzAssertionIssuer(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJiYW5rIn0.sig")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) { _ = assertionIssuer(s) })
}

// FuzzSessionCookie checks that a forged or garbled session cookie is
// refused, never trusted and never a panic: only the value of a session
// the store holds is one.
func FuzzSessionCookie(f *testing.F) {
	st, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	p := &Provider{store: st, cookie: derive([]byte(strings.Repeat("k", 32)), "cookie"),
		cfg: Config{Now: time.Now, SessionLifetime: time.Hour}, log: slog.New(slog.DiscardHandler)}
	lw := p.newLoginWrites(httptest.NewRequest(http.MethodGet, "/", nil),
		&cancuoc.Account{ID: "a_1", PIN: "001090000001"}, "portal", []string{"pwd"}, time.Now())
	if err := p.writeSession(context.Background(), st, lw); err != nil {
		f.Fatal(err)
	}
	real := lw.value
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add(real[:len(real)-1] + "x")
	f.Fuzz(func(t *testing.T, v string) {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: cookieSession, Value: v})
		if s := p.readSession(r); s != nil && v != real {
			t.Fatalf("forged cookie %q accepted", v)
		}
	})
}

// FuzzNewClient feeds client registrations (the body of POST /v1/clients)
// to validation: no panic, and anything accepted is well formed.
func FuzzNewClient(f *testing.F) {
	f.Add(`{"id":"portal","name":"P","purpose":"x","redirect_uris":["https://a.example/cb"]}`)
	f.Add(`{"id":"bank","name":"B","purpose":"x","auth_method":"private_key_jwt","jwks":{"keys":[]},"redirect_uris":["https://b.example/cb"]}`)
	f.Add(`{"id":"app","name":"A","purpose":"x","kind":"public","redirect_uris":["http://localhost/cb"],"min_level":2}`)
	f.Fuzz(func(t *testing.T, body string) {
		var n NewClient
		if json.Unmarshal([]byte(body), &n) != nil {
			return
		}
		c, err := n.build()
		if err != nil {
			return
		}
		if c.MinLevel < 1 || c.MinLevel > 2 || (c.IDTokenAlg != AlgES256 && c.IDTokenAlg != AlgRS256) {
			t.Fatalf("accepted %+v", c)
		}
		for _, u := range c.RedirectURIs {
			if !validRedirect(u) {
				t.Fatalf("accepted redirect %q", u)
			}
		}
	})
}

// FuzzAssertionClaims: any payload of a client assertion is read and judged
// without panicking, and an accepted one satisfies the rules.
func FuzzAssertionClaims(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add([]byte(`{"iss":"c","sub":"c","aud":"https://id.example","jti":"j","iat":1800000000,"exp":1800000060}`))
	f.Add([]byte(`{"iss":"c","sub":"c","aud":["https://id.example"],"jti":"j","iat":1.8e9,"exp":1800000060.5,"nbf":1799999999}`))
	f.Add([]byte(`{"iss":"c","exp":-1,"iat":"x"}`))
	s := &storage{p: &Provider{cfg: Config{Issuer: "https://id.example", Now: func() time.Time { return now }}}}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := parseAssertionClaims(payload)
		if err != nil {
			return
		}
		if s.checkAssertionClaims(c) != nil {
			return
		}
		exp, ok1 := numericDate(c.ExpiresAt)
		iat, ok2 := numericDate(c.IssuedAt)
		if !ok1 || !ok2 || c.JWTID == "" || c.Subject != c.Issuer || exp.Sub(iat) > assertionMaxLife || iat.After(now.Add(assertionSkew)) {
			t.Fatalf("accepted %s", payload)
		}
	})
}

// FuzzUnseal feeds the sealed request a login form carries (sealed.go):
// whatever arrives, no panic, and nothing but a form this provider sealed
// for that request ID opens.
func FuzzUnseal(f *testing.F) {
	sealer, err := seal.New([]byte(strings.Repeat("k", 32)), "oidc auth request")
	if err != nil {
		f.Fatal(err)
	}
	p := &Provider{sealer: sealer, cfg: Config{Now: time.Now}}
	now := time.Now().UTC()
	good, err := p.seal(&authRequest{row: &cancuoc.AuthRequest{ID: "req-1", ClientID: "portal", CreatedAt: now,
		ExpiresAt: now.Add(time.Hour), Doc: []byte(`{"client_id":"portal","redirect_uri":"https://a.example/cb"}`)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("req-1", good)
	f.Add("req-1", good[:len(good)-2])
	f.Add("req-2", good)
	f.Add("", "")
	f.Add("req-1", "!!!")
	f.Fuzz(func(t *testing.T, id, sealed string) {
		a, err := p.unseal(id, sealed)
		// Not compared with good itself: under -fuzz each worker seals its
		// own good (a fresh nonce), and the seeds come from another process.
		if err == nil && (id != "req-1" || a.d.ClientID != "portal" || !a.sealed) {
			t.Fatalf("opened a form this provider did not seal: %q %q", id, sealed)
		}
	})
}
