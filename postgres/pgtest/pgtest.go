// Package pgtest gives tests a PostgreSQL store of their own: a fresh schema
// on the server named by CANCUOC_TEST_POSTGRES, dropped when the test ends,
// so tests are isolated and may run in parallel on one database.
package pgtest

import (
	"context"
	crand "crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc/postgres"
)

// Env names the variable holding the test server's URL, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const Env = "CANCUOC_TEST_POSTGRES"

// EnvRequire, when set, turns a missing server into a failure: CI sets it
// so that the PostgreSQL half of the suite can never be skipped there.
const EnvRequire = "CANCUOC_REQUIRE_POSTGRES"

// URL returns the test server's URL, or skips the test loudly: a silent
// skip would let a run pass without ever testing this backend.
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(Env)
	if url == "" {
		msg := "\n*** PostgreSQL TESTS DID NOT RUN: " + Env + " is not set. ***\n" +
			"*** Run them with e.g. " + Env + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go test ./... ***"
		if os.Getenv(EnvRequire) != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return url
}

// Schema creates an empty schema named prefix_<random> on the test server,
// dropped (with everything in it) when the test ends, and returns its name.
func Schema(tb testing.TB, prefix string) string {
	tb.Helper()
	url := URL(tb)
	ctx := context.Background()
	schema := prefix + "_" + strings.ToLower(crand.Text()[:10])
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect to %s: %v", Env, err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		conn.Close(ctx)
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		conn.Close(ctx)
	})
	return schema
}

// SchemaURL is the test server's URL with a fresh Schema as its
// search_path, for a server the test starts as a process of its own.
func SchemaURL(tb testing.TB, prefix string) string {
	tb.Helper()
	url, schema := URL(tb), Schema(tb, prefix)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

// Open returns a migrated store in a fresh schema named prefix_<random>.
// Its writes wait until their access-log entries and events are sequenced
// (postgres.WithWaitSequenced), so tests may read the log and the outbox
// right after writing; OpenAsync gives the production behaviour.
func Open(tb testing.TB, prefix string) *postgres.Store {
	tb.Helper()
	return OpenAsync(tb, prefix, postgres.WithWaitSequenced())
}

// OpenAsync is Open with the given options only: writes answer at commit
// and the sequencer follows, as in production.
func OpenAsync(tb testing.TB, prefix string, opts ...postgres.Option) *postgres.Store {
	tb.Helper()
	url, schema := URL(tb), Schema(tb, prefix)
	s, err := postgres.Open(context.Background(), url, append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	if err != nil {
		tb.Fatalf("postgres.Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() }) // before the drop: cleanups run last-in first-out
	return s
}
