package reconcile_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/reconcile"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/synth"
)

// now is the day the synthetic populations of the tests live on.
var now = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func openSQLite(t testing.TB) cancuoc.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// seeded loads n synthetic people into st and, when records > 0, writes a
// partner data set drawn from them (with outsiders from another seed) into
// dir: data.csv and truth.csv.
func seeded(t testing.TB, st cancuoc.Store, n, records int, pinShare float64, dir string) (data, truth string) {
	t.Helper()
	ctx := context.Background()
	w := audit.NewWriter(st, 0)
	t.Cleanup(func() { w.Close() })
	reg := registry.New(st, w)
	var out, tr bytes.Buffer
	var ds *reconcile.Dataset
	if records > 0 {
		var err error
		ds, err = reconcile.NewDataset(reconcile.DatasetConfig{Records: records, Population: n, Seed: 7, PINShare: pinShare}, &out, &tr)
		if err != nil {
			t.Fatal(err)
		}
	}
	meta := registry.Meta{Reason: "test", LegalBasis: "test"}
	err := synth.Generate(ctx, synth.Config{Citizens: n, Seed: 1, Now: now}, func(b []*cancuoc.Citizen) error {
		if err := reg.Import(ctx, nil, b, meta); err != nil {
			return err
		}
		if ds != nil {
			return ds.Add(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ds == nil {
		return "", ""
	}
	err = synth.Generate(ctx, synth.Config{Citizens: records, Seed: 99, Now: now}, func(b []*cancuoc.Citizen) error {
		return ds.AddOutsiders(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Close(); err != nil {
		t.Fatal(err)
	}
	data, truth = filepath.Join(dir, "data.csv"), filepath.Join(dir, "truth.csv")
	if err := os.WriteFile(data, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truth, tr.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return data, truth
}

func evaluate(t testing.TB, report, format, data, truth string) reconcile.Quality {
	t.Helper()
	open := func(p string) *os.File {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	q, err := reconcile.Evaluate(open(report), format, open(data), open(truth))
	if err != nil {
		t.Fatal(err)
	}
	return q
}
