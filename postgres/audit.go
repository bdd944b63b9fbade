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

// AppendAudit stores entries, gives them the next places in the log and
// chains their hashes (cancuoc.AuditStamp).
//
// The chain needs one total order even though two audit committers and
// every registry write append at once and may commit in any order. So an
// append first takes a transaction-scoped advisory lock, then reads the
// newest entry, stamps the new ones after it and inserts them; the lock is
// released only when the transaction has committed (PostgreSQL makes a
// commit visible before it releases the locks), so the next appender reads
// a head that includes them, and a rolled-back append leaves no gap. A
// registry write holds the lock from its audit entry to its commit; it
// appends its event (the outbox lock) after, and every transaction takes
// the two locks in that order.
//
// On the pool (the read path's group commits) the transaction is sent in
// two round trips instead of five: BEGIN, the lock and the head in one
// batch, then the inserts and COMMIT in another.
func (c *conn) AppendAudit(ctx context.Context, entries ...*cancuoc.AuditEntry) error {
	const op = "postgres.AppendAudit"
	if len(entries) == 0 {
		return nil
	}
	// Copies, so that a failure leaves the caller's entries as they were.
	stamped := make([]*cancuoc.AuditEntry, len(entries))
	for i, e := range entries {
		cp := *e
		stamped[i] = &cp
	}
	var err error
	if c.pool != nil {
		err = c.appendOwnTx(ctx, stamped)
	} else {
		err = c.appendIn(ctx, c.q, stamped)
	}
	if err != nil {
		return dbErr(op, err)
	}
	for i, e := range entries {
		*e = *stamped[i]
	}
	return nil
}

const auditHeadSQL = `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`

// appendIn appends inside the caller's transaction.
func (c *conn) appendIn(ctx context.Context, q querier, entries []*cancuoc.AuditEntry) error {
	if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, c.auditKey()); err != nil {
		return err
	}
	last, hash, err := head(q.QueryRow(ctx, auditHeadSQL))
	if err != nil {
		return err
	}
	if last > 0 && hash == nil {
		if hash, err = sealLegacy(ctx, q); err != nil {
			return err
		}
	}
	cancuoc.AuditStamp(last, hash, entries)
	if len(entries) >= copyFrom {
		return copyAudit(ctx, q, entries)
	}
	b := &pgx.Batch{}
	queueInserts(b, entries)
	return q.SendBatch(ctx, b).Close()
}

// copyFrom is the batch size from which entries go in with COPY rather
// than multi-row INSERTs: a bulk reconciliation appends one entry per
// citizen it touched, tens of thousands per chunk, and COPY costs the
// server about a third of the INSERTs' time for such batches.
const copyFrom = 2000

// copyAudit writes stamped entries with COPY, in the caller's transaction
// (which holds the log's lock).
func copyAudit(ctx context.Context, q querier, entries []*cancuoc.AuditEntry) error {
	_, err := q.CopyFrom(ctx, pgx.Identifier{"audit"},
		[]string{"seq", "at", "actor", "action", "pin", "fields", "purpose", "outcome", "hash"},
		pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
			e := entries[i]
			var pin *string
			if e.PIN != "" {
				p := string(e.PIN)
				pin = &p
			}
			return []any{e.ID, e.At, e.Actor, e.Action, pin, e.Fields, e.Purpose, e.Outcome, e.Hash}, nil
		}))
	return err
}

// appendOwnTx appends in a transaction of its own on a pooled connection.
func (c *conn) appendOwnTx(ctx context.Context, entries []*cancuoc.AuditEntry) (err error) {
	pc, err := c.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection left inside a transaction (a failure below) is closed by
	// the pool on release rather than reused.
	defer pc.Release()
	defer func() {
		if err != nil {
			_, _ = pc.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, c.auditKey())
	b.Queue(auditHeadSQL)
	br := pc.SendBatch(ctx, b)
	var (
		last int64
		hash []byte
	)
	if _, err = br.Exec(); err == nil {
		if _, err = br.Exec(); err == nil {
			last, hash, err = head(br.QueryRow())
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if last > 0 && hash == nil {
		if hash, err = sealLegacy(ctx, pc); err != nil {
			return err
		}
	}
	cancuoc.AuditStamp(last, hash, entries)
	if len(entries) >= copyFrom {
		if err = copyAudit(ctx, pc, entries); err != nil {
			return err
		}
		_, err = pc.Exec(ctx, `COMMIT`)
		return err
	}
	b = &pgx.Batch{}
	queueInserts(b, entries)
	b.Queue(`COMMIT`)
	return pc.SendBatch(ctx, b).Close()
}

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
