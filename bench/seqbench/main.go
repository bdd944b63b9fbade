// Command seqbench measures the write ceiling of the PostgreSQL store: many
// clients committing, at once, the transaction every registry change makes
// (the record, its history row, an access-log entry and an outbox event),
// beside a reference in the same run that commits the record and history
// row alone. The gap between the two is what appending to the access log
// and the outbox costs; before the sequencer, both appends took a global
// lock held to commit. It prints one JSON object.
//
//	go run ./bench/seqbench -database postgres://… -clients 16 -duration 10s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	crand "crypto/rand"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/storetest"
)

type result struct {
	Mode       string  `json:"mode"`
	Clients    int     `json:"clients"`
	Seconds    float64 `json:"seconds"`
	Commits    int64   `json:"commits"`
	PerSecond  float64 `json:"per_second"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	ClientCPUs float64 `json:"client_cpu_seconds"`
	// DrainMs is how long after the last commit the sequencer needed to
	// give every entry and event its place: the window at the end.
	DrainMs float64 `json:"drain_ms"`
}

func main() {
	url := flag.String("database", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL")
	clients := flag.Int("clients", 16, "concurrent clients")
	dur := flag.Duration("duration", 10*time.Second, "time per mode")
	flag.Parse()
	ctx := context.Background()
	var out []result
	for i, mode := range []string{"record-only", "record+audit+event"} {
		r, err := run(ctx, *url, mode, *clients, *dur, i)
		if err != nil {
			fmt.Fprintln(os.Stderr, "seqbench:", err)
			os.Exit(1)
		}
		out = append(out, r)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

// run commits transactions of one mode in a fresh schema for dur.
func run(ctx context.Context, url, mode string, clients int, dur time.Duration, round int) (result, error) {
	schema := "bench_seq_" + strings.ToLower(crand.Text()[:8])
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		return result{}, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return result{}, err
	}
	defer admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
	st, err := postgres.Open(ctx, url, postgres.WithSchema(schema))
	if err != nil {
		return result{}, err
	}
	defer st.Close()
	withLog := mode != "record-only"
	var (
		next     atomic.Int64
		commits  atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		wg       sync.WaitGroup
		firstErr error
	)
	cpu0 := cpuSeconds()
	start := time.Now()
	stop := start.Add(dur)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(stop) {
				n := int(next.Add(1))
				c := storetest.Citizen(storetest.PINFor("001", cancuoc.Male, 1990+round, n))
				t0 := time.Now()
				err := st.InTx(ctx, func(tx cancuoc.Tx) error { return write(ctx, tx, c, withLog) })
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
				commits.Add(1)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if firstErr != nil {
		return result{}, firstErr
	}
	t0 := time.Now()
	// Asserted here rather than through cancuoc.WaitSequenced so that the
	// same program builds against the code before the sequencer.
	if w, ok := any(st).(interface{ WaitSequenced(context.Context) error }); ok {
		if err := w.WaitSequenced(ctx); err != nil {
			return result{}, err
		}
	}
	drain := time.Since(t0)
	sortDurations(lat)
	return result{Mode: mode, Clients: clients, Seconds: secs, Commits: commits.Load(),
		PerSecond: float64(commits.Load()) / secs, P50ms: ms(pct(lat, 0.5)), P99ms: ms(pct(lat, 0.99)),
		ClientCPUs: cpuSeconds() - cpu0, DrainMs: ms(drain)}, nil
}

// write is one registry change as the registry writes it.
func write(ctx context.Context, tx cancuoc.Tx, c *cancuoc.Citizen, withLog bool) error {
	if err := tx.InsertCitizen(ctx, c); err != nil {
		return err
	}
	if err := tx.AppendVersion(ctx, storetest.FirstVersion(c)); err != nil {
		return err
	}
	if !withLog {
		return nil
	}
	now := time.Now()
	if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: now, Actor: "officer-01", Action: "citizen.create",
		PIN: c.PIN, Fields: []string{"full_name"}, Outcome: "ok"}); err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &cancuoc.Event{ID: "ev-" + string(c.PIN), Type: cancuoc.EventCitizenBorn,
		PIN: c.PIN, Version: 1, Actor: "officer-01", At: now})
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func sortDurations(d []time.Duration) { slices.Sort(d) }

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
