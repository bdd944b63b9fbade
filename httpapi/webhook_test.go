package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/webhook"
)

// newWebhookEnv is the API with the webhook service over SQLite; bank and
// other are two partners' API keys and IDs.
func newWebhookEnv(t *testing.T) (e *env, svc *webhook.Service, bank, bankID, other string) {
	e, svc, bank, bankID, other, _ = newWebhookEnvKey(t)
	return
}

// newWebhookEnvKey is newWebhookEnv with the key the service signs with.
func newWebhookEnvKey(t *testing.T) (e *env, svc *webhook.Service, bank, bankID, other string, signer *webhook.Signer) {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w := audit.NewWriter(store, 0)
	t.Cleanup(func() { w.Close() })
	reg := registry.New(store, w)
	mk := func(name string, role cancuoc.Role) (string, string) {
		p, key, err := reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: name, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return key, p.ID
	}
	adminKey, _ := mk("Quản trị", cancuoc.RoleNationalAdmin)
	bank, bankID = mk("Ngân hàng", cancuoc.RoleMinistrySystem)
	other, otherID := mk("Bảo hiểm", cancuoc.RoleMinistrySystem)
	policy := webhook.StaticPolicy{
		bankID:  {EventTypes: []string{cancuoc.EventCitizenDied}, Fields: []string{"pin"}},
		otherID: {EventTypes: []string{cancuoc.EventCitizenDied}},
	}
	signer, _ = webhook.GenerateSigner()
	svc = webhook.New(store, policy, signer, webhook.Config{FirstRetry: time.Millisecond, MaxRetry: time.Millisecond,
		MaxAttempts: 1, AllowHTTPDev: true}, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	httpapi.New(reg, log).WithWebhook(svc).Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, store: store, reg: reg, admin: adminKey}, svc, bank, bankID, other, signer
}

func TestWebhookRoutes(t *testing.T) {
	e, svc, bank, bankID, other, signer := newWebhookEnvKey(t)
	var sub cancuoc.WebhookSubscription
	e.do("POST", "/v1/webhooks", bank, map[string]any{"url": "https://bank.example/hook", "event_types": []string{"citizen.died"}}).
		ok(http.StatusCreated, &sub)
	if sub.PartnerID != bankID || sub.Status != "active" || !strings.HasPrefix(sub.ID, "wh_") {
		t.Errorf("created %+v", sub)
	}
	e.do("POST", "/v1/webhooks", bank, map[string]any{"url": "https://bank.example/hook", "event_types": []string{"citizen.born"}}).
		problem(http.StatusForbidden, "event_type_not_allowed")
	e.do("POST", "/v1/webhooks", bank, map[string]any{"url": "http://bank.example/hook", "event_types": []string{"citizen.died"}}).
		problem(http.StatusBadRequest, "url_not_https")
	e.do("POST", "/v1/webhooks", bank, map[string]any{"url": "https://bank.example/hook", "event_types": []string{"citizen.died"}, "secret": "x"}).
		problem(http.StatusBadRequest, "unknown_field")
	e.do("POST", "/v1/webhooks", other, map[string]any{"partner_id": bankID, "url": "https://x.example/", "event_types": []string{"citizen.died"}}).
		problem(http.StatusForbidden, "webhook_not_yours")
	e.do("POST", "/v1/webhooks", "", map[string]any{}).problem(http.StatusUnauthorized, "api_key_missing")

	var list struct {
		Subscriptions []cancuoc.WebhookSubscription `json:"subscriptions"`
	}
	e.do("GET", "/v1/webhooks", e.admin, nil).ok(http.StatusOK, &list)
	if len(list.Subscriptions) != 1 {
		t.Errorf("admin lists %d", len(list.Subscriptions))
	}
	e.do("GET", "/v1/webhooks", other, nil).ok(http.StatusOK, &list)
	if len(list.Subscriptions) != 0 {
		t.Errorf("the other partner lists %d", len(list.Subscriptions))
	}
	e.do("GET", "/v1/webhooks?partner_id="+bankID, other, nil).problem(http.StatusForbidden, "webhook_not_yours")

	// A delivery that fails goes to the dead-letter list (MaxAttempts 1).
	if err := svc.HandleEvent(t.Context(), cancuoc.Event{Seq: 1, ID: "ev-1", Type: cancuoc.EventCitizenDied,
		PIN: storetest.PIN(1), At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.NewWorker(&http.Client{Transport: refuse{}}).Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	var page struct {
		Deliveries []cancuoc.WebhookDelivery `json:"deliveries"`
	}
	e.do("GET", "/v1/webhooks/dead-letters", e.admin, nil).ok(http.StatusOK, &page)
	if len(page.Deliveries) != 1 || page.Deliveries[0].EventID != "ev-1" || page.Deliveries[0].LastError == "" {
		t.Fatalf("dead letters %+v", page)
	}
	id := page.Deliveries[0].ID
	e.do("GET", "/v1/webhooks/dead-letters", other, nil).ok(http.StatusOK, &page)
	if len(page.Deliveries) != 0 {
		t.Error("the other partner sees the bank's dead letters")
	}
	e.do("GET", "/v1/webhooks/dead-letters?limit=x", e.admin, nil).problem(http.StatusBadRequest, "integer_invalid")
	e.do("POST", "/v1/webhooks/dead-letters/"+id+"/retry", other, nil).problem(http.StatusForbidden, "webhook_not_yours")
	var d cancuoc.WebhookDelivery
	e.do("POST", "/v1/webhooks/dead-letters/"+id+"/retry", bank, nil).ok(http.StatusAccepted, &d)
	if d.Status != cancuoc.DeliveryPending || d.Attempts != 0 {
		t.Errorf("re-driven %+v", d)
	}
	e.do("POST", "/v1/webhooks/dead-letters/"+id+"/retry", e.admin, nil).problem(http.StatusConflict, "delivery_not_dead")
	e.do("POST", "/v1/webhooks/dead-letters/nope/retry", e.admin, nil).problem(http.StatusNotFound, "not_found")

	e.do("DELETE", "/v1/webhooks/"+sub.ID, other, nil).problem(http.StatusForbidden, "webhook_not_yours")
	if r := e.do("DELETE", "/v1/webhooks/"+sub.ID, bank, nil); r.status != http.StatusNoContent {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	e.do("DELETE", "/v1/webhooks/"+sub.ID, bank, nil).problem(http.StatusNotFound, "not_found")

	// The public key, without authentication, verifies what the service signs.
	var keys struct {
		Keys []struct {
			KeyID     string `json:"kid"`
			PublicKey string `json:"public_key"`
		} `json:"keys"`
	}
	e.do("GET", "/.well-known/webhook-keys", "", nil).ok(http.StatusOK, &keys)
	pub, err := webhook.ParsePublicKey(keys.Keys[0].PublicKey)
	if err != nil || len(keys.Keys) != 1 || keys.Keys[0].KeyID != webhook.KeyID(pub) || !pub.Equal(signer.PublicKey()) {
		t.Errorf("published key %+v: %v", keys, err)
	}
	// Keys stored and rotated: the first is the configured one; after a
	// rotation both are published, the new one first.
	if err := svc.UseStoredKeys(t.Context(), []byte("0123456789abcdef0123456789abcdef"), signer); err != nil {
		t.Fatal(err)
	}
	nk, err := svc.RotateKey(t.Context(), &cancuoc.Principal{ID: "root", Role: cancuoc.RoleNationalAdmin})
	if err != nil {
		t.Fatal(err)
	}
	var rotated struct {
		Keys []webhook.PublishedKey `json:"keys"`
	}
	e.do("GET", "/.well-known/webhook-keys", "", nil).ok(http.StatusOK, &rotated)
	if len(rotated.Keys) != 2 || rotated.Keys[0].KeyID != nk.KeyID || rotated.Keys[1].KeyID != webhook.KeyID(signer.PublicKey()) ||
		rotated.Keys[1].Retire == nil || rotated.Keys[0].Retire != nil {
		t.Errorf("published after a rotation: %+v", rotated)
	}
}

// TestWebhookEnableRoute: a subscription disabled by a 410 is enabled again
// by its partner or an administrator, not by another partner.
func TestWebhookEnableRoute(t *testing.T) {
	e, svc, bank, bankID, other := newWebhookEnv(t)
	var sub cancuoc.WebhookSubscription
	e.do("POST", "/v1/webhooks", bank, map[string]any{"url": "https://bank.example/hook", "event_types": []string{"citizen.died"}}).
		ok(http.StatusCreated, &sub)
	if err := svc.HandleEvent(t.Context(), cancuoc.Event{Seq: 1, ID: "ev-1", Type: cancuoc.EventCitizenDied,
		PIN: storetest.PIN(1), At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.NewWorker(&http.Client{Transport: answer(http.StatusGone)}).Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	var list struct {
		Subscriptions []cancuoc.WebhookSubscription `json:"subscriptions"`
	}
	e.do("GET", "/v1/webhooks?partner_id="+bankID, e.admin, nil).ok(http.StatusOK, &list)
	if len(list.Subscriptions) != 1 || list.Subscriptions[0].Status != cancuoc.WebhookDisabled {
		t.Fatalf("after a 410: %+v", list)
	}
	e.do("POST", "/v1/webhooks/"+sub.ID+"/enable", other, nil).problem(http.StatusForbidden, "webhook_not_yours")
	e.do("POST", "/v1/webhooks/"+sub.ID+"/enable", "", nil).problem(http.StatusUnauthorized, "api_key_missing")
	e.do("POST", "/v1/webhooks/nope/enable", e.admin, nil).problem(http.StatusNotFound, "not_found")
	var got cancuoc.WebhookSubscription
	e.do("POST", "/v1/webhooks/"+sub.ID+"/enable", bank, nil).ok(http.StatusOK, &got)
	if got.Status != cancuoc.WebhookActive {
		t.Errorf("enabled: %+v", got)
	}
	e.do("POST", "/v1/webhooks/"+sub.ID+"/enable", e.admin, nil).ok(http.StatusOK, &got)
	// The delivery the 410 answered waits, pending, and goes now.
	if n, err := svc.NewWorker(&http.Client{Transport: answer(http.StatusNoContent)}).Once(t.Context()); err != nil || n != 1 {
		t.Errorf("after enabling, %d sent, %v", n, err)
	}
}

// answer is a transport whose receiver always answers status.
type answer int

func (a answer) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: int(a), Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// TestWebhookRoutesOff: without the service the routes answer 503.
func TestWebhookRoutesOff(t *testing.T) {
	e := newEnv(t)
	e.do("GET", "/v1/webhooks", e.admin, nil).problem(http.StatusServiceUnavailable, "webhook_unavailable")
	e.do("GET", "/.well-known/webhook-keys", "", nil).problem(http.StatusServiceUnavailable, "webhook_unavailable")
}

// refuse is a transport whose receiver is never reachable.
type refuse struct{}

func (refuse) RoundTrip(*http.Request) (*http.Response, error) { return nil, io.ErrUnexpectedEOF }
