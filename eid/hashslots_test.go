package eid

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// TestHashSlots: no more hashes run at once than there are slots, and a
// request that gives up while waiting gets a retryable error.
func TestHashSlots(t *testing.T) {
	h := make(hashSlots, 2)
	var running, most atomic.Int32
	done := make(chan struct{})
	for range 6 {
		go func() {
			_ = h.do(context.Background(), "test", func() {
				n := running.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(5 * time.Millisecond)
				running.Add(-1)
			})
			done <- struct{}{}
		}()
	}
	for range 6 {
		<-done
	}
	if most.Load() != 2 {
		t.Errorf("%d hashes ran at once, want 2", most.Load())
	}
	h <- struct{}{}
	h <- struct{}{} // both slots taken
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	ran := false
	err := h.do(ctx, "test", func() { ran = true })
	if ran || cancuoc.KindOf(err) != cancuoc.Unavailable {
		t.Errorf("waited past its context: ran %v, %v", ran, err)
	}
}
