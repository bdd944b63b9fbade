package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// MigrateTo brings the schema of the database at url up to version, for
// tests of an upgrade (package postgres_test).
func MigrateTo(ctx context.Context, url, schema string, version int64) error {
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	cc.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	return migrateTo(ctx, cc, schema, version)
}
