package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// AppendEvent stores e durably but unsequenced; e.Seq stays 0. The
// sequencer (sequencer.go) gives committed events their seqs in one order,
// and EventsAfter returns sequenced events only, so a consumer that
// remembers "after seq n" never skips one: events rows are written by one
// sequencer batch after another, and a batch commits whole. No lock is
// taken here, so writers no longer commit one at a time.
func (c *conn) AppendEvent(ctx context.Context, e *cancuoc.Event) error {
	const op = "postgres.AppendEvent"
	if c.pool == nil {
		c.pipe.holdEvent(e) // pipetx.go
		c.holdLog(true)
		return nil
	}
	b := &pgx.Batch{}
	queueEvents(b, []cancuoc.Event{*e})
	if err := c.q.SendBatch(ctx, b).Close(); err != nil {
		return dbErr(op, err)
	}
	return cancuoc.WithOp(op, c.appended(ctx, true))
}

// insertLogSQL queues a run of log writes (a transaction's entries and
// events between two savepoint statements, pipetx.go) as ONE row of the
// sequencer's queue: an array per column, the entries' and the events' in
// the order given (NULLs for none), which the sequencer unpacks in that
// order. A row per entry, as the queues were, cost the database a heap
// tuple, up to three index entries, a delete and a vacuum each, about 56
// row-writes per birth procedure for 4 or 5 runs; and the statement now
// runs no unnest at all. One text whatever the run's size, prepared once
// per connection. The events' data go as text and are checked as JSON
// here, so that a bad one fails its writer, not the sequencer.
const insertLogSQL = `INSERT INTO log_pending (at, actor, action, pin, fields, lo, hi, purpose, outcome,
	event_id, type, event_pin, version, event_actor, event_at, data)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::text[]::json[])`

// queueLog queues the insert of a run's entries and events into the
// sequencer's queue, as one row; nothing when the run is empty.
func queueLog(b *pgx.Batch, entries []*cancuoc.AuditEntry, evs []cancuoc.Event) {
	if len(entries) == 0 && len(evs) == 0 {
		return
	}
	b.Queue(insertLogSQL, append(pendingArgs(entries), eventArgs(evs)...)...)
}

// queueEvents queues the insert of evs into the sequencer's queue.
func queueEvents(b *pgx.Batch, evs []cancuoc.Event) { queueLog(b, nil, evs) }

// eventArgs are insertLogSQL's event arguments for evs (NULLs for none).
func eventArgs(evs []cancuoc.Event) []any {
	n := len(evs)
	if n == 0 {
		return make([]any, 7)
	}
	var (
		id, typ, actor = make([]string, n), make([]string, n), make([]string, n)
		pin, data      = make([]*string, n), make([]*string, n)
		version        = make([]int64, n)
		at             = make([]time.Time, n)
	)
	for i, e := range evs {
		id[i], typ[i], pin[i], version[i], actor[i], at[i] = e.ID, e.Type, pinArg(e.PIN), e.Version, e.Actor, ts(e.At)
		if len(e.Data) > 0 {
			d := string(e.Data)
			data[i] = &d
		}
	}
	return []any{id, typ, pin, version, actor, at, data}
}

// EventsAfter returns up to limit events with Seq > after, by Seq (100 when
// limit is not positive).
func (c *conn) EventsAfter(ctx context.Context, after int64, limit int) ([]cancuoc.Event, error) {
	const op = "postgres.EventsAfter"
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := c.q.Query(ctx, `SELECT seq, id, type, coalesce(pin, ''), version, actor, at, data
		FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []cancuoc.Event{}
	for rows.Next() {
		var (
			e   cancuoc.Event
			pin string
			at  time.Time
		)
		if err := rows.Scan(&e.Seq, &e.ID, &e.Type, &pin, &e.Version, &e.Actor, &at, &e.Data); err != nil {
			return nil, dbErr(op, err)
		}
		e.PIN, e.At = cancuoc.PIN(pin), ts(at)
		out = append(out, e)
	}
	return out, dbErr(op, rows.Err())
}
