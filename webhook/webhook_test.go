package webhook_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/dispatch"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/webhook"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var bankPolicy = webhook.StaticPolicy{
	"bank1": {EventTypes: []string{cancuoc.EventCitizenDied, cancuoc.EventCitizenUpdated}, Fields: []string{"pin", "version", "changed_fields"}},
	"stats": {EventTypes: []string{cancuoc.EventCitizenDied}},
}

func fastConfig() webhook.Config {
	return webhook.Config{FirstRetry: 20 * time.Millisecond, MaxRetry: 150 * time.Millisecond, MaxAttempts: 1000,
		MaxAge: time.Hour, Timeout: 2 * time.Second, Concurrency: 8, Poll: 20 * time.Millisecond, AllowHTTPDev: true}
}

var admin = &cancuoc.Principal{ID: "root", Role: cancuoc.RoleNationalAdmin}

// receiver is a partner's endpoint: it verifies every request and keeps
// the accepted ones; while down it answers 503.
type receiver struct {
	t    *testing.T
	keys []ed25519.PublicKey

	mu       sync.Mutex
	down     bool
	status   int            // answer when not down (200 if 0)
	got      map[string]int // accepted webhook-ids
	order    map[string][]int64
	rejected int
	bad      int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	err := webhook.Verify(rc.keys, r.Header.Get(webhook.HeaderID), r.Header.Get(webhook.HeaderTimestamp),
		r.Header.Get(webhook.HeaderSignature), body, time.Now(), webhook.DefaultTolerance)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.bad++
		rc.t.Errorf("signature: %v", err)
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	if rc.down {
		rc.rejected++
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if rc.status != 0 {
		w.WriteHeader(rc.status)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.ID != r.Header.Get(webhook.HeaderID) {
		rc.t.Errorf("payload %s: %v", body, err)
	}
	rc.got[p.ID]++
	pin, _ := p.Data["pin"].(string)
	if v, ok := p.Data["version"].(float64); ok && pin != "" {
		rc.order[pin] = append(rc.order[pin], int64(v))
	}
	w.WriteHeader(http.StatusNoContent)
}

func newReceiver(t *testing.T, keys ...ed25519.PublicKey) *receiver {
	return &receiver{t: t, keys: keys, got: map[string]int{}, order: map[string][]int64{}}
}

// serve runs rc on addr until the returned stop is called (the listener
// closed, connections cut), and returns the address it listens on: give
// "127.0.0.1:0" for a port of the kernel's choosing, and that address again
// to restart a receiver where its subscription points.
func serve(t *testing.T, addr string, h http.Handler) (bound string, stop func()) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may still be closing from the previous run
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }
}

func appendEvents(t *testing.T, s cancuoc.Store, d *dispatch.Dispatcher, from, n, citizens int) []string {
	t.Helper()
	var ids []string
	for i := from; i < from+n; i++ {
		e := &cancuoc.Event{ID: fmt.Sprintf("ev-%04d", i), Type: cancuoc.EventCitizenUpdated, PIN: storetest.PIN(i % citizens),
			Version: int64(i/citizens + 1), Actor: "officer-7", At: time.Now(), Data: json.RawMessage(`{"fields":["residence"]}`)}
		if err := s.AppendEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	d.Notify()
	return ids
}

// TestReceiverDownThenRecovers is the proof: the receiver answers
// 503 for a while, then its listener is closed, then it comes back; it
// ends with every event exactly once, each citizen's in order, every
// request signed.
func TestReceiverDownThenRecovers(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	st := openStore(t)
	signer, _ := webhook.GenerateSigner()
	svc := webhook.New(st, bankPolicy, signer, fastConfig(), quiet)
	rc := newReceiver(t, signer.PublicKey())
	rc.down = true
	addr, stop := serve(t, "127.0.0.1:0", rc)
	if _, err := svc.Subscribe(ctx, admin, webhook.NewSubscription{PartnerID: "bank1", URL: "http://" + addr + "/hook",
		EventTypes: []string{cancuoc.EventCitizenUpdated}}); err != nil {
		t.Fatal(err)
	}
	d := dispatch.New(st, dispatch.WithPoll(20*time.Millisecond), dispatch.WithLogger(quiet))
	d.Subscribe("webhooks", nil, svc.HandleEvent, dispatch.Concurrency(4))
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	w := svc.NewWorker(nil)
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	var ids []string
	ids = append(ids, appendEvents(t, st, d, 0, 40, 7)...)
	time.Sleep(300 * time.Millisecond)
	stop() // the listener is closed: connections are refused
	ids = append(ids, appendEvents(t, st, d, 40, 40, 7)...)
	time.Sleep(300 * time.Millisecond)
	rc.mu.Lock()
	rc.down = false
	rc.mu.Unlock()
	_, stop = serve(t, addr, rc)
	defer stop()
	ids = append(ids, appendEvents(t, st, d, 80, 40, 7)...)

	deadline := time.Now().Add(20 * time.Second)
	for {
		rc.mu.Lock()
		n := len(rc.got)
		rc.mu.Unlock()
		if n == len(ids) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a duplicate would arrive now
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.rejected == 0 {
		t.Error("the receiver was never down: the test proves nothing")
	}
	for _, id := range ids {
		if rc.got[id] != 1 {
			t.Errorf("event %s accepted %d times, want 1", id, rc.got[id])
		}
	}
	for pin, vs := range rc.order {
		if !slices.IsSorted(vs) {
			t.Errorf("citizen %s: versions arrived as %v", pin, vs)
		}
	}
	if m := testutilCount(t, w, "cancuoc_webhook_delivered_total"); m != float64(len(ids)) {
		t.Errorf("delivered metric = %v, want %d", m, len(ids))
	}
	if testutilCount(t, w, "cancuoc_webhook_retried_total") == 0 {
		t.Error("retried metric = 0")
	}
}

// TestDuplicateEventOneWebhook: the dispatcher may hand the same event
// twice (a crash before its cursor moved); the partner still gets one.
func TestDuplicateEventOneWebhook(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	signer, _ := webhook.GenerateSigner()
	svc := webhook.New(st, bankPolicy, signer, fastConfig(), quiet)
	rc := newReceiver(t, signer.PublicKey())
	addr, stop := serve(t, "127.0.0.1:0", rc)
	defer stop()
	for _, p := range []string{"bank1", "stats"} {
		if _, err := svc.Subscribe(ctx, admin, webhook.NewSubscription{PartnerID: p, URL: "http://" + addr + "/" + p,
			EventTypes: []string{cancuoc.EventCitizenDied}}); err != nil {
			t.Fatal(err)
		}
	}
	e := cancuoc.Event{Seq: 1, ID: "ev-died", Type: cancuoc.EventCitizenDied, PIN: storetest.PIN(3), Version: 4, Actor: "o", At: time.Now()}
	for range 3 {
		if err := svc.HandleEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	pending, _ := st.WebhookDeliveries(ctx, cancuoc.DeliveryPending, "", "", 100)
	if len(pending) != 2 {
		t.Fatalf("%d deliveries for one event to two subscriptions, want 2", len(pending))
	}
	// The policy decides what leaves: the statistics partner gets no PIN.
	for _, d := range pending {
		var p webhook.Payload
		_ = json.Unmarshal(d.Payload, &p)
		_, hasPIN := p.Data["pin"]
		if hasPIN != (d.PartnerID == "bank1") || p.ID != "ev-died" || p.Type != cancuoc.EventCitizenDied {
			t.Errorf("%s's payload %s", d.PartnerID, d.Payload)
		}
		if strings.Contains(string(d.Payload), `"o"`) || strings.Contains(string(d.Payload), "actor") {
			t.Errorf("payload carries the actor: %s", d.Payload)
		}
	}
	// The PIN's disclosure to bank1 is in the citizen's access log, once.
	log, err := st.AuditFor(ctx, storetest.PIN(3), 10)
	if err != nil || len(log) != 1 || log[0].Actor != "bank1" || log[0].Action != "webhook.enqueue" {
		t.Errorf("access log = %+v, %v", log, err)
	}
	w := svc.NewWorker(nil)
	for range 3 {
		if _, err := w.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if rc.got["ev-died"] != 2 { // one per subscription (two partners)
		t.Errorf("webhooks received for the event = %d, want 2", rc.got["ev-died"])
	}
}

// TestDeadLetterAndRetry: a receiver that keeps failing puts the delivery
// on the dead-letter list after MaxAttempts, without holding back the
// citizen's later events forever; a re-drive delivers it.
func TestDeadLetterAndRetry(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	signer, _ := webhook.GenerateSigner()
	cfg := fastConfig()
	cfg.MaxAttempts, cfg.FirstRetry, cfg.MaxRetry = 3, time.Millisecond, time.Millisecond
	svc := webhook.New(st, bankPolicy, signer, cfg, quiet)
	rc := newReceiver(t, signer.PublicKey())
	rc.status = http.StatusInternalServerError
	addr, stop := serve(t, "127.0.0.1:0", rc)
	defer stop()
	if _, err := svc.Subscribe(ctx, admin, webhook.NewSubscription{PartnerID: "bank1", URL: "http://" + addr + "/",
		EventTypes: []string{cancuoc.EventCitizenDied}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.HandleEvent(ctx, cancuoc.Event{Seq: 1, ID: "ev-1", Type: cancuoc.EventCitizenDied, PIN: storetest.PIN(1), At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	w := svc.NewWorker(nil)
	drain(t, w)
	dead, err := svc.DeadLetters(ctx, admin, "", "", 0)
	if err != nil || len(dead) != 1 || dead[0].Attempts != 3 || dead[0].LastStatus != 500 || dead[0].LastError == "" {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	if testutilCount(t, w, "cancuoc_webhook_dead_total") != 1 || testutilCount(t, w, "cancuoc_webhook_retried_total") != 2 {
		t.Error("dead/retried metrics")
	}
	// Another partner may not see or re-drive it.
	other := &cancuoc.Principal{ID: "stats", Role: cancuoc.RoleMinistrySystem}
	if ds, err := svc.DeadLetters(ctx, other, "", "", 0); err != nil || len(ds) != 0 {
		t.Errorf("stats sees %d dead letters, %v", len(ds), err)
	}
	if _, err := svc.Retry(ctx, other, dead[0].ID); !isKind(err, cancuoc.Forbidden) {
		t.Errorf("stats re-drives bank1's delivery: %v", err)
	}
	rc.mu.Lock()
	rc.status = 0
	rc.mu.Unlock()
	d, err := svc.Retry(ctx, &cancuoc.Principal{ID: "bank1", Role: cancuoc.RoleMinistrySystem}, dead[0].ID)
	if err != nil || d.Status != cancuoc.DeliveryPending {
		t.Fatalf("Retry = %+v, %v", d, err)
	}
	drain(t, w)
	if rc.got["ev-1"] != 1 {
		t.Errorf("after re-drive received %d times", rc.got["ev-1"])
	}
}

// TestGoneDisables: 410 disables the subscription; nothing more is sent,
// and nothing is lost: every delivery waits, pending (TestEnableAfterGone
// enables it again).
func TestGoneDisables(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	signer, _ := webhook.GenerateSigner()
	svc := webhook.New(st, bankPolicy, signer, fastConfig(), quiet)
	rc := newReceiver(t, signer.PublicKey())
	rc.status = http.StatusGone
	addr, stop := serve(t, "127.0.0.1:0", rc)
	defer stop()
	sub, err := svc.Subscribe(ctx, admin, webhook.NewSubscription{PartnerID: "bank1", URL: "http://" + addr + "/",
		EventTypes: []string{cancuoc.EventCitizenDied}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		_ = svc.HandleEvent(ctx, cancuoc.Event{Seq: int64(i + 1), ID: fmt.Sprint("ev-", i), Type: cancuoc.EventCitizenDied, At: time.Now()})
	}
	w := svc.NewWorker(nil)
	drain(t, w)
	got, _ := st.WebhookSubscription(ctx, sub.ID)
	if got.Status != cancuoc.WebhookDisabled {
		t.Errorf("status after 410 = %s", got.Status)
	}
	pending, _ := st.WebhookDeliveries(ctx, cancuoc.DeliveryPending, "", "", 10)
	dead, _ := st.WebhookDeliveries(ctx, cancuoc.DeliveryDead, "", "", 10)
	if len(dead) != 0 || len(pending) != 3 {
		t.Errorf("after 410: %d dead, %d pending; want 0, 3 (all wait)", len(dead), len(pending))
	}
}

// TestSubscribeRules: URL, policy and ownership checks.
func TestSubscribeRules(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	signer, _ := webhook.GenerateSigner()
	cfg := fastConfig()
	cfg.AllowHTTPDev = false
	svc := webhook.New(st, bankPolicy, signer, cfg, quiet)
	bank := &cancuoc.Principal{ID: "bank1", Role: cancuoc.RoleMinistrySystem}
	for _, tc := range []struct {
		p    *cancuoc.Principal
		ns   webhook.NewSubscription
		kind cancuoc.Kind
		code string
	}{
		{bank, webhook.NewSubscription{URL: "http://127.0.0.1/x", EventTypes: []string{cancuoc.EventCitizenDied}}, cancuoc.Invalid, "url_not_https"},
		{bank, webhook.NewSubscription{URL: "ftp://bank.vn/x", EventTypes: []string{cancuoc.EventCitizenDied}}, cancuoc.Invalid, "url_not_https"},
		{bank, webhook.NewSubscription{URL: "https://u:p@bank.vn/x", EventTypes: []string{cancuoc.EventCitizenDied}}, cancuoc.Invalid, "url_invalid"},
		{bank, webhook.NewSubscription{URL: "/x", EventTypes: []string{cancuoc.EventCitizenDied}}, cancuoc.Invalid, "url_invalid"},
		{bank, webhook.NewSubscription{URL: "https://169.254.169.254/latest/meta-data", EventTypes: []string{cancuoc.EventCitizenDied}}, cancuoc.Invalid, "url_unreachable"},
		{bank, webhook.NewSubscription{URL: "https://10.0.0.5/x", EventTypes: []string{cancuoc.EventCitizenDied}}, cancuoc.Invalid, "url_unreachable"},
		{bank, webhook.NewSubscription{URL: "https://[::1]/x", EventTypes: []string{cancuoc.EventCitizenDied}}, cancuoc.Invalid, "url_unreachable"},
		{bank, webhook.NewSubscription{URL: "https://bank.vn/x"}, cancuoc.Invalid, "event_types_required"},
		{bank, webhook.NewSubscription{URL: "https://bank.vn/x", EventTypes: []string{cancuoc.EventCitizenBorn}}, cancuoc.Forbidden, "event_type_not_allowed"},
		{bank, webhook.NewSubscription{PartnerID: "stats", URL: "https://bank.vn/x", EventTypes: []string{cancuoc.EventCitizenDied}}, cancuoc.Forbidden, "webhook_not_yours"},
	} {
		_, err := svc.Subscribe(ctx, tc.p, tc.ns)
		var e *cancuoc.Error
		if !errors.As(err, &e) || e.Kind != tc.kind || e.Code != tc.code {
			t.Errorf("Subscribe(%+v) = %v, want %v %s", tc.ns, err, tc.kind, tc.code)
		}
	}
	sub, err := svc.Subscribe(ctx, bank, webhook.NewSubscription{URL: "https://bank.vn/x",
		EventTypes: []string{cancuoc.EventCitizenDied, cancuoc.EventCitizenDied}})
	if err != nil || sub.PartnerID != "bank1" || len(sub.EventTypes) != 1 {
		t.Fatalf("Subscribe = %+v, %v", sub, err)
	}
	stats := &cancuoc.Principal{ID: "stats", Role: cancuoc.RoleMinistrySystem}
	if subs, err := svc.Subscriptions(ctx, stats, ""); err != nil || len(subs) != 0 {
		t.Errorf("stats lists %d, %v", len(subs), err)
	}
	if _, err := svc.Subscriptions(ctx, stats, "bank1"); !isKind(err, cancuoc.Forbidden) {
		t.Errorf("stats lists bank1's: %v", err)
	}
	if err := svc.Unsubscribe(ctx, stats, sub.ID); !isKind(err, cancuoc.Forbidden) {
		t.Errorf("stats deletes bank1's: %v", err)
	}
	if err := svc.Unsubscribe(ctx, bank, sub.ID); err != nil {
		t.Error(err)
	}
}

func isKind(err error, k cancuoc.Kind) bool {
	var e *cancuoc.Error
	return errors.As(err, &e) && e.Kind == k
}

// drain runs the worker until nothing is due for a while.
func drain(t *testing.T, w *webhook.Worker) {
	t.Helper()
	idle := 0
	for i := 0; i < 2000 && idle < 10; i++ {
		n, err := w.Once(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			idle++
			time.Sleep(5 * time.Millisecond)
		} else {
			idle = 0
		}
	}
}

// The fan-out asks for the types its policy could ever let through (a
// static policy: every type some partner's rule names), and for every type
// when the policy cannot tell.
func TestEventTypes(t *testing.T) {
	svc := webhook.New(nil, bankPolicy, nil, fastConfig(), quiet)
	if got, want := svc.EventTypes(), []string{cancuoc.EventCitizenDied, cancuoc.EventCitizenUpdated}; !slices.Equal(got, want) {
		t.Errorf("EventTypes() = %v, want %v", got, want)
	}
	if got := webhook.New(nil, opaquePolicy{bankPolicy}, nil, fastConfig(), quiet).EventTypes(); got != nil {
		t.Errorf("EventTypes() = %v for a policy that cannot tell, want nil (every type)", got)
	}
	if got := webhook.New(nil, webhook.StaticPolicy{}, nil, fastConfig(), quiet).EventTypes(); got != nil {
		t.Errorf("EventTypes() = %v for a policy that names none, want nil (every type)", got)
	}
}

// opaquePolicy hides its policy's Receivable.
type opaquePolicy struct{ p webhook.StaticPolicy }

func (o opaquePolicy) MayReceive(ctx context.Context, partnerID, eventType string) error {
	return o.p.MayReceive(ctx, partnerID, eventType)
}
func (o opaquePolicy) Fields(ctx context.Context, partnerID string) []string {
	return o.p.Fields(ctx, partnerID)
}
