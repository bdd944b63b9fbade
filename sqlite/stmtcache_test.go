package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// openCached opens a file database through the caching connector, with one
// connection so that every statement meets the same cache.
func openCached(t *testing.T) (*sql.DB, *stmtConn) {
	t.Helper()
	w, _, _, err := dsns(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := newCachingConnector(w)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	var sc *stmtConn
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Raw(func(dc any) error { sc = dc.(*stmtConn); return nil }); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	return db, sc
}

func TestStmtCacheReusesStatements(t *testing.T) {
	db, sc := openCached(t)
	const ins = `INSERT INTO t (k, v) VALUES (?, ?)`
	for i := range 50 {
		if _, err := db.Exec(ins, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	first := sc.stmts[ins]
	if first == nil {
		t.Fatal("the insert was not cached")
	}
	// Inside a transaction the same connection's statement serves.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ins, 100, "x"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if sc.stmts[ins] != first {
		t.Fatal("the transaction prepared the insert again")
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != 50 {
		t.Fatalf("count = %d, %v; want 50 (the rolled back row gone)", n, err)
	}
	// Bound parameters do not leak into the next use.
	var v string
	if err := db.QueryRow(`SELECT v FROM t WHERE k = ?`, 7).Scan(&v); err != nil || v != "v7" {
		t.Fatalf("v = %q, %v", v, err)
	}
	if err := db.QueryRow(`SELECT v FROM t WHERE k = ?`, 8).Scan(&v); err != nil || v != "v8" {
		t.Fatalf("v = %q, %v", v, err)
	}
}

// A query whose rows are open is not reset by a nested use of the same text.
func TestStmtCacheNestedSameQuery(t *testing.T) {
	db, _ := openCached(t)
	for i := range 5 {
		if _, err := db.Exec(`INSERT INTO t (k, v) VALUES (?, ?)`, i, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT k FROM t WHERE k >= ? ORDER BY k`
	outer, err := tx.Query(q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for outer.Next() {
		var k int
		if err := outer.Scan(&k); err != nil {
			t.Fatal(err)
		}
		got = append(got, k)
		inner, err := tx.Query(q, 4)
		if err != nil {
			t.Fatal(err)
		}
		var m int
		for inner.Next() {
			m++
		}
		if err := inner.Close(); err != nil || m != 1 {
			t.Fatalf("inner: %d rows, %v", m, err)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Fatalf("outer rows %v: the nested query disturbed them", got)
	}
}

// Errors are the driver's, so the store's constraint checks still see them,
// and a failed statement is usable again.
func TestStmtCacheErrors(t *testing.T) {
	db, _ := openCached(t)
	const ins = `INSERT INTO t (k, v) VALUES (?, ?)`
	if _, err := db.Exec(ins, 1, "a"); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec(ins, 1, "b")
	if !isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		t.Fatalf("duplicate key: %v, want the primary key constraint", err)
	}
	if _, err := db.Exec(ins, 2, "b"); err != nil {
		t.Fatalf("after a failure: %v", err)
	}
	_, err = db.Exec(`SELECT nope FROM t`)
	var se *msqlite.Error
	if !errors.As(err, &se) {
		t.Fatalf("bad query: %v, want the driver's error", err)
	}
}

// Past the bound, texts run uncached; the cache does not grow.
func TestStmtCacheBound(t *testing.T) {
	db, sc := openCached(t)
	for i := range maxCachedStmts + 20 {
		var n int
		if err := db.QueryRow(fmt.Sprintf(`SELECT %d`, i)).Scan(&n); err != nil || n != i {
			t.Fatalf("%d: %d %v", i, n, err)
		}
	}
	if len(sc.stmts) != maxCachedStmts {
		t.Fatalf("%d cached statements, want the bound %d", len(sc.stmts), maxCachedStmts)
	}
}

// Concurrent readers and the writer, each connection with its own cache
// (run with -race).
func TestStmtCacheConcurrent(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.write.Exec(`CREATE TABLE c (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				k := g*1000 + i
				if err := s.inTx(ctx, func(o *ops) error {
					_, err := o.w.ExecContext(ctx, `INSERT INTO c (k, v) VALUES (?, ?)`, k, i)
					return err
				}); err != nil {
					errs <- err
					return
				}
				var v int
				if err := s.read.QueryRowContext(ctx, `SELECT v FROM c WHERE k = ?`, k).Scan(&v); err != nil || v != i {
					errs <- fmt.Errorf("read %d: %d %v", k, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
