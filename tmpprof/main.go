package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/synth"
)

func main() {
	ctx := context.Background()
	os.RemoveAll("/tmp/prof.db")
	st, err := sqlite.Open(ctx, "/tmp/prof.db")
	if err != nil {
		panic(err)
	}
	w := audit.NewWriter(st, 0)
	reg := registry.New(st, w)
	f, _ := os.Create("/tmp/cpu.prof")
	pprof.StartCPUProfile(f)
	start := time.Now()
	var gen, imp time.Duration
	t0 := time.Now()
	err = synth.Generate(ctx, synth.Config{Citizens: 50000, Seed: 1, Now: time.Now()}, func(b []*cancuoc.Citizen) error {
		gen += time.Since(t0)
		t1 := time.Now()
		err := reg.Import(ctx, nil, b, registry.Meta{Reason: "x", LegalBasis: "y"})
		imp += time.Since(t1)
		t0 = time.Now()
		return err
	})
	pprof.StopCPUProfile()
	fmt.Println(err, time.Since(start), "gen", gen, "import", imp)
}
