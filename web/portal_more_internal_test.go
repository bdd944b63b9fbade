package web

import (
	"strings"
	"testing"
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
