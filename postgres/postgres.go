// Package postgres is the PostgreSQL implementation of cancuoc.Store, for
// deployments where one machine is not enough: several stateless nodes share
// one primary. It writes its own SQL (see migrations/) and runs its own
// migrations at Open, guarded so that nodes starting together do not race.
// It needs PostgreSQL 14 or later (per-column compression).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/json"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a cancuoc.Store on a PostgreSQL database. Its Tx methods, called
// on the Store itself, each run in their own short transaction. It is safe
// for concurrent use.
type Store struct {
	conn
	pool *pgxpool.Pool
}

var _ cancuoc.Store = (*Store)(nil)

// Option configures Open.
type Option func(*options)

type options struct {
	schema        string
	seqPoll       time.Duration
	queueVacuum   int64
	seqGather     time.Duration
	seqGatherSet  bool
	logGather     time.Duration
	logGatherSet  bool
	waitSequenced bool
}

// WithSchema makes the store live in one schema (the search_path of every
// connection), which must exist. Tests use it to give each store a fresh,
// isolated schema; a deployment may use it to share a database.
func WithSchema(name string) Option {
	return func(o *options) { o.schema = name }
}

// WithSequencerPoll sets how often the leading sequencer looks for
// access-log entries and events committed on other nodes (10 ms by
// default); this node's own commits wake it at once. See sequencer.go.
func WithSequencerPoll(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.seqPoll = d
		}
	}
}

// WithSequencerGather sets the least time between the starts of two
// sequencer passes while commits keep coming (2 ms by default; none with
// WithWaitSequenced, whose writers wait for the pass): each pass then
// takes many commits' entries, so the database spends far less per entry.
// Entries' places and events' dispatch come up to d later; answers, which
// return at commit, do not. Zero or less: a pass after every commit.
func WithSequencerGather(d time.Duration) Option {
	return func(o *options) { o.seqGather, o.seqGatherSet = max(d, 0), true }
}

// WithLogGather sets the least time between the starts of two sequencer
// passes while only access-log entries wait (10 ms by default; the
// sequencer gather time if that is longer; none with WithWaitSequenced):
// a stream of read audits, such as match checks at thousands per second,
// then costs a pass per hundreds of entries instead of per few. Nothing but
// the entries' places in the chain waits for it: answers return at commit,
// an event committed meanwhile or a WaitSequenced call cuts the wait to the
// gather time, and the entries are in the citizen's view (ID 0) at once.
func WithLogGather(d time.Duration) Option {
	return func(o *options) { o.logGather, o.logGatherSet = max(d, 0), true }
}

// WithQueueVacuum sets how many runs (rows of its queue: a transaction's
// log writes between savepoint statements) the sequencer moves out of its
// queue between its own vacuums of it (20,000 by default, a few thousand
// birth procedures, as many as 100,000 rows of the per-entry queues were;
// 0 or less: never, leaving it to autovacuum).
func WithQueueVacuum(rows int64) Option {
	return func(o *options) { o.queueVacuum = rows }
}

// WithWaitSequenced makes every write that appended access-log entries or
// events return only once they have their places (the answer then waits
// for the sequencer's next batch, but still holds no global lock). Tests
// use it to read the log and the outbox right after writing; production
// answers at commit and lets the sequencer follow.
func WithWaitSequenced() Option {
	return func(o *options) { o.waitSequenced = true }
}

// Open connects to the database at url (a postgres:// URL or key=value DSN;
// pool settings such as pool_max_conns are read from it), brings the schema
// up to date, and returns the store. Unavailable if the database cannot be
// reached.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	const op = "postgres.Open"
	o := options{seqPoll: 10 * time.Millisecond, queueVacuum: 20_000}
	for _, f := range opts {
		f(&o)
	}
	if !o.seqGatherSet && !o.waitSequenced {
		o.seqGather = 2 * time.Millisecond
	}
	if !o.logGatherSet && !o.waitSequenced {
		o.logGather = 10 * time.Millisecond
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its parse errors, so the cause is safe to keep.
		return nil, cancuoc.WithOp(op, err)
	}
	// pgx defaults to max(4, cores) connections, too few for a server whose
	// requests mostly wait on the network; an explicit pool_max_conns wins.
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, 32)
	}
	if o.schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{o.schema}.Sanitize()
	} else if o.schema, err = currentSchema(ctx, cfg.ConnConfig); err != nil {
		return nil, dbErr(op, err)
	} else if o.schema == "public" {
		o.schema = "" // the keys a store in the default schema has always used
	}
	if err := migrate(ctx, cfg.ConnConfig, o.schema); err != nil {
		return nil, dbErr(op, err)
	}
	cfg.AfterConnect = chain(chain(cfg.AfterConnect, noteDefaultIsolation), jsonDecoding)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, dbErr(op, err)
	}
	s := &Store{pool: pool}
	s.conn = conn{q: pool, pool: pool, outboxKey: lockKey("cancuoc.outbox:" + o.schema)}
	s.seq = newSequencer(s, o.schema, o)
	s.seq.start()
	return s, nil
}

// currentSchema names the schema a connection made with cc writes to, for
// a URL that chooses it with search_path rather than WithSchema. The
// advisory-lock keys and the sequencer's channel are derived from it:
// without it, stores of different schemas in one database (a benchmark's
// registry beside a test's) would share one sequencer lock, and the
// store that did not hold it would never sequence its log.
func currentSchema(ctx context.Context, cc *pgx.ConnConfig) (string, error) {
	c, err := pgx.ConnectConfig(ctx, cc.Copy())
	if err != nil {
		return "", err
	}
	defer c.Close(ctx)
	var name string
	err = c.QueryRow(ctx, `SELECT coalesce(current_schema(), current_setting('search_path'))`).Scan(&name)
	return name, err
}

// migrate applies the embedded migrations through goose, which needs a
// database/sql handle; it is opened for this alone and closed after.
func migrate(ctx context.Context, cc *pgx.ConnConfig, schema string) error {
	return migrateTo(ctx, cc, schema, 0)
}

// migrateTo is migrate up to version (all when 0): tests of an upgrade
// start from an earlier release's schema.
func migrateTo(ctx context.Context, cc *pgx.ConnConfig, schema string, version int64) error {
	db := stdlib.OpenDB(*cc.Copy())
	defer db.Close()
	// A session advisory lock keeps two nodes from migrating at once. Its key
	// is derived from the schema so that stores in different schemas (tests
	// running in parallel) do not wait on each other; goose polls a held lock
	// every period, so a shared key would cost each waiter whole seconds.
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockKey("cancuoc.migrate:"+schema)),
		lock.WithLockTimeout(1, 300),
	)
	if err != nil {
		return err
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		// Numbers are handed to capabilities ahead of time: a database
		// migrated before a lower number landed must still take it.
		goose.WithAllowOutofOrder(true),
	)
	if err != nil {
		return err
	}
	if version > 0 {
		_, err = p.UpTo(ctx, version)
	} else {
		_, err = p.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// lockKey turns a name into an advisory lock key, so that keys are readable
// in code and unlikely to collide with other users of advisory locks.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// Pool returns the connection pool, for benchmarks and operations tooling
// (bulk maintenance, statistics). Application code goes through the Store
// interfaces so both backends stay interchangeable.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks the database answers (for readiness). Unavailable if not.
func (s *Store) Ping(ctx context.Context) error {
	return dbErr("postgres.Ping", s.pool.Ping(ctx))
}

// Close stops the sequencer (another node takes over) and releases the
// pool; it waits for connections in use to be returned.
func (s *Store) Close() error {
	s.seq.stop()
	s.pool.Close()
	return nil
}

// InTx runs fn in one READ COMMITTED transaction: committed if fn returns
// nil, rolled back otherwise (fn's error is returned as is). Optimistic
// versions, not isolation, protect records, so READ COMMITTED suffices and
// never fails a transaction for a serialization conflict.
func (s *Store) InTx(ctx context.Context, fn func(cancuoc.Tx) error) error {
	return s.conn.inTx(ctx, fn)
}

// inTx is InTx on the pool's conn c. The transaction runs on a pooled
// connection through a pipe (pipetx.go): its BEGIN goes with its first
// statement, and its held log writes with its COMMIT.
func (c *conn) inTx(ctx context.Context, fn func(cancuoc.Tx) error) (err error) {
	const op = "postgres.InTx"
	pc, err := c.pool.Acquire(ctx)
	if err != nil {
		return dbErr(op, err)
	}
	// A connection left inside the transaction (a failed rollback, a
	// cancelled query) is closed by the pool rather than handed out again.
	defer pc.Release()
	p := &pipe{q: pc, cancel: pc.Conn().PgConn().CancelRequest, implicit: readCommittedConn(pc.Conn())}
	p.hold(beginSQL)
	// Roll back even when ctx is already cancelled, so the connection goes
	// back to the pool clean rather than being closed. A connection the
	// server says is outside a transaction (its BEGIN never sent) has
	// nothing to roll back.
	rollback := func() {
		p.drop(0)
		if pc.Conn().PgConn().TxStatus() != 'I' {
			_, _ = pc.Exec(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			rollback()
			panic(r)
		}
	}()
	tc := &conn{q: p, pipe: p, outboxKey: c.outboxKey, seq: c.seq}
	if err := fn(tc); err != nil {
		rollback()
		return err
	}
	if p.sent == 0 && p.held() == 1 {
		return nil // nothing but the BEGIN: nothing to send
	}
	if p.err != nil {
		// fn dropped the error of a held write (later): nothing commits.
		rollback()
		return p.err
	}
	tag, err := p.commit(ctx)
	if err != nil {
		rollback()
		return dbErr(op, err)
	}
	if tag.String() == "ROLLBACK" {
		// fn swallowed a statement error, so PostgreSQL aborted the
		// transaction and nothing was written.
		return cancuoc.WithOp(op, errors.New("transaction aborted by an earlier failed statement"))
	}
	// Back to the pool before waiting for the sequencer (WithWaitSequenced).
	pc.Release()
	if tc.appendedRows {
		return cancuoc.WithOp(op, c.seq.committed(ctx, tc.appendedEvents))
	}
	return nil
}

// querier is what both the pool and a transaction can do, so one set of
// methods serves the Store and its transactions.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error)
}

// conn implements cancuoc.Tx over a querier. pool is set when q is the pool
// itself: operations of several statements then open their own transaction.
type conn struct {
	q         querier
	pool      *pgxpool.Pool
	outboxKey int64
	seq       *sequencer
	// appendedRows is set in a transaction's conn when it wrote to the
	// log queues, so that the commit wakes the sequencer.
	appendedRows bool
	// appendedEvents: some of them were events, whose dispatch should not
	// wait the access log's longer gather (sequencer.pause).
	appendedEvents bool
	// pipe is a transaction's querier (q), which holds the statements
	// nobody waits for (pipetx.go); nil outside transactions.
	pipe *pipe
	// depth is how many savepoints are open, which names the next one.
	depth int
	// ahead holds rows a transaction read before it asked for them
	// (readahead.go); empty outside transactions.
	ahead readAhead
}

var _ cancuoc.Tx = (*conn)(nil)

// atomic runs fn in a transaction: the current one, or a new one when c
// works on the pool.
func (c *conn) atomic(ctx context.Context, fn func(q querier) error) error {
	if c.pool == nil {
		return fn(c.q)
	}
	return pgx.BeginTxFunc(ctx, c.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		return fn(tx)
	})
}

// Savepoint runs fn in a SAVEPOINT of the transaction; an error rolls back
// only fn's writes and leaves the transaction usable (cancuoc.Savepointer).
// The SAVEPOINT goes with fn's first statement, and fn's log writes with
// the RELEASE (pipetx.go). Each depth has its own name, so that rolling
// back to a savepoint that never began fails rather than rolling back an
// outer one.
func (c *conn) Savepoint(ctx context.Context, fn func(cancuoc.Tx) error) error {
	const op = "postgres.Savepoint"
	if c.pool != nil {
		return c.inTx(ctx, func(tx cancuoc.Tx) error { return tx.Savepoint(ctx, fn) })
	}
	c.depth++
	defer func() { c.depth-- }()
	name := "cancuoc_item" + strconv.Itoa(c.depth)
	// Held writes with checks of their own are judged before the savepoint
	// starts: a refusal found inside it must not be forgiven by its rollback.
	// So are those only the server may refuse (raisesHeld: a taken key, a
	// condition in their SQL), lest their failure be taken for the item's.
	if c.pipe.judged() || c.pipe.raisesHeld() {
		if err := c.pipe.flush(ctx); err != nil {
			return err
		}
	}
	mark, sent := c.pipe.held(), c.pipe.sent
	c.pipe.hold(`SAVEPOINT ` + name)
	c.forgetAhead()
	err := fn(c)
	c.forgetAhead()
	if err == nil {
		if _, err = c.pipe.execSealed(ctx, `RELEASE SAVEPOINT `+name); err == nil {
			return nil
		}
		err = dbErr(op, err)
	}
	if c.pipe.sent == sent {
		// Nothing since the SAVEPOINT reached the database: forget it and
		// what fn held.
		c.pipe.drop(mark)
		return err
	}
	// Everything held now was held after the SAVEPOINT was sent: fn's.
	// Rolling back to the savepoint also leaves an aborted statement's
	// error state, so the transaction goes on.
	// The rollback undoes a held write that failed in it, too. It goes
	// alone, by the simple protocol (no arguments): in a transaction a
	// failed statement aborted, the server refuses to prepare anything but
	// a transaction's exit, and a batch prepares all its statements before
	// running the first. The RELEASE goes with the next statement.
	c.pipe.drop(0)
	c.pipe.err = nil
	if _, rerr := c.pipe.Exec(context.WithoutCancel(ctx), `ROLLBACK TO SAVEPOINT `+name); rerr != nil {
		return dbErr(op, rerr)
	}
	c.pipe.hold(`RELEASE SAVEPOINT ` + name)
	return err
}

// Savepoint on the Store runs fn in its own transaction, so that its log
// entries wake the sequencer after commit as InTx's do.
func (s *Store) Savepoint(ctx context.Context, fn func(cancuoc.Tx) error) error {
	return s.InTx(ctx, func(tx cancuoc.Tx) error { return tx.Savepoint(ctx, fn) })
}

// noteDefaultIsolation notes on a new connection whether it starts
// transactions in READ COMMITTED, the isolation of inTx's BEGIN, so that a
// transaction sent whole on it may leave its BEGIN out (pipe.finish). It
// is read per connection, when the connection starts, because that is
// when the server applies a database's or role's default (ALTER DATABASE
// … SET default_transaction_isolation takes effect for connections made
// after it); no statement of the store changes it on a connection.
func noteDefaultIsolation(ctx context.Context, c *pgx.Conn) error {
	var rc bool
	err := c.QueryRow(ctx, `SELECT current_setting('default_transaction_isolation') = 'read committed'`).Scan(&rc)
	c.PgConn().CustomData()[readCommittedKey] = rc
	return err
}

const readCommittedKey = "cancuoc.readCommitted"

// jsonDecoding has the connection decode json and jsonb columns scanned
// into Go values with internal/json's Unmarshal (the v2 decoder), as the
// store decodes the documents it reads itself.
func jsonDecoding(_ context.Context, c *pgx.Conn) error {
	m := c.TypeMap()
	m.RegisterType(&pgtype.Type{Name: "json", OID: pgtype.JSONOID, Codec: &pgtype.JSONCodec{Marshal: json.Marshal, Unmarshal: json.Unmarshal}})
	m.RegisterType(&pgtype.Type{Name: "jsonb", OID: pgtype.JSONBOID, Codec: &pgtype.JSONBCodec{Marshal: json.Marshal, Unmarshal: json.Unmarshal}})
	return nil
}

// readCommittedConn reports what noteDefaultIsolation noted of c (false,
// so BEGIN is sent, for a connection it has not seen).
func readCommittedConn(c *pgx.Conn) bool {
	rc, _ := c.PgConn().CustomData()[readCommittedKey].(bool)
	return rc
}

// chain runs a pool's AfterConnect hooks in turn (first may be nil).
func chain(first, then func(context.Context, *pgx.Conn) error) func(context.Context, *pgx.Conn) error {
	if first == nil {
		return then
	}
	return func(ctx context.Context, c *pgx.Conn) error {
		if err := first(ctx, c); err != nil {
			return err
		}
		return then(ctx, c)
	}
}
