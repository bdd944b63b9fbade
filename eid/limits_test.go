package eid

import (
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
)

// TestSMSRateLimits: the codes sent per phone, per PIN (password resets)
// and per source address are limited, with the time to wait, and the
// counters do not hold the phone number or PIN in clear.
func TestSMSRateLimits(t *testing.T) {
	testkit.Stores(t, "eid_test", func(t *testing.T, st cancuoc.Store) {
		e := newEnv(t, st, func(c *Config) {
			c.SMSPerPhone = RateLimit{Max: 3, Window: time.Hour}
			c.SMSPerSource = RateLimit{Max: 5, Window: time.Hour}
		})
		ctx := t.Context()
		a := e.adult
		reg := Registration{PIN: a.PIN, FullName: a.FullName, BirthDate: a.BirthDate, Phone: "0912345678"}
		for i := range 3 {
			if _, err := e.s.StartRegistration(ctx, reg, "192.0.2.1"); err != nil {
				t.Fatalf("registration %d: %v", i+1, err)
			}
		}
		// The fourth code to this phone within the hour is refused, from any
		// address, and says how long to wait.
		_, err := e.s.StartRegistration(ctx, reg, "198.51.100.7")
		wantKind(t, "fourth code to one phone", err, cancuoc.TooManyRequests, "sms_rate_limited")
		if ce, ok := err.(*cancuoc.Error); !ok || ce.RetryAfter <= 0 || ce.RetryAfter > time.Hour || !strings.Contains(ce.MessageVI, "phút") {
			t.Errorf("refusal without a sensible wait: %#v", err)
		}
		if n := e.sms.count("+84912345678"); n != 3 {
			t.Errorf("%d codes sent, want 3", n)
		}
		// A refused registration (registry mismatch) sends nothing and
		// counts nothing.
		bad := reg
		bad.FullName, bad.Phone = "Người Khác", "0987654321"
		for range 10 {
			_, err := e.s.StartRegistration(ctx, bad, "192.0.2.1")
			wantKind(t, "mismatch", err, cancuoc.Invalid, "registry_mismatch")
		}

		// Per source: the address that sent 3 may send 2 more, to other
		// phones, then is refused.
		other := e.citizen(t, 30, "Phạm Văn Bốn", cancuoc.Date{Year: 1980, Month: 2, Day: 3}, a.Home)
		r2 := Registration{PIN: other.PIN, FullName: other.FullName, BirthDate: other.BirthDate, Phone: "0911111111"}
		for i := range 2 {
			if _, err := e.s.StartRegistration(ctx, r2, "192.0.2.1"); err != nil {
				t.Fatalf("source send %d: %v", i+4, err)
			}
		}
		r2.Phone = "0922222222"
		_, err = e.s.StartRegistration(ctx, r2, "192.0.2.1")
		wantKind(t, "sixth code from one address", err, cancuoc.TooManyRequests, "sms_rate_limited")
		if _, err := e.s.StartRegistration(ctx, r2, "192.0.2.2"); err != nil {
			t.Errorf("another address: %v", err)
		}

		// Password resets count per PIN whether or not the PIN has an
		// account, so the limit cannot reveal who has one.
		for i := range 3 {
			if _, err := e.s.StartPasswordReset(ctx, "001090999999", "203.0.113.1"); err != nil {
				t.Fatalf("reset %d for a PIN without account: %v", i+1, err)
			}
		}
		_, err = e.s.StartPasswordReset(ctx, "001090999999", "203.0.113.2")
		wantKind(t, "fourth reset of one PIN", err, cancuoc.TooManyRequests, "sms_rate_limited")

		// The window ends: codes go out again.
		e.clock.Add(time.Hour)
		if _, err := e.s.StartRegistration(ctx, reg, "192.0.2.1"); err != nil {
			t.Errorf("after the window: %v", err)
		}

		// The counters' keys name neither phone nor PIN.
		for _, secret := range []string{"912345678", string(a.PIN), "001090999999", "192.0.2.1"} {
			for _, kind := range []string{"phone", "pin", "src"} {
				if k := e.s.seal.limitKey(kind, secret); strings.Contains(k, secret) {
					t.Errorf("counter key %q holds %q", k, secret)
				}
			}
		}
	})
}

// TestSMSRateLimitDisabled: a Max of 0 turns a limit off; a window must be
// positive otherwise.
func TestSMSRateLimitConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Password = FastTestPasswordParams()
	cfg.SMSPerPhone = RateLimit{Max: 3}
	if _, err := New(nil, &smsBox{}, cfg); err == nil {
		t.Error("a limit without a window was accepted")
	}
	cfg.SMSPerPhone = RateLimit{}
	cfg.Secret = []byte("short")
	if _, err := New(nil, &smsBox{}, cfg); err == nil {
		t.Error("a short secret was accepted")
	}
}
