// Command procbench measures birth procedures completed end to end per
// second through cancuoc's API, with automated agency clients.
//
//	procbench seed -database DB -n N -out seed.json   # before the server starts
//	procbench run -base http://127.0.0.1:19050 -seed seed.json -n N -clients C
//
// run submits N birth files at the counter (C concurrent submitters) while
// C clients per agency (civil status, police, social insurance) work their
// queues: claim, then complete, each with an Idempotency-Key. It reports
// JSON: files, seconds from the first submission until every file is
// completed, files per second, and the median and p95 time a file took.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/workflow"
	"github.com/cancuoc/cancuoc/workflow/wftest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: procbench seed|run [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "seed":
		err = seed(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	default:
		err = errors.New("unknown command " + os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "procbench:", err)
		os.Exit(1)
	}
}

func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	db := fs.String("database", "", "postgres:// URL or SQLite file")
	n := fs.Int("n", 1000, "mothers to create (one birth file each)")
	out := fs.String("out", "seed.json", "where to write the keys and PINs")
	_ = fs.Parse(args)
	ctx := context.Background()
	var st cancuoc.Store
	var err error
	if strings.HasPrefix(*db, "postgres") {
		st, err = postgres.Open(ctx, *db)
	} else {
		st, err = sqlite.Open(ctx, *db)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := wftest.Seed(ctx, st, *n, workflow.Agencies())
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(s)
	return os.WriteFile(*out, raw, 0o600)
}

type client struct {
	base, key string
	hc        *http.Client
}

// call sends one request, retrying on network errors and 5xx.
func (c *client) call(ctx context.Context, method, path, idem string, body, out any) (int, error) {
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("Content-Type", "application/json")
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		res, err := c.hc.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(res.Body)
			res.Body.Close()
			if rerr == nil && res.StatusCode < 500 {
				if out != nil && res.StatusCode < 300 {
					return res.StatusCode, json.Unmarshal(b, out)
				}
				return res.StatusCode, nil
			}
			err = fmt.Errorf("status %d: %s", res.StatusCode, b)
		}
		if ctx.Err() != nil || attempt > 50 {
			return 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type task struct {
	ProcedureID string `json:"procedure_id"`
	No          int    `json:"no"`
}

// workBatch runs one agency system until stop with the batch routes:
// claim up to max tasks of its queue in one call, then complete them all
// in one call.
func workBatch(ctx context.Context, c *client, name string, max int, idle, poll time.Duration, stop *atomic.Bool, finished func(id string, no int)) error {
	for call := 0; !stop.Load(); call++ {
		var claimed struct {
			Items []task `json:"items"`
		}
		key := fmt.Sprintf("%s-%d", name, call)
		if _, err := c.call(ctx, "POST", "/v1/procedure-tasks/claim", "claim-"+key, map[string]int{"max": max}, &claimed); err != nil {
			return err
		}
		if len(claimed.Items) == 0 {
			time.Sleep(idle)
			continue
		}
		items := make([]map[string]any, len(claimed.Items))
		for i, t := range claimed.Items {
			items[i] = map[string]any{"procedure_id": t.ProcedureID, "no": t.No}
		}
		var res struct {
			Items []struct {
				ProcedureID string `json:"procedure_id"`
				No          int    `json:"no"`
				Status      int    `json:"status"`
			} `json:"items"`
		}
		st, err := c.call(ctx, "POST", "/v1/procedure-tasks/settle", "settle-"+key, map[string]any{"items": items}, &res)
		if err != nil {
			return err
		}
		if st != 200 {
			return fmt.Errorf("settle: status %d", st)
		}
		for _, it := range res.Items {
			if it.Status == 200 {
				finished(it.ProcedureID, it.No)
			}
		}
		if len(claimed.Items) < max {
			// The queue is drained: an agency's system polls again after
			// its interval rather than at once for the next few tasks.
			time.Sleep(poll)
		}
	}
	return nil
}

// work runs one agency client until stop.
func work(ctx context.Context, c *client, stop *atomic.Bool, finished func(id string, no int)) error {
	for !stop.Load() {
		var page struct {
			Items []task `json:"items"`
		}
		if _, err := c.call(ctx, "GET", "/v1/procedure-tasks?status=pending&limit=20", "", nil, &page); err != nil {
			return err
		}
		if len(page.Items) == 0 {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		for _, t := range page.Items {
			path := fmt.Sprintf("/v1/procedures/%s/steps/%d/", t.ProcedureID, t.No)
			id := fmt.Sprintf("%s-%d", t.ProcedureID, t.No)
			st, err := c.call(ctx, "POST", path+"claim", "claim-"+id, nil, nil)
			if err != nil {
				return err
			}
			if st != 200 {
				continue // the other client of the agency took it
			}
			st, err = c.call(ctx, "POST", path+"complete", "done-"+id, map[string]string{}, nil)
			if err != nil {
				return err
			}
			if st == 200 {
				finished(t.ProcedureID, t.No)
			}
		}
	}
	return nil
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	base := fs.String("base", "http://127.0.0.1:19050", "cancuoc's URL")
	seedFile := fs.String("seed", "seed.json", "written by procbench seed")
	n := fs.Int("n", 1000, "birth files to run")
	clients := fs.Int("clients", 4, "concurrent submitters, and clients per agency")
	mode := fs.String("mode", "step", "step: agency clients claim and complete one step per call; batch: they use the batch routes")
	batch := fs.Int("batch", 50, "tasks per claim in batch mode (at most 100)")
	idle := fs.Duration("idle", 50*time.Millisecond, "batch mode: how long a client waits after finding its queue empty")
	poll := fs.Duration("poll", 0, "batch mode: how long a client waits after a batch smaller than -batch (its queue drained) before claiming again")
	_ = fs.Parse(args)
	raw, err := os.ReadFile(*seedFile)
	if err != nil {
		return err
	}
	var s wftest.Seeded
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	if *n > len(s.Mothers) {
		return fmt.Errorf("seed has %d mothers, fewer than -n %d", len(s.Mothers), *n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var (
		mu        sync.Mutex
		submitted = map[string]time.Time{}
		closed    = map[string]bool{}
		durations []float64
		last      time.Time
		done      atomic.Int64
		stop      atomic.Bool
	)
	lastStep := 3
	finished := func(id string, no int) {
		if no != lastStep {
			return
		}
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if closed[id] {
			return // a retried completion answered again
		}
		closed[id] = true
		if t0, ok := submitted[id]; ok {
			durations = append(durations, now.Sub(t0).Seconds())
		}
		last = now
		if done.Add(1) == int64(*n) {
			stop.Store(true)
		}
	}
	errc := make(chan error, 4**clients+*clients)
	var wg sync.WaitGroup
	for _, ag := range []string{workflow.AgencyCivilStatus, workflow.AgencyPolice, workflow.AgencySocialInsurance} {
		for i := range *clients {
			c := &client{base: *base, key: s.Keys[ag][i%len(s.Keys[ag])], hc: hc}
			name := fmt.Sprintf("%s-%d-%d", ag, i, time.Now().UnixNano())
			wg.Go(func() {
				var err error
				if *mode == "batch" {
					err = workBatch(ctx, c, name, *batch, *idle, *poll, &stop, finished)
				} else {
					err = work(ctx, c, &stop, finished)
				}
				if err != nil {
					errc <- err
					stop.Store(true)
				}
			})
		}
	}
	start := time.Now()
	next := atomic.Int64{}
	var subs sync.WaitGroup
	for range *clients {
		c := &client{base: *base, key: s.Keys[workflow.AgencyCivilStatus][0], hc: hc}
		subs.Go(func() {
			for !stop.Load() {
				i := int(next.Add(1)) - 1
				if i >= *n {
					return
				}
				m := s.Mothers[i]
				// Children named as a population's are, born over the last
				// month, as a commune's births are (wftest.Seed).
				sex := []cancuoc.Sex{cancuoc.Female, cancuoc.Male}[i%2]
				body := map[string]any{"kind": "birth", "applicant": m, "birth": map[string]any{"full_name": wftest.Name(i, sex, time.Now().Year()),
					"birth_date": time.Now().AddDate(0, 0, -1-i%30).Format(time.DateOnly), "sex": sex, "mother": map[string]any{"pin": m},
					"registration": map[string]any{"province": wftest.Province, "commune": wftest.Commune}}}
				var f struct {
					ID string `json:"id"`
				}
				t0 := time.Now()
				st, err := c.call(ctx, "POST", "/v1/procedures", fmt.Sprintf("bench-%d", i), body, &f)
				if err == nil && st != 201 {
					err = fmt.Errorf("submission %d: status %d", i, st)
				}
				if err != nil {
					errc <- err
					stop.Store(true)
					return
				}
				mu.Lock()
				submitted[f.ID] = t0
				mu.Unlock()
			}
		})
	}
	subs.Wait()
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	secs := last.Sub(start).Seconds()
	sort.Float64s(durations)
	q := func(p float64) float64 {
		if len(durations) == 0 {
			return 0
		}
		return durations[min(int(p*float64(len(durations))), len(durations)-1)]
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"files": done.Load(), "seconds": secs,
		"per_second": float64(done.Load()) / secs, "p50_seconds": q(0.5), "p95_seconds": q(0.95), "clients": *clients,
		"mode": *mode, "client_cpu_seconds": cpu})
}
