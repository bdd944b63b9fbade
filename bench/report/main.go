// Command report turns the JSON written by bench/run.sh into
// bench/RESULTS.md, with the machine described and each figure beside its
// reference and the ratio. Lookup figures are medians over interleaved
// rounds, because the shared machine's speed drifts between runs.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// run is one load run (wrk for cancuoc, pgbench -S for the reference).
type run struct {
	RPS    float64 `json:"rps"`
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
	Errors int     `json:"errors"`
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

// series reads NAME.1.json … NAME.n.json.
func series(dir, name string, n int) []run {
	var out []run
	for i := 1; i <= n; i++ {
		var r run
		if read(dir, fmt.Sprintf("%s.%d.json", name, i), &r) {
			out = append(out, r)
		}
	}
	return out
}

func median(rs []run, f func(run) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func rps(r run) float64 { return r.RPS }
func p50(r run) float64 { return r.P50ms }
func p99(r run) float64 { return r.P99ms }

func sh(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
	}
	return "?"
}

func memory() string {
	f := strings.Fields(sh("free", "-h"))
	if len(f) > 7 {
		return f[7]
	}
	return "?"
}

func main() {
	out := flag.String("out", "bench/results/10-registry.md", "output file (a part of bench/RESULTS.md; bench/assemble.sh joins the parts)")
	dir := flag.String("dir", "bench/out", "directory of run.sh results")
	clients := flag.Int("clients", 16, "client count used")
	duration := flag.String("duration", "10s", "duration of each run")
	rounds := flag.Int("rounds", 3, "rounds run")
	flag.Parse()

	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("## Registry: bulk load and lookups (`bench/run.sh`)\n\n")
	p("Written by `bench/run.sh` (rerun it to refresh) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	p("Machine: %d cores (%s), %s memory; %s; %s; Go %s. The load generator, cancuoc and PostgreSQL share the same cores, as do pgbench and PostgreSQL for the reference. The machine is shared with other work and its speed drifts by tens of per cent between minutes, so compare ratios taken in the same run, not absolute figures across runs.\n\n",
		runtime.NumCPU(), cpuModel(), memory(), sh("uname", "-sr"), sh("psql", "--version"), runtime.Version())

	var bk, big bulk
	hasBig := read(*dir, "bulk_big.json", &big)
	if read(*dir, "bulk.json", &bk) {
		p("### Bulk load (`cancuoc seed`) against a raw COPY of the same rows\n\n")
		p("cancuoc: generate the synthetic people, validate, derive, encode, and load through `registry.Import` (pgx CopyFrom into `citizens` and `citizen_versions`, one transaction per batch of 20,000). Reference: `COPY … FROM STDIN (FORMAT binary)` of the very rows cancuoc wrote, exported beforehand, into a fresh schema built by the same migrations (same columns and indexes), in one transaction.\n\n")
		p("| citizens | cancuoc seed | raw COPY | ratio (goal ≥ 0.7) |\n|---:|---:|---:|---:|\n")
		for _, x := range []bulk{bk, big} {
			switch {
			case x.Citizens > 0 && x.CopyRate > 0:
				p("| %d | %.0f rows/s (%.1f s) | %.0f rows/s (%.1f s) | **%.2f** |\n", x.Citizens, x.SeedRate, x.SeedSeconds, x.CopyRate, x.CopySeconds, x.Ratio)
			case x.Citizens > 0:
				p("| %d | %.0f rows/s (%.1f s) | not run (no room for a second copy) | |\n", x.Citizens, x.SeedRate, x.SeedSeconds)
			}
		}
		if note, err := os.ReadFile(filepath.Join(*dir, "big", "note.txt")); err == nil {
			p("\n%s\n", strings.TrimSpace(string(note)))
		}
		p("\nOn disk at %d citizens: `citizens` %.0f MB, `citizen_versions` %.0f MB (with indexes).\n\n", bk.Citizens, float64(bk.TableBytes)/1e6, float64(bk.VersionsBytes)/1e6)
	}

	ref, pg, lite := series(*dir, "pgbench", *rounds), series(*dir, "lookup_pg", *rounds), series(*dir, "lookup_sqlite", *rounds)
	if len(ref) > 0 {
		p("### Citizen lookup by PIN over the HTTP API\n\n")
		p("`GET /v1/citizens/{pin}` for random PINs of the registry, driven by wrk with %d connections (closed loop) for %s per run: API-key authentication, jurisdiction check, the record as stored, and the access written durably to the audit log before each answer (group commit). Reference: `pgbench -S` (select-only, scale 50) with the same client count on the same server. Medians of %d interleaved rounds.\n\n", *clients, *duration, len(ref))
		p("| what | requests/s | p50 | p99 | ratio to pgbench -S (goal ≥ 0.3) |\n|---|---:|---:|---:|---:|\n")
		r0 := median(ref, rps)
		row := func(name string, rs []run, bold bool) {
			if len(rs) == 0 {
				return
			}
			f := "%.2f"
			if bold {
				f = "**%.2f**"
			}
			p("| %s | %.0f | %.2f ms | %.2f ms | "+f+" |\n", name, median(rs, rps), median(rs, p50), median(rs, p99), median(rs, rps)/r0)
		}
		p("| pgbench -S (reference) | %.0f | %.2f ms | %.2f ms | 1 |\n", r0, median(ref, p50), median(ref, p99))
		row(fmt.Sprintf("cancuoc on PostgreSQL, %d citizens", bk.Citizens), pg, true)
		row("cancuoc on SQLite (embedded)", lite, false)
		p("\nEach round (requests/s): pgbench %s; PostgreSQL %s; SQLite %s.\n", list(ref), list(pg), list(lite))
		if a, err := os.ReadFile(filepath.Join(*dir, "audit_pg.txt")); err == nil {
			var commits, entries float64
			for _, l := range strings.Split(string(a), "\n") {
				var v float64
				if _, err := fmt.Sscanf(l, "cancuoc_audit_commits_total %g", &v); err == nil {
					commits = v
				}
				if _, err := fmt.Sscanf(l, "cancuoc_audit_entries_total %g", &v); err == nil {
					entries = v
				}
			}
			if commits > 0 {
				p("Audit group commit on PostgreSQL: %.0f entries in %.0f commits (%.1f per commit).\n", entries, commits, entries/commits)
			}
		}
		p("\n")
	}
	refBig, lb := series(*dir, "pgbench_big", *rounds), series(*dir, "lookup_big", *rounds)
	if hasBig && len(lb) > 0 {
		p("### Lookup latency as the registry grows\n\n")
		p("| registry size | requests/s | p50 | p99 | pgbench -S in the same rounds |\n|---:|---:|---:|---:|---:|\n")
		p("| %d | %.0f | %.2f ms | %.2f ms | %.0f |\n", bk.Citizens, median(pg, rps), median(pg, p50), median(pg, p99), median(ref, rps))
		p("| %d | %.0f | %.2f ms | %.2f ms | %.0f |\n\n", big.Citizens, median(lb, rps), median(lb, p50), median(lb, p99), median(refBig, rps))
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func list(rs []run) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmt.Sprintf("%.0f", r.RPS)
	}
	return strings.Join(s, ", ")
}
