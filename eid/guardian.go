package eid

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
)

// LegalChildAge is the age from which a citizen holds their own account
// and no guardian acts for it (Decree 69/2024: children under 14 are
// registered by, and act through, a guardian). Config.ChildAge defaults to
// it; the wallet, which has no eID configuration, uses it directly.
const LegalChildAge = 14

// CitizenReader reads registry records; a cancuoc.Store or Tx is one.
type CitizenReader interface {
	Citizen(ctx context.Context, pin cancuoc.PIN) (*cancuoc.Citizen, error)
}

// Guards reports whether the holder of guardianPIN may act for the account
// child today. The account's GuardianPIN records who opened it, which is
// not enough on its own (review finding 2): guardianship ends when the
// child turns childAge, or when the registry no longer lists the guardian
// as the child's parent or legal representative (custody changed). So both
// are checked again at each use, against the registry, rather than
// trusting the link made at creation. A child whose birth date is unknown
// is not treated as a child.
func Guards(ctx context.Context, r CitizenReader, guardianPIN cancuoc.PIN, child *cancuoc.Account, now time.Time, childAge int) (bool, error) {
	if child == nil || guardianPIN == "" || child.GuardianPIN != guardianPIN {
		return false, nil
	}
	return GuardsPerson(ctx, r, guardianPIN, child.PIN, now, childAge)
}

// GuardsPerson is Guards' registry half, for a child who may have no
// account: the child is under childAge and the registry lists the holder
// of guardianPIN as their parent or legal representative today.
func GuardsPerson(ctx context.Context, r CitizenReader, guardianPIN, childPIN cancuoc.PIN, now time.Time, childAge int) (bool, error) {
	if guardianPIN == "" || guardianPIN == childPIN {
		return false, nil
	}
	c, err := r.Citizen(ctx, childPIN)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if c.BirthDate.IsZero() || c.BirthDate.AgeOn(now) >= childAge {
		return false, nil
	}
	g, err := r.Citizen(ctx, guardianPIN)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return isGuardianOf(g, c), nil
}
