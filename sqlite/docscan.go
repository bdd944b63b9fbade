package sqlite

import (
	"context"
	"database/sql"

	"github.com/cancuoc/cancuoc"
)

// ScanCitizenDocs reads every citizen's document inside one read
// transaction on a reader connection: WAL mode gives it one snapshot,
// taken by its first statement, which reads the highest event Seq (events
// get their Seq when written, in the writer's single commit order).
func (s *Store) ScanCitizenDocs(ctx context.Context, batch int, fn func([]cancuoc.CitizenDoc) error) (int64, error) {
	const op = "sqlite.ScanCitizenDocs"
	if batch <= 0 {
		batch = 10000
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, dbErr(op, err)
	}
	defer func() { _ = tx.Rollback() }()
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&seq); err != nil {
		return 0, dbErr(op, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT pin, version, home_province, home_commune, doc FROM citizens`)
	if err != nil {
		return 0, dbErr(op, err)
	}
	defer rows.Close()
	buf := make([]cancuoc.CitizenDoc, batch)
	n := 0
	for rows.Next() {
		d := &buf[n]
		var pin string
		if err := rows.Scan(&pin, &d.Version, &d.Home.Province, &d.Home.Commune, &d.JSON); err != nil {
			return 0, dbErr(op, err)
		}
		d.PIN = cancuoc.PIN(pin)
		if n++; n == batch {
			if err := fn(buf[:n]); err != nil {
				return 0, err
			}
			n = 0
		}
	}
	if err := rows.Err(); err != nil {
		return 0, dbErr(op, err)
	}
	if n > 0 {
		if err := fn(buf[:n]); err != nil {
			return 0, err
		}
	}
	return seq, nil
}
