package webhook_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/webhook"
)

// TestRetryDelaysGrow follows one delivery to a receiver that always
// fails, on a clock the test moves: each retry is scheduled after a delay
// doubling from FirstRetry, less at most a fifth of it (the jitter that
// keeps many retries out of step), capped at MaxRetry; the last attempt
// puts it on the dead-letter list. A constant delay, a delay that ignores
// the cap or one without jitter fails it.
func TestRetryDelaysGrow(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	signer, _ := webhook.GenerateSigner()
	clock := testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	cfg := fastConfig()
	cfg.FirstRetry, cfg.MaxRetry, cfg.MaxAttempts, cfg.Now = time.Second, 20*time.Second, 12, clock.Now
	svc := webhook.New(st, bankPolicy, signer, cfg, quiet)
	failing := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	addr, stop := serve(t, "127.0.0.1:0", failing)
	defer stop()
	if _, err := svc.Subscribe(ctx, admin, webhook.NewSubscription{PartnerID: "bank1", URL: "http://" + addr + "/",
		EventTypes: []string{cancuoc.EventCitizenDied}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.HandleEvent(ctx, cancuoc.Event{Seq: 1, ID: "ev-1", Type: cancuoc.EventCitizenDied, PIN: storetest.PIN(1), At: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	w := svc.NewWorker(nil)
	jittered := 0
	for attempt := 1; attempt < cfg.MaxAttempts; attempt++ {
		if n, err := w.Once(ctx); err != nil || n != 1 {
			t.Fatalf("attempt %d: %d claimed, %v", attempt, n, err)
		}
		pending, err := st.WebhookDeliveries(ctx, cancuoc.DeliveryPending, "", "", 10)
		if err != nil || len(pending) != 1 {
			t.Fatalf("after attempt %d: %d pending, %v", attempt, len(pending), err)
		}
		d := pending[0]
		if d.Attempts != attempt {
			t.Fatalf("after attempt %d the delivery counts %d attempts", attempt, d.Attempts)
		}
		full := min(cfg.FirstRetry<<(attempt-1), cfg.MaxRetry)
		delay := d.NextAt.Sub(clock.Now())
		if delay > full || delay < full-full/5 {
			t.Errorf("retry after attempt %d in %v, want between %v and %v", attempt, delay, full-full/5, full)
		}
		if delay != full {
			jittered++
		}
		// Not due a moment before its time.
		clock.Set(d.NextAt.Add(-time.Millisecond))
		if n, err := w.Once(ctx); err != nil || n != 0 {
			t.Fatalf("retry %d claimed %d deliveries before it was due, %v", attempt, n, err)
		}
		clock.Set(d.NextAt)
	}
	if jittered == 0 {
		t.Error("every retry delay was exactly the doubled one: no jitter, retries of many deliveries arrive in step")
	}
	if n, err := w.Once(ctx); err != nil || n != 1 {
		t.Fatalf("last attempt: %d claimed, %v", n, err)
	}
	dead, err := svc.DeadLetters(ctx, admin, "", "", 0)
	if err != nil || len(dead) != 1 || dead[0].Attempts != cfg.MaxAttempts {
		t.Errorf("dead letters after %d attempts = %+v, %v", cfg.MaxAttempts, dead, err)
	}
}
