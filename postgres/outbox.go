package postgres

import (
	"context"
	"strings"
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
	const insert = `
		INSERT INTO events_pending (event_id, type, pin, version, actor, at, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	if c.pool == nil {
		c.pipe.holdEvent(e) // pipetx.go
		c.holdLog(true)
		return nil
	}
	_, err := c.q.Exec(ctx, insert, e.ID, e.Type, pinArg(e.PIN), e.Version, e.Actor, ts(e.At), e.Data)
	if err != nil {
		return dbErr(op, err)
	}
	return cancuoc.WithOp(op, c.appended(ctx, true))
}

// insertEventsSQL inserts events into the sequencer's queue from one
// array per column, as insertPendingSQL does for audit entries: unnest
// yields the rows in array order, so the events draw their ids in the
// order given.
const insertEventsSQL = `INSERT INTO events_pending (event_id, type, pin, version, actor, at, data)
SELECT id, type, pin, version, actor, at, data::json
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[], $7::text[])
	AS u(id, type, pin, version, actor, at, data)`

// queueEvents queues the insert of evs into the sequencer's queue.
func queueEvents(b *pgx.Batch, evs []cancuoc.Event) {
	b.Queue(insertEventsSQL, eventArgs(evs)...)
}

// insertBothSQL is insertPendingSQL and insertEventsSQL in one statement
// (the events' parameters numbered after the entries'): a transaction's
// run of log writes is nearly always both an access-log entry and an
// event, and each statement costs the database its own execution, about
// four per birth procedure. The CTE's insert runs whole whatever the outer
// one does, and each keeps its rows' array order, so each queue's ids
// follow the order given, as with two statements; one failure fails both,
// which commit or roll back together anyway.
var insertBothSQL = "WITH entries AS (" + insertPendingSQL + ")\n" +
	strings.NewReplacer("$1:", "$10:", "$2:", "$11:", "$3:", "$12:", "$4:", "$13:", "$5:", "$14:", "$6:", "$15:", "$7:", "$16:").Replace(insertEventsSQL)

// queueLog queues the insert of a run's entries and events into the
// sequencer's queues: one statement when there are both.
func queueLog(b *pgx.Batch, entries []*cancuoc.AuditEntry, evs []cancuoc.Event) {
	switch {
	case len(entries) > 0 && len(evs) > 0:
		b.Queue(insertBothSQL, append(pendingArgs(entries), eventArgs(evs)...)...)
	case len(entries) > 0:
		queuePending(b, entries)
	case len(evs) > 0:
		queueEvents(b, evs)
	}
}

// eventArgs are insertEventsSQL's arguments for evs.
func eventArgs(evs []cancuoc.Event) []any {
	n := len(evs)
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
