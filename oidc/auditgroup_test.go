package oidc_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"path/filepath"
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

// With Config.Audit, userinfo's entry goes through the group commit; the
// token's commits in the token's own transaction (with the code's claim),
// not through the writer. Both are on the citizen's record when the
// answers arrive.
func TestAuditThroughGroupCommit(t *testing.T) {
	var w *audit.Writer
	e := newAuditEnv(t, func(st cancuoc.Store) oidc.AuditRecorder {
		w = audit.NewWriter(st, 0)
		t.Cleanup(func() { w.Close() })
		return w
	})
	p := e.portal("portal", "http://localhost/callback", "openid", "profile")
	code, verifier := e.codeFor(p, e.l2, "mật khẩu dài 2")
	_, before := w.Stats()
	st, tok := e.token("portal", exchange(code, verifier, "http://localhost/callback"))
	if st != http.StatusOK {
		t.Fatalf("token: %d %v", st, tok)
	}
	if _, after := w.Stats(); after != before {
		t.Fatalf("writer entries %d → %d at the token, want none: its entry is in the token's transaction", before, after)
	}
	if !e.hasEntry("oidc.token") {
		t.Fatal("the token's entry is not on the record when the token is answered")
	}
	if st := e.userinfo(tok["access_token"].(string)); st != http.StatusOK {
		t.Fatalf("userinfo: %d", st)
	}
	if _, after := w.Stats(); after != before+1 {
		t.Fatalf("writer entries %d → %d, want userinfo's one more", before, after)
	}
	if !e.hasEntry("oidc.userinfo") {
		t.Fatal("no oidc.userinfo entry")
	}
}

// hasEntry reports whether the l2 citizen's record holds an entry of action.
func (e *env) hasEntry(action string) bool {
	e.t.Helper()
	entries, err := e.store.AuditFor(e.t.Context(), e.l2, 50)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range entries {
		if en.Action == action {
			return true
		}
	}
	return false
}

// The token's entry commits with the token or neither does: a log that
// refuses the entry (a trigger on the real table) refuses the token, and
// the code's claim rolls back with it, so the code still works once the
// log accepts entries again.
func TestTokenEntryFailureRefusesToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// As served: userinfo's entries through the group commit.
	w := audit.NewWriter(st, 0)
	t.Cleanup(func() { w.Close() })
	e := newEnvWith(t, st, "", nil, func(c *oidc.Config) { c.Audit = w })
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse_token_entry BEFORE INSERT ON audit WHEN NEW.action = 'oidc.token'
		BEGIN SELECT RAISE(ABORT, 'log unavailable'); END`); err != nil {
		t.Fatal(err)
	}
	p := e.portal("portal", "http://localhost/callback", "openid", "profile")
	code, verifier := e.codeFor(p, e.l2, "mật khẩu dài 2")
	form := exchange(code, verifier, "http://localhost/callback")
	if st, tok := e.token("portal", form); st == http.StatusOK {
		t.Fatalf("token issued without its entry: %v", tok)
	}
	if _, err := db.Exec(`DROP TRIGGER refuse_token_entry`); err != nil {
		t.Fatal(err)
	}
	if st, tok := e.token("portal", form); st != http.StatusOK {
		t.Fatalf("token after the log recovered: %d %v (the failed attempt kept the code claimed)", st, tok)
	}
	if !e.hasEntry("oidc.token") {
		t.Fatal("no oidc.token entry")
	}
}

// Nothing leaves without its entry: a group commit that cannot record
// refuses userinfo (the token's entry: TestTokenEntryFailureRefusesToken).
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
	fail = "oidc.userinfo"
	code, verifier := e.codeFor(p, e.l2, "mật khẩu dài 2")
	st, tok := e.token("portal", exchange(code, verifier, "http://localhost/callback"))
	if st != http.StatusOK {
		t.Fatalf("token: %d %v", st, tok)
	}
	if st := e.userinfo(tok["access_token"].(string)); st == http.StatusOK {
		t.Fatal("userinfo answered without its entry")
	}
}
