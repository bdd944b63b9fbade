package cancuoc

import "context"

// StatusSlotStore tells how far an issuer's status lists reach, so that
// the public status-list endpoint serves only lists that exist instead of
// building and signing one for any number it is asked.
type StatusSlotStore interface {
	// StatusSlotsIssued returns how many status-list slots the issuer has
	// handed out (NextStatusSlot's next number); 0 when none.
	StatusSlotsIssued(ctx context.Context, issuer string) (int64, error)
}
