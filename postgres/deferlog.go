package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

// Statements nobody waits for go with the next round trip. A transaction
// used to cost a round trip for its BEGIN, one per savepoint's start and
// one per log write, each waited for although nothing reads its answer:
// every state change appends its audit entry and its event to the log
// queues (audit_pending, events_pending), and nothing in the transaction
// reads them (the sequencer does, after the commit). So a transaction's
// statements go through a pipe that holds those statements and sends them,
// in their order, in one batch with the next statement whose answer is
// waited for: the BEGIN with the first query, a savepoint's SAVEPOINT with
// its first statement, and the log writes, gathered into one insert per
// queue, with the savepoint's RELEASE or the COMMIT. They commit with the
// transaction, so the order of two changes to one record (whose row lock
// the second transaction waits for) is kept. A held statement that fails
// fails the statement it went with, and so the savepoint's work or the
// transaction, as it would have failed it at once: a savepoint's end sends
// its held writes with the RELEASE, so no savepoint reports success for
// work that did not happen.

// pipe is a transaction's querier (see above).
type pipe struct {
	q       querier   // the pooled connection the transaction runs on
	pending pgx.Batch // held statements, in order
	sent    int       // round trips that carried held statements
	// The log writes held since the last savepoint statement (or the
	// BEGIN): a run, which becomes one insert per queue at the next
	// savepoint statement or the COMMIT (seal). A settled step appends
	// four or five entries and as many events, between its other
	// statements, and each single-row insert cost the database a
	// statement. Nothing in the transaction reads the queues, so a run may
	// pass the statements that follow it; nothing orders the two queues
	// against each other, and each keeps its own order; and no run crosses
	// a savepoint's start or end, so a savepoint rolled back takes its own.
	audit  []*cancuoc.AuditEntry
	events []cancuoc.Event
}

var _ querier = (*pipe)(nil)

// hold adds a statement whose answer nobody waits for.
func (p *pipe) hold(sql string, args ...any) {
	p.seal()
	p.pending.Queue(sql, args...)
}

// execSealed runs sql after everything held, the current run included:
// a savepoint's end or the COMMIT, which must not report success for a
// log write that failed.
func (p *pipe) execSealed(ctx context.Context, sql string) (pgconn.CommandTag, error) {
	p.seal()
	return p.Exec(ctx, sql)
}

// holdAudit and holdEvent add log writes to the current run.
func (p *pipe) holdAudit(entries []*cancuoc.AuditEntry) {
	for _, e := range entries {
		cp := *e
		p.audit = append(p.audit, &cp)
	}
}

func (p *pipe) holdEvent(e *cancuoc.Event) { p.events = append(p.events, *e) }

// seal turns the run of log writes into statements.
func (p *pipe) seal() {
	if len(p.audit) > 0 {
		queuePending(&p.pending, p.audit)
		p.audit = nil
	}
	if len(p.events) > 0 {
		queueEvents(&p.pending, p.events)
		p.events = nil
	}
}

// held is how many statements are held.
func (p *pipe) held() int {
	p.seal()
	return p.pending.Len()
}

// drop forgets the statements held after the first n.
func (p *pipe) drop(n int) {
	p.audit, p.events = nil, nil
	p.pending.QueuedQueries = p.pending.QueuedQueries[:n]
}

// send sends the held statements followed by sql, and reads their
// answers; the caller reads sql's from the results and closes them. The
// current run of log writes stays held.
func (p *pipe) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := p.pending
	p.pending = pgx.Batch{}
	p.sent++
	n := b.Len()
	b.Queue(sql, args...)
	br := p.q.SendBatch(ctx, &b)
	for range n {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, err
		}
	}
	return br, nil
}

// flush sends the held statements on their own.
func (p *pipe) flush(ctx context.Context) error {
	if p.pending.Len() == 0 {
		return nil
	}
	b := p.pending
	p.pending = pgx.Batch{}
	p.sent++
	return p.q.SendBatch(ctx, &b).Close()
}

func (p *pipe) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if p.pending.Len() == 0 {
		return p.q.Exec(ctx, sql, args...)
	}
	br, err := p.send(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (p *pipe) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if p.pending.Len() == 0 {
		return p.q.Query(ctx, sql, args...)
	}
	br, err := p.send(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		if rows != nil {
			rows.Close()
		}
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (p *pipe) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if p.pending.Len() == 0 {
		return p.q.QueryRow(ctx, sql, args...)
	}
	rows, err := p.Query(ctx, sql, args...)
	return &batchRow{rows: rows, err: err}
}

// SendBatch and CopyFrom, rare in a transaction, send the held statements
// first, in a round trip of their own.
func (p *pipe) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := p.flush(ctx); err != nil {
		return failedBatch{err}
	}
	return p.q.SendBatch(ctx, b)
}

func (p *pipe) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error) {
	if err := p.flush(ctx); err != nil {
		return 0, err
	}
	return p.q.CopyFrom(ctx, table, columns, rows)
}

// batchRows are the rows of a query sent behind held statements: closing
// them closes the batch, which frees the connection.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.err = r.br.Close()
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is QueryRow's answer over batchRows, with pgx.Row's rules: the
// first row or pgx.ErrNoRows, and the rows closed after Scan.
type batchRow struct {
	rows pgx.Rows
	err  error
}

func (r *batchRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// failedBatch answers every result of a batch that was not sent.
type failedBatch struct{ err error }

func (f failedBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, f.err }
func (f failedBatch) Query() (pgx.Rows, error)         { return nil, f.err }
func (f failedBatch) QueryRow() pgx.Row                { return &batchRow{err: f.err} }
func (f failedBatch) Close() error                     { return f.err }
func (failedBatch) Tx() pgx.Tx                         { return nil }

// holdLog notes that the transaction wrote to the log queues (events:
// the events queue, whose dispatch the commit must not keep waiting).
func (c *conn) holdLog(events bool) {
	c.appendedRows = true
	c.appendedEvents = c.appendedEvents || events
}
