package workflow

import (
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// TestOverdue: a step is overdue when its agency settled it after its Due
// or has not settled it by now; the applicant's time after a rejection is
// not the agency's, and a flag keeps a late settlement through a
// resubmission.
func TestOverdue(t *testing.T) {
	due := time.Date(2026, 3, 2, 16, 59, 59, 0, time.UTC)
	before, after := due.Add(-time.Hour), due.Add(time.Hour)
	now := due.Add(72 * time.Hour)
	at := func(t time.Time) *time.Time { return &t }
	for _, tc := range []struct {
		name string
		st   cancuoc.ProcedureStep
		want bool
	}{
		{"pending in time", cancuoc.ProcedureStep{Status: cancuoc.StepPending, Due: now.Add(time.Hour)}, false},
		{"pending past due", cancuoc.ProcedureStep{Status: cancuoc.StepPending, Due: due}, true},
		{"completed in time", cancuoc.ProcedureStep{Status: cancuoc.StepCompleted, Due: due, CompletedAt: at(before)}, false},
		{"completed late", cancuoc.ProcedureStep{Status: cancuoc.StepCompleted, Due: due, CompletedAt: at(after)}, true},
		{"rejected in time, waiting for the applicant past due", cancuoc.ProcedureStep{Status: cancuoc.StepRejected, Due: due, RejectedAt: at(before)}, false},
		// A step rejected before the flag was kept (files in flight at the
		// upgrade) is judged by its rejection time.
		{"rejected late, no flag", cancuoc.ProcedureStep{Status: cancuoc.StepRejected, Due: due, RejectedAt: at(after)}, true},
		{"cancelled after a timely rejection", cancuoc.ProcedureStep{Status: cancuoc.StepCancelled, Due: due,
			RejectedAt: at(before), CancelledAt: at(now)}, false},
		{"cancelled after a late rejection", cancuoc.ProcedureStep{Status: cancuoc.StepCancelled, Due: due,
			RejectedAt: at(after), CancelledAt: at(now)}, true},
		{"cancelled while pending past due", cancuoc.ProcedureStep{Status: cancuoc.StepCancelled, Due: due, CancelledAt: at(after)}, true},
		{"resubmitted after a late rejection, new due ahead", cancuoc.ProcedureStep{Status: cancuoc.StepPending,
			Due: now.Add(time.Hour), Late: true}, true},
		{"completed in time after a late rejection", cancuoc.ProcedureStep{Status: cancuoc.StepCompleted, Due: now,
			CompletedAt: at(now.Add(-time.Minute)), Late: true}, true},
	} {
		if got := overdue(&tc.st, now); got != tc.want {
			t.Errorf("%s: overdue = %v, want %v", tc.name, got, tc.want)
		}
	}
}
