package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/webhook"
)

// The webhook crash test runs `cancuoc serve` as a child process, kills it
// with SIGKILL at random moments while events are added and webhooks flow
// to a receiver, rotates the signing key once while it is down, and checks
// at the end that every event reached the receiver at least once, each
// citizen's first receipts in order, every request signed by the key the
// receiver trusted from the start, and every delivery recorded delivered.
// Redeliveries (a webhook sent, the server killed before it recorded the
// outcome) are expected: the receiver de-duplicates by webhook-id, and the
// count is reported. CRASH_WEBHOOKS sets the events (400; -short 120).

// crashWait is how long the end of the run may take.
var crashWait = 3 * time.Minute

func crashWebhooks(t *testing.T) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("CRASH_WEBHOOKS"), &n); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 120
	}
	return 400
}

// hookReceiver is the partner's endpoint: it verifies each request against
// the keys it trusts, answers 503 to a few at random (so retries happen
// too), and counts what it accepted per webhook-id.
type hookReceiver struct {
	t    *testing.T
	mu   sync.Mutex
	keys []ed25519.PublicKey
	got  map[string]int
	// first receipts per citizen, in arrival order (event versions)
	order    map[string][]int64
	requests int
	refused  int
	rng      *rand.Rand
}

func (rc *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	id := r.Header.Get(webhook.HeaderID)
	if rc.keys == nil { // the test has not read the published key yet
		rc.refused++
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	if err := webhook.Verify(rc.keys, id, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature),
		body, time.Now(), webhook.DefaultTolerance); err != nil {
		rc.t.Errorf("webhook %s: %v (signature %q)", id, err, r.Header.Get(webhook.HeaderSignature))
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	if rc.rng.IntN(20) == 0 {
		rc.refused++
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.ID != id {
		rc.t.Errorf("payload %s: %v", body, err)
	}
	if rc.got[id] == 0 {
		pin, _ := p.Data["pin"].(string)
		v, _ := p.Data["version"].(float64)
		rc.order[pin] = append(rc.order[pin], int64(v))
	}
	rc.got[id]++
	w.WriteHeader(http.StatusNoContent)
}

func (rc *hookReceiver) unique() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

type webhookCrashSetup struct {
	store func() cancuoc.Store
	args  []string // database flags
}

func runWebhookCrash(t *testing.T, setup webhookCrashSetup) {
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	n := crashWebhooks(t)
	const citizens = 40
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"bank1": {"event_types": ["citizen.born"], "fields": ["pin", "version"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rc := &hookReceiver{t: t, got: map[string]int{}, order: map[string][]int64{}, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))}
	recv := httptest.NewServer(rc)
	defer recv.Close()

	common := append([]string{"--data-dir", dir, "--addr", addr, "--webhook-policy", policy}, setup.args...)
	var out strings.Builder
	if err := run(t.Context(), append(append([]string{"admin", "create-webhook"}, common...),
		"--partner", "bank1", "--url", recv.URL, "--events", "citizen.born"), noEnv, &out); err != nil {
		t.Fatalf("create-webhook: %v", err)
	}
	next := 0
	appendBatch := func(k int) {
		t.Helper()
		st := setup.store()
		defer st.Close()
		for ; k > 0 && next < n; k-- {
			e := &cancuoc.Event{ID: fmt.Sprintf("evc-%05d", next), Type: cancuoc.EventCitizenBorn, PIN: storetest.PIN(next % citizens),
				Version: int64(next + 1), Actor: "officer-crash", At: time.Now()}
			if err := st.AppendEvent(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			next++
		}
	}
	batch := n / 8
	appendBatch(batch)

	args := append([]string{"serve", "--demo-citizens", "0", "--log-level", "warn",
		"--webhook-first-retry", "50ms", "--webhook-max-retry", "400ms"}, common...)
	srv := &proc{t: t, name: bin, args: args, log: &syncBuffer{}, addr: addr}
	srv.start()
	defer srv.kill()

	// The receiver trusts the key published at the start only: after the
	// rotation, webhooks still carry a signature by it (the overlap).
	res, err := http.Get("http://" + addr + "/.well-known/webhook-keys")
	if err != nil {
		t.Fatal(err)
	}
	var keys struct {
		Keys []webhook.PublishedKey `json:"keys"`
	}
	err = json.NewDecoder(res.Body).Decode(&keys)
	res.Body.Close()
	if err != nil || len(keys.Keys) != 1 {
		t.Fatalf("published keys %+v: %v", keys, err)
	}
	pub, err := webhook.ParsePublicKey(keys.Keys[0].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.keys = []ed25519.PublicKey{pub}
	rc.mu.Unlock()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	kills := 0
	for next < n || kills < 6 {
		time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
		srv.kill()
		kills++
		appendBatch(batch)
		if kills == 3 {
			out.Reset()
			if err := run(t.Context(), append([]string{"admin", "rotate-webhook-key"}, common...), noEnv, &out); err != nil {
				t.Fatalf("rotate-webhook-key: %v", err)
			}
		}
		srv.start()
		if kills > 20 {
			t.Fatal("too many rounds")
		}
	}
	// Wait for every event to arrive and every outcome to be recorded
	// (the last webhooks may be received before the server records them).
	deadline := time.Now().Add(crashWait)
	for time.Now().Before(deadline) {
		if rc.unique() == n && pendingDeliveries(t, setup.store) == 0 {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if time.Now().After(deadline) {
		st := setup.store()
		evs, _ := st.EventsAfter(t.Context(), 0, 10*n)
		cursors, _ := st.Cursors(t.Context())
		st.Close()
		t.Errorf("after %s: %d of %d events received, %d deliveries pending, %d events in the outbox, cursors %+v; server log:\n%s",
			crashWait, rc.unique(), n, pendingDeliveries(t, setup.store), len(evs), cursors, tail(srv.log.String()))
	}
	srv.kill()

	rc.mu.Lock()
	defer rc.mu.Unlock()
	total := 0
	for i := range n {
		c := rc.got[fmt.Sprintf("evc-%05d", i)]
		if c == 0 {
			t.Errorf("event evc-%05d never reached the receiver", i)
		}
		total += c
	}
	if len(rc.got) != n {
		t.Errorf("receiver saw %d distinct webhook-ids, want %d", len(rc.got), n)
	}
	for pin, vs := range rc.order {
		for i := 1; i < len(vs); i++ {
			if vs[i] <= vs[i-1] {
				t.Errorf("citizen %s: first receipts out of order: %v", pin, vs)
				break
			}
		}
	}
	st := setup.store()
	defer st.Close()
	for _, status := range []string{cancuoc.DeliveryPending, cancuoc.DeliveryDead} {
		if ds, err := st.WebhookDeliveries(t.Context(), status, "", "", 10); err != nil || len(ds) != 0 {
			t.Errorf("%d deliveries %s at the end, %v", len(ds), status, err)
		}
	}
	delivered, err := st.WebhookDeliveries(t.Context(), cancuoc.DeliveryDelivered, "", "", n+10)
	if err != nil || len(delivered) != n {
		t.Errorf("%d deliveries recorded delivered, want %d (%v)", len(delivered), n, err)
	}
	if t.Failed() {
		t.Logf("server log:\n%s", tail(srv.log.String()))
		return
	}
	t.Logf("%d events, %d kills, key rotated once: %d accepted webhooks for %d events (%d redelivered, de-duplicated by webhook-id), %d requests in all, %d answered 503 on purpose",
		n, kills, total, n, total-n, rc.requests, rc.refused)
}

// pendingDeliveries counts the deliveries still pending (up to 1000).
func pendingDeliveries(t *testing.T, open func() cancuoc.Store) int {
	st := open()
	defer st.Close()
	ds, err := st.WebhookDeliveries(t.Context(), cancuoc.DeliveryPending, "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

func TestWebhookCrashSQLite(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hooks.db")
	runWebhookCrash(t, webhookCrashSetup{
		store: func() cancuoc.Store {
			s, err := sqlite.Open(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		args: []string{"--database", db},
	})
}

func TestWebhookCrashPostgres(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.SchemaURL(t, "whcrash")
	runWebhookCrash(t, webhookCrashSetup{
		store: func() cancuoc.Store {
			s, err := postgres.Open(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		args: []string{"--database", dbURL},
	})
}
