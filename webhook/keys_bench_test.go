package webhook

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sqlite"
)

// cpuNanos is the process's user+system CPU time: on a shared machine it,
// not wall time, tells what an operation costs.
func cpuNanos(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSignature is the signing of one webhook as the worker does it:
// "direct" is the single Signer of before key rotation, "static" the same
// key through the service, "stored" the keyring with one key, "overlap"
// the keyring during a rotation (two signatures). It reports CPU ns/op.
func BenchmarkSignature(b *testing.B) {
	body := []byte(`{"id":"ev-1","type":"citizen.died","timestamp":"2026-11-23T09:00:00Z","data":{"pin":"001090000001","version":3}}`)
	ctx := context.Background()
	signer, _ := GenerateSigner()
	svc := func(b *testing.B, rotations int) *Service {
		st, err := sqlite.Open(ctx, ":memory:")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		s := New(st, nil, signer, Config{}, nil)
		if rotations < 0 {
			return s
		}
		if err := s.UseStoredKeys(ctx, []byte("0123456789abcdef0123456789abcdef"), signer); err != nil {
			b.Fatal(err)
		}
		for range rotations {
			if _, err := s.RotateKey(ctx, &cancuoc.Principal{ID: "root", Role: cancuoc.RoleNationalAdmin}); err != nil {
				b.Fatal(err)
			}
		}
		return s
	}
	run := func(b *testing.B, sign func() string) {
		start := cpuNanos(b)
		for b.Loop() {
			if sign() == "" {
				b.Fatal("no signature")
			}
		}
		b.ReportMetric(float64(cpuNanos(b)-start)/float64(b.N), "cpu-ns/op")
	}
	now := time.Now()
	b.Run("direct", func(b *testing.B) {
		run(b, func() string { return signer.Sign("ev-1", now, body) })
	})
	for _, tc := range []struct {
		name      string
		rotations int
	}{{"static", -1}, {"stored", 0}, {"overlap", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			s := svc(b, tc.rotations)
			run(b, func() string {
				h, err := s.signature(ctx, "ev-1", now, body)
				if err != nil {
					b.Fatal(err)
				}
				return h
			})
		})
	}
}
