package sqlite

import (
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
)

// TestMigrateOutOfOrder: a database migrated before a lower-numbered
// migration landed (here 00014, taken back after everything was applied)
// takes it at the next start instead of refusing to open.
func TestMigrateOutOfOrder(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	fsys, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ApplyVersion(ctx, 14, false); err != nil {
		t.Fatalf("taking 00014 back: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'quality_duplicates'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("00014's table still there: %d, %v", n, err)
	}
	if err := migrate(ctx, db); err != nil {
		t.Fatalf("migrating with 00014 missing below 00015: %v", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'quality_duplicates'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("00014 not applied: %d, %v", n, err)
	}
}
