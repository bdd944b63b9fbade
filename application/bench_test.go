package application_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/sqlite"
)

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchDecisions measures one temporary-residence decision per iteration
// on SQLite (a file, as served): decide is timed, the person and their
// application are made untimed. It reports wall and CPU time per decision
// (CPU measured over the timed parts only, from the process's rusage).
func benchDecisions(b *testing.B, decide func(w *world, c *cancuoc.Citizen, app *cancuoc.Application) error) {
	st, err := sqlite.Open(context.Background(), b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	w := newWorld(b, st)
	var cpu time.Duration
	b.ResetTimer()
	b.StopTimer()
	for range b.N {
		c := w.adult(b, "Trần Thị Lan", cancuoc.Female, ngocHa)
		a, err := w.svc.File(context.Background(), as(c), tempFiling("", baDinh))
		if err != nil {
			b.Fatal(err)
		}
		t0 := cpuTime()
		b.StartTimer()
		if err := decide(w, c, a); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - t0
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkApproveApplication: the officer approves the citizen's
// application (claim, decision entry, registration, in one transaction).
func BenchmarkApproveApplication(b *testing.B) {
	benchDecisions(b, func(w *world, _ *cancuoc.Citizen, a *cancuoc.Application) error {
		_, err := w.svc.Approve(context.Background(), w.baDinh, a.ID, application.Decision{Reason: "Đủ điều kiện"})
		return err
	})
}

// BenchmarkDirectTemporary is the reference: the officer registers the
// same temporary residence directly (what existed before applications).
func BenchmarkDirectTemporary(b *testing.B) {
	benchDecisions(b, func(w *world, c *cancuoc.Citizen, _ *cancuoc.Application) error {
		_, err := w.res.RegisterTemporary(context.Background(), w.baDinh, residence.Temporary{PIN: c.PIN,
			Place: cancuoc.Place{Province: hanoi, Commune: baDinh, Detail: "số 5 phố Đội Cấn"}, Until: cancuoc.Date{Year: 2027, Month: 3, Day: 1},
			Meta: registry.Meta{Reason: "Đủ điều kiện", LegalBasis: "Luật Cư trú 2020, điều 27–28"}})
		return err
	})
}
