package cancuoc

import (
	"context"
	"time"
)

// ReconcileLeaseStore keeps a reconciliation job to one runner at a time.
// A runner (a server node, or the CLI's --resume) claims the job's lease
// before it touches the report, renews it with every checkpoint, and
// checkpoints only while it holds the lease and the stored checkpoint is
// still the one it started the chunk from; a second runner is refused
// until the lease ends or expires. Lease times are unix microseconds in
// both stores.
type ReconcileLeaseStore interface {
	// ClaimReconciliation gives runner the job's lease until `until` when
	// nobody else holds it at now (no lease, an expired one, or runner's
	// own, which is renewed). Conflict "reconciliation_leased" otherwise;
	// NotFound if the job is absent. Inside a transaction the row stays
	// locked to its end, so nobody can take the lease meanwhile.
	ClaimReconciliation(ctx context.Context, id, runner string, now, until time.Time) error
	// CheckpointLeased stores r's progress, as CheckpointReconciliation,
	// only when runner holds the lease and the stored offset and report
	// size are still prevOffset and prevReportSize; the lease is renewed
	// to until, or ended when until is zero. Conflict
	// "reconciliation_lease_lost" otherwise; NotFound if absent.
	CheckpointLeased(ctx context.Context, r *Reconciliation, runner string, prevOffset, prevReportSize int64, until time.Time) error
}

// LeaseMicros is how a lease time is stored: unix microseconds, 0 for no
// lease.
func LeaseMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// ErrReconLeased is the refusal of a job another runner holds.
func ErrReconLeased(op string) error {
	return E(Conflict, op, "reconciliation_leased",
		"Phiên đối soát đang được một tiến trình khác xử lý; hãy chờ nó xong hoặc hết hạn giữ chỗ rồi thử lại.",
		"Another runner is working on this reconciliation; wait for it to finish or for its lease to expire, then try again.")
}

// ErrReconLeaseLost is the refusal of a checkpoint by a runner that no
// longer holds the job, or whose checkpoint moved under it.
func ErrReconLeaseLost(op string) error {
	return E(Conflict, op, "reconciliation_lease_lost",
		"Tiến trình này không còn giữ phiên đối soát (tiến trình khác đã nhận); dừng lại, không ghi tiếp.",
		"This runner no longer holds the reconciliation (another one took it over); it stops without writing more.")
}
