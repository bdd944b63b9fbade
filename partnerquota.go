package cancuoc

import (
	"context"
	"time"
)

// QuotaStore shares partners' call counts between the nodes of one
// deployment, so that a partner behind n nodes gets its quota, not n
// times it. Nodes count locally and add their counts here about once a
// second (see partner/quota.go), so the store is written once per partner
// and window per node and second, never per call.
type QuotaStore interface {
	// AddQuotaUsage adds n calls (n ≥ 0) to partner's window (kind "minute"
	// or "day", starting at start) and returns the window's total over all
	// nodes after the addition.
	AddQuotaUsage(ctx context.Context, partner, window string, start time.Time, n int64) (int64, error)
	// DeleteQuotaUsage removes windows that started before cutoff.
	DeleteQuotaUsage(ctx context.Context, cutoff time.Time) error
}
