package postgres_test

import (
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
)

// TestWholeTransaction: a transaction sent whole, without BEGIN and COMMIT
// (pipe.finish), is as atomic as one with them — a write that fails takes
// the ones before it, and a failure the server finds only at the commit
// (a deferred constraint) is reported and commits nothing — and the
// connection goes back to the pool outside any transaction.
func TestWholeTransaction(t *testing.T) {
	s := open(t)
	t.Parallel()
	ctx := t.Context()
	if _, err := s.Pool().Exec(ctx, `CREATE TABLE whole_tx (k int PRIMARY KEY,
		d int UNIQUE DEFERRABLE INITIALLY DEFERRED)`); err != nil {
		t.Fatal(err)
	}
	count := func(t *testing.T) int {
		t.Helper()
		var n int
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM whole_tx`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// A unique_violation is a Conflict (dbErr).
	taken := func(err error) bool { return cancuoc.KindOf(err) == cancuoc.Conflict }
	hold := func(sqls ...string) func(cancuoc.Tx) error {
		return func(tx cancuoc.Tx) error {
			for _, q := range sqls {
				if err := postgres.HoldRaising(tx, q); err != nil {
					return err
				}
			}
			return nil
		}
	}

	if err := s.InTx(ctx, hold(`INSERT INTO whole_tx VALUES (1, 1)`, `INSERT INTO whole_tx VALUES (2, 2)`)); err != nil {
		t.Fatal(err)
	}
	if n := count(t); n != 2 {
		t.Fatalf("%d rows after a committed transaction of two, want 2", n)
	}
	// The second write fails at once (a taken key): the first is undone.
	err := s.InTx(ctx, hold(`INSERT INTO whole_tx VALUES (3, 3)`, `INSERT INTO whole_tx VALUES (1, 4)`))
	if !taken(err) {
		t.Fatalf("taken key: %v, want unique_violation", err)
	}
	// Both writes succeed as statements; the deferred constraint fails
	// at the commit, which the round trip's Sync performs.
	err = s.InTx(ctx, hold(`INSERT INTO whole_tx VALUES (5, 5)`, `INSERT INTO whole_tx VALUES (6, 5)`))
	if !taken(err) {
		t.Fatalf("deferred constraint: %v, want unique_violation at the commit", err)
	}
	if n := count(t); n != 2 {
		t.Errorf("%d rows after two failed transactions, want 2", n)
	}
	// Every pooled connection is usable: none was left in a transaction.
	for range 40 {
		if err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			_, err := tx.Token(ctx, "none")
			if cancuoc.KindOf(err) == cancuoc.NotFound {
				return nil
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWholeTransactionIsolation: a transaction sent whole runs in READ
// COMMITTED, as InTx promises, also on connections whose default is
// another level (a database's or role's default, here the connection's
// own): those keep their BEGIN ISOLATION LEVEL READ COMMITTED.
func TestWholeTransactionIsolation(t *testing.T) {
	base := pgtest.URL(t)
	t.Parallel()
	ctx := t.Context()
	for _, level := range []string{"read committed", "repeatable read", "serializable"} {
		schema := pgtest.Schema(t, "whole_iso")
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		s, err := postgres.Open(ctx, base+sep+"default_transaction_isolation="+strings.ReplaceAll(level, " ", "%20"), postgres.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Pool().Exec(ctx, `CREATE TABLE iso (level text)`); err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			return postgres.HoldRaising(tx, `INSERT INTO iso VALUES (current_setting('transaction_isolation'))`)
		}); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := s.Pool().QueryRow(ctx, `SELECT level FROM iso`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got != "read committed" {
			t.Errorf("default %s: the transaction ran in %s, want read committed", level, got)
		}
	}
}
