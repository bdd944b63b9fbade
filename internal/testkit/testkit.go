// Package testkit holds what the capabilities' tests share: running one test
// on both stores, and a clock the test sets. It is imported by tests only.
package testkit

import (
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/sqlite"
)

// Stores runs fn on SQLite in memory and on PostgreSQL in schema (which
// pgtest skips loudly, or fails under CANCUOC_REQUIRE_POSTGRES, when no
// test server is set): every rule is tested on both databases.
func Stores(t *testing.T, schema string, fn func(t *testing.T, st cancuoc.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t, ":memory:")) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.Open(t, schema)) })
}

// SQLite opens the SQLite store at path (":memory:" or a file) and closes it
// when the test ends.
func SQLite(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Clock is a clock the test moves; safe for the goroutines of the code under
// test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Add moves the clock on by d and returns the new time.
func (c *Clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}
