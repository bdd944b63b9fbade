package eid

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/internal/webauthntest"
)

func post(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestPasskeyCeremonies(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st)
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")
		cfg := e.s.Config()
		auth := webauthntest.New(t, cfg.RPID, cfg.RPOrigins[0])

		_, _, err := e.s.BeginPasskeyLogin(ctx, a.PIN)
		wantKind(t, "no passkey yet", err, cancuoc.NotFound, "no_passkey")

		reg, err := e.s.BeginPasskeyRegistration(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if reg.Options.Response.RelyingParty.ID != cfg.RPID || !sameUserID(reg.Options.Response.User.ID, a.ID) {
			t.Errorf("creation options %+v", reg.Options.Response)
		}
		// A response to another challenge is refused (and uses up the ceremony).
		_, err = e.s.FinishPasskeyRegistration(ctx, a, reg.ChallengeID, "x", post(auth.Create([]byte("another challenge 0123456789abcdef"))))
		wantKind(t, "wrong challenge", err, cancuoc.Invalid, "passkey_invalid")
		reg, _ = e.s.BeginPasskeyRegistration(ctx, a)
		pk, err := e.s.FinishPasskeyRegistration(ctx, a, reg.ChallengeID, "Điện thoại của Đức", post(auth.Create(reg.Options.Response.Challenge)))
		if err != nil {
			t.Fatalf("FinishPasskeyRegistration: %v", err)
		}
		if !bytes.Equal(pk.ID, auth.CredID) {
			t.Errorf("stored credential ID %x, want %x", pk.ID, auth.CredID)
		}
		// The ceremony is single use.
		_, err = e.s.FinishPasskeyRegistration(ctx, a, reg.ChallengeID, "x", post(auth.Create(reg.Options.Response.Challenge)))
		wantKind(t, "replayed registration", err, cancuoc.Invalid, "challenge_expired")

		// Login.
		assertion, session, err := e.s.BeginPasskeyLogin(ctx, a.PIN)
		if err != nil {
			t.Fatal(err)
		}
		if len(assertion.Response.AllowedCredentials) != 1 {
			t.Errorf("allowed credentials %v", assertion.Response.AllowedCredentials)
		}
		got, err := e.s.FinishPasskeyLogin(ctx, session, post(auth.Get(t, assertion.Response.Challenge, []byte(a.ID))))
		if err != nil {
			t.Fatalf("FinishPasskeyLogin: %v", err)
		}
		if got.ID != a.ID {
			t.Errorf("logged in as %s, want %s", got.ID, a.ID)
		}
		pks, _ := st.Passkeys(ctx, a.ID)
		if len(pks) != 1 || pks[0].LastUsedAt.IsZero() {
			t.Errorf("last use not recorded: %+v", pks)
		}

		// A tampered signature, another key, and a replayed counter fail.
		assertion, session, _ = e.s.BeginPasskeyLogin(ctx, a.PIN)
		evil := webauthntest.New(t, cfg.RPID, cfg.RPOrigins[0])
		evil.CredID = auth.CredID
		_, err = e.s.FinishPasskeyLogin(ctx, session, post(evil.Get(t, assertion.Response.Challenge, []byte(a.ID))))
		wantKind(t, "other key", err, cancuoc.Unauthenticated, "passkey_invalid")
		phish := webauthntest.New(t, cfg.RPID, "https://evil.example")
		phish.Key, phish.CredID = auth.Key, auth.CredID
		phish.Count = 100
		assertion, session, _ = e.s.BeginPasskeyLogin(ctx, a.PIN)
		_, err = e.s.FinishPasskeyLogin(ctx, session, post(phish.Get(t, assertion.Response.Challenge, []byte(a.ID))))
		wantKind(t, "other origin", err, cancuoc.Unauthenticated, "passkey_invalid")
		assertion, session, _ = e.s.BeginPasskeyLogin(ctx, a.PIN)
		auth.Count = 0 // a clone that has not seen the last use
		_, err = e.s.FinishPasskeyLogin(ctx, session, post(auth.Get(t, assertion.Response.Challenge, []byte(a.ID))))
		wantKind(t, "cloned counter", err, cancuoc.Unauthenticated, "passkey_invalid")

		// A locked account cannot log in with its passkey.
		auth.Count = 10
		if _, err := e.s.Lock(ctx, a, a.PIN); err != nil {
			t.Fatal(err)
		}
		assertion, session, _ = e.s.BeginPasskeyLogin(ctx, a.PIN)
		_, err = e.s.FinishPasskeyLogin(ctx, session, post(auth.Get(t, assertion.Response.Challenge, []byte(a.ID))))
		wantKind(t, "locked", err, cancuoc.Forbidden, "account_locked")
		_, err = e.s.FinishPasskeyLogin(ctx, []byte("{}"), post(nil))
		wantKind(t, "bad session", err, cancuoc.Invalid, "session_invalid")
	})
}

// sameUserID compares the user handle of creation options (bytes, or a
// string when the library is told to encode it so) with an account ID.
func sameUserID(v any, id string) bool {
	switch x := v.(type) {
	case []byte:
		return string(x) == id
	case string:
		return x == id
	}
	if b, ok := v.(interface{ String() string }); ok {
		return b.String() == base64.RawURLEncoding.EncodeToString([]byte(id))
	}
	return false
}
