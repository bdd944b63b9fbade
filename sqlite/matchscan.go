package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/cancuoc/cancuoc"
)

// ScanMatchRecords reads every citizen's match columns inside one read
// transaction on a reader connection: WAL mode gives it one snapshot,
// taken by its first statement (which reads the highest event's Seq:
// SQLite's one writer gives events their Seq as it commits them). The
// clock is read after that statement, so every change committed after the
// returned time is invisible to it.
func (s *Store) ScanMatchRecords(ctx context.Context, batch int, fn func([]cancuoc.MatchRecord) error) (cancuoc.MatchSnapshot, error) {
	const op = "sqlite.ScanMatchRecords"
	if batch <= 0 {
		batch = 10000
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return cancuoc.MatchSnapshot{}, dbErr(op, err)
	}
	defer func() { _ = tx.Rollback() }()
	snap, err := readSnapshot(ctx, tx)
	if err != nil {
		return cancuoc.MatchSnapshot{}, dbErr(op, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT pin, coalesce(json_extract(doc, '$.full_name'), ''), name_key, birth_year,
		birth_month, birth_day, sex, life_status, home_province, home_commune FROM citizens`)
	if err != nil {
		return cancuoc.MatchSnapshot{}, dbErr(op, err)
	}
	defer rows.Close()
	buf := make([]cancuoc.MatchRecord, 0, batch)
	for rows.Next() {
		var m cancuoc.MatchRecord
		var pin, sex, life string
		if err := rows.Scan(&pin, &m.FullName, &m.NameKey, &m.BirthDate.Year, &m.BirthDate.Month, &m.BirthDate.Day,
			&sex, &life, &m.Home.Province, &m.Home.Commune); err != nil {
			return cancuoc.MatchSnapshot{}, dbErr(op, err)
		}
		m.PIN, m.Sex, m.LifeStatus = cancuoc.PIN(pin), cancuoc.Sex(sex), cancuoc.LifeStatus(life)
		if buf = append(buf, m); len(buf) == batch {
			if err := fn(buf); err != nil {
				return cancuoc.MatchSnapshot{}, err
			}
			buf = buf[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return cancuoc.MatchSnapshot{}, dbErr(op, err)
	}
	if len(buf) > 0 {
		if err := fn(buf); err != nil {
			return cancuoc.MatchSnapshot{}, err
		}
	}
	return snap, nil
}

// readSnapshot takes a read transaction's snapshot (its first statement)
// and returns its highest event Seq, and the time read after it.
func readSnapshot(ctx context.Context, tx *sql.Tx) (cancuoc.MatchSnapshot, error) {
	var snap cancuoc.MatchSnapshot
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&snap.Seq); err != nil {
		return snap, err
	}
	snap.At = time.Now()
	return snap, nil
}
