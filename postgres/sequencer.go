package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// The log sequencer.
//
// A writing transaction queues its access-log entries and outbox events in
// log_pending, one row per run (its log writes between two savepoint
// statements, pipetx.go: the entries and the events as column arrays, in
// the order written): a plain insert, no lock, committed with the change
// they record (so "durable before the answer" holds). One sequencer in the
// whole deployment — the node whose dedicated connection holds a session
// advisory lock; the others stand by and retry — then repeatedly takes the
// committed runs in insertion-id order and, in one transaction per batch,
// unpacks them run by run, each run's entries and events in their order,
// giving the entries their places and chain hashes in audit and the events
// their seq in events, and deletes the runs. So only the sequencer's
// batches commit one at a time, not every writing transaction of every
// node.
//
// Order. Insertion ids are drawn at insert, not at commit, so a batch may
// take id 11 while id 10 is still uncommitted; 10 then gets a later place.
// Within a run, order is array order; the runs of one transaction are
// inserted one after the other, so their ids follow the transaction's
// order.
// That is harmless for the chain (its order is the sequencer's) and for
// consumers (events rows are written only by the sequencer, one batch after
// the other, so seq order is visibility order and a cursor never skips).
// What must hold is the order of causally related writes, above all of two
// changes to one citizen: those serialise on the citizen's row (the second
// waits on the first's row lock until it commits), and a transaction
// appends to the log after its change, so the later change's rows are
// inserted after the earlier one committed: they have larger ids and are
// visible to any snapshot that sees them, so they are sequenced after it.
// The same holds whenever a transaction appends after reading another's
// committed effect (a dispatcher handler after the event it handles).
//
// Window. An entry committed on the leading node is sequenced by the pass
// its commit wakes (the pass running then, plus one); an entry committed on
// another node by the leader's next poll (WithSequencerPoll, 10 ms by
// default) and its pass. During a leader change (the lock is freed when the
// leader's connection ends) entries wait until a standby's next try (1 s).
// This holds while the sequencer keeps up: a pass takes up to 5,000 runs in
// two round trips and one commit, so it drains in batches whatever arrived
// meanwhile. Until sequenced, entries show in the citizen's
// view (AuditSearch) with ID 0.
type sequencer struct {
	st        *Store
	leaderKey int64
	batch     int
	idle      time.Duration // the leader's poll for other nodes' rows
	gather    time.Duration // the least time from one pass's start to the next under load
	logGather time.Duration // the same while only access-log entries wait (no event, no WaitSequenced)
	standby   time.Duration // a standby's retry of the leadership
	vacuumAt  int64         // runs sequenced between the leader's vacuums of the queue
	sinceVac  int64
	wait      bool // writers wait until their rows are sequenced
	log       *slog.Logger

	kick    chan struct{}
	hurry   chan struct{} // events or a WaitSequenced wait: end a logGather early
	mu      sync.Mutex
	done    chan struct{} // closed when the current pass ends
	hooks   []func()
	leader  atomic.Bool
	passes  atomic.Int64
	cancel  context.CancelFunc
	stopped chan struct{}
}

// newSequencer's leader key is not the one of releases that queued a row
// per entry (audit_pending, events_pending): during a rolling upgrade their
// nodes' inserts are turned into runs (migration 00034) and their
// sequencer, finding its queues empty, must not keep this one from leading.
func newSequencer(st *Store, schema string, o options) *sequencer {
	return &sequencer{st: st, leaderKey: lockKey("cancuoc.log-sequencer:" + schema), batch: 5000,
		idle: o.seqPoll, gather: o.seqGather, logGather: max(o.logGather, o.seqGather), vacuumAt: o.queueVacuum, standby: time.Second, wait: o.waitSequenced, log: slog.Default(),
		kick: make(chan struct{}, 1), hurry: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
}

func (s *sequencer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(ctx)
}

func (s *sequencer) stop() {
	s.cancel()
	<-s.stopped
}

// poke wakes the sequencer without blocking: rows were committed.
func (s *sequencer) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// hasten cuts the current logGather wait short (to gather): events wait,
// or a caller waits for its rows' places.
func (s *sequencer) hasten() {
	select {
	case s.hurry <- struct{}{}:
	default:
	}
}

// committed is called after a transaction that appended rows committed;
// events says whether they include events (not only access-log entries).
func (s *sequencer) committed(ctx context.Context, events bool) error {
	if events {
		s.hasten()
	}
	s.poke()
	if !s.wait {
		return nil
	}
	return s.st.WaitSequenced(ctx)
}

// passEnd returns a channel closed when the current (or next) pass ends.
func (s *sequencer) passEnd() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

func (s *sequencer) endPass(events int64) {
	s.passes.Add(1)
	s.mu.Lock()
	close(s.done)
	s.done = make(chan struct{})
	hooks := s.hooks
	s.mu.Unlock()
	if events > 0 {
		for _, f := range hooks {
			f()
		}
	}
}

// fire runs the hooks for a batch another node sequenced.
func (s *sequencer) fire() {
	s.mu.Lock()
	hooks := s.hooks
	s.mu.Unlock()
	for _, f := range hooks {
		f()
	}
}

func (s *sequencer) run(ctx context.Context) {
	defer close(s.stopped)
	for ctx.Err() == nil {
		err := s.lead(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("log sequencer: connection failed; a node will take over", "err", err)
		}
		sleepCtx(ctx, s.standby)
	}
}

// stopGrace is how long a pass under way when the store closes may go on
// before its statements are cancelled.
const stopGrace = 10 * time.Second

// graceful returns the context of the sequencer's statements: ctx's
// values, but cancelled only stopGrace after ctx (the store closing). A
// statement cancelled by ctx makes pgx give up the connection while its
// backend may still be running the pass's pipelined statements, holding
// the queues' locks after Close has returned (a DROP SCHEMA of a test's
// store right after deadlocked on them); so stop ends the waits at once,
// and a pass under way is let finish and commit.
func graceful(ctx context.Context) (context.Context, context.CancelFunc) {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(stopGrace, cancel) })
	return work, func() { stop(); cancel() }
}

// lead connects, waits to become the leader, then sequences until ctx ends
// or the connection fails (which frees the leadership for another node).
// ctx ends the waits; the statements run under graceful's context.
func (s *sequencer) lead(ctx context.Context) error {
	work, done := graceful(ctx)
	defer done()
	c, err := pgx.ConnectConfig(ctx, s.st.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer c.Close(work)
	listening := false
	for {
		var got bool
		if err := c.QueryRow(work, `SELECT pg_try_advisory_lock($1)`, s.leaderKey).Scan(&got); err != nil {
			return err
		}
		if got {
			break
		}
		if !listening {
			if _, err := c.Exec(work, `LISTEN `+s.channel()); err != nil {
				return err
			}
			listening = true
		}
		if err := s.standBy(ctx, c); err != nil || ctx.Err() != nil {
			return err
		}
	}
	if listening {
		// pgx would keep the leader's own notifications unread.
		if _, err := c.Exec(work, `UNLISTEN *`); err != nil {
			return err
		}
	}
	s.leader.Store(true)
	defer s.leader.Store(false)
	idle := time.NewTimer(s.idle)
	defer idle.Stop()
	for ctx.Err() == nil {
		start := time.Now()
		n, events, full, err := s.pass(work, c)
		s.endPass(events)
		if err != nil {
			return err
		}
		if err := s.vacuumQueues(work, c, n); err != nil {
			return err
		}
		if full {
			continue // a backlog: take the next batch at once
		}
		if err := s.awaitWork(ctx, work, c, idle); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		s.pause(ctx, start)
	}
	return nil
}

// pause waits, under a steady stream of commits (work back within the
// gather time of the last pass's start), for the rest of it: the next pass
// then takes several commits' rows at once. A pass costs the database about
// ten statements and a commit, and the node two round trips, whatever it
// carries, so this divides the sequencer's cost per entry. Answers do not
// wait for it (they return at their own commit); only the chain's places
// and the events' dispatch do. While only access-log entries wait (read
// audits, the stream of match checks), nothing but their places in the
// chain waits, so the pause is the longer logGather; events (dispatch
// waits for them) or a WaitSequenced caller cut it to gather.
func (s *sequencer) pause(ctx context.Context, start time.Time) {
	wait := s.logGather - time.Since(start)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
		return
	case <-s.hurry:
	}
	if wait := s.gather - time.Since(start); wait > 0 {
		sleepCtx(ctx, wait)
	}
}

// channel is the notification channel on which the leader announces
// batches that sequenced events, so that standby nodes' dispatchers wake at
// once too. Only the sequencer's batch notifies: NOTIFY serialises the
// commits of the transactions that use it, which writers must not.
func (s *sequencer) channel() string { return fmt.Sprintf("cancuoc_sequenced_%x", uint64(s.leaderKey)) }

// standBy waits out one retry interval of a node that does not lead,
// relaying the leader's announcements to this node's hooks.
func (s *sequencer) standBy(ctx context.Context, c *pgx.Conn) error {
	deadline := time.Now().Add(s.standby)
	for {
		wctx, cancel := context.WithDeadline(ctx, deadline)
		_, err := c.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			s.fire()
		case wctx.Err() != nil:
			return nil // the interval is over (or ctx ended): try the lock again
		default:
			return err
		}
	}
}

// awaitWork returns when this node committed rows (a kick) or a poll finds
// rows, maybe other nodes'; the poll is one cheap probe, not a whole pass.
func (s *sequencer) awaitWork(ctx, work context.Context, c *pgx.Conn, idle *time.Timer) error {
	for {
		idle.Reset(s.idle)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.kick:
			return nil
		case <-idle.C:
		}
		var found bool
		if err := c.QueryRow(work, pendingProbeSQL).Scan(&found); err != nil || found {
			return err
		}
	}
}

const pendingProbeSQL = `SELECT EXISTS (SELECT 1 FROM log_pending)`

// readLogSQL reads the oldest queued runs: their ids, their access-log
// entries (whose chain hashes need Go) and how many events each holds
// (which stay in the server: moveLogSQL). It takes at most $1 runs, and
// stops after the run that brings the entries and events to $1 or more:
// runs are of any size (an access-log batch of hundreds of read audits is
// one), and a pass must stay one bounded transaction, as when it took up
// to $1 rows of each queue.
const readLogSQL = `SELECT id, at, actor, action, pin, fields, lo, hi, purpose, outcome, events FROM (
	SELECT *, sum(size) OVER (ORDER BY id) - size AS before FROM (
		SELECT id, at, actor, action, pin, fields, lo, hi, purpose, outcome, coalesce(cardinality(event_id), 0) AS events,
			coalesce(cardinality(at), 0) + coalesce(cardinality(event_id), 0) AS size
		FROM log_pending ORDER BY id LIMIT $1) l) r
WHERE before < $1 ORDER BY id`

// pass sequences one batch of queued runs in one transaction and returns
// the number of runs and of events, and whether it took a whole batch
// (readLogSQL's bound): more may wait.
func (s *sequencer) pass(ctx context.Context, c *pgx.Conn) (n, events int64, full bool, err error) {
	defer func() {
		if err != nil {
			_, _ = c.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	// Events committed before this point are in the pass's snapshot, so
	// their hurry is spent; one committed later sets it again.
	select {
	case <-s.hurry:
	default:
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	// The transaction-scoped locks that writers took before the sequencer:
	// during a rolling upgrade, nodes of the previous version still append
	// to audit and events directly under them.
	b.Queue(`SELECT pg_advisory_xact_lock($1), pg_advisory_xact_lock($2)`, s.st.auditKey(), s.st.outboxKey)
	b.Queue(auditHeadSQL)
	b.Queue(readLogSQL, s.batch)
	br := c.SendBatch(ctx, b)
	var (
		last    int64
		hash    []byte
		ids     []int64
		entries []*cancuoc.AuditEntry
	)
	_, err = br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		last, hash, err = head(br.QueryRow())
	}
	if err == nil {
		var rows pgx.Rows
		if rows, err = br.Query(); err == nil {
			ids, entries, events, err = scanRuns(rows)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, false, err
	}
	if len(entries) > 0 && last > 0 && hash == nil {
		if hash, err = sealLegacy(ctx, c); err != nil {
			return 0, 0, false, err
		}
	}
	cancuoc.AuditStamp(last, hash, entries)
	b = &pgx.Batch{}
	if len(ids) > 0 {
		hashes := make([][]byte, len(entries))
		for i, e := range entries {
			hashes[i] = e.Hash
		}
		// moveLogSQL has one good plan whatever its arguments (key probes
		// and an index end), yet the planner chose a custom plan at every
		// pass: planning was a sixth of the statement's time in the birth
		// benchmark (pg_stat_statements). The generic plan is made once
		// per connection. Only for this statement: readLogSQL's LIMIT needs
		// its value to keep the index over a long backlog.
		b.Queue(`SET LOCAL plan_cache_mode = force_generic_plan`)
		b.Queue(moveLogSQL, ids, hashes, last)
	}
	if events > 0 {
		// Nodes of the previous version (a rolling upgrade) draw seqs from
		// the column's sequence: keep it past the seqs given here.
		b.Queue(`SELECT setval(pg_get_serial_sequence('events', 'seq'), (SELECT max(seq) FROM events))`)
		b.Queue(`SELECT pg_notify($1, '')`, s.channel())
	}
	b.Queue(`COMMIT`)
	br = c.SendBatch(ctx, b)
	if len(ids) > 0 {
		var runs, moved, evs int64
		if _, err = br.Exec(); err == nil { // SET LOCAL
			err = br.QueryRow().Scan(&runs, &moved, &evs)
		}
		if err == nil &&
			(runs != int64(len(ids)) || moved != int64(len(entries)) || evs != events) {
			// Only the sequencer deletes queued runs, under its lock, and a
			// run is never changed: a run gone or changed between the read
			// and the move means another writer is at the queue, and the
			// chain must not skip an entry.
			err = fmt.Errorf("log sequencer: moved %d of %d runs, %d of %d access-log entries, %d of %d events",
				runs, len(ids), moved, len(entries), evs, events)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, false, err
	}
	full = len(ids) >= s.batch || int64(len(entries))+events >= int64(s.batch)
	return int64(len(ids)), events, full, nil
}

// moveLogSQL moves the pass's queued runs ($1, their ids) into audit and
// events in one statement, inside the server: the entries take the places
// after $3 and the chain hashes computed from them ($2), the events the
// seqs after the head, both in the order read (run by run in id order,
// each run's elements in array order). It answers how many runs, entries
// and events it moved. A run is never changed, and only the sequencer
// (under its lock) deletes one, so the rows moved are the ones hashed. The
// DELETE takes its rows by id = ANY (an index probe each). Only the
// sequencer writes events, so max(seq) is the head; the primary key would
// refuse a second writer's batch.
//
// The runs are unpacked by set-returning functions in the select list
// (unnestedEntries, unnestedEvents), which step through a run's arrays
// together, element by element, as unnest(a, b, …) in FROM did: arrays of
// unequal lengths give NULLs past the shorter ones' ends (refused by the
// columns' NOT NULL, as before), n is the element's place in its run. In
// FROM, each run's unnest gathered every array into a tuplestore of its
// own first, sixteen a run: replaying a birth benchmark's queue, that
// set-up was about 12 % of the statement's CPU over the seeding's runs (an
// entry and an event each) and 5 % over the procedures' (a dozen each).
const moveLogSQL = `WITH moved AS (
	DELETE FROM log_pending WHERE id = ANY($1) RETURNING *
), entries AS (
	INSERT INTO audit (seq, at, actor, action, pin, fields, purpose, outcome, hash)
	SELECT $3::bigint + x.k, x.at, x.actor, x.action, x.pin, x.fields, x.purpose, x.outcome, ($2::bytea[])[x.k]
	FROM (SELECT row_number() OVER (ORDER BY u.id, u.n) AS k, u.at, u.actor, u.action, u.pin,
			CASE WHEN u.hi < 0 THEN NULL ELSE u.fields[u.lo:u.hi] END AS fields, u.purpose, u.outcome
		FROM (` + unnestedEntries + `) u) x
	RETURNING 1
), evs AS (
	INSERT INTO events (seq, id, type, pin, version, actor, at, data)
	SELECT head.seq + row_number() OVER (ORDER BY u.run, u.n), u.id, u.type, u.pin, u.version, u.actor, u.at, u.data
	FROM (` + unnestedEvents + `) u,
		(SELECT coalesce(max(seq), 0) AS seq FROM events) head
	RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM entries), (SELECT count(*) FROM evs)`

// unnestedEntries are the access-log entries of the runs in moved, a row
// each: the run's id and fields, the entry's place n in its run and its
// columns (moveLogSQL).
const unnestedEntries = `SELECT m.id, m.fields, generate_series(1, cardinality(m.at)) AS n,
			unnest(m.at) AS at, unnest(m.actor) AS actor, unnest(m.action) AS action, unnest(m.pin) AS pin,
			unnest(m.lo) AS lo, unnest(m.hi) AS hi, unnest(m.purpose) AS purpose, unnest(m.outcome) AS outcome
		FROM moved m`

// unnestedEvents are the events of the runs in moved, a row each: the
// run's id, the event's place n in its run and its columns (moveLogSQL).
const unnestedEvents = `SELECT m.id AS run, generate_series(1, cardinality(m.event_id)) AS n,
			unnest(m.event_id) AS id, unnest(m.type) AS type, unnest(m.event_pin) AS pin, unnest(m.version) AS version,
			unnest(m.event_actor) AS actor, unnest(m.event_at) AS at, unnest(m.data) AS data
		FROM moved m`

// scanRuns reads readLogSQL's rows: the runs' ids, their entries in order
// and the number of their events.
func scanRuns(rows pgx.Rows) (ids []int64, entries []*cancuoc.AuditEntry, events int64, err error) {
	defer rows.Close()
	for rows.Next() {
		var (
			r  logRun
			id int64
			ev int64
		)
		if err := rows.Scan(&id, &r.at, &r.actor, &r.action, &r.pin, &r.fields, &r.lo, &r.hi, &r.purpose, &r.outcome, &ev); err != nil {
			return nil, nil, 0, err
		}
		if entries, err = r.appendEntries(entries); err != nil {
			return nil, nil, 0, fmt.Errorf("log sequencer: queued run %d: %w", id, err)
		}
		ids = append(ids, id)
		events += ev
	}
	return ids, entries, events, rows.Err()
}

// logRun is a queued run's access-log columns (insertLogSQL).
type logRun struct {
	at                              []time.Time
	actor, action, purpose, outcome []string
	pin                             []*string
	fields                          []string
	lo, hi                          []int32
}

// appendEntries appends the run's entries to out, in order.
func (r *logRun) appendEntries(out []*cancuoc.AuditEntry) ([]*cancuoc.AuditEntry, error) {
	n := len(r.at)
	for _, l := range []int{len(r.actor), len(r.action), len(r.purpose), len(r.outcome), len(r.pin), len(r.lo), len(r.hi)} {
		if l != n {
			return nil, fmt.Errorf("columns of %d and %d entries", n, l)
		}
	}
	for i := range n {
		e := &cancuoc.AuditEntry{At: ts(r.at[i]), Actor: r.actor[i], Action: r.action[i], Purpose: r.purpose[i], Outcome: r.outcome[i]}
		if r.pin[i] != nil {
			e.PIN = cancuoc.PIN(*r.pin[i])
		}
		if lo, hi := int(r.lo[i]), int(r.hi[i]); hi >= 0 {
			// PostgreSQL's fields[lo:hi], 1-based, empty when lo > hi.
			if lo < 1 || hi > len(r.fields) {
				return nil, fmt.Errorf("fields [%d:%d] of %d", lo, hi, len(r.fields))
			}
			e.Fields = slices.Clip(r.fields[min(lo-1, hi):hi])
		}
		out = append(out, e)
	}
	return out, nil
}

// WaitSequenced returns once every access-log entry and event committed
// before the call has its place. Any node may call it: it waits for
// whichever node leads, waking its own sequencer in case that is this one.
func (s *Store) WaitSequenced(ctx context.Context) error {
	const op = "postgres.WaitSequenced"
	var last int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM log_pending`).Scan(&last); err != nil {
		return dbErr(op, err)
	}
	for last > 0 {
		end := s.seq.passEnd()
		s.seq.hasten()
		s.seq.poke()
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return cancuoc.WithOp(op, ctx.Err())
		case <-end:
		case <-t.C:
		}
		t.Stop()
		var left bool
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM log_pending WHERE id <= $1)`, last).Scan(&left)
		if err != nil {
			return dbErr(op, err)
		}
		if !left {
			return nil
		}
	}
	return nil
}

// OnSequenced registers f to be called after each batch that sequenced
// events on this node (cancuoc.LogSequencer).
func (s *Store) OnSequenced(f func()) {
	s.seq.mu.Lock()
	defer s.seq.mu.Unlock()
	s.seq.hooks = append(s.seq.hooks, f)
}

var _ cancuoc.LogSequencer = (*Store)(nil)

// IsSequencer reports whether this node leads the sequencing now (for
// readiness pages and tests of the failover).
func (s *Store) IsSequencer() bool { return s.seq.leader.Load() }

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// vacuumQueues vacuums the queue once the leader has moved vacuumAt runs
// through it since the last time. Every row of log_pending is deleted
// soon after its insert, so without a vacuum its dead rows pile up and
// every pass scans them: a deployment or test
// server with autovacuum off (or autovacuum behind on a busy node) slowed
// the sequencer by an order of magnitude. The queue is the sequencer's
// own, so it does not rely on the server's settings. SKIP_LOCKED: a queue
// autovacuum is already at is skipped, not waited for.
func (s *sequencer) vacuumQueues(ctx context.Context, c *pgx.Conn, moved int64) error {
	if s.vacuumAt <= 0 {
		return nil
	}
	if s.sinceVac += moved; s.sinceVac < s.vacuumAt {
		return nil
	}
	s.sinceVac = 0
	_, err := c.Exec(ctx, `VACUUM (SKIP_LOCKED) log_pending`)
	return err
}
