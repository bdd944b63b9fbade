package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/webhook"
	"github.com/cancuoc/cancuoc/workflow"
)

// deathWatch is the rest of the death chain seen from outside: an eID
// account for each person who will die, and a partner subscribed to
// citizen.died whose endpoint checks every signature and keeps what it
// accepted.
type deathWatch struct {
	t     *testing.T
	pins  []cancuoc.PIN
	keys  []ed25519.PublicKey
	srv   *httptest.Server
	args  []string // serve flags: the partners' policy, quick retries
	mu    sync.Mutex
	byID  map[string]int                  // webhook-id → requests accepted
	byPIN map[cancuoc.PIN]map[string]bool // deceased → distinct event ids
	bad   int
}

const deathPartner = "death-notices"

// newDeathWatch seeds the accounts and the subscription into st before the
// server runs on dataDir: the server then signs with the key created here.
func newDeathWatch(t *testing.T, st cancuoc.Store, dataDir string, pins []cancuoc.PIN) *deathWatch {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i, pin := range pins {
		if err := st.InsertAccount(ctx, &cancuoc.Account{ID: fmt.Sprintf("acc-death-%d", i), Kind: cancuoc.AccountCitizen, PIN: pin,
			Level: cancuoc.Level1, Status: cancuoc.AccountActive, CreatedAt: now, UpdatedAt: now, Version: 1}); err != nil {
			t.Fatalf("seed account: %v", err)
		}
	}
	signer, _, err := webhook.LoadOrCreateSigner(filepath.Join(dataDir, "webhook.key"))
	if err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(t.TempDir(), "webhook-policy.json")
	policyJSON := `{"` + deathPartner + `": {"event_types": ["citizen.died"], "fields": ["pin"]}}`
	if err := os.WriteFile(policyFile, []byte(policyJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	policy, err := webhook.LoadPolicy(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	dw := &deathWatch{t: t, pins: pins, keys: []ed25519.PublicKey{signer.PublicKey()}, byID: map[string]int{},
		byPIN: map[cancuoc.PIN]map[string]bool{},
		args:  []string{"--webhook-policy", policyFile, "--webhook-first-retry", "100ms", "--webhook-max-retry", "1s"}}
	dw.srv = httptest.NewServer(dw)
	t.Cleanup(dw.srv.Close)
	cfg := webhook.DefaultConfig()
	cfg.AllowHTTPDev = true
	svc := webhook.New(st, policy, signer, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	admin := &cancuoc.Principal{ID: "test-admin", Role: cancuoc.RoleNationalAdmin}
	if _, err := svc.Subscribe(ctx, admin, webhook.NewSubscription{PartnerID: deathPartner, URL: dw.srv.URL + "/deaths",
		EventTypes: []string{cancuoc.EventCitizenDied}}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return dw
}

func (dw *deathWatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	err := webhook.Verify(dw.keys, r.Header.Get(webhook.HeaderID), r.Header.Get(webhook.HeaderTimestamp),
		r.Header.Get(webhook.HeaderSignature), body, time.Now(), webhook.DefaultTolerance)
	var p webhook.Payload
	if err == nil {
		if err = json.Unmarshal(body, &p); err == nil && (p.ID != r.Header.Get(webhook.HeaderID) || p.Type != cancuoc.EventCitizenDied) {
			err = fmt.Errorf("payload %s under webhook-id %s", body, r.Header.Get(webhook.HeaderID))
		}
	}
	dw.mu.Lock()
	defer dw.mu.Unlock()
	if err != nil {
		dw.bad++
		dw.t.Errorf("death notice refused: %v", err)
		http.Error(w, "bad", http.StatusBadRequest)
		return
	}
	dw.byID[p.ID]++
	pin, _ := p.Data["pin"].(string)
	if dw.byPIN[cancuoc.PIN(pin)] == nil {
		dw.byPIN[cancuoc.PIN(pin)] = map[string]bool{}
	}
	dw.byPIN[cancuoc.PIN(pin)][p.ID] = true
	w.WriteHeader(http.StatusNoContent)
}

// notified is how many of the watched people the partner has heard of.
func (dw *deathWatch) notified() int {
	dw.mu.Lock()
	defer dw.mu.Unlock()
	n := 0
	for _, pin := range dw.pins {
		if len(dw.byPIN[pin]) > 0 {
			n++
		}
	}
	return n
}

// wait blocks until every watched death reached the partner or ctx ends.
func (dw *deathWatch) wait(ctx context.Context) {
	for dw.notified() < len(dw.pins) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
}

// waitClosed blocks until every watched account is closed in st or ctx
// ends. The accounts follow the deaths through their own consumer, which
// may still be working through its events when the files and the
// webhooks are done.
func (dw *deathWatch) waitClosed(ctx context.Context, st cancuoc.Store) {
	for _, pin := range dw.pins {
		for ctx.Err() == nil {
			if a, err := st.AccountByPIN(ctx, pin); err == nil && a.Status == cancuoc.AccountClosed {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// verify checks, on the store after the server stopped, that every
// watched account is closed and each death reached the partner exactly
// once per event id (a redelivery of the same id is de-duplicated by the
// partner; a second event for one death is an error).
func (dw *deathWatch) verify(st cancuoc.Store) {
	t := dw.t
	t.Helper()
	for i, pin := range dw.pins {
		a, err := st.AccountByPIN(context.Background(), pin)
		if err != nil || a.Status != cancuoc.AccountClosed {
			t.Errorf("account of deceased %d: %+v, %v; want closed", i, a, err)
		}
	}
	dw.mu.Lock()
	defer dw.mu.Unlock()
	redelivered := 0
	for i, pin := range dw.pins {
		if n := len(dw.byPIN[pin]); n != 1 {
			t.Errorf("deceased %d: the partner got %d distinct death events, want 1", i, n)
		}
	}
	for _, n := range dw.byID {
		redelivered += n - 1
	}
	if len(dw.byPIN) != len(dw.pins) {
		t.Errorf("the partner heard of %d people, %d died", len(dw.byPIN), len(dw.pins))
	}
	t.Logf("death notices: %d events, %d redelivered requests (de-duplicated by id), %d refused", len(dw.byID), redelivered, dw.bad)
}

// TestDeathChainEndToEnd is issue 5's death procedure through the real
// server: the three agencies' steps run over the API, then the deceased's
// eID account is closed and the partner subscribed to deaths has received
// the signed webhook, once.
func TestDeathChainEndToEnd(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "cancuoc.db"))
	if err != nil {
		t.Fatal(err)
	}
	cw := seedCrash(t, st, 1)
	dw := newDeathWatch(t, st, dir, cw.Elders)
	st.Close()
	base, out, stop := startServe(t, dir, "0", dw.args...)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var halt atomic.Bool
	var tries atomic.Int64
	hc := &http.Client{Timeout: 10 * time.Second}
	mk := func(agency string) *client {
		return &client{base: base, key: cw.Keys[agency][0], http: hc, stop: &halt, tries: &tries}
	}
	var f struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if _, err := mk(workflow.AgencyCivilStatus).call(ctx, "POST", "/v1/procedures", "", map[string]any{"kind": "death",
		"applicant": cw.Mothers[0], "death": map[string]any{"deceased": cw.Elders[0], "date": "2026-01-05", "funeral_allowance": true}},
		&f); err != nil {
		t.Fatalf("submit: %v", err)
	}
	// The deceased, born in 1940 and uninsured, gets the allowance from
	// labour–social affairs. Each step appears once the previous one's
	// event has been handled.
	for no, ag := range []string{workflow.AgencyCivilStatus, workflow.AgencyPolice, workflow.AgencyLabour} {
		step := fmt.Sprintf("/v1/procedures/%s/steps/%d/", f.ID, no+1)
		c := mk(ag)
		for {
			code, err := c.call(ctx, "POST", step+"claim", "", nil, nil)
			if err != nil {
				t.Fatalf("claim step %d: %v\n%s", no+1, err, tail(out.String()))
			}
			if code == 200 {
				break
			}
			if code != 404 {
				t.Fatalf("claim step %d: status %d", no+1, code)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if code, err := c.call(ctx, "POST", step+"complete", "", map[string]string{"note": "xong"}, nil); err != nil || code != 200 {
			t.Fatalf("complete step %d: %d %v", no+1, code, err)
		}
	}
	for f.Status != "completed" && ctx.Err() == nil {
		if _, err := mk(workflow.AgencyCivilStatus).call(ctx, "GET", "/v1/procedures/"+f.ID, "", nil, &f); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	dw.wait(ctx)
	if ctx.Err() != nil {
		t.Fatalf("timed out: file %s, %d of 1 death notices", f.Status, dw.notified())
	}
	time.Sleep(300 * time.Millisecond) // a second notice would come now
	stop()
	stopped = true
	st, err = sqlite.Open(context.Background(), filepath.Join(dir, "cancuoc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dw.verify(st)
	dw.mu.Lock()
	defer dw.mu.Unlock()
	for id, n := range dw.byID {
		if n != 1 { // no crash here: nothing may be sent twice
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
}
