package registry

import "github.com/cancuoc/cancuoc"

// Authorize checks that p is an active principal whose role may perform act
// and whose jurisdiction covers where: the registry's policy, for other
// capabilities (residence) that act on citizens and places.
func Authorize(op string, p *cancuoc.Principal, act Action, where cancuoc.UnitRef) error {
	return authorize(op, p, act, where)
}

// CheckRole checks only the role of an active principal.
func CheckRole(op string, p *cancuoc.Principal, act Action) error { return checkRole(op, p, act) }

// ValidatePlace checks a place as the registry does in a record (unit codes
// exist in the era named and nest) and normalises its detail; errors name
// field.
func ValidatePlace(op, field string, p *cancuoc.Place) error { return validatePlace(op, field, p) }
