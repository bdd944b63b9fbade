package registry_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
)

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRegisterBirth: a direct birth registration (PIN, record, birth
// certificate, event, access log) on an SQLite file; cpu-ns/op is the
// process's CPU time per registration, the figure that holds on a loaded
// machine.
func BenchmarkRegisterBirth(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	w := audit.NewWriter(st, 0)
	defer w.Close()
	svc := registry.New(st, w)
	admin, _, err := svc.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: "bench", Role: cancuoc.RoleNationalAdmin})
	if err != nil {
		b.Fatal(err)
	}
	birth := registry.Birth{FullName: "Bùi Minh Khang", BirthDate: cancuoc.Date{Year: 2025, Month: 7, Day: 1}, Sex: cancuoc.Male,
		Registration: cancuoc.Place{Era: cancuoc.Era34, Province: hanoi, Commune: baDinh}, Meta: registry.Meta{LegalBasis: "Luật Hộ tịch 2014"}}
	b.ResetTimer()
	c0 := cpuTime()
	for b.Loop() {
		if _, err := svc.RegisterBirth(ctx, admin, birth); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
}
