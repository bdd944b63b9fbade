// Command webhookbench measures webhook delivery: N events fanned out to
// one subscription, then sent by the webhook worker (claim, sign, POST,
// record) to a local receiver; beside it, a plain Go HTTP client POSTing
// the same payloads to the same receiver with the same concurrency. It
// prints one JSON object with both rates.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/webhook"
)

type result struct {
	Backend     string  `json:"backend"`
	N           int     `json:"n"`
	Concurrency int     `json:"concurrency"`
	FanoutPerS  float64 `json:"fanout_per_s"`
	WebhookPerS float64 `json:"webhook_per_s"`
	PlainPerS   float64 `json:"plain_per_s"`
	Received    int64   `json:"received"`
}

func main() {
	n := flag.Int("n", 2000, "events (one webhook each)")
	conc := flag.Int("concurrency", 16, "requests in flight, for both")
	addr := flag.String("addr", "127.0.0.1:19450", "receiver address")
	pg := flag.String("postgres", "", "PostgreSQL URL; SQLite in a temporary file when empty")
	citizens := flag.Int("citizens", 1000, "distinct citizens the events are about (order is kept per citizen)")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the webhook phase")
	flag.Parse()
	ctx := context.Background()

	var received atomic.Int64
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))

	st, backend, cleanup := open(ctx, *pg)
	defer cleanup()
	signer, _ := webhook.GenerateSigner()
	policy := webhook.StaticPolicy{"bank": {EventTypes: []string{cancuoc.EventCitizenUpdated}, Fields: []string{"pin", "version", "changed_fields"}}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := webhook.New(st, policy, signer, webhook.Config{Concurrency: *conc, AllowHTTPDev: true, Poll: 10 * time.Millisecond}, quiet)
	if _, err := svc.Subscribe(ctx, &cancuoc.Principal{ID: "bench", Role: cancuoc.RoleNationalAdmin},
		webhook.NewSubscription{PartnerID: "bank", URL: "http://" + *addr + "/hook", EventTypes: []string{cancuoc.EventCitizenUpdated}}); err != nil {
		log.Fatal(err)
	}

	// Fan-out: the dispatcher's handler, one event at a time.
	events := make([]cancuoc.Event, *n)
	for i := range events {
		events[i] = cancuoc.Event{Seq: int64(i + 1), ID: fmt.Sprintf("ev-%08d", i), Type: cancuoc.EventCitizenUpdated,
			PIN: cancuoc.PIN(fmt.Sprintf("0010900%05d", i%*citizens)), Version: int64(i / *citizens + 2), Actor: "o", At: time.Now(),
			Data: json.RawMessage(`{"fields":["residence"]}`)}
	}
	t0 := time.Now()
	for _, e := range events {
		if err := svc.HandleEvent(ctx, e); err != nil {
			log.Fatal(err)
		}
	}
	fanout := time.Since(t0)

	// The webhook worker until every delivery is recorded as delivered.
	wctx, cancel := context.WithCancel(ctx)
	w := svc.NewWorker(nil)
	if *prof != "" {
		f, _ := os.Create(*prof)
		_ = pprof.StartCPUProfile(f)
	}
	t0 = time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(wctx) })
	for received.Load() < int64(*n) {
		time.Sleep(2 * time.Millisecond)
	}
	for {
		left, err := st.WebhookDeliveries(ctx, cancuoc.DeliveryPending, "", "", 1)
		if err != nil {
			log.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	hooks := time.Since(t0)
	pprof.StopCPUProfile()
	cancel()
	wg.Wait()
	got := received.Load()

	// The reference: the same payloads, a plain client, the same concurrency.
	payloads := make([][]byte, *n)
	for i, e := range events {
		payloads[i], _ = json.Marshal(webhook.Payload{ID: e.ID, Type: e.Type, Timestamp: e.At,
			Data: map[string]any{"pin": e.PIN, "version": e.Version, "changed_fields": []string{"residence"}}})
	}
	client := &http.Client{Timeout: 10 * time.Second}
	jobs := make(chan []byte)
	t0 = time.Now()
	for range *conc {
		wg.Go(func() {
			for p := range jobs {
				resp, err := client.Post("http://"+*addr+"/hook", "application/json", bytes.NewReader(p))
				if err != nil {
					log.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	for _, p := range payloads {
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	plain := time.Since(t0)

	_ = json.NewEncoder(os.Stdout).Encode(result{Backend: backend, N: *n, Concurrency: *conc,
		FanoutPerS: float64(*n) / fanout.Seconds(), WebhookPerS: float64(*n) / hooks.Seconds(),
		PlainPerS: float64(*n) / plain.Seconds(), Received: got})
}

// open returns a fresh store: a temporary SQLite file, or a new schema on
// PostgreSQL dropped afterwards.
func open(ctx context.Context, pgURL string) (webhook.Store, string, func()) {
	if pgURL == "" {
		dir, _ := os.MkdirTemp("", "webhookbench")
		st, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"))
		if err != nil {
			log.Fatal(err)
		}
		return st, "SQLite", func() { st.Close(); os.RemoveAll(dir) }
	}
	schema := fmt.Sprintf("webhookbench_%d", time.Now().UnixNano())
	c, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		log.Fatal(err)
	}
	st, err := postgres.Open(ctx, pgURL, postgres.WithSchema(schema))
	if err != nil {
		log.Fatal(err)
	}
	return st, "PostgreSQL", func() {
		st.Close()
		_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		c.Close(ctx)
	}
}
