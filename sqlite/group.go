package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// Group commit. SQLite has one writer, and each commit appends the pages
// it changed to the WAL and syncs it: with many small write transactions
// (a procedure's step actions, each with its audit entry and outbox event)
// the commits were a fifth of the server's CPU. So write transactions
// queue, and the one that finds the writer free leads: it runs every
// transaction queued at that moment (up to maxGroup) in one BEGIN…COMMIT,
// each in its own SAVEPOINT. A transaction whose function fails (or
// panics) is rolled back to its savepoint alone; the others go on. Every
// caller learns its outcome only after the shared COMMIT: if that fails,
// all of them fail, and none of their writes stays. A transaction waiting
// alone runs exactly as before, without a savepoint. Grouping changes
// nothing a caller can see but its timing: the functions run one after
// another, in their order of arrival, as they would have waiting for the
// single writer.

// maxGroup bounds one group, so that a commit's latency stays short.
const maxGroup = 64

type txGroup struct {
	mu      sync.Mutex
	pending []*txCall
	leading bool
	groups  atomic.Int64 // transactions run for more than one caller
}

type txCall struct {
	ctx  context.Context
	fn   func(*ops) error
	done chan txResult
}

type txResult struct {
	err      error
	panicked bool
	value    any
}

// leadGroup runs one group of the queued transactions, then, if more came
// meanwhile, hands the lead to a new goroutine so that its own caller does
// not wait for later groups.
//
// A leader that finds its own call alone first lets the goroutines ready
// to run go ahead once (runtime.Gosched): under load they are mostly
// requests about to queue a transaction of their own, and one commit for
// several is cheaper than one each (a commit writes every page it changed
// to the WAL; the pages of the logs' tails, the queues and the upper
// levels of the indexes are shared by the transactions of a group). With
// births in batch mode this took the commits from 0.8 to about 0.5 per
// file. Idle, the yield returns at once: nobody else is ready to run.
func (s *Store) leadGroup() {
	g := &s.group
	g.mu.Lock()
	if len(g.pending) == 1 {
		g.mu.Unlock()
		runtime.Gosched()
		g.mu.Lock()
	}
	n := min(len(g.pending), maxGroup)
	calls := g.pending[:n:n]
	g.pending = g.pending[n:]
	g.mu.Unlock()

	if len(calls) == 1 {
		c := calls[0]
		c.done <- runCall(func() error { return s.soloTx(c.ctx, c.fn) })
	} else {
		s.runGroup(calls)
	}

	g.mu.Lock()
	if len(g.pending) == 0 {
		g.leading = false
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	go s.leadGroup()
}

// runCall runs f, turning a panic into a result to re-raise in the caller.
func runCall(f func() error) (r txResult) {
	defer func() {
		if p := recover(); p != nil {
			r = txResult{panicked: true, value: p}
		}
	}()
	return txResult{err: f()}
}

var errGroupAborted = errors.New("sqlite: the group's transaction could not go on after a member's failure")

// runGroup runs calls in one transaction, a savepoint each.
func (s *Store) runGroup(calls []*txCall) {
	const op = "sqlite.InTx"
	s.group.groups.Add(1)
	res := make([]txResult, len(calls))
	fail := func(err error) {
		for i := range calls {
			if res[i].err == nil && !res[i].panicked {
				res[i].err = err
			}
			calls[i].done <- res[i]
		}
	}
	// The group outlives any one caller's context: a caller's own context
	// is checked before its function runs and given to it.
	ctx := context.Background()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		fail(dbErr(op, err))
		return
	}
	d := detached{tx}
	o := &ops{r: d, w: d, log: &txLog{}, memo: &citizenMemo{}, docs: s.docs}
	o.atomic = func(_ context.Context, fn func(*ops) error) error { return fn(o) }
	for i, c := range calls {
		if err := c.ctx.Err(); err != nil {
			res[i].err = err
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT cancuoc_group`); err != nil {
			_ = tx.Rollback()
			fail(dbErr(op, err))
			return
		}
		mark := o.log.mark()
		res[i] = runCall(func() error { return c.fn(o) })
		if res[i].err == nil && !res[i].panicked {
			if _, err := tx.ExecContext(ctx, `RELEASE cancuoc_group`); err != nil {
				_ = tx.Rollback()
				fail(dbErr(op, err))
				return
			}
			continue
		}
		_, err1 := tx.ExecContext(ctx, `ROLLBACK TO cancuoc_group`)
		_, err2 := tx.ExecContext(ctx, `RELEASE cancuoc_group`)
		if err := errors.Join(err1, err2); err != nil {
			// The transaction itself is gone (SQLite rolls back the whole
			// of it on some errors): nobody's writes stay.
			_ = tx.Rollback()
			fail(dbErr(op, errors.Join(errGroupAborted, err)))
			return
		}
		o.log.restore(mark)
		o.memo.reset()
	}
	if err := o.flushLog(ctx); err != nil {
		_ = tx.Rollback()
		fail(dbErr(op, err))
		return
	}
	if err := tx.Commit(); err != nil {
		fail(dbErr(op, err))
		return
	}
	for i, c := range calls {
		c.done <- res[i]
	}
}

// detached runs a group's statements whatever becomes of the context of the
// caller they serve. SQLite rolls back the whole transaction when it
// interrupts an INSERT, UPDATE or DELETE inside one, so a caller that gives
// up halfway (a dropped HTTP client) would otherwise take every other
// caller's work in the group with it. A caller already gone before its
// function starts is still skipped (runGroup checks its context first).
type detached struct{ *sql.Tx }

func (d detached) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.Tx.ExecContext(context.WithoutCancel(ctx), q, args...)
}

func (d detached) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.Tx.QueryContext(context.WithoutCancel(ctx), q, args...)
}

func (d detached) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return d.Tx.QueryRowContext(context.WithoutCancel(ctx), q, args...)
}

// sqlTx is the database/sql transaction behind a transaction's querier, for
// code that prepares statements on it.
func sqlTx(q querier) (*sql.Tx, bool) {
	switch t := q.(type) {
	case *sql.Tx:
		return t, true
	case detached:
		return t.Tx, true
	}
	return nil, false
}
