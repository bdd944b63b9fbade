package workflow_test

import (
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/workflow"
)

// TestQueueCount: the queue's size and overdue steps, with Queue's rights:
// the agency's steps in the principal's jurisdiction only; no queue for a
// principal without an agency.
func TestQueueCount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		w.submitBirth(t)
		w.submitBirth(t)
		count := func(p *cancuoc.Principal) (int, int) {
			t.Helper()
			open, late, err := w.wf.QueueCount(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			items, err := w.wf.Queue(ctx, p, workflow.QueueQuery{})
			if err != nil || len(items) != open {
				t.Fatalf("Queue lists %d, QueueCount says %d (%v)", len(items), open, err)
			}
			return open, late
		}
		if open, late := count(w.civil); open != 2 || late != 0 {
			t.Errorf("civil status: %d open, %d overdue", open, late)
		}
		if open, _ := count(w.police); open != 0 {
			t.Errorf("police before any step reached it: %d", open)
		}
		if open, _ := count(w.policeCaMau); open != 0 {
			t.Errorf("another province: %d", open)
		}
		w.clock.set(w.clock.now().Add(72 * time.Hour)) // past the same-day due time
		if open, late := count(w.civil); open != 2 || late != 2 {
			t.Errorf("three days later: %d open, %d overdue", open, late)
		}
		if _, _, err := w.wf.QueueCount(ctx, w.admin); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Errorf("no agency: %v, want Forbidden", err)
		}
	})
}
