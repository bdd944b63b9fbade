package sqlite

import "context"

// auditTip is the audit chain's head (the newest entry's place and hash)
// as one write transaction has it, so that a transaction appending many
// entries (a group commit's members, a settled batch's items: a dozen
// entries per birth procedure) reads the head once instead of before
// every append. It is exact only because the transaction is the single
// writer and follows its own savepoints: a savepoint rolled back restores
// the tip it had when the savepoint began (mark, restore), so the next
// entry chains to the entry that stays, not to one rolled back. Whenever
// the transaction's state is in doubt (an append that failed halfway, a
// savepoint whose rollback failed) the tip is forgotten and the next
// append reads the head from the table again.
//
// A nil *auditTip (the Store's own methods, outside any transaction)
// always reads the head.
type auditTip struct {
	known bool
	seq   int64
	hash  []byte
}

// head returns the newest entry's place and hash: the tip when known,
// otherwise read in the transaction of o.
func (t *auditTip) head(ctx context.Context, o *ops) (int64, []byte, error) {
	if t != nil && t.known {
		return t.seq, t.hash, nil
	}
	return o.auditHead(ctx)
}

// set records the newest entry appended in the transaction.
func (t *auditTip) set(seq int64, hash []byte) {
	if t != nil {
		*t = auditTip{known: true, seq: seq, hash: hash}
	}
}

// forget makes the next append read the head from the table.
func (t *auditTip) forget() {
	if t != nil {
		*t = auditTip{}
	}
}

// mark returns the tip as it is when a savepoint begins.
func (t *auditTip) mark() auditTip {
	if t == nil {
		return auditTip{}
	}
	return *t
}

// restore puts back the tip of mark after a rollback to that savepoint.
func (t *auditTip) restore(m auditTip) {
	if t != nil {
		*t = m
	}
}
