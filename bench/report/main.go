// Command report turns the JSON written by bench/run.sh into
// bench/RESULTS.md, with the machine described and each figure beside its
// reference and the ratio.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

type load struct {
	Clients  int     `json:"clients"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
}

type pgb struct {
	TPS   float64 `json:"tps"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
}

type bulk struct {
	Citizens      int     `json:"citizens"`
	SeedSeconds   float64 `json:"seed_seconds"`
	SeedRate      float64 `json:"seed_rows_per_s"`
	CopySeconds   float64 `json:"copy_seconds"`
	CopyRate      float64 `json:"copy_rows_per_s"`
	Ratio         float64 `json:"ratio"`
	TableBytes    int64   `json:"table_bytes"`
	VersionsBytes int64   `json:"versions_bytes"`
}

func read(dir, name string, v any) bool {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

func sh(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
	}
	return "?"
}

func main() {
	out := flag.String("out", "bench/RESULTS.md", "output file")
	dir := flag.String("dir", "bench/out", "directory of run.sh results")
	clients := flag.Int("clients", 16, "client count used")
	duration := flag.String("duration", "20s", "duration used")
	flag.Parse()

	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Benchmark results\n\n")
	p("Written by `bench/run.sh` (rerun it to refresh) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	p("Machine: %d cores (%s), %s memory; %s; %s; Go %s. The load generator, cancuoc and PostgreSQL share the same 2 cores, as do pgbench and PostgreSQL for the reference.\n\n",
		runtime.NumCPU(), cpuModel(), strings.Fields(sh("free", "-h"))[7], sh("uname", "-sr"), sh("psql", "--version"), runtime.Version())

	var bk bulk
	if read(*dir, "bulk.json", &bk) {
		p("## Bulk load (`cancuoc seed`) against a raw COPY of the same rows\n\n")
		p("cancuoc: generate the synthetic people, validate, derive, encode, and load through `registry.Import` (pgx CopyFrom into `citizens` and `citizen_versions`). Reference: `COPY … FROM STDIN (FORMAT binary)` of the very rows cancuoc wrote, exported beforehand, into a fresh schema built by the same migrations (same columns and indexes), in one transaction.\n\n")
		p("| citizens | cancuoc seed | raw COPY | ratio (goal ≥ 0.7) |\n|---:|---:|---:|---:|\n")
		p("| %d | %.0f rows/s (%.1f s) | %.0f rows/s (%.1f s) | **%.2f** |\n", bk.Citizens, bk.SeedRate, bk.SeedSeconds, bk.CopyRate, bk.CopySeconds, bk.Ratio)
		var big bulk
		if read(*dir, "bulk_big.json", &big) {
			p("| %d | %.0f rows/s (%.1f s) | %.0f rows/s (%.1f s) | **%.2f** |\n", big.Citizens, big.SeedRate, big.SeedSeconds, big.CopyRate, big.CopySeconds, big.Ratio)
		}
		p("\nOn disk at %d citizens: `citizens` %.0f MB, `citizen_versions` %.0f MB (with indexes).\n\n", bk.Citizens, float64(bk.TableBytes)/1e6, float64(bk.VersionsBytes)/1e6)
	}

	var lp, ls, lb load
	var pg pgb
	hasPG, hasRef := read(*dir, "lookup_pg.json", &lp), read(*dir, "pgbench.json", &pg)
	if hasPG || hasRef {
		p("## Citizen lookup by PIN over the HTTP API\n\n")
		p("`GET /v1/citizens/{pin}` for random PINs of the registry, %d clients in a closed loop for %s, API key auth, role-filtered record, and the access written durably to the audit log before each answer (group commit). Reference: `pgbench -S` (select-only, scale 50) with the same client count on the same server.\n\n", *clients, *duration)
		p("| what | requests/s | p50 | p99 | ratio to pgbench -S (goal ≥ 0.3) |\n|---|---:|---:|---:|---:|\n")
		if hasRef {
			p("| pgbench -S (reference) | %.0f | %.2f ms | %.2f ms | 1 |\n", pg.TPS, pg.P50ms, pg.P99ms)
		}
		if hasPG {
			r := 0.0
			if pg.TPS > 0 {
				r = lp.RPS / pg.TPS
			}
			p("| cancuoc on PostgreSQL, %d citizens | %.0f | %.2f ms | %.2f ms | **%.2f** |\n", bk.Citizens, lp.RPS, lp.P50ms, lp.P99ms, r)
		}
		if read(*dir, "lookup_pg_big.json", &lb) {
			var big bulk
			read(*dir, "bulk_big.json", &big)
			p("| cancuoc on PostgreSQL, %d citizens | %.0f | %.2f ms | %.2f ms | %.2f |\n", big.Citizens, lb.RPS, lb.P50ms, lb.P99ms, lb.RPS/pg.TPS)
		}
		if read(*dir, "lookup_sqlite.json", &ls) {
			p("| cancuoc on SQLite (embedded) | %.0f | %.2f ms | %.2f ms | %.2f |\n", ls.RPS, ls.P50ms, ls.P99ms, ls.RPS/pg.TPS)
		}
		p("\nErrors during the runs: PostgreSQL %d, SQLite %d.\n\n", lp.Errors, ls.Errors)
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
