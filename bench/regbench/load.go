package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

// LoadResult is one closed-loop load run.
type LoadResult struct {
	Clients  int     `json:"clients"`
	Seconds  float64 `json:"seconds"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
}

// runLoad sends GET /v1/citizens/{pin} for random known PINs from c
// clients, each waiting for its answer before the next (closed loop, as
// pgbench does), for a fixed time; it reports throughput and latency.
func runLoad(ctx context.Context, fs *flag.FlagSet, args []string) (any, error) {
	base := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	key := fs.String("key", "", "API key")
	pinsFile := fs.String("pins", "", "file of PINs, one per line")
	clients := fs.Int("c", 8, "concurrent clients")
	dur := fs.Duration("d", 15*time.Second, "duration")
	warm := fs.Duration("warmup", 2*time.Second, "warm-up before measuring")
	_ = fs.Parse(args)
	pins, err := readLines(*pinsFile)
	if err != nil {
		return nil, err
	}
	if len(pins) == 0 {
		return nil, fmt.Errorf("no PINs in %s", *pinsFile)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	get := func(r *rand.Rand) (time.Duration, bool) {
		req, _ := http.NewRequestWithContext(ctx, "GET", *base+"/v1/citizens/"+pins[r.IntN(len(pins))], nil)
		req.Header.Set("Authorization", "Bearer "+*key)
		req.Header.Set("X-Purpose", "benchmark")
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(t), resp.StatusCode == http.StatusOK
	}
	// Warm up connections, caches and the server's pools.
	run := func(d time.Duration, record bool) ([]time.Duration, int) {
		var mu sync.Mutex
		var all []time.Duration
		errs := 0
		stop := time.Now().Add(d)
		var wg sync.WaitGroup
		for i := 0; i < *clients; i++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, 7))
				var lat []time.Duration
				e := 0
				for time.Now().Before(stop) {
					d, ok := get(r)
					if !ok {
						e++
						continue
					}
					if record {
						lat = append(lat, d)
					}
				}
				mu.Lock()
				all = append(all, lat...)
				errs += e
				mu.Unlock()
			}(uint64(i))
		}
		wg.Wait()
		return all, errs
	}
	run(*warm, false)
	start := time.Now()
	lat, errs := run(*dur, true)
	secs := time.Since(start).Seconds()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	return LoadResult{Clients: *clients, Seconds: secs, Requests: len(lat), Errors: errs,
		RPS: float64(len(lat)) / secs, P50ms: pct(0.50), P99ms: pct(0.99)}, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if t := sc.Text(); t != "" {
			out = append(out, t)
		}
	}
	return out, sc.Err()
}
