package eid

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
)

// TestTOTPSealed: the stored TOTP secret (and the pending one of an
// enrolment) never holds the secret in clear, a row written in clear by an
// earlier version is sealed at its next use, and after a change of server
// secret the old rows still open and are sealed again under the new one.
func TestTOTPSealed(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		old := bytes.Repeat([]byte{7}, 32)
		e := newEnv(t, st, func(c *Config) { c.Secret, c.SecretID = old, "2025" })
		ctx := t.Context()
		a := e.register(t, e.adult, "0912345678")

		en, err := e.s.BeginTOTP(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := st.Challenge(ctx, en.ChallengeID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(ch.Data), en.Secret) || !strings.HasPrefix(string(ch.Data), "sealed:2025:") {
			t.Errorf("pending enrolment stores %q", ch.Data)
		}
		code, _ := TOTPCode(en.Secret, e.clock.Now(), 6)
		if err := e.s.ConfirmTOTP(ctx, a, en.ChallengeID, code); err != nil {
			t.Fatal(err)
		}
		stored := func() string {
			sec, err := st.Secrets(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			return sec.TOTPSecret
		}
		s1 := stored()
		if strings.Contains(s1, en.Secret) || !strings.HasPrefix(s1, "sealed:2025:") {
			t.Fatalf("stored TOTP secret %q holds the secret or is not sealed", s1)
		}
		verify := func(what string) {
			t.Helper()
			e.clock.Add(30 * time.Second)
			code, _ := TOTPCode(en.Secret, e.clock.Now(), 6)
			if err := e.s.VerifyTOTP(ctx, a.ID, code, ""); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		verify("sealed secret")

		// A sealed secret moved to another account's row does not open.
		other := e.register(t, e.citizen(t, 31, "Đỗ Thị Hoa", cancuoc.Date{Year: 1985, Month: 4, Day: 4}, e.adult.Home), "0933333333")
		if err := st.PutSecrets(ctx, &cancuoc.AccountSecrets{AccountID: other.ID, PasswordHash: "x", TOTPSecret: s1}); err != nil {
			t.Fatal(err)
		}
		code, _ = TOTPCode(en.Secret, e.clock.Now().Add(30*time.Second), 6)
		if err := e.s.VerifyTOTP(ctx, other.ID, code, ""); cancuoc.KindOf(err) != cancuoc.Internal {
			t.Errorf("a secret moved to another row: %v, want an internal error", err)
		}

		// A row in clear (before sealing existed) works and is sealed.
		sec, _ := st.Secrets(ctx, a.ID)
		sec.TOTPSecret = en.Secret
		if err := st.PutSecrets(ctx, sec); err != nil {
			t.Fatal(err)
		}
		verify("secret in clear")
		if s := stored(); strings.Contains(s, en.Secret) || !strings.HasPrefix(s, "sealed:2025:") {
			t.Errorf("a clear row was not sealed at use: %q", s)
		}

		// The server secret changes; the old one is kept for opening.
		cfg := e.s.Config()
		cfg.Secret, cfg.SecretID, cfg.OldSecrets = bytes.Repeat([]byte{9}, 32), "2026", map[string][]byte{"2025": old}
		s2, err := New(st, e.sms, cfg, WithClock(e.clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		e.s = s2
		verify("after the secret changed")
		if s := stored(); !strings.HasPrefix(s, "sealed:2026:") {
			t.Errorf("not sealed again under the new secret: %q", s)
		}
		// Without the old secret, a row sealed under it is an error that
		// says which secret is missing.
		sec, _ = st.Secrets(ctx, a.ID)
		sec.TOTPSecret = s1
		_ = st.PutSecrets(ctx, sec)
		cfg.OldSecrets = nil
		s3, _ := New(st, e.sms, cfg, WithClock(e.clock.Now))
		e.clock.Add(30 * time.Second)
		code, _ = TOTPCode(en.Secret, e.clock.Now(), 6)
		if err := s3.VerifyTOTP(ctx, a.ID, code, ""); err == nil || !strings.Contains(err.Error(), `"2025"`) {
			t.Errorf("missing old secret: %v", err)
		}
	})
}
