package residence

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// TestStayBatcher: every request gets its own batch's outcome, batches
// hold several requests under concurrency, and leadership always passes on
// (the test would hang otherwise).
func TestStayBatcher(t *testing.T) {
	var b stayBatcher
	var commits, maxSize atomic.Int64
	boom := errors.New("boom")
	commit := func(batch []*stayReq) error {
		commits.Add(1)
		if int64(len(batch)) > maxSize.Load() {
			maxSize.Store(int64(len(batch)))
		}
		time.Sleep(time.Millisecond) // a commit takes time, as a disk flush does
		for _, r := range batch {
			if r.n.Reference == "fail" {
				return boom
			}
		}
		return nil
	}
	const callers = 200
	errs := make([]error, callers)
	reqs := make([]*stayReq, callers)
	var wg sync.WaitGroup
	for i := range callers {
		ref := ""
		if i == 77 {
			ref = "fail"
		}
		reqs[i] = &stayReq{n: &cancuoc.StayNotification{Reference: ref}}
		wg.Go(func() { errs[i] = b.submit(reqs[i], commit) })
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			if !errors.Is(err, boom) {
				t.Fatalf("caller %d: %v", i, err)
			}
			failed++
		}
	}
	if errs[77] == nil || failed > maxStayBatch {
		t.Errorf("the failing request's batch: caller 77 %v, %d failed", errs[77], failed)
	}
	if commits.Load() >= callers || maxSize.Load() < 2 {
		t.Errorf("%d commits for %d callers (largest batch %d): no grouping", commits.Load(), callers, maxSize.Load())
	}
	if b.busy || len(b.pending) != 0 {
		t.Errorf("batcher left busy=%v with %d pending", b.busy, len(b.pending))
	}
}
