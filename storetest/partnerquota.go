package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunQuotaUsage checks the shared quota counters: additions from
// concurrent nodes all count, windows and partners are apart, a zero
// addition reads the total, and old windows are deleted.
func RunQuotaUsage(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	t.Run("QuotaUsage", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		minute := T0.Truncate(time.Minute)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 5 {
					if _, err := s.AddQuotaUsage(ctx, "bank-1", "minute", minute, 3); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if got, err := s.AddQuotaUsage(ctx, "bank-1", "minute", minute, 0); err != nil || got != 120 {
			t.Fatalf("total after 8×5×3 = %d, %v; want 120", got, err)
		}
		if got, _ := s.AddQuotaUsage(ctx, "bank-2", "minute", minute, 1); got != 1 {
			t.Errorf("another partner's window = %d, want 1", got)
		}
		if got, _ := s.AddQuotaUsage(ctx, "bank-1", "day", minute, 2); got != 2 {
			t.Errorf("the day window = %d, want 2", got)
		}
		if got, _ := s.AddQuotaUsage(ctx, "bank-1", "minute", minute.Add(time.Minute), 4); got != 4 {
			t.Errorf("the next minute = %d, want 4", got)
		}
		if err := s.DeleteQuotaUsage(ctx, minute.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.AddQuotaUsage(ctx, "bank-1", "minute", minute, 0); got != 0 {
			t.Errorf("a deleted window = %d, want 0", got)
		}
		if got, _ := s.AddQuotaUsage(ctx, "bank-1", "minute", minute.Add(time.Minute), 0); got != 4 {
			t.Errorf("a kept window = %d, want 4", got)
		}
	})
}
