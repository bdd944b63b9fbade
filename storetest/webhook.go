package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunWebhook runs the conformance tests of the WebhookStore. open is as for
// Run.
func RunWebhook(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"Subscriptions", testWebhookSubscriptions},
		{"DeliveryOncePerEvent", testWebhookDeliveryOnce},
		{"ClaimOrderPerCitizen", testWebhookClaimOrder},
		{"ClaimLease", testWebhookClaimLease},
		{"ClaimConcurrent", testWebhookClaimConcurrent},
		{"DeadLetters", testWebhookDeadLetters},
		{"DeleteCascades", testWebhookDeleteCascades},
		{"Keys", testWebhookKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

var whT0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func webhookSub(id, partner string) *cancuoc.WebhookSubscription {
	return &cancuoc.WebhookSubscription{ID: id, PartnerID: partner, URL: "https://" + partner + ".example/hook",
		EventTypes: []string{cancuoc.EventCitizenDied, cancuoc.EventCitizenBorn}, Status: cancuoc.WebhookActive,
		CreatedBy: "admin", CreatedAt: whT0, UpdatedAt: whT0}
}

func mustSub(t *testing.T, s cancuoc.Tx, subs ...*cancuoc.WebhookSubscription) {
	t.Helper()
	for _, sub := range subs {
		if err := s.InsertWebhookSubscription(t.Context(), sub); err != nil {
			t.Fatalf("InsertWebhookSubscription %s: %v", sub.ID, err)
		}
	}
}

// delivery returns a pending delivery of event number seq about citizen key.
func delivery(sub *cancuoc.WebhookSubscription, seq int64, key string) *cancuoc.WebhookDelivery {
	return &cancuoc.WebhookDelivery{ID: fmt.Sprintf("d-%s-%06d", sub.ID, seq), SubscriptionID: sub.ID, PartnerID: sub.PartnerID,
		EventID: fmt.Sprintf("ev-%d", seq), EventSeq: seq, EventType: cancuoc.EventCitizenDied, OrderKey: key,
		Payload: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq)), Status: cancuoc.DeliveryPending, NextAt: whT0, EnqueuedAt: whT0}
}

func mustDeliveries(t *testing.T, s cancuoc.Tx, ds ...*cancuoc.WebhookDelivery) {
	t.Helper()
	for _, d := range ds {
		ok, err := s.InsertWebhookDelivery(t.Context(), d)
		if err != nil || !ok {
			t.Fatalf("InsertWebhookDelivery %s = %v, %v", d.ID, ok, err)
		}
	}
}

func claim(t *testing.T, s cancuoc.Tx, now time.Time, limit int) []string {
	t.Helper()
	ds, err := s.ClaimWebhookDeliveries(t.Context(), now, time.Minute, limit)
	if err != nil {
		t.Fatalf("ClaimWebhookDeliveries: %v", err)
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	slices.Sort(ids)
	return ids
}

func finish(t *testing.T, s cancuoc.Tx, id string, attempt int, o cancuoc.WebhookOutcome) {
	t.Helper()
	if ok, err := s.FinishWebhookDelivery(t.Context(), id, attempt, o); err != nil || !ok {
		t.Fatalf("FinishWebhookDelivery %s #%d = %v, %v", id, attempt, ok, err)
	}
}

func testWebhookSubscriptions(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	a, b, c := webhookSub("wh-a", "bank1"), webhookSub("wh-b", "bank2"), webhookSub("wh-c", "bank1")
	mustSub(t, s, a, b, c)
	wantErr(t, "insert twice", s.InsertWebhookSubscription(ctx, webhookSub("wh-a", "bank9")), cancuoc.Conflict, "")
	got, err := s.WebhookSubscription(ctx, "wh-a")
	if err != nil {
		t.Fatal(err)
	}
	if got.PartnerID != "bank1" || got.URL != a.URL || !slices.Equal(got.EventTypes, a.EventTypes) ||
		got.Status != cancuoc.WebhookActive || got.CreatedBy != "admin" || !got.CreatedAt.Equal(whT0) {
		t.Errorf("WebhookSubscription = %+v, want %+v", got, a)
	}
	_, err = s.WebhookSubscription(ctx, "nope")
	wantErr(t, "WebhookSubscription(nope)", err, cancuoc.NotFound, "")
	list := func(partner string) []string {
		subs, err := s.WebhookSubscriptions(ctx, partner)
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, x := range subs {
			ids = append(ids, x.ID)
		}
		return ids
	}
	if ids := list(""); !slices.Equal(ids, []string{"wh-a", "wh-b", "wh-c"}) {
		t.Errorf("all subscriptions = %v", ids)
	}
	if ids := list("bank1"); !slices.Equal(ids, []string{"wh-a", "wh-c"}) {
		t.Errorf("bank1's subscriptions = %v", ids)
	}
	if ids := list("nobody"); len(ids) != 0 {
		t.Errorf("nobody's subscriptions = %v", ids)
	}
	if err := s.SetWebhookStatus(ctx, "wh-b", cancuoc.WebhookDisabled, whT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.WebhookSubscription(ctx, "wh-b"); got.Status != cancuoc.WebhookDisabled || !got.UpdatedAt.Equal(whT0.Add(time.Hour)) {
		t.Errorf("after SetWebhookStatus: %+v", got)
	}
	wantErr(t, "SetWebhookStatus(nope)", s.SetWebhookStatus(ctx, "nope", cancuoc.WebhookDisabled, whT0), cancuoc.NotFound, "")
	if err := s.DeleteWebhookSubscription(ctx, "wh-c"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete twice", s.DeleteWebhookSubscription(ctx, "wh-c"), cancuoc.NotFound, "")
	if ids := list("bank1"); !slices.Equal(ids, []string{"wh-a"}) {
		t.Errorf("after delete = %v", ids)
	}
}

// testWebhookDeliveryOnce: a second delivery of the same event to the same
// subscription is not stored, inside a transaction that then commits.
func testWebhookDeliveryOnce(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	a, b := webhookSub("wh-a", "bank1"), webhookSub("wh-b", "bank2")
	mustSub(t, s, a, b)
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		for round := range 2 {
			for _, sub := range []*cancuoc.WebhookSubscription{a, b} {
				d := delivery(sub, 1, "p1")
				d.ID += fmt.Sprint(round) // a new ID, the same (subscription, event)
				ok, err := tx.InsertWebhookDelivery(ctx, d)
				if err != nil {
					return err
				}
				if ok != (round == 0) {
					t.Errorf("round %d, %s: stored = %v", round, sub.ID, ok)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.WebhookDeliveries(ctx, cancuoc.DeliveryPending, "", "", 10)
	if err != nil || len(ds) != 2 {
		t.Fatalf("pending deliveries = %d, %v; want 2", len(ds), err)
	}
	got, err := s.WebhookDelivery(ctx, "d-wh-a-0000010")
	if err != nil {
		t.Fatal(err)
	}
	if got.EventID != "ev-1" || got.EventSeq != 1 || got.PartnerID != "bank1" || string(got.Payload) != `{"seq":1}` ||
		got.Attempts != 0 || !got.NextAt.Equal(whT0) || got.DoneAt != nil {
		t.Errorf("WebhookDelivery = %+v", got)
	}
	_, err = s.WebhookDelivery(ctx, "nope")
	wantErr(t, "WebhookDelivery(nope)", err, cancuoc.NotFound, "")
}

// testWebhookClaimOrder: per subscription and citizen, only the earliest
// pending delivery is claimed, also while it waits for a retry; other
// citizens and other subscriptions go on.
func testWebhookClaimOrder(t *testing.T, s cancuoc.Store) {
	a, b := webhookSub("wh-a", "bank1"), webhookSub("wh-b", "bank2")
	mustSub(t, s, a, b)
	mustDeliveries(t, s, delivery(a, 1, "p1"), delivery(a, 2, "p1"), delivery(a, 3, "p2"), delivery(b, 2, "p1"))
	got := claim(t, s, whT0, 10)
	if want := []string{"d-wh-a-000001", "d-wh-a-000003", "d-wh-b-000002"}; !slices.Equal(got, want) {
		t.Fatalf("first claim = %v, want %v", got, want)
	}
	// The first of p1 fails and waits a minute: p1's second still waits.
	finish(t, s, "d-wh-a-000001", 1, cancuoc.WebhookOutcome{Status: cancuoc.DeliveryPending, NextAt: whT0.Add(time.Minute),
		LastStatus: 503, LastError: "503 Service Unavailable", At: whT0})
	finish(t, s, "d-wh-a-000003", 1, cancuoc.WebhookOutcome{Status: cancuoc.DeliveryDelivered, LastStatus: 200, At: whT0})
	finish(t, s, "d-wh-b-000002", 1, cancuoc.WebhookOutcome{Status: cancuoc.DeliveryDelivered, LastStatus: 200, At: whT0})
	if got := claim(t, s, whT0.Add(time.Second), 10); len(got) != 0 {
		t.Fatalf("claim during the retry delay = %v, want none", got)
	}
	got = claim(t, s, whT0.Add(time.Minute), 10)
	if !slices.Equal(got, []string{"d-wh-a-000001"}) {
		t.Fatalf("claim at the retry = %v", got)
	}
	finish(t, s, "d-wh-a-000001", 2, cancuoc.WebhookOutcome{Status: cancuoc.DeliveryDelivered, LastStatus: 204, At: whT0.Add(time.Minute)})
	if got := claim(t, s, whT0.Add(time.Minute), 10); !slices.Equal(got, []string{"d-wh-a-000002"}) {
		t.Fatalf("claim after the first delivered = %v", got)
	}
	d, _ := s.WebhookDelivery(t.Context(), "d-wh-a-000001")
	if d.Status != cancuoc.DeliveryDelivered || d.Attempts != 2 || d.LastStatus != 204 || d.DoneAt == nil || !d.DoneAt.Equal(whT0.Add(time.Minute)) {
		t.Errorf("delivered row = %+v", d)
	}
	finish(t, s, "d-wh-a-000002", 1, cancuoc.WebhookOutcome{Status: cancuoc.DeliveryDelivered, LastStatus: 200, At: whT0})
	// A disabled subscription's deliveries are not claimed.
	mustDeliveries(t, s, delivery(b, 5, "p9"))
	if err := s.SetWebhookStatus(t.Context(), "wh-b", cancuoc.WebhookDisabled, whT0); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, whT0.Add(time.Hour), 10); len(got) != 0 {
		t.Errorf("claim with the subscription disabled = %v", got)
	}
	// Enabled again, it resumes from what is pending.
	if err := s.SetWebhookStatus(t.Context(), "wh-b", cancuoc.WebhookActive, whT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, whT0.Add(time.Hour), 10); len(got) != 1 {
		t.Errorf("claim with the subscription enabled again = %v", got)
	}
}

// testWebhookClaimLease: a claimed delivery is hidden for the lease; after
// it, another worker may take it, and the first worker's late outcome is
// then refused.
func testWebhookClaimLease(t *testing.T, s cancuoc.Store) {
	a := webhookSub("wh-a", "bank1")
	mustSub(t, s, a)
	mustDeliveries(t, s, delivery(a, 1, "p1"))
	if got := claim(t, s, whT0, 10); len(got) != 1 {
		t.Fatalf("claim = %v", got)
	}
	if got := claim(t, s, whT0.Add(30*time.Second), 10); len(got) != 0 {
		t.Fatalf("claim within the lease = %v", got)
	}
	if got := claim(t, s, whT0.Add(61*time.Second), 10); len(got) != 1 {
		t.Fatalf("claim after the lease = %v", got)
	}
	ok, err := s.FinishWebhookDelivery(t.Context(), "d-wh-a-000001", 1, cancuoc.WebhookOutcome{Status: cancuoc.DeliveryDelivered, At: whT0})
	if err != nil || ok {
		t.Errorf("late outcome of attempt 1 = %v, %v; want refused", ok, err)
	}
	finish(t, s, "d-wh-a-000001", 2, cancuoc.WebhookOutcome{Status: cancuoc.DeliveryDelivered, At: whT0})
	ok, err = s.FinishWebhookDelivery(t.Context(), "d-wh-a-000001", 2, cancuoc.WebhookOutcome{Status: cancuoc.DeliveryDead, At: whT0})
	if err != nil || ok {
		t.Errorf("second outcome of a delivered one = %v, %v; want refused", ok, err)
	}
}

// testWebhookClaimConcurrent: workers claiming at the same time never get
// the same delivery, and together get all.
func testWebhookClaimConcurrent(t *testing.T, s cancuoc.Store) {
	a := webhookSub("wh-a", "bank1")
	mustSub(t, s, a)
	const n = 60
	err := s.InTx(t.Context(), func(tx cancuoc.Tx) error {
		for i := range n {
			if _, err := tx.InsertWebhookDelivery(t.Context(), delivery(a, int64(i+1), fmt.Sprint("p", i))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 6 {
		wg.Go(func() {
			for range 8 {
				ds, err := s.ClaimWebhookDeliveries(t.Context(), whT0, time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed %d distinct deliveries, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
}

// testWebhookDeadLetters: dead deliveries are listed newest first, by
// partner, paged, and a re-drive puts one back in line from scratch.
func testWebhookDeadLetters(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	a, b := webhookSub("wh-a", "bank1"), webhookSub("wh-b", "bank2")
	mustSub(t, s, a, b)
	mustDeliveries(t, s, delivery(a, 1, "p1"), delivery(a, 2, "p2"), delivery(b, 3, "p3"), delivery(a, 4, "p4"))
	for _, d := range claimAll(t, s, whT0) {
		status := cancuoc.DeliveryDead
		if d.EventSeq == 4 {
			status = cancuoc.DeliveryDelivered
		}
		finish(t, s, d.ID, d.Attempts, cancuoc.WebhookOutcome{Status: status, LastStatus: 500, LastError: "500 Internal Server Error", At: whT0})
	}
	ids := func(status, partner, before string, limit int) []string {
		ds, err := s.WebhookDeliveries(ctx, status, partner, before, limit)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	if got := ids(cancuoc.DeliveryDead, "", "", 10); !slices.Equal(got, []string{"d-wh-b-000003", "d-wh-a-000002", "d-wh-a-000001"}) {
		t.Errorf("dead letters = %v", got)
	}
	if got := ids(cancuoc.DeliveryDead, "bank1", "", 1); !slices.Equal(got, []string{"d-wh-a-000002"}) {
		t.Errorf("bank1's first page = %v", got)
	}
	if got := ids(cancuoc.DeliveryDead, "bank1", "d-wh-a-000002", 10); !slices.Equal(got, []string{"d-wh-a-000001"}) {
		t.Errorf("bank1's second page = %v", got)
	}
	later := whT0.Add(2 * time.Hour)
	if err := s.RedriveWebhookDelivery(ctx, "d-wh-a-000001", later); err != nil {
		t.Fatal(err)
	}
	d, _ := s.WebhookDelivery(ctx, "d-wh-a-000001")
	if d.Status != cancuoc.DeliveryPending || d.Attempts != 0 || !d.NextAt.Equal(later) || !d.EnqueuedAt.Equal(later) || d.DoneAt != nil ||
		d.LastStatus != 500 {
		t.Errorf("re-driven = %+v", d)
	}
	wantErr(t, "redrive pending", s.RedriveWebhookDelivery(ctx, "d-wh-a-000001", later), cancuoc.Conflict, "delivery_not_dead")
	wantErr(t, "redrive delivered", s.RedriveWebhookDelivery(ctx, "d-wh-a-000004", later), cancuoc.Conflict, "delivery_not_dead")
	wantErr(t, "redrive unknown", s.RedriveWebhookDelivery(ctx, "nope", later), cancuoc.NotFound, "")
	if got := claim(t, s, later, 10); !slices.Equal(got, []string{"d-wh-a-000001"}) {
		t.Errorf("claim after re-drive = %v", got)
	}
}

func claimAll(t *testing.T, s cancuoc.Store, now time.Time) []*cancuoc.WebhookDelivery {
	t.Helper()
	ds, err := s.ClaimWebhookDeliveries(t.Context(), now, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func testWebhookDeleteCascades(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	a := webhookSub("wh-a", "bank1")
	mustSub(t, s, a)
	mustDeliveries(t, s, delivery(a, 1, "p1"))
	if err := s.DeleteWebhookSubscription(ctx, "wh-a"); err != nil {
		t.Fatal(err)
	}
	_, err := s.WebhookDelivery(ctx, "d-wh-a-000001")
	wantErr(t, "delivery of a deleted subscription", err, cancuoc.NotFound, "")
}

// testWebhookKeys: keys are listed newest first until they retire; a
// rotation retires the others at a time, never later than they would.
func testWebhookKeys(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	far := whT0.AddDate(100, 0, 0)
	old := &cancuoc.WebhookKey{ID: "k-old", Private: []byte{1, 2, 3}, Public: []byte{4, 5}, CreatedAt: whT0, RetireAt: far}
	if err := s.InsertWebhookKey(ctx, old); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "InsertWebhookKey(again)", s.InsertWebhookKey(ctx, old), cancuoc.Conflict, "duplicate")
	short := &cancuoc.WebhookKey{ID: "k-short", Private: []byte{9}, Public: []byte{8}, CreatedAt: whT0.Add(time.Minute), RetireAt: whT0.Add(time.Hour)}
	cur := &cancuoc.WebhookKey{ID: "k-new", Private: []byte{7}, Public: []byte{6}, CreatedAt: whT0.Add(2 * time.Minute), RetireAt: far}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertWebhookKey(ctx, short); err != nil {
			return err
		}
		if err := tx.InsertWebhookKey(ctx, cur); err != nil {
			return err
		}
		return tx.RetireWebhookKeys(ctx, "k-new", whT0.Add(72*time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(at time.Time) []string {
		ks, err := s.WebhookKeys(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range ks {
			out = append(out, k.ID)
		}
		return out
	}
	if got := ids(whT0.Add(3 * time.Minute)); !slices.Equal(got, []string{"k-new", "k-short", "k-old"}) {
		t.Errorf("keys during the overlap = %v", got)
	}
	if got := ids(whT0.Add(2 * time.Hour)); !slices.Equal(got, []string{"k-new", "k-old"}) {
		t.Errorf("keys after the short one retired (a rotation never extends a key) = %v", got)
	}
	if got := ids(whT0.Add(72 * time.Hour)); !slices.Equal(got, []string{"k-new"}) {
		t.Errorf("keys after the overlap = %v", got)
	}
	ks, _ := s.WebhookKeys(ctx, whT0)
	k := ks[len(ks)-1]
	if k.ID != "k-old" || string(k.Private) != string(old.Private) || string(k.Public) != string(old.Public) ||
		!k.CreatedAt.Equal(whT0) || !k.RetireAt.Equal(whT0.Add(72*time.Hour)) {
		t.Errorf("old key read back = %+v", k)
	}
}
