package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// AppendAudit stores entries and sets their IDs. The inserts travel in one
// batch (one round trip) and, on the Store, one transaction.
func (c *conn) AppendAudit(ctx context.Context, entries ...*cancuoc.AuditEntry) error {
	const op = "postgres.AppendAudit"
	if len(entries) == 0 {
		return nil
	}
	ids := make([]int64, len(entries))
	err := c.atomic(ctx, func(q querier) error {
		b := &pgx.Batch{}
		for i, e := range entries {
			var pin *string
			if e.PIN != "" {
				p := string(e.PIN)
				pin = &p
			}
			b.Queue(`INSERT INTO audit (at, actor, action, pin, fields, purpose, outcome)
				VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
				ts(e.At), e.Actor, e.Action, pin, e.Fields, e.Purpose, e.Outcome).
				QueryRow(func(row pgx.Row) error { return row.Scan(&ids[i]) })
		}
		return q.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return dbErr(op, err)
	}
	// IDs are set only once the batch succeeded, so a failure leaves the
	// caller's entries as they were.
	for i, e := range entries {
		e.ID = ids[i]
	}
	return nil
}

// AuditFor lists entries about one citizen, newest first (100 when limit is
// not positive).
func (c *conn) AuditFor(ctx context.Context, pin cancuoc.PIN, limit int) ([]*cancuoc.AuditEntry, error) {
	const op = "postgres.AuditFor"
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := c.q.Query(ctx, `SELECT id, at, actor, action, pin, fields, purpose, outcome
		FROM audit WHERE pin = $1 ORDER BY id DESC LIMIT $2`, string(pin), limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.AuditEntry{}
	for rows.Next() {
		var (
			e  cancuoc.AuditEntry
			at time.Time
			p  string
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &p, &e.Fields, &e.Purpose, &e.Outcome); err != nil {
			return nil, dbErr(op, err)
		}
		e.At, e.PIN = ts(at), cancuoc.PIN(p)
		out = append(out, &e)
	}
	return out, dbErr(op, rows.Err())
}
