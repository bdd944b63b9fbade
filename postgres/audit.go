package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
		c.queueLog(func(b *pgx.Batch) { queuePending(b, entries) }) // deferlog.go
		return nil
	}
	b := &pgx.Batch{}
	queuePending(b, entries)
	if err := c.q.SendBatch(ctx, b).Close(); err != nil {
		return dbErr(op, err)
	}
	return cancuoc.WithOp(op, c.appended(ctx))
}

// appended records that c wrote to a log queue: inside a transaction the
// commit wakes the sequencer; on the pool the write has committed already.
func (c *conn) appended(ctx context.Context) error {
	if c.pool == nil {
		c.appendedRows = true
		return nil
	}
	return c.seq.committed(ctx)
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

const auditChunk = 1000 // 9 parameters a row, under PostgreSQL's 65,535

// queueInserts queues multi-row INSERTs of entries: the audit writer hands
// over many concurrent requests' entries at once, and one statement costs
// the server far less than one per entry.
func queueInserts(b *pgx.Batch, entries []*cancuoc.AuditEntry) {
	for start := 0; start < len(entries); start += auditChunk {
		chunk := entries[start:min(start+auditChunk, len(entries))]
		var sql strings.Builder
		sql.WriteString(`INSERT INTO audit (seq, at, actor, action, pin, fields, purpose, outcome, hash) VALUES `)
		args := make([]any, 0, 9*len(chunk))
		for i, e := range chunk {
			if i > 0 {
				sql.WriteByte(',')
			}
			n := len(args)
			fmt.Fprintf(&sql, "($%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
			var pin *string
			if e.PIN != "" {
				p := string(e.PIN)
				pin = &p
			}
			args = append(args, e.ID, e.At, e.Actor, e.Action, pin, e.Fields, e.Purpose, e.Outcome, e.Hash)
		}
		b.Queue(sql.String(), args...)
	}
}

// queuePending queues multi-row INSERTs of entries into the sequencer's
// queue (one statement for a whole chunk: a chunk of the audit writer's
// group commit or of a reconciliation is thousands of entries).
func queuePending(b *pgx.Batch, entries []*cancuoc.AuditEntry) {
	for start := 0; start < len(entries); start += auditChunk {
		chunk := entries[start:min(start+auditChunk, len(entries))]
		var sql strings.Builder
		sql.WriteString(`INSERT INTO audit_pending (at, actor, action, pin, fields, purpose, outcome) VALUES `)
		args := make([]any, 0, 7*len(chunk))
		for i, e := range chunk {
			if i > 0 {
				sql.WriteByte(',')
			}
			n := len(args)
			fmt.Fprintf(&sql, "($%d,$%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
			args = append(args, e.At, e.Actor, e.Action, pinArg(e.PIN), e.Fields, e.Purpose, e.Outcome)
		}
		b.Queue(sql.String(), args...)
	}
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
