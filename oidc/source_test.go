package oidc_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc/clientaddr"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/sqlite"
)

// TestLoginSourceBehindProxy: the login pages give the lockout the client
// address forwarded by a trusted proxy, and the peer address when no proxy
// is trusted.
func TestLoginSourceBehindProxy(t *testing.T) {
	for _, tc := range []struct {
		name, trusted, want string
	}{
		{"trusted loopback proxy", "127.0.0.0/8, ::1", "198.51.100.1"},
		{"no trusted proxy", "", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := sqlite.Open(t.Context(), ":memory:")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			r, err := clientaddr.Parse(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnvWith(t, st, "", nil, func(c *oidc.Config) { c.TrustedProxies = r })
			p := e.portal("portal", "http://localhost/callback")
			b := e.browser()
			res := b.get(p.Start(nil))
			f := fields(res.body)
			f.Set("pin", string(e.l1))
			f.Set("password", "sai")
			req, _ := http.NewRequest(http.MethodPost, e.root+"/oidc/login", strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", "203.0.113.66, 198.51.100.1")
			if r := b.do(req); r.status != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", r.status)
			}
			e.acc.mu.Lock()
			defer e.acc.mu.Unlock()
			if !slices.Equal(e.acc.sources, []string{tc.want}) {
				t.Errorf("sources %v, want [%s]", e.acc.sources, tc.want)
			}
		})
	}
}
