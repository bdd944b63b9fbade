package reconcile_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/reconcile"
)

// TestPartnerPolicyReveals checks which report fields a partner's policy
// reveals (address needs both residences, card numbers the cards), that a
// partner without the operation or disabled gets no job, and that other
// owners fall back.
func TestPartnerPolicyReveals(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	w := audit.NewWriter(st, 0)
	t.Cleanup(func() { w.Close() })
	ps := partner.New(st, w, partner.WithPolicyCache(0))
	mk := func(id string, ops []cancuoc.PartnerOp, fields ...string) {
		if _, err := ps.Create(ctx, nil, partner.NewPartner{ID: id, Name: id, Kind: cancuoc.PartnerBank, Policy: cancuoc.PartnerPolicy{
			Operations: ops, Fields: fields, Purpose: "đối soát", LegalBasis: "NĐ 69/2024"}}); err != nil {
			t.Fatal(err)
		}
	}
	rec := []cancuoc.PartnerOp{cancuoc.OpReconcile}
	mk("one-residence", rec, "full_name", "permanent_residence", "cards")
	mk("both", rec, "sex", "permanent_residence", "current_residence")
	mk("match-only", []cancuoc.PartnerOp{cancuoc.OpMatch}, "full_name")
	pol := reconcile.PartnerPolicy{Partners: ps, Fallback: reconcile.RevealList{"birth_date"}}
	for owner, want := range map[string]map[string]bool{
		"partner:one-residence": {"full_name": true, "card_number": true},
		"partner:both":          {"sex": true, "address": true},
		"key_ministry":          {"birth_date": true},
	} {
		got, err := pol.RevealFields(ctx, owner)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, %v; want %v", owner, got, err, want)
		}
	}
	if _, err := pol.RevealFields(ctx, "partner:match-only"); cancuoc.KindOf(err) != cancuoc.Forbidden {
		t.Errorf("partner without reconcile: %v", err)
	}
	if _, err := ps.Disable(ctx, nil, "both"); err != nil {
		t.Fatal(err)
	}
	if _, err := pol.RevealFields(ctx, "partner:both"); cancuoc.KindOf(err) != cancuoc.Forbidden {
		t.Errorf("disabled partner: %v", err)
	}
	if got, err := (reconcile.PartnerPolicy{Partners: ps}).RevealFields(ctx, "console"); err != nil || got != nil {
		t.Errorf("no fallback: %v, %v", got, err)
	}
}
