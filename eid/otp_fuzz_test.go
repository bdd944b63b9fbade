package eid

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/sqlite"
)

// FuzzVerifyTOTP feeds the X-OTP header's value (the citizen API's second
// factor) to VerifyTOTP: whatever arrives, it must not panic, it is
// accepted only when it is a current code of the secret, and a refusal is
// one of the documented problems.
func FuzzVerifyTOTP(f *testing.F) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	cfg := DefaultConfig()
	cfg.Password = FastTestPasswordParams()
	c := testkit.NewClock(testNow)
	s, err := New(st, &smsBox{}, cfg, WithClock(c.Now))
	if err != nil {
		f.Fatal(err)
	}
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	acc := &cancuoc.Account{ID: "acc-fuzz", Kind: cancuoc.AccountCitizen, PIN: "001090000001", Level: cancuoc.Level1,
		Status: cancuoc.AccountActive, CreatedAt: testNow, UpdatedAt: testNow, Version: 1}
	sealed, err := s.seal.seal(acc.ID, secret)
	if err != nil {
		f.Fatal(err)
	}
	if err := st.InsertAccount(ctx, acc); err != nil {
		f.Fatal(err)
	}
	if err := st.PutSecrets(ctx, &cancuoc.AccountSecrets{AccountID: acc.ID, PasswordHash: "x", TOTPSecret: sealed}); err != nil {
		f.Fatal(err)
	}
	valid, _ := TOTPCode(secret, testNow, 6)
	for _, seed := range []string{valid, "", "000000", " 123456 ", "12345", "1234567", "abcdef", "１２３４５６", "\x00\x00\x00\x00\x00\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, code string) {
		err := s.VerifyTOTP(ctx, acc.ID, code, "192.0.2.9")
		if err == nil {
			ok := false
			for _, d := range []int64{-30, 0, 30} {
				want, _ := TOTPCode(secret, c.Now().Add(timeSeconds(d)), 6)
				ok = ok || strings.TrimSpace(code) == want
			}
			if !ok {
				t.Fatalf("accepted %q", code)
			}
			return
		}
		if k := cancuoc.KindOf(err); k != cancuoc.Unauthenticated && k != cancuoc.Unavailable {
			t.Fatalf("code %q: %v (%v)", code, err, k)
		}
	})
}

func timeSeconds(s int64) time.Duration { return time.Duration(s) * time.Second }
