package cancuoc

import (
	"context"
	"time"
)

// ReconExpired is the status of a job whose input and report were deleted:
// its retention period ended, or its owner deleted it after downloading
// the report. The job's row and counts stay, as does the access log.
const ReconExpired = "expired"

// ReconcileRetentionStore finds finished reconciliation jobs, so that their
// files are not kept forever (security review: partners' data sets and the
// reports naming citizens).
type ReconcileRetentionStore interface {
	// FinishedReconciliations lists jobs whose status is done or failed and
	// whose last update is before `before`, oldest update first, at most
	// limit (100 when limit is not positive).
	FinishedReconciliations(ctx context.Context, before time.Time, limit int) ([]*Reconciliation, error)
	// ForgetSeen deletes the keys a job has read (MarkSeen). Harmless for
	// a job without any.
	ForgetSeen(ctx context.Context, job string) error
}
