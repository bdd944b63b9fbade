package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// AppendAudit stores entries durably, all or none, but unsequenced: they
// get their places and chain hashes from the sequencer (sequencer.go) once
// committed, so the caller's entries keep ID 0 and no hash; only their
// times are cut to microseconds, as stored. No lock is taken: appending
// costs a writing transaction one insert, not a turn in a global queue.
// Inside a transaction the entries commit with it; on the Store they
// commit on their own, and the sequencer is woken.
func (c *conn) AppendAudit(ctx context.Context, entries ...*cancuoc.AuditEntry) error {
	const op = "postgres.AppendAudit"
	if len(entries) == 0 {
		return nil
	}
	for _, e := range entries {
		e.At = e.At.UTC().Truncate(time.Microsecond)
	}
	if c.pool == nil {
		c.pipe.holdAudit(entries) // pipetx.go
		c.holdLog(false)
		return nil
	}
	b := &pgx.Batch{}
	queueLog(b, entries, nil)
	if err := c.q.SendBatch(ctx, b).Close(); err != nil {
		return dbErr(op, err)
	}
	return cancuoc.WithOp(op, c.appended(ctx, false))
}

// appended records that c wrote to a log queue (events: the events queue):
// inside a transaction the commit wakes the sequencer; on the pool the
// write has committed already.
func (c *conn) appended(ctx context.Context, events bool) error {
	if c.pool == nil {
		c.appendedRows = true
		c.appendedEvents = c.appendedEvents || events
		return nil
	}
	return c.seq.committed(ctx, events)
}

const auditHeadSQL = `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`

func head(row pgx.Row) (int64, []byte, error) {
	var (
		seq  int64
		hash []byte
	)
	err := row.Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, nil
	}
	return seq, hash, err
}

// auditKey is the advisory lock key of the log's order; it derives from the
// outbox key so stores in different schemas do not wait on each other.
func (c *conn) auditKey() int64 { return c.outboxKey ^ 0x5a17_a0d1_7c4a_1e55 }

// sealLegacy chains the entries written before the log was chained
// (migration 00005 numbered them; the hash needs Go) and returns the
// newest one's hash. It runs under the append lock.
func sealLegacy(ctx context.Context, q querier) ([]byte, error) {
	var prev []byte
	var first int64
	if err := q.QueryRow(ctx, `SELECT min(seq) FROM audit WHERE hash IS NULL`).Scan(&first); err != nil {
		return nil, err
	}
	if first > 1 {
		if err := q.QueryRow(ctx, `SELECT hash FROM audit WHERE seq = $1`, first-1).Scan(&prev); err != nil {
			return nil, err
		}
	}
	for {
		rows, err := q.Query(ctx, `SELECT `+auditCols+` FROM audit WHERE hash IS NULL ORDER BY seq LIMIT 1000`)
		if err != nil {
			return nil, err
		}
		es, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		if len(es) == 0 {
			return prev, nil
		}
		b := &pgx.Batch{}
		for _, e := range es {
			e.Hash = cancuoc.AuditChainHash(prev, e)
			prev = e.Hash
			b.Queue(`UPDATE audit SET hash = $1 WHERE seq = $2`, e.Hash, e.ID)
		}
		if err := q.SendBatch(ctx, b).Close(); err != nil {
			return nil, err
		}
	}
}

// pendingArgs are insertLogSQL's arguments for entries (outbox.go), one
// array per column. Each entry's fields are the slice [lo:hi] of one flat
// array (hi < 0: none, NULL), since PostgreSQL arrays of arrays must be
// rectangular. No entries: NULLs.
func pendingArgs(entries []*cancuoc.AuditEntry) []any {
	n := len(entries)
	if n == 0 {
		return make([]any, 9)
	}
	var (
		at                              = make([]time.Time, n)
		actor, action, purpose, outcome = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		pin                             = make([]*string, n)
		lo, hi                          = make([]int32, n), make([]int32, n)
		fields                          []string
	)
	for i, e := range entries {
		at[i], actor[i], action[i], pin[i], purpose[i], outcome[i] = e.At, e.Actor, e.Action, pinArg(e.PIN), e.Purpose, e.Outcome
		lo[i], hi[i] = int32(len(fields)+1), -1
		if e.Fields != nil {
			fields = append(fields, e.Fields...)
			hi[i] = int32(len(fields))
		}
	}
	if fields == nil {
		fields = []string{}
	}
	return []any{at, actor, action, pin, fields, lo, hi, purpose, outcome}
}

// pinArg is a PIN as a nullable column value.
func pinArg(p cancuoc.PIN) *string {
	if p == "" {
		return nil
	}
	s := string(p)
	return &s
}

const auditCols = `seq, at, actor, action, coalesce(pin, ''), fields, purpose, outcome, hash`

func scanAudit(rows pgx.Rows) ([]*cancuoc.AuditEntry, error) {
	defer rows.Close()
	out := []*cancuoc.AuditEntry{}
	for rows.Next() {
		var (
			e  cancuoc.AuditEntry
			at time.Time
			p  string
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &p, &e.Fields, &e.Purpose, &e.Outcome, &e.Hash); err != nil {
			return nil, err
		}
		e.At, e.PIN = ts(at), cancuoc.PIN(p)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// AuditFor lists entries about one citizen, newest first (100 when limit is
// not positive).
func (c *conn) AuditFor(ctx context.Context, pin cancuoc.PIN, limit int) ([]*cancuoc.AuditEntry, error) {
	return c.AuditSearch(ctx, cancuoc.AuditQuery{PIN: pin, Limit: limit})
}
