package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/progress"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/synth"
)

// seedMeta is the history entry of a synthetic load: it says plainly that
// the people are not real.
var seedMeta = registry.Meta{Reason: "Dân số tổng hợp để thử nghiệm (synthetic test population)",
	LegalBasis: "Không áp dụng: dữ liệu giả lập (not applicable: synthetic data)", Agency: "cancuoc seed"}

// seedPopulation generates n synthetic citizens and loads them through the
// registry's bulk path, drawing a progress bar on out.
// Each loaded batch is also passed to also (the partner data set).
func seedPopulation(ctx context.Context, a *app, n int, seed int64, out io.Writer, also ...func([]*cancuoc.Citizen) error) (float64, error) {
	bar := progress.New(out, "seed", int64(n))
	err := synth.Generate(ctx, synth.Config{Citizens: n, Seed: seed, Now: time.Now()}, func(batch []*cancuoc.Citizen) error {
		if err := a.reg.Import(ctx, nil, batch, seedMeta); err != nil {
			if cancuoc.KindOf(err) == cancuoc.Conflict {
				return fmt.Errorf("%w\nthe registry already holds people from this seed: use another --seed or an empty database", err)
			}
			return err
		}
		bar.Add(int64(len(batch)))
		for _, f := range also {
			if err := f(batch); err != nil {
				return err
			}
		}
		return nil
	})
	bar.Finish()
	return bar.Rate(), err
}

func cmdSeed(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	c, validate := bindConfig(fs, getenv)
	n := fs.Int("citizens", 10000, "how many synthetic citizens to create")
	seed := fs.Int64("seed", 1, "random seed: the same seed builds the same population")
	partner := bindPartnerDataset(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := validate(); err != nil {
		return err
	}
	if *n < 1 {
		return fmt.Errorf("--citizens must be at least 1")
	}
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := partner.start(*n, *seed); err != nil {
		return err
	}
	start := time.Now()
	r, err := seedPopulation(ctx, a, *n, *seed, os.Stderr, partner.batch)
	if err != nil {
		return err
	}
	if err := partner.finish(ctx, *seed, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d citizens in %s (%.0f citizens/s) into %s\n", *n, time.Since(start).Round(time.Millisecond), r, c.Masked())
	return nil
}
