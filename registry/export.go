package registry

import (
	"time"

	"github.com/cancuoc/cancuoc"
)

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

// Validate checks a whole record as every write does, at instant now: a
// capability that proposes a change for later (a citizen's correction
// request) checks it when filed with the rules it will be saved under.
func Validate(op string, c *cancuoc.Citizen, now time.Time) error { return validate(op, c, now) }
