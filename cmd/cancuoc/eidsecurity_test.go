package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc/eid"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEIDSecurityConfig(t *testing.T) {
	cfg := eid.DefaultConfig()
	def := cfg
	if err := eidSecurity(&cfg, envOf(nil)); err != nil {
		t.Fatal(err)
	}
	if cfg.Password != def.Password || cfg.AccountLockout != def.AccountLockout || cfg.SourceLockout != def.SourceLockout {
		t.Errorf("no variables changed the defaults: %+v", cfg.Password)
	}
	// The documented defaults (README): 19 MiB, t=2, p=1.
	if p := def.Password; p.Memory != 19*1024 || p.Time != 2 || p.Threads != 1 {
		t.Errorf("defaults %+v, README says 19 MiB, t=2, p=1", p)
	}
	err := eidSecurity(&cfg, envOf(map[string]string{"CANCUOC_ARGON2_MEMORY_KIB": "65536", "CANCUOC_ARGON2_TIME": "3",
		"CANCUOC_ARGON2_THREADS": "4", "CANCUOC_LOCKOUT_ACCOUNT": "3/1m/2h/48h", "CANCUOC_LOCKOUT_SOURCE": "50/5s/10m/1h"}))
	if err != nil {
		t.Fatal(err)
	}
	if p := cfg.Password; p.Memory != 65536 || p.Time != 3 || p.Threads != 4 || p.SaltLen != 16 || p.KeyLen != 32 {
		t.Errorf("password params %+v", p)
	}
	if l := cfg.AccountLockout; l != (eid.LockoutPolicy{Free: 3, Base: time.Minute, Max: 2 * time.Hour, Window: 48 * time.Hour}) {
		t.Errorf("account lockout %+v", l)
	}
	if l := cfg.SourceLockout; l != (eid.LockoutPolicy{Free: 50, Base: 5 * time.Second, Max: 10 * time.Minute, Window: time.Hour}) {
		t.Errorf("source lockout %+v", l)
	}

	for _, tc := range []struct{ env, val, want string }{
		{"CANCUOC_ARGON2_MEMORY_KIB", "4096", "from 8192 to 1048576"},
		{"CANCUOC_ARGON2_MEMORY_KIB", "19MiB", "whole number"},
		{"CANCUOC_ARGON2_MEMORY_KIB", "2000000", "from 8192"},
		{"CANCUOC_ARGON2_TIME", "0", "from 1 to 20"},
		{"CANCUOC_ARGON2_THREADS", "-1", "from 1 to 64"},
		{"CANCUOC_ARGON2_THREADS", "300", "from 1 to 64"},
		{"CANCUOC_LOCKOUT_ACCOUNT", "5/30s/1h", "FREE/BASE/MAX/WINDOW"},
		{"CANCUOC_LOCKOUT_ACCOUNT", "0/30s/1h/24h", "free failures"},
		{"CANCUOC_LOCKOUT_ACCOUNT", "5/30/1h/24h", "base delay"},
		{"CANCUOC_LOCKOUT_SOURCE", "5/1h/30s/24h", "shorter than the base delay"},
		{"CANCUOC_LOCKOUT_SOURCE", "5/30s/2h/1h", "window 1h0m0s is shorter"},
	} {
		c := eid.DefaultConfig()
		err := eidSecurity(&c, envOf(map[string]string{tc.env: tc.val}))
		if err == nil || !strings.Contains(err.Error(), tc.env) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: error %v, want it to name the variable and say %q", tc.env, tc.val, err, tc.want)
		}
		if c.Password != def.Password {
			t.Errorf("%s=%s: a refused value changed the password params", tc.env, tc.val)
		}
	}
}

// TestServeRefusesBadArgon2 shows the variables reach serve: a bad value
// stops it with the variable's name before it listens.
func TestServeRefusesBadArgon2(t *testing.T) {
	var out syncBuffer
	err := run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "d"),
		"--demo-citizens", "0", "--log-level", "error"}, envOf(map[string]string{"CANCUOC_ARGON2_TIME": "0"}), &out)
	if err == nil || !strings.Contains(err.Error(), "CANCUOC_ARGON2_TIME") {
		t.Fatalf("serve with CANCUOC_ARGON2_TIME=0: %v\n%s", err, out.String())
	}
}
