package web

import (
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
)

// TestPortalNext: a login returns only to a portal page, never to another
// site (an open redirect would let a link log people in and send them on).
func TestPortalNext(t *testing.T) {
	for in, want := range map[string]string{
		"/portal/account":           "/portal/account",
		"/portal/documents?for=1":   "/portal/documents?for=1",
		"":                          "/portal/record",
		"https://evil.example/":     "/portal/record",
		"//evil.example/portal/":    "/portal/record",
		"/portal/\\evil":            "/portal/record",
		"/console/":                 "/portal/record",
		"/portal/x\r\nSet-Cookie:a": "/portal/record",
	} {
		if got := portalNext(in); got != want {
			t.Errorf("portalNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzPortalNext: whatever a login's state names, the portal sends the
// browser to one of its own pages.
func FuzzPortalNext(f *testing.F) {
	for _, s := range []string{"/portal/account", "//evil", "/portal/\\x", "https://a/", "/portal/a\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := portalNext(next)
		if !strings.HasPrefix(got, "/portal/") || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("portalNext(%q) = %q", next, got)
		}
	})
}

// FuzzWalletKeyBody: the key request a script (or anyone) posts is either
// refused with a client error or holds an EC P-256 public key, never a
// private one; it never panics.
func FuzzWalletKeyBody(f *testing.F) {
	f.Add([]byte(`{"jwk":{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}}`))
	f.Add([]byte(`{"jwk":{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}}`))
	f.Add([]byte(`{"jwk":"x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		jwk, err := keyBody(raw)
		if err != nil {
			if cancuoc.KindOf(err) != cancuoc.Invalid {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(jwk); err != nil || !k.IsPublic() {
			t.Fatalf("accepted %s (%v)", jwk, err)
		}
	})
}
