package reconcile

import (
	"slices"

	"github.com/cancuoc/cancuoc"
)

// Policy says which registry values a reconciliation report may show for
// the fields that differ. The partners capability (client credentials and
// per-partner policies) implements it; until it is wired, the CLI and the
// API use RevealList.
type Policy interface {
	// RevealFields returns the fields whose registry value may be shown to
	// the owner of a job (nil: none).
	RevealFields(owner string) map[string]bool
}

// Revealable are the fields a report can show a registry value for.
var Revealable = []string{"full_name", "birth_date", "sex", "address", "card_number"}

// RevealList is a Policy that reveals the same fields to everyone: the
// operator's choice for a job run from the console. The zero value reveals
// nothing.
type RevealList []string

// RevealFields returns the listed fields.
func (l RevealList) RevealFields(string) map[string]bool {
	if len(l) == 0 {
		return nil
	}
	m := make(map[string]bool, len(l))
	for _, f := range l {
		m[f] = true
	}
	return m
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
