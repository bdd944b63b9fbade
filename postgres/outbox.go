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
	const insert = `
		INSERT INTO events_pending (event_id, type, pin, version, actor, at, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	args := []any{e.ID, e.Type, pinArg(e.PIN), e.Version, e.Actor, ts(e.At), e.Data}
	if c.pool == nil {
		c.queueLog(true, func(b *pgx.Batch) { b.Queue(insert, args...) }) // deferlog.go
		return nil
	}
	_, err := c.q.Exec(ctx, insert, args...)
	if err != nil {
		return dbErr(op, err)
	}
	return cancuoc.WithOp(op, c.appended(ctx, true))
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
