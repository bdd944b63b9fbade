package web

import "testing"

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
