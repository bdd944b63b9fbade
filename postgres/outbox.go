package postgres

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
)

// AppendEvent stores e and sets e.Seq.
//
// A bigserial is allocated when a row is inserted, not when its transaction
// commits, so without care two transactions could commit seq 11 before seq
// 10; a consumer that had read 11 and remembers "after 11" would then skip
// 10 forever. The transaction-scoped advisory lock taken first makes
// appenders queue: the next one allocates its seq only after the previous
// one has committed (PostgreSQL makes a commit visible before it releases
// the transaction's locks), so seq order is commit order. Events are
// appended last in a transaction, so the lock is held only until commit.
func (c *conn) AppendEvent(ctx context.Context, e *cancuoc.Event) error {
	const op = "postgres.AppendEvent"
	var pin *string
	if e.PIN != "" {
		p := string(e.PIN)
		pin = &p
	}
	var seq int64
	err := c.atomic(ctx, func(q querier) error {
		if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, c.outboxKey); err != nil {
			return err
		}
		return q.QueryRow(ctx, `
			INSERT INTO events (id, type, pin, version, actor, at, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`,
			e.ID, e.Type, pin, e.Version, e.Actor, ts(e.At), e.Data).Scan(&seq)
	})
	if err != nil {
		return dbErr(op, err)
	}
	e.Seq = seq
	return nil
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
