package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc/eid"
)

// eidSecurity applies the password hashing cost and the lockout policies
// from the environment to cfg (README, "Passwords and lockout"):
//
//	CANCUOC_ARGON2_MEMORY_KIB  argon2id memory in KiB, 8192–1048576 (default 19456, 19 MiB)
//	CANCUOC_ARGON2_TIME        argon2id passes, 1–20 (default 2)
//	CANCUOC_ARGON2_THREADS     argon2id lanes, 1–64 (default 1)
//	CANCUOC_LOCKOUT_ACCOUNT    FREE/BASE/MAX/WINDOW per account (default 5/30s/1h/24h)
//	CANCUOC_LOCKOUT_SOURCE     FREE/BASE/MAX/WINDOW per client address (default 20/10s/15m/1h)
//
// A value that is not a number, or outside its range, is an error naming
// the variable: a typo must stop the server, not weaken every new hash.
// Hashes made under other parameters keep verifying (each records its own).
func eidSecurity(cfg *eid.Config, getenv func(string) string) error {
	for _, v := range []struct {
		env      string
		min, max uint64
		set      func(uint64)
	}{
		{"CANCUOC_ARGON2_MEMORY_KIB", 8 * 1024, 1 << 20, func(n uint64) { cfg.Password.Memory = uint32(n) }},
		{"CANCUOC_ARGON2_TIME", 1, 20, func(n uint64) { cfg.Password.Time = uint32(n) }},
		{"CANCUOC_ARGON2_THREADS", 1, 64, func(n uint64) { cfg.Password.Threads = uint8(n) }},
	} {
		s := strings.TrimSpace(getenv(v.env))
		if s == "" {
			continue
		}
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n < v.min || n > v.max {
			return fmt.Errorf("%s=%q: want a whole number from %d to %d", v.env, s, v.min, v.max)
		}
		v.set(n)
	}
	for _, l := range []struct {
		env string
		dst *eid.LockoutPolicy
	}{{"CANCUOC_LOCKOUT_ACCOUNT", &cfg.AccountLockout}, {"CANCUOC_LOCKOUT_SOURCE", &cfg.SourceLockout}} {
		if s := strings.TrimSpace(getenv(l.env)); s != "" {
			p, err := parseLockout(s)
			if err != nil {
				return fmt.Errorf("%s: %w", l.env, err)
			}
			*l.dst = p
		}
	}
	return nil
}

// parseLockout reads FREE/BASE/MAX/WINDOW: FREE failures are free, the next
// waits BASE, each further one twice as long up to MAX; failures older than
// WINDOW are forgotten.
func parseLockout(s string) (eid.LockoutPolicy, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 4 {
		return eid.LockoutPolicy{}, fmt.Errorf("%q must read FREE/BASE/MAX/WINDOW, e.g. 5/30s/1h/24h", s)
	}
	free, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil || free < 1 || free > 1000 {
		return eid.LockoutPolicy{}, fmt.Errorf("free failures %q: want 1 to 1000", parts[0])
	}
	var d [3]time.Duration
	for i, name := range []string{"base delay", "maximum delay", "window"} {
		if d[i], err = time.ParseDuration(strings.TrimSpace(parts[i+1])); err != nil || d[i] < time.Second || d[i] > 31*24*time.Hour {
			return eid.LockoutPolicy{}, fmt.Errorf("%s %q: want a duration from 1s to 744h, e.g. 30s", name, parts[i+1])
		}
	}
	if d[1] < d[0] {
		return eid.LockoutPolicy{}, fmt.Errorf("maximum delay %s is shorter than the base delay %s", d[1], d[0])
	}
	if d[2] < d[1] {
		return eid.LockoutPolicy{}, fmt.Errorf("window %s is shorter than the maximum delay %s: failures would be forgotten while locked", d[2], d[1])
	}
	return eid.LockoutPolicy{Free: free, Base: d[0], Max: d[1], Window: d[2]}, nil
}
