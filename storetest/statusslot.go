package storetest

import (
	"testing"

	"github.com/cancuoc/cancuoc"
)

// RunStatusSlots checks StatusSlotsIssued: 0 before any slot, then the
// number handed out, per issuer, and reading does not advance it.
func RunStatusSlots(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	t.Run("StatusSlots", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		if n, err := s.StatusSlotsIssued(ctx, "justice"); err != nil || n != 0 {
			t.Fatalf("before any slot: %d %v, want 0", n, err)
		}
		for range 3 {
			if _, err := s.NextStatusSlot(ctx, "justice"); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if n, err := s.StatusSlotsIssued(ctx, "justice"); err != nil || n != 3 {
				t.Fatalf("after 3 slots: %d %v, want 3", n, err)
			}
		}
		if n, err := s.NextStatusSlot(ctx, "justice"); err != nil || n != 3 {
			t.Errorf("reading advanced the counter: next slot %d %v, want 3", n, err)
		}
		if n, err := s.StatusSlotsIssued(ctx, "health"); err != nil || n != 0 {
			t.Errorf("another issuer: %d %v, want 0", n, err)
		}
	})
}
