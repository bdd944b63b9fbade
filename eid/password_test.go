package eid

import (
	"strings"
	"testing"
)

func TestPasswordHashVerify(t *testing.T) {
	p := PasswordParams{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, err := HashPassword("mật khẩu đúng", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Errorf("hash %q is not PHC argon2id with its parameters", h)
	}
	h2, _ := HashPassword("mật khẩu đúng", p)
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		pw       string
		want     PasswordParams
		ok, re   bool
		wantFail bool
	}{
		{"mật khẩu đúng", p, true, false, false},
		{"mật khẩu sai", p, false, false, false},
		{"", p, false, false, false},
		// Parameters raised since: still verifies, and asks for a rehash.
		{"mật khẩu đúng", DefaultPasswordParams(), true, true, false},
	} {
		ok, re, err := VerifyPassword(h, tc.pw, tc.want)
		if err != nil || ok != tc.ok || re != tc.re {
			t.Errorf("VerifyPassword(%q) = %v, %v, %v; want %v, %v", tc.pw, ok, re, err, tc.ok, tc.re)
		}
	}
}

func TestPasswordHashBad(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA"} {
		if _, _, err := VerifyPassword(h, "x", DefaultPasswordParams()); err == nil {
			t.Errorf("VerifyPassword accepted the malformed hash %q", h)
		}
	}
}

func TestPasswordParamsValidate(t *testing.T) {
	if err := DefaultPasswordParams().validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if err := FastTestPasswordParams().validate(); err != nil {
		t.Errorf("test params: %v", err)
	}
	weak := DefaultPasswordParams()
	weak.Memory = 1024
	if weak.validate() == nil {
		t.Error("1 MiB accepted")
	}
}

// FuzzParseHash: a stored hash is read back from the database; whatever it
// holds must not crash or demand unbounded work.
func FuzzParseHash(f *testing.F) {
	h, _ := HashPassword("x", FastTestPasswordParams())
	f.Add(h)
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parseHash(s)
		if err == nil && (p.Memory > 4*1024*1024 || p.Time > 100 || len(salt) < 8 || len(key) < 16) {
			t.Fatalf("accepted out-of-bounds parameters %+v", p)
		}
	})
}

// BenchmarkHashPasswordDefault measures one hash at the default cost, the
// figure that bounds password logins per second per core.
func BenchmarkHashPasswordDefault(b *testing.B) {
	p := DefaultPasswordParams()
	for b.Loop() {
		if _, err := HashPassword("mật khẩu dài 123", p); err != nil {
			b.Fatal(err)
		}
	}
}
