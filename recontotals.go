package cancuoc

import (
	"context"
	"slices"
	"strings"
)

// ReconcileTotalsStore sums the results of finished reconciliation jobs per
// owner, for the national dashboard's "reconciliation results per partner".
type ReconcileTotalsStore interface {
	// ReconciliationTotals returns, per owner (partner or principal ID),
	// the number of finished jobs (done, or done and since expired by
	// retention: an expired job without an error) and the sum of each count key over them, in owner order.
	// Running and failed jobs are not counted. The work is
	// bounded by the number of jobs, never by the records they read.
	ReconciliationTotals(ctx context.Context) ([]ReconciliationTotal, error)
}

// ReconciliationTotal is one owner's finished jobs summed: Counts has the
// outcome keys of Reconciliation.Counts (and "duplicate").
type ReconciliationTotal struct {
	Owner  string           `json:"owner"`
	Jobs   int64            `json:"jobs"`
	Counts map[string]int64 `json:"counts"`
}

// SumReconciliations adds one done job's counts to the totals of its owner
// (a helper for the stores, which read the counts as JSON and sum in Go).
func SumReconciliations(totals map[string]*ReconciliationTotal, owner string, counts map[string]int64) {
	t := totals[owner]
	if t == nil {
		t = &ReconciliationTotal{Owner: owner, Counts: map[string]int64{}}
		totals[owner] = t
	}
	t.Jobs++
	for k, v := range counts {
		t.Counts[k] += v
	}
}

// SortedReconciliationTotals lists the totals in owner order.
func SortedReconciliationTotals(totals map[string]*ReconciliationTotal) []ReconciliationTotal {
	out := make([]ReconciliationTotal, 0, len(totals))
	for _, t := range totals {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b ReconciliationTotal) int { return strings.Compare(a.Owner, b.Owner) })
	return out
}
