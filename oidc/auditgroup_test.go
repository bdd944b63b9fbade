package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/sqlite"
)

// recorderFunc lets a test stand in for the group commit.
type recorderFunc func(ctx context.Context, entries ...*cancuoc.AuditEntry) error

func (f recorderFunc) Record(ctx context.Context, entries ...*cancuoc.AuditEntry) error {
	return f(ctx, entries...)
}

func newAuditEnv(t *testing.T, rec func(st cancuoc.Store) oidc.AuditRecorder) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvWith(t, st, "", nil, func(c *oidc.Config) { c.Audit = rec(st) })
}

// With Config.Audit, the token's and userinfo's entries go through the
// group commit and are on the citizen's record when the answers arrive.
func TestAuditThroughGroupCommit(t *testing.T) {
	var w *audit.Writer
	e := newAuditEnv(t, func(st cancuoc.Store) oidc.AuditRecorder {
		w = audit.NewWriter(st, 0)
		t.Cleanup(func() { w.Close() })
		return w
	})
	p := e.portal("portal", "http://localhost/callback", "openid", "profile")
	code, verifier := e.codeFor(p, e.l2, "mật khẩu dài 2")
	st, tok := e.token("portal", exchange(code, verifier, "http://localhost/callback"))
	if st != http.StatusOK {
		t.Fatalf("token: %d %v", st, tok)
	}
	_, before := w.Stats()
	if before < 1 {
		t.Fatalf("%d entries through the writer after the token, want the token's", before)
	}
	if st := e.userinfo(tok["access_token"].(string)); st != http.StatusOK {
		t.Fatalf("userinfo: %d", st)
	}
	if _, after := w.Stats(); after != before+1 {
		t.Fatalf("writer entries %d → %d, want userinfo's one more", before, after)
	}
	entries, err := e.store.AuditFor(t.Context(), e.l2, 50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, en := range entries {
		seen[en.Action] = true
	}
	for _, a := range []string{"oidc.token", "oidc.userinfo"} {
		if !seen[a] {
			t.Errorf("no %s entry (%v)", a, seen)
		}
	}
}

// Nothing leaves without its entry: a log that cannot record refuses the
// token, and userinfo.
func TestAuditFailureRefuses(t *testing.T) {
	fail := ""
	e := newAuditEnv(t, func(st cancuoc.Store) oidc.AuditRecorder {
		return recorderFunc(func(ctx context.Context, es ...*cancuoc.AuditEntry) error {
			for _, en := range es {
				if en.Action == fail {
					return errors.New("log unavailable")
				}
			}
			return st.AppendAudit(ctx, es...)
		})
	})
	p := e.portal("portal", "http://localhost/callback", "openid", "profile")
	fail = "oidc.token"
	code, verifier := e.codeFor(p, e.l2, "mật khẩu dài 2")
	if st, tok := e.token("portal", exchange(code, verifier, "http://localhost/callback")); st == http.StatusOK {
		t.Fatalf("token issued without its entry: %v", tok)
	}
	fail = "oidc.userinfo"
	code, verifier = e.codeFor(p, e.l2, "mật khẩu dài 2")
	st, tok := e.token("portal", exchange(code, verifier, "http://localhost/callback"))
	if st != http.StatusOK {
		t.Fatalf("token: %d %v", st, tok)
	}
	if st := e.userinfo(tok["access_token"].(string)); st == http.StatusOK {
		t.Fatal("userinfo answered without its entry")
	}
}
