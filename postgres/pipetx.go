package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A transaction of InTx is pipelined: a statement whose result the caller
// does not need at once — BEGIN itself, a log write (deferlog.go), an
// insert whose only answer is success — waits in a queue and goes to the
// server with the next statement that needs an answer, in one round trip
// and in the order written, and the last of them goes with COMMIT. An
// OpenID login's transactions shrink from six and five round trips to two
// each this way; each round trip saved is a wake-up of a backend, two
// system calls on each side and a turn of the scheduler.
//
// What keeps this as safe as one statement at a time:
//   - order: the queue is sent before any later statement, so every read
//     in the transaction sees the writes before it, and row locks are
//     taken in the order written;
//   - failure: a queued statement that fails (or whose check of the rows
//     it touched fails) fails the call that sent it, every later call of
//     the transaction, and the commit: a transaction with a failed write
//     never commits, even if the caller ignored the error it was handed;
//   - COMMIT rides with the queue only when every queued statement fails
//     by raising an error, which makes the server skip the rest of the
//     round trip, COMMIT included; a queued check of rows (a Go callback,
//     known only once the answer is read) sends the queue first and the
//     COMMIT after it.
type pipeTx struct {
	conn    *pgx.Conn
	pending *pgx.Batch
	// checked: some queued statement has a callback that may refuse it
	// after the server has run it, so COMMIT must wait for the answer.
	checked bool
	begun   bool // BEGIN has been sent
	err     error
}

const beginSQL = `BEGIN ISOLATION LEVEL READ COMMITTED`

// newPipeTx starts a transaction on conn; BEGIN waits for the first
// statement.
func newPipeTx(conn *pgx.Conn) *pipeTx {
	p := &pipeTx{conn: conn, pending: &pgx.Batch{}}
	p.pending.Queue(beginSQL)
	return p
}

// queue adds a statement to be sent with the next round trip. check, if not
// nil, judges its command tag once the answer is read (before COMMIT);
// errors of the statement itself are turned into store errors by wrap.
func (p *pipeTx) queue(sql string, args []any, wrap func(error) error, check func(pgconn.CommandTag) error) {
	qq := p.pending.Queue(sql, args...)
	qq.Fn = func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		if err != nil {
			return wrap(err)
		}
		if check != nil {
			return check(tag)
		}
		return nil
	}
	p.checked = p.checked || check != nil
}

// queueRow adds a statement returning one row, scanned by scan when the
// answer is read.
func (p *pipeTx) queueRow(sql string, args []any, wrap func(error) error, scan func(pgx.Row) error) {
	qq := p.pending.Queue(sql, args...)
	qq.Fn = func(br pgx.BatchResults) error {
		if err := scan(br.QueryRow()); err != nil {
			return wrap(err)
		}
		return nil
	}
	// A row that does not come is an error the server does not raise.
	p.checked = true
}

// batch is the queue itself, for the log writes (deferlog.go).
func (p *pipeTx) batch() *pgx.Batch { return p.pending }

// waiting reports whether statements wait to be sent.
func (p *pipeTx) waiting() bool { return p.pending.Len() > 0 }

// send sends the queue with the statements of extra (which may be empty)
// and reads the queue's answers; the BatchResults are left open on the
// first of extra's answers, which the caller must read and Close.
func (p *pipeTx) send(ctx context.Context, extra ...*pgx.QueuedQuery) (pgx.BatchResults, error) {
	b := p.pending
	n := b.Len()
	b.QueuedQueries = append(b.QueuedQueries, extra...)
	p.pending, p.checked = &pgx.Batch{}, false
	if n > 0 && b.QueuedQueries[0].SQL == beginSQL {
		p.begun = true
	}
	br := p.conn.SendBatch(ctx, b)
	for _, qq := range b.QueuedQueries[:n] {
		var err error
		if qq.Fn != nil {
			err = qq.Fn(br)
		} else {
			_, err = br.Exec()
		}
		if err != nil {
			_ = br.Close()
			p.err = err
			return nil, err
		}
	}
	return br, nil
}

// flush sends whatever waits, alone.
func (p *pipeTx) flush(ctx context.Context) error {
	if p.err != nil {
		return p.err
	}
	if !p.waiting() {
		return nil
	}
	br, err := p.send(ctx)
	if err != nil {
		return err
	}
	if err := br.Close(); err != nil {
		p.err = err
		return err
	}
	return nil
}

// Exec runs sql after the queue, in one round trip.
func (p *pipeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if p.err != nil {
		return pgconn.CommandTag{}, p.err
	}
	if !p.waiting() {
		return p.conn.Exec(ctx, sql, args...)
	}
	var tag pgconn.CommandTag
	qq := &pgx.QueuedQuery{SQL: sql, Arguments: args}
	br, err := p.send(ctx, qq)
	if err != nil {
		return tag, err
	}
	tag, err = br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// QueryRow runs sql after the queue, in one round trip.
func (p *pipeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if p.err != nil {
		return errRow{p.err}
	}
	if !p.waiting() {
		return p.conn.QueryRow(ctx, sql, args...)
	}
	br, err := p.send(ctx, &pgx.QueuedQuery{SQL: sql, Arguments: args})
	if err != nil {
		return errRow{err}
	}
	return batchRow{row: br.QueryRow(), br: br}
}

// Query runs sql after the queue, in one round trip.
func (p *pipeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if p.err != nil {
		return nil, p.err
	}
	if !p.waiting() {
		return p.conn.Query(ctx, sql, args...)
	}
	br, err := p.send(ctx, &pgx.QueuedQuery{SQL: sql, Arguments: args})
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// SendBatch sends the queue first, then b.
func (p *pipeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := p.flush(ctx); err != nil {
		return errBatch{err}
	}
	return p.conn.SendBatch(ctx, b)
}

// CopyFrom sends the queue first, then the rows.
func (p *pipeTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error) {
	if err := p.flush(ctx); err != nil {
		return 0, err
	}
	return p.conn.CopyFrom(ctx, table, columns, rows)
}

// errTxRolledBack is COMMIT answered ROLLBACK: the server had aborted the
// transaction because of a statement error the caller did not return.
var errTxRolledBack = errors.New("transaction aborted by an earlier failed statement")

// commit sends what waits and COMMIT: together when no queued statement
// needs its answer judged first.
func (p *pipeTx) commit(ctx context.Context) error {
	if p.err != nil {
		return p.err
	}
	if !p.begun && p.pending.Len() == 1 {
		p.pending = &pgx.Batch{} // nothing was written: no BEGIN, no COMMIT
		return nil
	}
	if p.checked {
		if err := p.flush(ctx); err != nil {
			return err
		}
	}
	tag, err := p.Exec(ctx, `COMMIT`)
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return errTxRolledBack
	}
	return nil
}

// rollback ends the transaction if the server has one open, whatever was
// queued.
func (p *pipeTx) rollback(ctx context.Context) {
	p.pending, p.checked = &pgx.Batch{}, false
	if p.conn.PgConn().TxStatus() != 'I' {
		_, _ = p.conn.Exec(ctx, `ROLLBACK`)
	}
}

// reset forgets the queue and a failure, after ROLLBACK TO SAVEPOINT has
// undone both (Savepoint).
func (p *pipeTx) reset() {
	p.pending, p.checked, p.err = &pgx.Batch{}, false, nil
}

// batchRow is a row of a round trip that carried queued statements: the
// round trip is finished once the row is scanned.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// batchRows: the round trip is finished when the rows are.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	if r.br == nil {
		return
	}
	r.Rows.Close()
	r.err = r.br.Close()
	r.br = nil
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow(b) }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }

// later runs a write whose answer its caller does not need before the
// transaction's next round trip: in InTx's transaction it is queued
// (check, if not nil, judges the rows it touched when the answer comes);
// elsewhere it runs at once. Only writes whose caller returns any error it
// gets may go this way: the error may come from a later call.
func (c *conn) later(ctx context.Context, op, sql string, args []any, check func(pgconn.CommandTag) error) error {
	wrap := func(err error) error { return dbErr(op, err) }
	if p, ok := c.q.(*pipeTx); ok && p.err == nil {
		p.queue(sql, args, wrap, check)
		return nil
	}
	tag, err := c.q.Exec(ctx, sql, args...)
	if err != nil {
		return wrap(err)
	}
	if check != nil {
		return check(tag)
	}
	return nil
}

// laterRow is later for a write that returns one row (an INSERT …
// RETURNING id), scanned when the answer comes.
func (c *conn) laterRow(ctx context.Context, op, sql string, args []any, scan func(pgx.Row) error) error {
	wrap := func(err error) error { return dbErr(op, err) }
	if p, ok := c.q.(*pipeTx); ok && p.err == nil {
		p.queueRow(sql, args, wrap, scan)
		return nil
	}
	return wrap(scan(c.q.QueryRow(ctx, sql, args...)))
}
