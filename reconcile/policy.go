package reconcile

import (
	"context"
	"slices"

	"github.com/cancuoc/cancuoc"
)

// Policy says which registry values a reconciliation report may show for
// the fields that differ. RevealList serves the console and ministries'
// API keys; PartnerPolicy serves partners' systems from their policies.
type Policy interface {
	// RevealFields returns the fields whose registry value may be shown to
	// the owner of a job (nil: none). It is asked once, when the job is
	// created, and the answer is kept with the job.
	RevealFields(ctx context.Context, owner string) (map[string]bool, error)
}

// Revealable are the fields a report can show a registry value for.
var Revealable = []string{"full_name", "birth_date", "sex", "address", "card_number"}

// RevealList is a Policy that reveals the same fields to everyone: the
// operator's choice for a job run from the console. The zero value reveals
// nothing.
type RevealList []string

// RevealFields returns the listed fields.
func (l RevealList) RevealFields(context.Context, string) (map[string]bool, error) {
	if len(l) == 0 {
		return nil, nil
	}
	m := make(map[string]bool, len(l))
	for _, f := range l {
		m[f] = true
	}
	return m, nil
}

// ParseReveal checks a list of field names against Revealable.
func ParseReveal(fields []string) (RevealList, error) {
	for _, f := range fields {
		if !slices.Contains(Revealable, f) {
			return nil, cancuoc.InvalidField("reconcile.reveal", "reveal", "reconcile_reveal_field",
				"Trường "+f+" không thể tiết lộ; chọn trong full_name, birth_date, sex, address, card_number.",
				"Field "+f+" cannot be revealed; choose from full_name, birth_date, sex, address, card_number.")
		}
	}
	return RevealList(fields), nil
}

// Partners is the partners capability as reconciliation uses it
// (*partner.Service): Check reads a partner's policy without counting the
// call, Authorize also counts it against the partner's quota.
type Partners interface {
	Check(ctx context.Context, id string, op cancuoc.PartnerOp, fields ...string) (*cancuoc.Partner, error)
	Authorize(ctx context.Context, id string, op cancuoc.PartnerOp, fields ...string) error
}

// revealNeeds maps a report field to the registry fields (policy field
// names) a partner's policy must all allow for its registry value to be
// shown. The address a report shows is the person's home unit, taken from
// the permanent residence or, without one, the current residence, so both
// must be allowed; card numbers are the record's cards.
var revealNeeds = map[string][]string{
	"full_name":   {"full_name"},
	"birth_date":  {"birth_date"},
	"sex":         {"sex"},
	"address":     {"permanent_residence", "current_residence"},
	"card_number": {"cards"},
}

// PartnerPolicy reveals to a partner's job ("partner:ID" owner) the
// registry values of the fields its policy allows, and defers to Fallback
// (RevealList(nil) when unset: nothing) for every other owner.
type PartnerPolicy struct {
	Partners Partners
	Fallback Policy
}

// RevealFields implements Policy.
func (p PartnerPolicy) RevealFields(ctx context.Context, owner string) (map[string]bool, error) {
	id, ok := cancuoc.PartnerOwner(owner)
	if !ok {
		if p.Fallback == nil {
			return nil, nil
		}
		return p.Fallback.RevealFields(ctx, owner)
	}
	if p.Partners == nil {
		return nil, errRole
	}
	pt, err := p.Partners.Check(ctx, id, cancuoc.OpReconcile)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, f := range Revealable {
		all := true
		for _, need := range revealNeeds[f] {
			all = all && slices.Contains(pt.Policy.Fields, need)
		}
		if all {
			out[f] = true
		}
	}
	return out, nil
}
