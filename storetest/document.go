package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunDocuments runs the conformance tests of the DocumentStore (wallet
// documents, holder and issuer keys, status-list slots). open is as for Run.
func RunDocuments(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"DocumentRoundTrip", testDocumentRoundTrip},
		{"DocumentUpdate", testDocumentUpdate},
		{"DocumentStatusEntries", testDocumentStatusEntries},
		{"DocumentSlots", testDocumentSlots},
		{"DocumentHolderKey", testDocumentHolderKey},
		{"DocumentHolderKeys", testDocumentHolderKeys},
		{"DocumentIssuerKeys", testDocumentIssuerKeys},
		{"DocumentRollback", testDocumentRollback},
		{"PresentationRequests", testPresentationRequests},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

var docT0 = time.Date(2026, 3, 1, 8, 30, 0, 123456000, time.UTC)

func sampleDocument(id string, pin cancuoc.PIN, list, idx int64, at time.Time) *cancuoc.Document {
	return &cancuoc.Document{ID: id, Type: "driver_licence", HolderPIN: pin, Issuer: "transport", IssuedBy: "p-transport",
		StatusList: list, StatusIndex: idx, Status: cancuoc.DocumentValid, IssuedAt: at, ExpiresAt: at.AddDate(10, 0, 0),
		HolderKeyID: "thumb-1", Claims: json.RawMessage(`{"given_name":"Văn An","categories":["A1","B2"]}`),
		SDJWT: "eyJ.eyJ.sig~WyJ4Il0~", Version: 1, UpdatedAt: at}
}

func sameDocument(t *testing.T, got, want *cancuoc.Document) {
	t.Helper()
	g, w := *got, *want
	if !sameJSON(g.Claims, w.Claims) {
		t.Errorf("claims %s, want %s", g.Claims, w.Claims)
	}
	g.Claims, w.Claims = nil, nil
	if !g.IssuedAt.Equal(w.IssuedAt) || !g.ExpiresAt.Equal(w.ExpiresAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
		t.Errorf("times %v %v %v, want %v %v %v", g.IssuedAt, g.ExpiresAt, g.UpdatedAt, w.IssuedAt, w.ExpiresAt, w.UpdatedAt)
	}
	g.IssuedAt, g.ExpiresAt, g.UpdatedAt = w.IssuedAt, w.ExpiresAt, w.UpdatedAt
	gj, _ := json.Marshal(g)
	wj, _ := json.Marshal(w)
	if string(gj) != string(wj) || g.SDJWT != w.SDJWT {
		t.Errorf("document\n got %s\nwant %s", gj, wj)
	}
}

func testDocumentRoundTrip(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	a := sampleDocument("doc-a", PIN(1), 0, 17, docT0)
	b := sampleDocument("doc-b", PIN(1), 0, 18, docT0.Add(time.Hour))
	c := sampleDocument("doc-c", PIN(2), 0, 19, docT0)
	for _, d := range []*cancuoc.Document{a, b, c} {
		if err := s.InsertDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Document(ctx, "doc-a")
	if err != nil {
		t.Fatal(err)
	}
	sameDocument(t, got, a)
	wantErr(t, "same ID", s.InsertDocument(ctx, sampleDocument("doc-a", PIN(3), 1, 1, docT0)), cancuoc.Conflict, "duplicate")
	wantErr(t, "same slot", s.InsertDocument(ctx, sampleDocument("doc-z", PIN(3), 0, 17, docT0)), cancuoc.Conflict, "duplicate")
	_, err = s.Document(ctx, "nope")
	wantErr(t, "absent", err, cancuoc.NotFound, "")
	mine, err := s.DocumentsByHolder(ctx, PIN(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 2 || mine[0].ID != "doc-b" || mine[1].ID != "doc-a" {
		t.Errorf("holder's documents %v", ids(mine))
	}
	none, err := s.DocumentsByHolder(ctx, PIN(9))
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("no documents: %v %v", none, err)
	}
}

func ids(ds []*cancuoc.Document) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func testDocumentUpdate(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	d := sampleDocument("doc-u", PIN(1), 0, 1, docT0)
	if err := s.InsertDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	d.Status, d.Reason, d.ReplacedBy, d.Version, d.UpdatedAt = cancuoc.DocumentRevoked, "reissued", "doc-v", 2, docT0.Add(time.Minute)
	if err := s.UpdateDocument(ctx, d, 1); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Document(ctx, "doc-u")
	sameDocument(t, got, d)
	wantErr(t, "stale", s.UpdateDocument(ctx, d, 1), cancuoc.Conflict, "stale_version")
	d.ID = "nope"
	wantErr(t, "absent", s.UpdateDocument(ctx, d, 2), cancuoc.NotFound, "")
}

func testDocumentStatusEntries(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	for i, st := range []cancuoc.DocumentStatus{cancuoc.DocumentValid, cancuoc.DocumentRevoked, cancuoc.DocumentSuspended, cancuoc.DocumentValid} {
		d := sampleDocument("doc-"+string(rune('a'+i)), PIN(1), 3, int64(100-i), docT0)
		d.Status = st
		if err := s.InsertDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	other := sampleDocument("doc-other-list", PIN(1), 4, 5, docT0)
	other.Status = cancuoc.DocumentRevoked
	if err := s.InsertDocument(ctx, other); err != nil {
		t.Fatal(err)
	}
	es, err := s.StatusEntries(ctx, "transport", 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []cancuoc.StatusEntry{{Index: 98, Status: cancuoc.DocumentSuspended}, {Index: 99, Status: cancuoc.DocumentRevoked}}
	if !slices.Equal(es, want) {
		t.Errorf("entries %v, want %v", es, want)
	}
	es, err = s.StatusEntries(ctx, "health", 3)
	if err != nil || len(es) != 0 {
		t.Errorf("other issuer: %v %v", es, err)
	}
}

func testDocumentSlots(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	errs := make([]error, workers)
	got := make([]int64, workers)
	race(func(i int) error {
		got[i], errs[i] = s.NextStatusSlot(ctx, "justice")
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	for i, n := range got {
		if n != int64(i) {
			t.Fatalf("slots %v: want 0..%d, each once", got, workers-1)
		}
	}
	if n, err := s.NextStatusSlot(ctx, "health"); err != nil || n != 0 {
		t.Errorf("another issuer starts at 0: %d %v", n, err)
	}
}

func testDocumentHolderKey(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	_, err := s.HolderKey(ctx, PIN(1))
	wantErr(t, "none", err, cancuoc.NotFound, "")
	k := &cancuoc.HolderKey{PIN: PIN(1), ID: "t1", JWK: json.RawMessage(`{"kty":"EC","crv":"P-256","x":"a","y":"b"}`), CreatedAt: docT0}
	if err := s.PutHolderKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	k2 := &cancuoc.HolderKey{PIN: PIN(1), ID: "t2", JWK: json.RawMessage(`{"kty":"EC","crv":"P-256","x":"c","y":"d"}`), CreatedAt: docT0.Add(time.Hour)}
	if err := s.PutHolderKey(ctx, k2); err != nil {
		t.Fatal(err)
	}
	got, err := s.HolderKey(ctx, PIN(1))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "t2" || !sameJSON(got.JWK, k2.JWK) || !got.CreatedAt.Equal(k2.CreatedAt) || got.PIN != PIN(1) {
		t.Errorf("holder key %+v", got)
	}
}

// testDocumentHolderKeys: the keys of several holders in one read, only
// of those that have one, each the current one; nothing for no PINs.
func testDocumentHolderKeys(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	if got, err := s.HolderKeys(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no PINs: %v, %v", got, err)
	}
	if got, err := s.HolderKeys(ctx, []cancuoc.PIN{PIN(1), PIN(2)}); err != nil || len(got) != 0 {
		t.Fatalf("none registered: %v, %v", got, err)
	}
	want := map[cancuoc.PIN]*cancuoc.HolderKey{}
	for i, n := range []int{1, 3, 4, 3} { // 3 twice: its second key replaces the first
		k := &cancuoc.HolderKey{PIN: PIN(n), ID: fmt.Sprintf("t%d", i),
			JWK: json.RawMessage(fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":"x%d","y":"y"}`, i)), CreatedAt: docT0.Add(time.Duration(i) * time.Minute)}
		if err := s.PutHolderKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		want[k.PIN] = k
	}
	got, err := s.HolderKeys(ctx, []cancuoc.PIN{PIN(2), PIN(3), PIN(1), PIN(3), PIN(5)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[cancuoc.PIN]bool{}
	for _, k := range got {
		w := want[k.PIN]
		if seen[k.PIN] || w == nil || k.PIN == PIN(4) || k.ID != w.ID || !sameJSON(k.JWK, w.JWK) || !k.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("holder key %+v, want %+v (once, and only for PINs asked)", k, w)
		}
		seen[k.PIN] = true
	}
	if len(seen) != 2 || !seen[PIN(1)] || !seen[PIN(3)] {
		t.Errorf("keys of %v, want those of %s and %s", seen, PIN(1), PIN(3))
	}
	// Through a transaction too (DocumentStore is part of cancuoc.Tx).
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		got, err := tx.HolderKeys(ctx, []cancuoc.PIN{PIN(4)})
		if err != nil || len(got) != 1 || got[0].ID != want[PIN(4)].ID {
			t.Errorf("in a transaction: %v, %v", got, err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testDocumentIssuerKeys(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	old := &cancuoc.IssuerKey{ID: "k-old", Issuer: "transport", Private: []byte{1, 2, 3}, Public: json.RawMessage(`{"kid":"k-old"}`),
		CreatedAt: docT0, RetireAt: docT0.Add(48 * time.Hour)}
	cur := &cancuoc.IssuerKey{ID: "k-new", Issuer: "transport", Private: []byte{4, 5}, Public: json.RawMessage(`{"kid":"k-new"}`),
		CreatedAt: docT0.Add(24 * time.Hour), RetireAt: docT0.Add(96 * time.Hour)}
	other := &cancuoc.IssuerKey{ID: "k-h", Issuer: "health", Private: []byte{6}, Public: json.RawMessage(`{}`),
		CreatedAt: docT0, RetireAt: docT0.Add(96 * time.Hour)}
	for _, k := range []*cancuoc.IssuerKey{old, cur, other} {
		if err := s.InsertIssuerKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, "dup", s.InsertIssuerKey(ctx, old), cancuoc.Conflict, "duplicate")
	ks, err := s.IssuerKeys(ctx, "transport", docT0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 || ks[0].ID != "k-new" || ks[1].ID != "k-old" || string(ks[1].Private) != "\x01\x02\x03" || !sameJSON(ks[0].Public, cur.Public) {
		t.Errorf("keys %+v", ks)
	}
	ks, _ = s.IssuerKeys(ctx, "transport", docT0.Add(50*time.Hour))
	if len(ks) != 1 || ks[0].ID != "k-new" {
		t.Errorf("after retirement: %+v", ks)
	}
}

func testDocumentRollback(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if _, err := tx.NextStatusSlot(ctx, "transport"); err != nil {
			return err
		}
		if err := tx.InsertDocument(ctx, sampleDocument("doc-r", PIN(1), 0, 0, docT0)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := s.Document(ctx, "doc-r"); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("document survived the rollback: %v", err)
	}
	if n, _ := s.NextStatusSlot(ctx, "transport"); n != 0 {
		t.Errorf("slot survived the rollback: next %d", n)
	}
}

func testPresentationRequests(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	r := &cancuoc.PresentationRequest{ID: "req-1", ClientID: "https://id.example.vn/verifiers/p-bank", Nonce: "n-123456",
		Type: "driver_licence", Claims: []string{"given_name", "categories"}, CreatedBy: "p-bank", CreatedAt: docT0, ExpiresAt: docT0.Add(10 * time.Minute)}
	if err := s.InsertPresentationRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "dup", s.InsertPresentationRequest(ctx, r), cancuoc.Conflict, "duplicate")
	got, err := s.PresentationRequest(ctx, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientID != r.ClientID || got.Nonce != r.Nonce || !slices.Equal(got.Claims, r.Claims) || got.AnsweredAt != nil ||
		got.Verdict != nil || !got.CreatedAt.Equal(r.CreatedAt) || !got.ExpiresAt.Equal(r.ExpiresAt) || got.CreatedBy != "p-bank" {
		t.Errorf("request %+v", got)
	}
	_, err = s.PresentationRequest(ctx, "nope")
	wantErr(t, "absent", err, cancuoc.NotFound, "")
	// Racing answers: exactly one wins.
	errs := race(func(int) error { return s.ClaimPresentationRequest(ctx, "req-1", docT0.Add(time.Minute)) })
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		default:
			wantErr(t, "second answer", err, cancuoc.Conflict, "request_answered")
		}
	}
	if won != 1 {
		t.Fatalf("%d answers won", won)
	}
	wantErr(t, "absent claim", s.ClaimPresentationRequest(ctx, "nope", docT0), cancuoc.NotFound, "")
	if err := s.SetPresentationVerdict(ctx, "req-1", json.RawMessage(`{"valid":true}`)); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "absent verdict", s.SetPresentationVerdict(ctx, "nope", json.RawMessage(`{}`)), cancuoc.NotFound, "")
	got, _ = s.PresentationRequest(ctx, "req-1")
	if got.AnsweredAt == nil || !got.AnsweredAt.Equal(docT0.Add(time.Minute)) || !sameJSON(got.Verdict, json.RawMessage(`{"valid":true}`)) {
		t.Errorf("answered %+v", got)
	}
	old := *r
	old.ID, old.ExpiresAt = "req-old", docT0.Add(-time.Minute)
	if err := s.InsertPresentationRequest(ctx, &old); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeletePresentationRequests(ctx, docT0); err != nil || n != 1 {
		t.Errorf("deleted %d %v", n, err)
	}
	if _, err := s.PresentationRequest(ctx, "req-1"); err != nil {
		t.Errorf("a live request was deleted: %v", err)
	}
}
