package webhook_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/dispatch"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/webhook"
)

// natsURLs runs fn against an embedded NATS server with JetStream and, when
// CANCUOC_TEST_NATS is set, against that real server; without it the real
// half skips, or fails under CI=true.
func natsURLs(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("embedded-nats", func(t *testing.T) {
		ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
			StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		t.Cleanup(ns.Shutdown)
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatal("embedded NATS server not ready")
		}
		fn(t, ns.ClientURL())
	})
	t.Run("real-nats", func(t *testing.T) {
		url := os.Getenv("CANCUOC_TEST_NATS")
		if url == "" {
			if os.Getenv("CI") == "true" {
				t.Fatal("CANCUOC_TEST_NATS is not set: CI must run the webhook tests against a real NATS server (.ci/run starts one)")
			}
			t.Skip("\n*** webhook tests on a real NATS server DID NOT RUN: CANCUOC_TEST_NATS is not set (e.g. nats://127.0.0.1:4222). ***")
		}
		fn(t, url)
	})
}

// connectJS returns a JetStream context on a connection of its own,
// closed with the test.
func connectJS(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// testStream is a stream and subjects of the test's own, deleted after it.
func testStream(t *testing.T, url string) dispatch.JetStreamConfig {
	id := strings.ToLower(rand.Text()[:10])
	cfg := dispatch.JetStreamConfig{Stream: "CANCUOC_WHTEST_" + strings.ToUpper(id), Prefix: "cancuocwhtest." + id + ".",
		Duplicates: time.Minute, AckWait: 2 * time.Second}
	js := connectJS(t, url)
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), cfg.Stream) })
	return cfg
}

// perSub counts what each subscription's receiver accepted, per event ID;
// it answers 503 to about one request in eight, so retries happen.
type perSub struct {
	mu  sync.Mutex
	rng *mrand.Rand
	got map[string]map[string]int // path → event ID → times
}

func (p *perSub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rng.IntN(8) == 0 {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if p.got[r.URL.Path] == nil {
		p.got[r.URL.Path] = map[string]int{}
	}
	p.got[r.URL.Path][r.Header.Get(webhook.HeaderID)]++
	w.WriteHeader(http.StatusNoContent)
}

func (p *perSub) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got[path])
}

// TestJetStreamFanOut: events go from the outbox through NATS JetStream to
// the webhook fan-out, a durable JetStream consumer shared by two nodes,
// each with its own delivery worker. Some events are handled and then
// reported failed (a node dying after its commit, before its ack), so
// JetStream redelivers them, and one node stops half-way. Every
// subscription still gets each of its events exactly once: one delivery row
// per (subscription, event ID), one accepted webhook per event.
func TestJetStreamFanOut(t *testing.T) {
	natsURLs(t, func(t *testing.T, url string) {
		testkit.Stores(t, "webhook_test", func(t *testing.T, st cancuoc.Store) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			rc := &perSub{rng: mrand.New(mrand.NewPCG(1, 2)), got: map[string]map[string]int{}}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			signer, _ := webhook.GenerateSigner()
			svcs := []*webhook.Service{
				webhook.New(st, bankPolicy, signer, fastConfig(), quiet),
				webhook.New(st, bankPolicy, signer, fastConfig(), quiet),
			}
			bank, err := svcs[0].Subscribe(ctx, admin, webhook.NewSubscription{PartnerID: "bank1", URL: srv.URL + "/bank",
				EventTypes: []string{cancuoc.EventCitizenDied, cancuoc.EventCitizenUpdated}})
			if err != nil {
				t.Fatal(err)
			}
			stats, err := svcs[0].Subscribe(ctx, admin, webhook.NewSubscription{PartnerID: "stats", URL: srv.URL + "/stats",
				EventTypes: []string{cancuoc.EventCitizenDied}})
			if err != nil {
				t.Fatal(err)
			}
			const n = 200
			died := 0
			for i := range n {
				e := &cancuoc.Event{ID: fmt.Sprintf("evj-%04d", i), Type: cancuoc.EventCitizenUpdated, PIN: storetest.PIN(i % 20),
					Version: int64(i + 1), Actor: "officer-7", At: time.Now()}
				if i%5 == 0 {
					e.Type = cancuoc.EventCitizenDied
					died++
				}
				if err := st.AppendEvent(ctx, e); err != nil {
					t.Fatal(err)
				}
			}

			var mu sync.Mutex
			failedOnce := map[string]bool{}
			handled := 0
			var nodes []*dispatch.Dispatcher
			cfg := testStream(t, url)
			for _, svc := range svcs {
				d := dispatch.New(st, dispatch.WithLogger(quiet), dispatch.WithPoll(5*time.Millisecond),
					dispatch.WithBackoff(time.Millisecond, 20*time.Millisecond), dispatch.WithJetStream(connectJS(t, url), cfg))
				d.Subscribe("webhooks", nil, func(ctx context.Context, e cancuoc.Event) error {
					if err := svc.HandleEvent(ctx, e); err != nil {
						return err
					}
					mu.Lock()
					defer mu.Unlock()
					handled++
					if e.Seq%7 == 0 && !failedOnce[e.ID] {
						failedOnce[e.ID] = true
						return errors.New("the node died after its commit, before the ack")
					}
					return nil
				})
				if err := d.Start(ctx); err != nil {
					t.Fatal(err)
				}
				nodes = append(nodes, d)
				go svc.NewWorker(nil).Run(ctx)
			}
			stopped := false
			deadline := time.Now().Add(2 * time.Minute)
			recorded := func(partner string) int {
				ds, err := st.WebhookDeliveries(context.Background(), cancuoc.DeliveryDelivered, partner, "", 1000)
				if err != nil {
					t.Fatal(err)
				}
				return len(ds)
			}
			// Until every webhook arrived and every outcome is recorded.
			for rc.count("/bank") < n || rc.count("/stats") < died || recorded("bank1") < n || recorded("stats") < died {
				if !stopped && rc.count("/bank") >= n/4 {
					nodes[0].Stop() // the other node's consumer carries on
					stopped = true
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 2 minutes: bank got %d of %d, stats %d of %d; status %+v",
						rc.count("/bank"), n, rc.count("/stats"), died, nodes[1].Status())
				}
				time.Sleep(50 * time.Millisecond)
			}
			nodes[1].Stop()
			if !stopped {
				nodes[0].Stop()
			}
			cancel()

			mu.Lock()
			redelivered := handled - n
			mu.Unlock()
			if redelivered <= 0 || len(failedOnce) == 0 {
				t.Errorf("the fan-out handled %d events for %d, %d failed on purpose: JetStream redelivered nothing", handled, n, len(failedOnce))
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			for path, want := range map[string]int{"/bank": n, "/stats": died} {
				if len(rc.got[path]) != want {
					t.Errorf("%s received %d distinct events, want %d", path, len(rc.got[path]), want)
				}
				for id, c := range rc.got[path] {
					if c != 1 {
						t.Errorf("%s received %s %d times", path, id, c)
					}
				}
			}
			for _, sub := range []*cancuoc.WebhookSubscription{bank, stats} {
				ds, err := st.WebhookDeliveries(context.Background(), cancuoc.DeliveryDelivered, sub.PartnerID, "", 1000)
				if err != nil {
					t.Fatal(err)
				}
				seen := map[string]bool{}
				for _, d := range ds {
					if seen[d.EventID] {
						t.Errorf("two delivery rows for %s and %s", sub.ID, d.EventID)
					}
					seen[d.EventID] = true
				}
				want := n
				if sub == stats {
					want = died
				}
				if len(seen) != want {
					t.Errorf("%s: %d events delivered, want %d", sub.ID, len(seen), want)
				}
			}
			t.Logf("%d events through JetStream to 2 subscriptions; the fan-out ran %d times (%d redelivered by JetStream), deduplicated by (subscription, event ID)",
				n, handled, redelivered)
		})
	})
}
