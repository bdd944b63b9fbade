package oidc_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/sqlite"
)

// codeReads is a store that counts the reads of a request by its code.
type codeReads struct {
	cancuoc.Store
	n atomic.Int64
}

func (s *codeReads) AuthRequestByCodeHash(ctx context.Context, hash []byte) (*cancuoc.AuthRequest, error) {
	s.n.Add(1)
	return s.Store.AuthRequestByCodeHash(ctx, hash)
}

// TestCodeCache: a code exchanged at the node that issued it finds its
// request without reading the store (storage.codes), and everything the
// read served still holds — a code presented again is refused and revokes
// the tokens issued with it; a code this node does not remember (another
// node's, or from before a restart) is read and exchanged as before.
func TestCodeCache(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		testCodeCache(t, st)
	})
	t.Run("postgres", func(t *testing.T) { testCodeCache(t, pgtest.Open(t, "cancuoc_oidc_code_cache")) })
}

func testCodeCache(t *testing.T, st cancuoc.Store) {
	cr := &codeReads{Store: st}
	e := newEnvOn(t, cr)
	p := e.portal("portal", "http://localhost/callback", "openid", "profile")

	code, ver := e.codeFor(p, e.l2, "mật khẩu dài 2")
	status, tok := e.token("portal", exchange(code, ver, "http://localhost/callback"))
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, tok)
	}
	if n := cr.n.Load(); n != 0 {
		t.Errorf("the exchange read the request by its code %d times, want 0", n)
	}
	access, _ := tok["access_token"].(string)
	if got := e.userinfo(access); got != http.StatusOK {
		t.Fatalf("userinfo with the fresh token: %d", got)
	}
	status, _ = e.token("portal", exchange(code, ver, "http://localhost/callback"))
	if status == http.StatusOK {
		t.Fatal("the code was exchanged twice")
	}
	if n := cr.n.Load(); n != 1 {
		t.Errorf("the replay read the request by its code %d times, want 1", n)
	}
	if got := e.userinfo(access); got == http.StatusOK {
		t.Error("the token issued with a replayed code still answers userinfo")
	}

	// A code the node does not remember is read from the store.
	code, ver = e.codeFor(p, e.l2, "mật khẩu dài 2")
	oidc.ForgetCodes(e.prov)
	before := cr.n.Load()
	status, tok = e.token("portal", exchange(code, ver, "http://localhost/callback"))
	if status != http.StatusOK {
		t.Fatalf("exchange of a code not in the cache: %d %v", status, tok)
	}
	if n := cr.n.Load() - before; n != 1 {
		t.Errorf("the exchange of a code not in the cache read it %d times, want 1", n)
	}
}
