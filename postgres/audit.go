package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// AppendAudit stores entries and sets their IDs, in one multi-row INSERT:
// the audit writer hands over the entries of many concurrent requests at
// once, and one statement costs the server far less than one per entry.
// Chunks keep each statement under PostgreSQL's 65,535 parameters.
func (c *conn) AppendAudit(ctx context.Context, entries ...*cancuoc.AuditEntry) error {
	const op = "postgres.AppendAudit"
	if len(entries) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(entries))
	if len(entries) <= auditChunk {
		// One statement is atomic on its own: no BEGIN and COMMIT round
		// trips, which on the read path cost more than the insert.
		got, err := insertAudit(ctx, c.q, entries)
		if err != nil {
			return dbErr(op, err)
		}
		for i, e := range entries {
			e.ID = got[i]
		}
		return nil
	}
	err := c.atomic(ctx, func(q querier) error {
		for start := 0; start < len(entries); start += auditChunk {
			chunk := entries[start:min(start+auditChunk, len(entries))]
			got, err := insertAudit(ctx, q, chunk)
			if err != nil {
				return err
			}
			ids = append(ids, got...)
		}
		return nil
	})
	if err != nil {
		return dbErr(op, err)
	}
	// IDs are set only once the insert succeeded, so a failure leaves the
	// caller's entries as they were.
	for i, e := range entries {
		e.ID = ids[i]
	}
	return nil
}

const auditChunk = 1000 // 7 parameters a row

func insertAudit(ctx context.Context, q querier, entries []*cancuoc.AuditEntry) ([]int64, error) {
	var sql strings.Builder
	sql.WriteString(`INSERT INTO audit (at, actor, action, pin, fields, purpose, outcome) VALUES `)
	args := make([]any, 0, 7*len(entries))
	for i, e := range entries {
		if i > 0 {
			sql.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&sql, "($%d,$%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
		var pin *string
		if e.PIN != "" {
			p := string(e.PIN)
			pin = &p
		}
		args = append(args, ts(e.At), e.Actor, e.Action, pin, e.Fields, e.Purpose, e.Outcome)
	}
	sql.WriteString(" RETURNING id")
	rows, err := q.Query(ctx, sql.String(), args...)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	// The rows of one statement take their ids from the sequence in the
	// order of the VALUES list; RETURNING's order is not promised, so sort.
	slices.Sort(ids)
	return ids, nil
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
