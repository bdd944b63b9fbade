package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Log writes go with the next round trip. Inside a transaction every state
// change appends its audit entry and its event to the log queues
// (audit_pending, events_pending): two inserts whose results nobody reads,
// each its own round trip, a quarter of a procedure's. So a transaction's
// conn queues them in a batch, sent with the next savepoint statement or
// before the commit: in one round trip with it, in their order. Nothing in
// the transaction reads the queues (the sequencer reads them after the
// commit), and they still commit with the transaction, so the order of two
// changes to one record (whose row lock the second transaction waits for)
// is kept. A queued insert that fails fails the savepoint's work or the
// transaction, as it would have failed it at once.
//
// In InTx's own transaction the queue is the pipelined transaction's
// (pipetx.go), which sends it with any next statement, not only a
// savepoint's, and with COMMIT itself; the batch below serves the
// transactions opened elsewhere (a Savepoint called on the Store).

// queueLog adds a log write to the transaction's batch (events: a write to
// the events queue, whose dispatch the commit must not keep waiting).
func (c *conn) queueLog(events bool, add func(b *pgx.Batch)) {
	if p, ok := c.q.(*pipeTx); ok {
		// InTx's transaction queues every such statement (pipetx.go).
		add(p.batch())
		c.appendedRows = true
		c.appendedEvents = c.appendedEvents || events
		return
	}
	if c.logBatch == nil {
		c.logBatch = &pgx.Batch{}
	}
	add(c.logBatch)
	c.appendedRows = true
	c.appendedEvents = c.appendedEvents || events
}

// execWithLog runs sql after the queued log writes, in one round trip
// (sql may be empty: the queued writes alone).
func (c *conn) execWithLog(ctx context.Context, sql string) error {
	b := c.logBatch
	c.logBatch = nil
	if b == nil || b.Len() == 0 {
		if sql == "" {
			return nil
		}
		_, err := c.q.Exec(ctx, sql)
		return err
	}
	if sql != "" {
		b.Queue(sql)
	}
	return c.q.SendBatch(ctx, b).Close()
}

// dropLog forgets the queued log writes of a savepoint rolled back.
func (c *conn) dropLog() {
	c.logBatch = nil
	if p, ok := c.q.(*pipeTx); ok {
		p.reset()
	}
}
