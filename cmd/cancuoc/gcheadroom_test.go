package main

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live, headroom uint64
		want           int
	}{
		{32 * mb, 128 * mb, 400},   // a small heap grows by the headroom
		{128 * mb, 128 * mb, 100},  // as large as the headroom: Go's default
		{1024 * mb, 128 * mb, 100}, // larger: never below the default
		{26 * mb, 128 * mb, 492},   // the benchmark's heap: below the bound
		{4 * mb, 128 * mb, 500},    // bounded: a late adjustment applies it to a larger heap
		{mb, 128 * mb, 500},        // a smaller heap counts as 4 MB
		{0, 128 * mb, 500},
		{0, 1 << 50, 500},
		{4 * mb, 1<<64 - 1, 500}, // no overflow
	} {
		if got := gcPercentFor(c.live, c.headroom); got != c.want {
			t.Errorf("gcPercentFor(%d, %d) = %d, want %d", c.live, c.headroom, got, c.want)
		}
	}
}

// The tuner raises GOGC after a collection of a small heap, stops when
// told (GOGC back to 100), and stays off when the operator set GOGC.
func TestGCHeadroom(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	noEnv := func(string) string { return "" }

	stop := startGCHeadroom(1<<30, noEnv, log)
	var p int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		runtime.GC()
		if p = currentGCPercent(); p > 100 {
			break
		}
	}
	stop()
	if p <= 100 {
		t.Fatalf("GOGC %d after collections with a 1 GB headroom; want it raised", p)
	}
	if p := currentGCPercent(); p != 100 {
		t.Errorf("GOGC %d after stop; want 100", p)
	}

	stop = startGCHeadroom(1<<30, func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	}, log)
	defer stop()
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if p := currentGCPercent(); p != 100 {
		t.Errorf("GOGC %d with GOGC set by the operator; want it left at 100", p)
	}
}

func currentGCPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}
