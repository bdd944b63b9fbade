// Package sqlite is the cancuoc.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go, no cgo): the default backend, for a laptop
// or a single machine.
//
// SQLite allows one writer at a time. Rather than let concurrent writers
// collide and fail with SQLITE_BUSY (or deadlock upgrading read locks), every
// write goes through a pool of exactly one connection and every transaction
// starts with BEGIN IMMEDIATE, so writers queue in Go and take the write lock
// up front. Reads outside transactions use a separate pool; with WAL they
// never wait for the writer.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"runtime"

	"github.com/pressly/goose/v3"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cancuoc/cancuoc"
)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeoutMS is how long a connection waits for a lock held by another
// process (or, in memory, another connection) before giving up with
// SQLITE_BUSY, which the store reports as Unavailable.
const busyTimeoutMS = 10000

// The writer's page cache, in pages (of 4 KiB; dsns says why two sizes).
const (
	writerCachePages = 2048
	spillPages       = 16384
)

// Store is a cancuoc.Store on SQLite. Its Tx methods, called on the Store,
// each run as their own short transaction; use InTx to group them.
type Store struct {
	ops
	read  *sql.DB // many connections, query_only
	write *sql.DB // exactly one connection: the single writer
	group txGroup // write transactions waiting for the writer
	ckpt  *checkpointer
}

var _ cancuoc.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and brings its schema
// up to date. The path ":memory:" gives a private in-memory database that
// lives until Close; it is shared by the store's connections, so it behaves
// like a file apart from durability.
func Open(ctx context.Context, path string) (*Store, error) {
	const op = "sqlite.Open"
	if path == "" {
		return nil, cancuoc.InvalidField(op, "path", "path_required",
			"Cần đường dẫn tệp cơ sở dữ liệu.", "A database file path is required.")
	}
	writeDSN, readDSN, ckptDSN, err := dsns(path)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	wc, err := newCachingConnector(writeDSN)
	if err != nil {
		return nil, dbErr(op, err)
	}
	w := sql.OpenDB(wc)
	// One connection that never expires: the single writer, and for an
	// in-memory database the handle that keeps it alive.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	rc, err := newCachingConnector(readDSN)
	if err != nil {
		w.Close()
		return nil, dbErr(op, err)
	}
	r := sql.OpenDB(rc)
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	s := &Store{read: r, write: w}
	s.ops = ops{r: r, w: w, atomic: s.inTx, docs: newDocCaches()}
	// The writer opens first so that it creates the file (or the in-memory
	// database) and switches it to WAL before any reader looks at it.
	if err := w.PingContext(ctx); err != nil {
		s.Close()
		return nil, dbErr(op, err)
	}
	if err := migrate(ctx, w); err != nil {
		s.Close()
		return nil, cancuoc.WithOp(op, err)
	}
	if path != ":memory:" {
		if s.ckpt, err = startCheckpointer(ckptDSN); err != nil {
			s.Close()
			return nil, dbErr(op, err)
		}
	}
	return s, nil
}

// dsns builds the writer's, the readers' and the checkpointer's connection
// strings. Pragmas go in the DSN so that every connection the pools open
// gets them.
func dsns(path string) (write, read, checkpoint string, err error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	var name string
	if path == ":memory:" {
		// memdb is SQLite's in-memory VFS; a name starting with "/" is
		// shared by all connections of the process, with real file locks,
		// unlike "mode=memory&cache=shared" whose table locks fail at once
		// with SQLITE_LOCKED instead of waiting. It has no WAL.
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", "", "", err
		}
		name = "file:/cancuoc-" + hex.EncodeToString(b[:])
		q.Set("vfs", "memdb")
	} else {
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", "", "", err
		}
		// A file: URI, escaped, so that any character may appear in the path.
		name = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), OmitHost: true}).String()
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	wq := cloneValues(q)
	wq.Set("_txlock", "immediate")
	// A bulk transaction stays in memory until commit instead of spilling
	// pages to the WAL halfway through: up to spillPages dirty pages
	// (64 MiB) before it spills. The cache of clean pages kept between
	// transactions is smaller (writerCachePages): SQLite scans the whole
	// page cache's hash at many commits (pcache1Truncate: a B-tree
	// rebalance briefly gives a page the number of the lock-byte page, far
	// past the end of the file, and the commit then drops the pages past
	// the end by a full scan), which with a 64 MiB cache took about a
	// sixth of a commit's time; the writer's hot pages (the indexes' upper
	// levels, the logs' and queues' tails) fit in the smaller one.
	wq.Add("_pragma", fmt.Sprintf("cache_size(%d)", writerCachePages))
	wq.Add("_pragma", fmt.Sprintf("cache_spill(%d)", spillPages))
	// Statement journals of multi-row INSERTs (and sorts) stay in memory.
	wq.Add("_pragma", "temp_store(MEMORY)")
	if path != ":memory:" {
		// The checkpointer's connection copies the WAL back (checkpoint.go).
		wq.Add("_pragma", "wal_autocheckpoint(0)")
	}
	rq := cloneValues(q)
	rq.Set("_query_only", "1")
	return name + "?" + wq.Encode(), name + "?" + rq.Encode(), name + "?" + q.Encode(), nil
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// migrate applies the embedded migrations with goose.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	// Migration numbers are handed to capabilities ahead of time, so a
	// database migrated before a lower number landed (00014 after 00015)
	// must still take it: out-of-order migrations are applied, not refused.
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// Close releases both pools. An in-memory database is gone afterwards.
func (s *Store) Close() error {
	// Readers first: for an in-memory database the writer's connection is
	// the last handle, and closing it frees the memory.
	return errors.Join(s.ckpt.close(), s.read.Close(), s.write.Close())
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return dbErr("sqlite.Ping", err)
	}
	return nil
}

// InTx runs fn in one IMMEDIATE transaction on the writer connection:
// committed if fn returns nil, rolled back if it returns an error (returned
// as is) or panics (the panic continues). fn must use only the Tx it is
// given: the Store's own write methods would wait for the writer that fn
// holds.
func (s *Store) InTx(ctx context.Context, fn func(cancuoc.Tx) error) error {
	return s.inTx(ctx, func(o *ops) error { return fn(o) })
}

// inTx runs fn in a write transaction: alone when no other is waiting,
// otherwise grouped with the transactions queued meanwhile (group commit).
func (s *Store) inTx(ctx context.Context, fn func(*ops) error) error {
	c := &txCall{ctx: ctx, fn: fn, done: make(chan txResult, 1)}
	g := &s.group
	g.mu.Lock()
	g.pending = append(g.pending, c)
	lead := !g.leading
	if lead {
		g.leading = true
	}
	g.mu.Unlock()
	if lead {
		s.leadGroup()
	}
	r := <-c.done
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

// soloTx runs fn alone in one IMMEDIATE transaction on the writer.
func (s *Store) soloTx(ctx context.Context, fn func(*ops) error) error {
	const op = "sqlite.InTx"
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(op, err)
	}
	done := false
	defer func() {
		if !done {
			// Also on panic: release the writer, then let the panic go on.
			_ = tx.Rollback()
		}
	}()
	o := &ops{r: tx, w: tx, log: &txLog{}, memo: &citizenMemo{}, docs: s.docs}
	o.atomic = func(_ context.Context, fn func(*ops) error) error { return fn(o) }
	if err := fn(o); err != nil {
		return err
	}
	if err := o.flushLog(ctx); err != nil {
		return dbErr(op, err)
	}
	done = true
	if err := tx.Commit(); err != nil {
		return dbErr(op, err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ops implements cancuoc.Tx once for both uses: on the Store (r is the read
// pool, w the writer, atomic a new transaction) and inside a transaction
// (r and w are the transaction, atomic runs in it).
type ops struct {
	r, w   querier
	atomic func(ctx context.Context, fn func(*ops) error) error
	log    *txLog       // inside a transaction: its audit entries and events, held until the commit
	memo   *citizenMemo // inside a transaction: the records it has read
	docs   *docCaches   // the store's documents decoded, by their JSON
}

var _ cancuoc.Tx = (*ops)(nil)

// dbErr turns a driver error into a *cancuoc.Error of op: Unavailable when
// the database is locked by someone else for too long, Internal otherwise.
// Messages hold no personal data: SQLite's name tables and columns, never
// values.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &cancuoc.Error{Kind: cancuoc.Unavailable, Op: op, Code: "db_busy",
				MessageVI: "Cơ sở dữ liệu đang bận, vui lòng thử lại.",
				MessageEN: "The database is busy; please retry.", Err: err}
		}
	}
	return cancuoc.WithOp(op, err)
}

// isConstraint reports a violated constraint of the given extended code
// (sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, …).
func isConstraint(err error, code int) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

func conflict(op, code, vi, en string) error {
	return cancuoc.E(cancuoc.Conflict, op, code, vi, en)
}

func notFound(op, vi, en string) error {
	return cancuoc.E(cancuoc.NotFound, op, "not_found", vi, en)
}

// Savepoint runs fn in a SAVEPOINT of the transaction; an error rolls back
// only fn's writes and leaves the transaction usable (cancuoc.Savepointer).
// On the Store it runs in its own transaction.
func (o *ops) Savepoint(ctx context.Context, fn func(cancuoc.Tx) error) error {
	const op = "sqlite.Savepoint"
	return o.atomic(ctx, func(t *ops) error {
		if _, err := t.w.ExecContext(ctx, `SAVEPOINT cancuoc_item`); err != nil {
			return dbErr(op, err)
		}
		mark := t.log.mark()
		if err := fn(t); err != nil {
			if _, rerr := t.w.ExecContext(context.WithoutCancel(ctx), `ROLLBACK TO cancuoc_item`); rerr != nil {
				t.log.fail()
				return dbErr(op, rerr)
			}
			t.log.restore(mark)
			t.memo.reset()
			if _, rerr := t.w.ExecContext(context.WithoutCancel(ctx), `RELEASE cancuoc_item`); rerr != nil {
				return dbErr(op, rerr)
			}
			return err
		}
		if _, err := t.w.ExecContext(ctx, `RELEASE cancuoc_item`); err != nil {
			return dbErr(op, err)
		}
		return nil
	})
}
