package webhook_test

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/webhook"
)

// recorder keeps every request as received, to verify later against
// different sets of trusted keys; it answers status (204 when 0).
type recorder struct {
	mu     sync.Mutex
	status int
	reqs   []recorded
}

type recorded struct {
	id, ts, sig string
	body        []byte
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.reqs = append(rc.reqs, recorded{r.Header.Get(webhook.HeaderID), r.Header.Get(webhook.HeaderTimestamp),
		r.Header.Get(webhook.HeaderSignature), body})
	if rc.status != 0 {
		w.WriteHeader(rc.status)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *recorder) last(t *testing.T) recorded {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.reqs) == 0 {
		t.Fatal("nothing received")
	}
	return rc.reqs[len(rc.reqs)-1]
}

func (rc *recorder) ids() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]int{}
	for _, r := range rc.reqs {
		out[r.id]++
	}
	return out
}

func pubKeys(t *testing.T, ks []webhook.PublishedKey) []ed25519.PublicKey {
	t.Helper()
	var out []ed25519.PublicKey
	for _, k := range ks {
		pub, err := webhook.ParsePublicKey(k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pub)
	}
	return out
}

var secret = []byte("0123456789abcdef0123456789abcdef")

// TestKeyRotation: the key of the file is carried over as the first stored
// key; a rotation publishes two keys, signs each webhook with both during
// the overlap (so partners trusting either verify), is audited, is seen by
// another node; after the overlap only the new key signs and is published.
func TestKeyRotation(t *testing.T) {
	testkit.Stores(t, "webhook_test", func(t *testing.T, st cancuoc.Store) {
		ctx := t.Context()
		clk := testkit.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
		cfg := fastConfig()
		cfg.MaxAge, cfg.MaxRetry, cfg.Now = 72*time.Hour, time.Hour, clk.Now
		fileKey, _ := webhook.GenerateSigner()
		svc := webhook.New(st, bankPolicy, nil, cfg, quiet)
		if err := svc.UseStoredKeys(ctx, secret, fileKey); err != nil {
			t.Fatal(err)
		}
		pub, err := svc.PublishedKeys(ctx)
		if err != nil || len(pub) != 1 || pub[0].KeyID != webhook.KeyID(fileKey.PublicKey()) || pub[0].Retire != nil {
			t.Fatalf("published before any rotation = %+v, %v", pub, err)
		}
		rc := &recorder{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		if _, err := svc.Subscribe(ctx, admin, webhook.NewSubscription{PartnerID: "bank1", URL: srv.URL,
			EventTypes: []string{cancuoc.EventCitizenDied}}); err != nil {
			t.Fatal(err)
		}
		w := svc.NewWorker(nil)
		send := func(n int) recorded {
			t.Helper()
			if err := svc.HandleEvent(ctx, cancuoc.Event{Seq: int64(n), ID: fmt.Sprint("ev-", n), Type: cancuoc.EventCitizenDied, At: clk.Now()}); err != nil {
				t.Fatal(err)
			}
			if got, err := w.Once(ctx); err != nil || got != 1 {
				t.Fatalf("Once = %d, %v", got, err)
			}
			return rc.last(t)
		}
		verifies := func(r recorded, keys ...ed25519.PublicKey) bool {
			return webhook.Verify(keys, r.id, r.ts, r.sig, r.body, clk.Now(), webhook.DefaultTolerance) == nil
		}
		if r := send(1); !verifies(r, fileKey.PublicKey()) || strings.Count(r.sig, "v1a,") != 1 {
			t.Fatalf("before rotation: signature %q", r.sig)
		}

		bank := &cancuoc.Principal{ID: "bank1", Role: cancuoc.RoleMinistrySystem}
		if _, err := svc.RotateKey(ctx, bank); !isKind(err, cancuoc.Forbidden) {
			t.Fatalf("a partner rotates the key: %v", err)
		}
		clk.Add(time.Minute)
		nk, err := svc.RotateKey(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ = svc.PublishedKeys(ctx)
		if len(pub) != 2 || pub[0].KeyID != nk.KeyID || pub[1].KeyID != webhook.KeyID(fileKey.PublicKey()) ||
			pub[1].Retire == nil || !pub[1].Retire.Equal(clk.Now().Add(73*time.Hour)) || pub[0].Retire != nil {
			t.Fatalf("published after rotation = %+v", pub)
		}
		newKey := pubKeys(t, pub[:1])[0]
		r := send(2)
		if strings.Count(r.sig, "v1a,") != 2 || !verifies(r, fileKey.PublicKey()) || !verifies(r, newKey) {
			t.Fatalf("during the overlap: signature %q does not verify with each key", r.sig)
		}
		audit, err := st.AuditSearch(ctx, cancuoc.AuditQuery{Action: "webhook.key.rotate", Limit: 10})
		if err != nil || len(audit) != 1 || audit[0].Actor != "root" || !strings.Contains(audit[0].Purpose, nk.KeyID) {
			t.Errorf("audit of the rotation = %+v, %v", audit, err)
		}

		// Another node with the same secret sees the same keys; one with
		// another secret refuses to start rather than sign with nothing.
		other := webhook.New(st, bankPolicy, nil, cfg, quiet)
		if err := other.UseStoredKeys(ctx, secret, nil); err != nil {
			t.Fatal(err)
		}
		if op, _ := other.PublishedKeys(ctx); len(op) != 2 || op[0].KeyID != nk.KeyID {
			t.Errorf("the other node publishes %+v", op)
		}
		wrong := webhook.New(st, bankPolicy, nil, cfg, quiet)
		if err := wrong.UseStoredKeys(ctx, []byte("another secret, 32 bytes long..."), nil); err == nil {
			t.Error("keys sealed under one secret opened with another")
		}

		// After the overlap (and the key cache), the old key is gone.
		clk.Add(73*time.Hour + time.Minute)
		pub, _ = svc.PublishedKeys(ctx)
		if len(pub) != 1 || pub[0].KeyID != nk.KeyID {
			t.Fatalf("published after the overlap = %+v", pub)
		}
		r = send(3)
		if strings.Count(r.sig, "v1a,") != 1 || verifies(r, fileKey.PublicKey()) || !verifies(r, newKey) {
			t.Fatalf("after the overlap: signature %q", r.sig)
		}
	})
}

// TestEnableAfterGone: a 410 disables the subscription and keeps the
// delivery pending; events while disabled are kept; only the partner
// itself or an administrator enables it again (audited), and then every
// event arrives once, nothing lost; a dead letter is re-driven as before.
func TestEnableAfterGone(t *testing.T) {
	testkit.Stores(t, "webhook_test", func(t *testing.T, st cancuoc.Store) {
		ctx := t.Context()
		signer, _ := webhook.GenerateSigner()
		cfg := fastConfig()
		cfg.MaxAttempts = 2
		svc := webhook.New(st, bankPolicy, signer, cfg, quiet)
		rc := &recorder{status: http.StatusGone}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		sub, err := svc.Subscribe(ctx, admin, webhook.NewSubscription{PartnerID: "bank1", URL: srv.URL,
			EventTypes: []string{cancuoc.EventCitizenDied}})
		if err != nil {
			t.Fatal(err)
		}
		event := func(i int) {
			t.Helper()
			if err := svc.HandleEvent(ctx, cancuoc.Event{Seq: int64(i), ID: fmt.Sprint("ev-", i), Type: cancuoc.EventCitizenDied,
				PIN: cancuoc.PIN(fmt.Sprintf("0010000000%02d", i%2)), At: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			event(i)
		}
		w := svc.NewWorker(nil)
		drain(t, w)
		got, _ := st.WebhookSubscription(ctx, sub.ID)
		if got.Status != cancuoc.WebhookDisabled {
			t.Fatalf("status after 410 = %s", got.Status)
		}
		event(3) // while disabled
		drain(t, w)
		pending, _ := st.WebhookDeliveries(ctx, cancuoc.DeliveryPending, "", "", 10)
		dead, _ := st.WebhookDeliveries(ctx, cancuoc.DeliveryDead, "", "", 10)
		if len(dead) != 0 || len(pending) != 4 {
			t.Fatalf("while disabled: %d dead, %d pending; want 0, 4", len(dead), len(pending))
		}
		sent := len(rc.ids())

		stats := &cancuoc.Principal{ID: "stats", Role: cancuoc.RoleMinistrySystem}
		if _, err := svc.Enable(ctx, stats, sub.ID); !isKind(err, cancuoc.Forbidden) {
			t.Fatalf("another partner enables bank1's subscription: %v", err)
		}
		if _, err := svc.Enable(ctx, &cancuoc.Principal{ID: "bank1", Role: cancuoc.RoleMinistrySystem, Disabled: true}, sub.ID); !isKind(err, cancuoc.Forbidden) {
			t.Fatalf("a disabled principal enables: %v", err)
		}
		if _, err := svc.Enable(ctx, admin, "wh_nope"); !isKind(err, cancuoc.NotFound) {
			t.Fatalf("enabling an unknown subscription: %v", err)
		}
		drain(t, w)
		if n := len(rc.ids()); n != sent {
			t.Fatalf("sent while disabled: %d requests after %d", n, sent)
		}
		rc.mu.Lock()
		rc.status, rc.reqs = 0, nil
		rc.mu.Unlock()
		bank := &cancuoc.Principal{ID: "bank1", Role: cancuoc.RoleMinistrySystem}
		en, err := svc.Enable(ctx, bank, sub.ID)
		if err != nil || en.Status != cancuoc.WebhookActive {
			t.Fatalf("Enable = %+v, %v", en, err)
		}
		if again, err := svc.Enable(ctx, bank, sub.ID); err != nil || !again.UpdatedAt.Equal(en.UpdatedAt) {
			t.Errorf("enabling an active subscription changed it: %+v, %v", again, err)
		}
		audit, err := st.AuditSearch(ctx, cancuoc.AuditQuery{Action: "webhook.enable", Limit: 10})
		if err != nil || len(audit) != 1 || audit[0].Actor != "bank1" || !strings.Contains(audit[0].Purpose, sub.ID) {
			t.Errorf("audit of enabling = %+v, %v", audit, err)
		}
		drain(t, w)
		ids := rc.ids()
		for i := range 4 {
			if ids[fmt.Sprint("ev-", i)] != 1 {
				t.Errorf("ev-%d received %d times after enabling; all: %v", i, ids[fmt.Sprint("ev-", i)], ids)
			}
		}

		// Dead letters still work: a failing receiver kills a delivery
		// after MaxAttempts; a re-drive delivers it.
		rc.mu.Lock()
		rc.status = http.StatusInternalServerError
		rc.mu.Unlock()
		event(4)
		drain(t, w)
		dead, _ = st.WebhookDeliveries(ctx, cancuoc.DeliveryDead, "bank1", "", 10)
		if len(dead) != 1 || dead[0].EventID != "ev-4" {
			t.Fatalf("dead letters = %+v", dead)
		}
		rc.mu.Lock()
		rc.status, rc.reqs = 0, nil
		rc.mu.Unlock()
		if _, err := svc.Retry(ctx, bank, dead[0].ID); err != nil {
			t.Fatal(err)
		}
		drain(t, w)
		if ids := rc.ids(); ids["ev-4"] != 1 || len(ids) != 1 {
			t.Errorf("after the re-drive: %v", ids)
		}
	})
}
