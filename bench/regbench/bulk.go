package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/synth"
	"github.com/jackc/pgx/v5"
)

// BulkResult compares the registry's bulk load with a raw COPY of the very
// same rows into the same table definitions.
type BulkResult struct {
	Citizens      int     `json:"citizens"`
	SeedSeconds   float64 `json:"seed_seconds"`
	SeedRate      float64 `json:"seed_rows_per_s"`
	CopySeconds   float64 `json:"copy_seconds"`
	CopyRate      float64 `json:"copy_rows_per_s"`
	Ratio         float64 `json:"ratio"`
	TableBytes    int64   `json:"table_bytes"`
	VersionsBytes int64   `json:"versions_bytes"`
}

// runBulk seeds n citizens through generation + registry.Import (what
// `cancuoc seed` does) into a fresh schema, then exports both tables with
// COPY TO and times a COPY FROM of those rows into a second fresh schema
// built by the same migrations (same columns and indexes). The reference
// therefore writes byte-identical rows; the ratio is the cost of
// everything cancuoc adds: generating, validating, deriving, encoding.
func runBulk(ctx context.Context, fs *flag.FlagSet, args []string) (any, error) {
	url := fs.String("pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL")
	n := fs.Int("n", 100000, "citizens")
	keep := fs.Bool("keep", false, "keep the seeded schema (named by -schema) for later lookups")
	schema := fs.String("schema", "bench_seed", "schema of the seeded registry")
	withRef := fs.Bool("ref", true, "also time the raw COPY reference (needs the space of a second copy)")
	_ = fs.Parse(args)

	conn, err := pgx.Connect(ctx, *url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	ref := *schema + "_copy"
	for _, s := range []string{*schema, ref} {
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{s}.Sanitize()+" CASCADE; CREATE SCHEMA "+pgx.Identifier{s}.Sanitize()); err != nil {
			return nil, err
		}
	}
	st, err := postgres.Open(ctx, *url, postgres.WithSchema(*schema))
	if err != nil {
		return nil, err
	}
	w := audit.NewWriter(st, 0)
	reg := registry.New(st, w)
	meta := registry.Meta{Reason: "benchmark", LegalBasis: "benchmark"}
	fmt.Fprintf(os.Stderr, "seeding %d citizens into %s\n", *n, *schema)
	start := time.Now()
	err = synth.Generate(ctx, synth.Config{Citizens: *n, Seed: 42, Now: time.Now(), BatchSize: 20000}, func(b []*cancuoc.Citizen) error {
		return reg.Import(ctx, nil, b, meta)
	})
	seed := time.Since(start)
	w.Close()
	st.Close()
	if err != nil {
		return nil, err
	}
	var rows int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+*schema+".citizens").Scan(&rows); err != nil {
		return nil, err
	}
	res := BulkResult{Citizens: rows, SeedSeconds: seed.Seconds(), SeedRate: float64(rows) / seed.Seconds()}
	_ = conn.QueryRow(ctx, "SELECT pg_total_relation_size($1), pg_total_relation_size($2)", *schema+".citizens", *schema+".citizen_versions").Scan(&res.TableBytes, &res.VersionsBytes)
	if !*withRef {
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+ref+" CASCADE")
		return res, nil
	}
	// The reference schema: same migrations, empty tables.
	rst, err := postgres.Open(ctx, *url, postgres.WithSchema(ref))
	if err != nil {
		return nil, err
	}
	rst.Close()
	// Export outside the timed part, then time the COPY FROM alone.
	files := map[string]*os.File{}
	for _, t := range []string{"citizens", "citizen_versions"} {
		f, err := os.CreateTemp("", "regbench-"+t)
		if err != nil {
			return nil, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if _, err := conn.PgConn().CopyTo(ctx, f, "COPY "+*schema+"."+t+" TO STDOUT (FORMAT binary)"); err != nil {
			return nil, err
		}
		files[t] = f
	}
	start = time.Now()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range []string{"citizens", "citizen_versions"} {
		f := files[t]
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, f, "COPY "+ref+"."+t+" FROM STDIN (FORMAT binary)"); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	cp := time.Since(start)
	res.CopySeconds, res.CopyRate = cp.Seconds(), float64(rows)/cp.Seconds()
	res.Ratio = res.SeedRate / res.CopyRate
	_, _ = conn.Exec(ctx, "DROP SCHEMA "+ref+" CASCADE")
	if !*keep {
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+*schema+" CASCADE")
	}
	return res, nil
}
