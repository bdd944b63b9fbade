package oidc_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSealedRequestNotRevivedAfterDenial: a request that ended at the
// client with an error (the citizen declined consent: redirectError,
// which deletes its row) must not come back through the sealed form its
// first login page carried: once its row is gone, the store no longer
// refuses the form, which opens again until it expires.
func TestSealedRequestNotRevivedAfterDenial(t *testing.T) {
	e := newEnv(t)
	p := e.portal("portal", "http://localhost/callback", "openid")
	b := e.browser()
	f := fields(b.get(p.Start(nil)).body)
	if f.Get("ar") == "" {
		t.Fatal("login page without its sealed request")
	}
	login := func() resp {
		g := url.Values{}
		for k, v := range f {
			g[k] = v
		}
		g.Set("pin", string(e.l1))
		g.Set("password", "mật khẩu dài 1")
		return b.post("/oidc/login", g)
	}
	r := login()
	if r.status != http.StatusOK || !strings.Contains(r.body, `value="allow"`) {
		t.Fatalf("want the consent page for a client the citizen never consented to: %d %.300s", r.status, r.body)
	}
	cf := fields(r.body)
	cf.Set("decision", "deny")
	r = b.post("/oidc/consent", cf)
	if r.status != http.StatusSeeOther || !strings.Contains(r.location, "access_denied") {
		t.Fatalf("deny: %d %s", r.status, r.location)
	}
	// The same sealed form again, in the same browser.
	r = login()
	if r.status == http.StatusOK && strings.Contains(r.body, `value="allow"`) {
		t.Fatalf("the declined request logged in again from its sealed form (consent page shown)")
	}
	if r.status < 400 {
		t.Fatalf("the declined request's sealed form accepted again: %d %s %.300s", r.status, r.location, r.body)
	}
}
