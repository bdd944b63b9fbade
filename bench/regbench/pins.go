package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the SQLite driver, to read PINs from a registry file
)

// runPins prints n PINs sampled from a registry (PostgreSQL URL with an
// optional schema, or an SQLite file), for the lookup load.
func runPins(ctx context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "postgres:// URL or SQLite file")
	schema := fs.String("schema", "", "PostgreSQL schema")
	n := fs.Int("n", 20000, "how many PINs")
	_ = fs.Parse(args)
	var rows interface {
		Next() bool
		Scan(...any) error
		Err() error
	}
	if strings.HasPrefix(*db, "postgres") {
		conn, err := pgx.Connect(ctx, *db)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		table := "citizens"
		if *schema != "" {
			table = pgx.Identifier{*schema, "citizens"}.Sanitize()
		}
		r2, err := conn.Query(ctx, "SELECT pin FROM "+table+" ORDER BY random() LIMIT $1", *n)
		if err != nil {
			return err
		}
		defer r2.Close()
		rows = r2
	} else {
		sdb, err := sql.Open("sqlite", "file:"+*db+"?mode=ro")
		if err != nil {
			return err
		}
		defer sdb.Close()
		r, err := sdb.QueryContext(ctx, "SELECT pin FROM citizens ORDER BY random() LIMIT ?", *n)
		if err != nil {
			return err
		}
		defer r.Close()
		rows = r
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return err
		}
		fmt.Println(strings.TrimSpace(p))
	}
	return rows.Err()
}
