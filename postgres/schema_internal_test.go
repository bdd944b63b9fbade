package postgres

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testSchema creates a schema for an internal test (named prefix and the
// time) and returns the database URL, the schema and a plain connection
// to the database; the schema is dropped when the test ends. It skips the
// test when no database is configured, or fails it if one is required.
func testSchema(t *testing.T, prefix string) (url, schema string, raw *pgx.Conn) {
	t.Helper()
	url = os.Getenv("CANCUOC_TEST_POSTGRES")
	if url == "" {
		if os.Getenv("CANCUOC_REQUIRE_POSTGRES") != "" {
			t.Fatal("CANCUOC_TEST_POSTGRES is not set")
		}
		t.Skip("CANCUOC_TEST_POSTGRES is not set")
	}
	ctx := t.Context()
	schema = prefix + "_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	raw, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = raw.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		raw.Close(context.Background())
	})
	return url, schema, raw
}
