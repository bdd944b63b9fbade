package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunPartners runs the conformance suite of PartnerStore. open is as for
// Run.
func RunPartners(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"Partners", testPartners},
		{"PartnerConsents", testPartnerConsents},
		{"ClientAssertions", testClientAssertions},
		{"PartnerTxRollback", testPartnerTxRollback},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func samplePartner(id string) *cancuoc.Partner {
	return &cancuoc.Partner{ID: id, Name: "Ngân hàng Thử nghiệm", Kind: cancuoc.PartnerBank, Version: 1,
		Policy: cancuoc.PartnerPolicy{Operations: []cancuoc.PartnerOp{cancuoc.OpMatch, cancuoc.OpRelease},
			Fields: []string{"full_name", "birth_date"}, Purpose: "eKYC mở tài khoản", LegalBasis: "Luật Các tổ chức tín dụng 2024",
			Quota: cancuoc.Quota{PerMinute: 600, PerDay: 100000}},
		CreatedAt: at, UpdatedAt: at}
}

func testPartners(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	b, a := samplePartner("vcb"), samplePartner("bidv")
	for _, p := range []*cancuoc.Partner{b, a} {
		if err := s.InsertPartner(ctx, p); err != nil {
			t.Fatalf("InsertPartner: %v", err)
		}
	}
	wantErr(t, "InsertPartner duplicate", s.InsertPartner(ctx, samplePartner("vcb")), cancuoc.Conflict, "duplicate")
	got, err := s.Partner(ctx, "vcb")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Errorf("Partner = %+v, want %+v", got, b)
	}
	_, err = s.Partner(ctx, "nobody")
	wantErr(t, "Partner absent", err, cancuoc.NotFound, "")
	list, err := s.Partners(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "bidv" || list[1].ID != "vcb" {
		t.Fatalf("Partners = %v, %v; want bidv, vcb", list, err)
	}

	u := *got
	u.Version, u.Disabled, u.UpdatedAt = 2, true, at.Add(time.Hour)
	u.Policy.Fields = []string{"full_name"}
	if err := s.UpdatePartner(ctx, &u, 1); err != nil {
		t.Fatalf("UpdatePartner: %v", err)
	}
	wantErr(t, "UpdatePartner stale", s.UpdatePartner(ctx, &u, 1), cancuoc.Conflict, "stale_version")
	ghost := samplePartner("ghost")
	wantErr(t, "UpdatePartner absent", s.UpdatePartner(ctx, ghost, 1), cancuoc.NotFound, "")
	got, err = s.Partner(ctx, "vcb")
	if err != nil || !got.Disabled || got.Version != 2 || len(got.Policy.Fields) != 1 || !got.UpdatedAt.Equal(u.UpdatedAt) {
		t.Fatalf("after update: %+v, %v", got, err)
	}
}

func testPartnerConsents(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	pin, other := PIN(1), PIN(2)
	mk := func(id string, pin cancuoc.PIN, partner string, granted, expires time.Time) *cancuoc.PartnerConsent {
		return &cancuoc.PartnerConsent{ID: id, PIN: pin, PartnerID: partner, Fields: []string{"full_name", "birth_date"},
			Purpose: "Mở tài khoản", GrantedAt: granted, ExpiresAt: expires}
	}
	c1 := mk("c1", pin, "vcb", at, at.Add(24*time.Hour))
	c2 := mk("c2", pin, "vcb", at.Add(time.Hour), at.Add(2*time.Hour))
	c3 := mk("c3", pin, "bidv", at.Add(2*time.Hour), at.Add(48*time.Hour))
	c4 := mk("c4", other, "vcb", at, at.Add(24*time.Hour))
	for _, c := range []*cancuoc.PartnerConsent{c1, c2, c3, c4} {
		if err := s.InsertPartnerConsent(ctx, c); err != nil {
			t.Fatalf("InsertPartnerConsent: %v", err)
		}
	}
	wantErr(t, "InsertPartnerConsent duplicate", s.InsertPartnerConsent(ctx, mk("c1", other, "x", at, at)), cancuoc.Conflict, "duplicate")
	got, err := s.PartnerConsent(ctx, "c1")
	if err != nil || !reflect.DeepEqual(got, c1) {
		t.Fatalf("PartnerConsent = %+v, %v; want %+v", got, err, c1)
	}
	_, err = s.PartnerConsent(ctx, "none")
	wantErr(t, "PartnerConsent absent", err, cancuoc.NotFound, "")

	ids := func(l []*cancuoc.PartnerConsent, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, c := range l {
			out = append(out, c.ID)
		}
		return out
	}
	if got := ids(s.PartnerConsents(ctx, pin)); !reflect.DeepEqual(got, []string{"c3", "c2", "c1"}) {
		t.Errorf("PartnerConsents = %v, want c3 c2 c1 (newest first)", got)
	}
	// In force: granted at or before t, expiring after t, not revoked.
	for _, tc := range []struct {
		t    time.Time
		want []string
	}{
		{at.Add(-time.Second), []string{}},
		{at, []string{"c1"}},
		{at.Add(90 * time.Minute), []string{"c2", "c1"}},
		{at.Add(2 * time.Hour), []string{"c1"}}, // c2 expires at exactly this instant
		{at.Add(24 * time.Hour), []string{}},
	} {
		if got := ids(s.ConsentsInForce(ctx, pin, "vcb", tc.t)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ConsentsInForce at %v = %v, want %v", tc.t, got, tc.want)
		}
	}
	revokeAt := at.Add(30 * time.Minute)
	wantErr(t, "revoke another's consent", s.RevokePartnerConsent(ctx, other, "c1", revokeAt), cancuoc.NotFound, "")
	if err := s.RevokePartnerConsent(ctx, pin, "c1", revokeAt); err != nil {
		t.Fatalf("RevokePartnerConsent: %v", err)
	}
	wantErr(t, "revoke twice", s.RevokePartnerConsent(ctx, pin, "c1", revokeAt), cancuoc.NotFound, "")
	if got := ids(s.ConsentsInForce(ctx, pin, "vcb", at.Add(90*time.Minute))); !reflect.DeepEqual(got, []string{"c2"}) {
		t.Errorf("after revoking c1: in force %v, want c2", got)
	}
	got, err = s.PartnerConsent(ctx, "c1")
	if err != nil || got.RevokedAt == nil || !got.RevokedAt.Equal(revokeAt) {
		t.Fatalf("revoked consent kept as %+v, %v", got, err)
	}
	if got := ids(s.ConsentsInForce(ctx, other, "vcb", at)); !reflect.DeepEqual(got, []string{"c4"}) {
		t.Errorf("other citizen's consents touched: %v", got)
	}
}

func testClientAssertions(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	exp := at.Add(5 * time.Minute)
	if err := s.UseClientAssertion(ctx, "bank", "j1", exp, at); err != nil {
		t.Fatalf("UseClientAssertion: %v", err)
	}
	wantErr(t, "replay", s.UseClientAssertion(ctx, "bank", "j1", exp, at.Add(time.Minute)), cancuoc.Conflict, "assertion_replayed")
	if err := s.UseClientAssertion(ctx, "other", "j1", exp, at); err != nil {
		t.Errorf("same jti of another client: %v", err)
	}
	// Once expired, the record is forgotten (the assertion itself would be
	// refused as expired by the provider).
	if err := s.UseClientAssertion(ctx, "bank", "j1", exp.Add(time.Hour), exp.Add(time.Second)); err != nil {
		t.Errorf("jti after expiry: %v", err)
	}
}

func testPartnerTxRollback(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertPartner(ctx, samplePartner("vcb")); err != nil {
			return err
		}
		if err := tx.InsertPartnerConsent(ctx, &cancuoc.PartnerConsent{ID: "c", PIN: PIN(1), PartnerID: "vcb",
			Fields: []string{"full_name"}, GrantedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if _, err := s.Partner(ctx, "vcb"); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("rolled-back partner: %v", err)
	}
	if _, err := s.PartnerConsent(ctx, "c"); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("rolled-back consent: %v", err)
	}
}
