package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

// Statements nobody waits for go with the next round trip. A transaction
// used to cost a round trip for its BEGIN, one per savepoint's start and
// one per log write, each waited for although nothing reads its answer:
// every state change appends its audit entry and its event to the log
// queue (log_pending), and nothing in the transaction reads it (the
// sequencer does, after the commit). So a transaction's
// statements go through a pipe that holds those statements and sends them,
// in their order, in one batch with the next statement whose answer is
// waited for: the BEGIN with the first query, a savepoint's SAVEPOINT with
// its first statement, and the log writes, gathered into one row of the
// queue per run (insertLogSQL), with the savepoint's RELEASE or the
// COMMIT. They commit with the
// transaction, so the order of two changes to one record (whose row lock
// the second transaction waits for) is kept. A held statement that fails
// fails the statement it went with, and so the savepoint's work or the
// transaction, as it would have failed it at once: a savepoint's end sends
// its held writes with the RELEASE, so no savepoint reports success for
// work that did not happen.
//
// Other writes whose callers need no answer at once (a login's record, a
// token, a session: later) are held too. What keeps that as safe as one
// statement at a time: answers are read in the order sent, so no result is
// taken for another's; a held write that fails, raised by the server or
// refused by its own check of the rows it touched, fails every later call
// and the COMMIT (the pipe's err), so a transaction with a failed write
// never commits even when the caller dropped the error; a write with such
// a check is judged in a round trip of its own before a COMMIT, SAVEPOINT
// or RELEASE may follow it, since the server would have run them before
// the refusal was known; and the COMMIT's round trip is read to its end
// even when ctx ends (commit), since the server, holding it, would still
// commit while the caller is told it failed.

// pipe is a transaction's querier (see above).
type pipe struct {
	q       querier   // the pooled connection the transaction runs on
	pending pgx.Batch // held statements, in order
	sent    int       // round trips that carried held statements
	// The log writes held since the last savepoint statement (or the
	// BEGIN): a run, which becomes one row of the queue at the next
	// savepoint statement or the COMMIT (seal). A settled step appends
	// four or five entries and as many events, between its other
	// statements, and each single-row insert cost the database a
	// statement, and a row per entry its own tuple, index entries and
	// vacuum. Nothing in the transaction reads the queue, so a run may
	// pass the statements that follow it; nothing orders the entries
	// against the events, and each keeps its own order; and no run crosses
	// a savepoint's start or end, so a savepoint rolled back takes its own.
	audit  []*cancuoc.AuditEntry
	events []cancuoc.Event
	// err is the first failure of a held statement (raised by the server
	// or refused by its check): every later call and the COMMIT fail with
	// it, so a transaction with a failed write never commits even when the
	// caller dropped the error it was handed. A savepoint rolled back
	// clears it (Savepoint), having undone the failed write.
	err error
	// cancel asks the server to cancel the statement the connection runs
	// (commit); nil where there is no server.
	cancel func(context.Context) error
	// judges are the held statements with a check of their own (judged).
	judges map[*pgx.QueuedQuery]bool
	// raisers are held writes whose refusal the server raises from a
	// condition in their SQL (holdRaising): a COMMIT or RELEASE may ride
	// with them, a savepoint's start may not (raisesHeld).
	raisers map[*pgx.QueuedQuery]bool
	// implicit: a transaction whose every statement is still held at its
	// end may go without BEGIN and COMMIT (finish); set where the server's
	// default isolation is the BEGIN's (readCommittedConn).
	implicit bool
	// utility counts the statements held by hold after the BEGIN (a
	// SAVEPOINT): a transaction holding one keeps its BEGIN and COMMIT.
	utility int
	// runs are the open runs of gathered writes, in the order opened, and
	// runKeys the rows they touch (pipeset.go).
	runs    []*setRun
	runKeys map[string]bool
}

// beginSQL starts a transaction (inTx); it is the first statement held.
const beginSQL = `BEGIN ISOLATION LEVEL READ COMMITTED`

var _ querier = (*pipe)(nil)

// hold adds a statement whose answer nobody waits for.
func (p *pipe) hold(sql string, args ...any) {
	p.seal()
	if p.pending.Len() > 0 || p.sent > 0 || sql != beginSQL {
		p.utility++
	}
	p.pending.Queue(sql, args...)
}

// whole reports whether the transaction can be sent whole, in one round
// trip, as an implicit transaction: nothing of it has reached the server,
// its first held statement is the BEGIN and no other is a savepoint's, and
// no held statement has a check of its own (judged: the check must refuse
// before anything commits).
func (p *pipe) whole() bool {
	if !p.implicit || p.sent > 0 || p.utility > 0 || p.judged() {
		return false
	}
	qs := p.pending.QueuedQueries
	return len(qs) > 1 && qs[0].SQL == beginSQL
}

// finish ends the transaction: its held statements and COMMIT, or, when
// it can be sent whole, its held statements alone without the BEGIN. In
// the extended protocol the statements of a round trip outside a
// transaction block run as one implicit transaction, which the round
// trip's Sync commits, or rolls back if one of them failed; a failure at
// the commit itself is the Sync's error, which the batch's Close returns.
// So the transaction is as atomic and as durable as with BEGIN and
// COMMIT, and the server runs two statements fewer (a login's transaction
// and a token's are sent whole). Its isolation is the server's default,
// hence readCommittedConn.
func (p *pipe) finish(ctx context.Context) (pgconn.CommandTag, error) {
	p.seal()
	if !p.whole() {
		return p.execSealed(ctx, `COMMIT`)
	}
	p.pending.QueuedQueries = p.pending.QueuedQueries[1:]
	if err := p.flush(ctx); err != nil {
		return pgconn.CommandTag{}, err
	}
	return pgconn.NewCommandTag("COMMIT"), nil
}

// holdChecked adds a write whose caller needs no answer at once (later):
// wrap turns its error into a store error, and check, if not nil, judges
// the rows it touched when the answer comes. The current run of log
// writes is not sealed before it: nothing in the transaction reads the
// queue, so its row may follow it, and a batch claim's held updates and
// log writes then make one run, not one per task.
func (p *pipe) holdChecked(sql string, args []any, wrap func(error) error, check func(pgconn.CommandTag) error) {
	qq := p.pending.Queue(sql, args...)
	if check != nil {
		p.judge(qq)
	} else {
		// Only the server can refuse it (a taken key, a condition in its
		// SQL): a savepoint's start must wait for its answer (raisesHeld).
		p.raise(qq)
	}
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
}

// holdRow adds a write returning one row (laterRow), scanned by scan when
// the answer comes.
func (p *pipe) holdRow(sql string, args []any, wrap func(error) error, scan func(pgx.Row) error) {
	p.seal()
	qq := p.pending.Queue(sql, args...)
	p.judge(qq) // a row that does not come is an error the server does not raise
	qq.Fn = func(br pgx.BatchResults) error {
		if err := scan(br.QueryRow()); err != nil {
			return wrap(err)
		}
		return nil
	}
}

// holdInsertRow is holdRow for an INSERT … RETURNING of one row that has
// no condition (no WHERE, no ON CONFLICT): the server returns its row or
// raises, so the answer is not judged, and a COMMIT may ride in its round
// trip (laterInsertRow).
func (p *pipe) holdInsertRow(sql string, args []any, wrap func(error) error, scan func(pgx.Row) error) {
	p.seal()
	qq := p.pending.Queue(sql, args...)
	p.raise(qq) // the server may refuse it: not before a SAVEPOINT (raisesHeld)
	qq.Fn = func(br pgx.BatchResults) error {
		if err := scan(br.QueryRow()); err != nil {
			return wrap(err)
		}
		return nil
	}
}

// holdRaising holds a write whose refusal the server raises itself (a
// condition in its SQL that fails the statement), where another write
// would be refused by a check of its answer (holdChecked): nothing waits
// to judge it, so a COMMIT or a RELEASE may go in its round trip. A
// savepoint's start may not: had the write failed before the SAVEPOINT,
// the failure would be taken for the new savepoint's and its rollback
// would name a savepoint the server never made (Savepoint: raisesHeld).
func (p *pipe) holdRaising(sql string, args []any, wrap func(error) error) {
	p.holdChecked(sql, args, wrap, nil) // marked as raising there
}

// raise marks qq as a write the server itself may refuse: holdRaising's,
// and any other held write without a check of its own (an insert whose
// key may be taken, holdInsertRow's), since its failure before a
// SAVEPOINT would be taken for the savepoint's as well.
func (p *pipe) raise(qq *pgx.QueuedQuery) {
	if p.raisers == nil {
		p.raisers = map[*pgx.QueuedQuery]bool{}
	}
	p.raisers[qq] = true
}

// raisesHeld reports whether a held write is one of holdRaising's.
func (p *pipe) raisesHeld() bool {
	p.sealRuns()
	for _, qq := range p.pending.QueuedQueries {
		if p.raisers[qq] {
			return true
		}
	}
	return false
}

// judged reports whether a held statement has a check of its own (a Go
// callback that may refuse it once its answer is read, where the server
// raised nothing): a savepoint's start or end,
// or the COMMIT, must not ride in its round trip, or the server would have
// acted before the check could refuse.
func (p *pipe) judged() bool {
	p.sealRuns()
	for _, qq := range p.pending.QueuedQueries {
		if p.judges[qq] {
			return true
		}
	}
	return false
}

// judge marks qq as judged by a check of its own.
func (p *pipe) judge(qq *pgx.QueuedQuery) {
	if p.judges == nil {
		p.judges = map[*pgx.QueuedQuery]bool{}
	}
	p.judges[qq] = true
}

// execSealed runs sql after everything held, the current run included:
// a savepoint's end or the COMMIT, which must not report success for a
// write that failed. Held statements with checks of their own go first,
// in a round trip of their own.
func (p *pipe) execSealed(ctx context.Context, sql string) (pgconn.CommandTag, error) {
	p.seal()
	if p.judged() {
		if err := p.flush(ctx); err != nil {
			return pgconn.CommandTag{}, err
		}
	}
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

// seal turns the runs of gathered writes and of log writes into
// statements.
func (p *pipe) seal() {
	p.sealRuns()
	queueLog(&p.pending, p.audit, p.events)
	p.audit, p.events = nil, nil
}

// held is how many statements are held.
func (p *pipe) held() int {
	p.seal()
	return p.pending.Len()
}

// drop forgets the statements held after the first n.
func (p *pipe) drop(n int) {
	p.audit, p.events = nil, nil
	p.runs, p.runKeys = nil, nil
	p.pending.QueuedQueries = p.pending.QueuedQueries[:n]
}

// send sends the held statements followed by sql, and reads their
// answers; the caller reads sql's from the results and closes them. The
// current run of log writes stays held.
func (p *pipe) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	p.sealRuns()
	b := p.pending
	p.pending = pgx.Batch{}
	p.sent++
	n := b.Len()
	b.Queue(sql, args...)
	br := p.q.SendBatch(ctx, &b)
	if err := p.answers(br, b.QueuedQueries[:n]); err != nil {
		_ = br.Close()
		return nil, err
	}
	return br, nil
}

// answers reads the answers of the held statements qs, in order, running
// their checks; the first failure is the pipe's from then on.
func (p *pipe) answers(br pgx.BatchResults, qs []*pgx.QueuedQuery) error {
	for _, qq := range qs {
		var err error
		if qq.Fn != nil {
			err = qq.Fn(br)
		} else {
			_, err = br.Exec()
		}
		if err != nil {
			p.err = err
			return err
		}
	}
	return nil
}

// flush sends the held statements on their own.
func (p *pipe) flush(ctx context.Context) error {
	if p.err != nil {
		return p.err
	}
	p.sealRuns()
	if p.pending.Len() == 0 {
		return nil
	}
	b := p.pending
	p.pending = pgx.Batch{}
	p.sent++
	br := p.q.SendBatch(ctx, &b)
	err := p.answers(br, b.QueuedQueries)
	if cerr := br.Close(); err == nil && cerr != nil {
		p.err, err = cerr, cerr
	}
	return err
}

func (p *pipe) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if p.err != nil {
		return pgconn.CommandTag{}, p.err
	}
	p.sealRuns() // a run never passes a statement whose answer is waited for
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
	if p.err != nil {
		return nil, p.err
	}
	p.sealRuns() // a run never passes a statement whose answer is waited for
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
	if p.err != nil {
		return &batchRow{err: p.err}
	}
	p.sealRuns() // a run never passes a statement whose answer is waited for
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

// Next closes the batch with the rows when they run out, as pgx closes
// its rows: a caller that reads to the end without Close (pgx allows it)
// would otherwise leave the batch open, and the connection busy for the
// transaction's next statement ("conn busy").
func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
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

// holdLog notes that the transaction wrote to the log queue (events:
// events among them, whose dispatch the commit must not keep waiting).
func (c *conn) holdLog(events bool) {
	c.appendedRows = true
	c.appendedEvents = c.appendedEvents || events
}

// later runs a write whose answer its caller does not need before the
// transaction's next round trip: in InTx's transaction it is held by the
// pipe and goes with the next statement (check, if not nil,
// judges the rows it touched when the answer comes); elsewhere it runs at
// once. Only writes whose caller returns any error it gets may go this
// way: the error may come from a later call, and until then the pipe keeps
// it, so the transaction cannot commit.
func (c *conn) later(ctx context.Context, op, sql string, args []any, check func(pgconn.CommandTag) error) error {
	wrap := func(err error) error { return dbErr(op, err) }
	if c.pipe != nil && c.pipe.err == nil {
		c.pipe.holdChecked(sql, args, wrap, check)
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
	if c.pipe != nil && c.pipe.err == nil {
		c.pipe.holdRow(sql, args, wrap, scan)
		return nil
	}
	return wrap(scan(c.q.QueryRow(ctx, sql, args...)))
}

// laterInsertRow is laterRow for an unconditional INSERT … RETURNING
// (holdInsertRow): a COMMIT may follow it in the same round trip.
func (c *conn) laterInsertRow(ctx context.Context, op, sql string, args []any, scan func(pgx.Row) error) error {
	wrap := func(err error) error { return dbErr(op, err) }
	if c.pipe != nil && c.pipe.err == nil {
		c.pipe.holdInsertRow(sql, args, wrap, scan)
		return nil
	}
	return wrap(scan(c.q.QueryRow(ctx, sql, args...)))
}

// After ctx has ended, the server is asked again and again to cancel the
// statement the COMMIT's round trip runs (cancelEvery), for commitGrace at
// most: a server that answers nothing (the network gone) is then given up
// on, the outcome unknown as for any COMMIT whose answer is lost.
const (
	cancelEvery = 100 * time.Millisecond
	commitGrace = 10 * time.Second
)

// commit sends what is held and COMMIT, and reads the true answer. The
// round trip is not abandoned when ctx ends, as pgx would (closing the
// connection): the server has received COMMIT behind the held writes
// already and, once a lock they wait for is free, would run them and
// COMMIT, the caller having been told the transaction failed (and to try
// again). The server is asked instead to cancel the statement it runs,
// which fails it and so skips COMMIT, and its answer, whichever, is read.
func (p *pipe) commit(ctx context.Context) (pgconn.CommandTag, error) {
	if err := ctx.Err(); err != nil {
		return pgconn.CommandTag{}, err // nothing sent: nothing commits
	}
	if p.cancel == nil { // no server to ask (tests of the pipe alone)
		return p.finish(ctx)
	}
	sendCtx, giveUp := context.WithCancel(context.WithoutCancel(ctx))
	defer giveUp()
	answered, cancelled := make(chan struct{}), make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(cancelled)
		p.cancelUntil(answered, giveUp)
	})
	tag, err := p.finish(sendCtx)
	close(answered)
	if !stop() {
		// No cancel request may reach the backend once the connection
		// is given back to the pool.
		<-cancelled
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "57014" && ctx.Err() != nil { // query_canceled: by cancelUntil
		return tag, ctx.Err()
	}
	return tag, err
}

// cancelUntil asks the server to cancel the statement the connection runs
// until answered is closed; a request that reaches the backend between two
// statements is ignored, hence the repeats. After commitGrace it gives up.
func (p *pipe) cancelUntil(answered <-chan struct{}, giveUp func()) {
	grace := time.NewTimer(commitGrace)
	defer grace.Stop()
	every := time.NewTicker(cancelEvery)
	defer every.Stop()
	for {
		cctx, cancel := context.WithTimeout(context.Background(), cancelEvery)
		_ = p.cancel(cctx) // a failed request: the next one, or the grace, follows
		cancel()
		select {
		case <-answered:
			return
		case <-grace.C:
			giveUp()
			return
		case <-every.C:
		}
	}
}
