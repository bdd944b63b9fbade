package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// ScanMatchRecords reads every citizen's match columns in one sequential
// scan inside a REPEATABLE READ, read-only transaction, so all rows come
// from one snapshot. The snapshot is taken by the transaction's first
// statement, which also reads the clock: every change committed after the
// returned time is invisible to the scan.
func (s *Store) ScanMatchRecords(ctx context.Context, batch int, fn func([]cancuoc.MatchRecord) error) (time.Time, error) {
	const op = "postgres.ScanMatchRecords"
	if batch <= 0 {
		batch = 10000
	}
	var at time.Time
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&at); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT pin, coalesce(doc->>'full_name', ''), name_key, birth_year, birth_month,
			birth_day, sex, life_status, home_province, home_commune FROM citizens`)
		if err != nil {
			return err
		}
		defer rows.Close()
		buf := make([]cancuoc.MatchRecord, 0, batch)
		for rows.Next() {
			var (
				m              cancuoc.MatchRecord
				pin, sex, life string
				y, mo, d       int16
			)
			if err := rows.Scan(&pin, &m.FullName, &m.NameKey, &y, &mo, &d, &sex, &life, &m.Home.Province,
				&m.Home.Commune); err != nil {
				return err
			}
			m.PIN, m.Sex, m.LifeStatus = cancuoc.PIN(pin), cancuoc.Sex(sex), cancuoc.LifeStatus(life)
			m.BirthDate = cancuoc.Date{Year: int(y), Month: int(mo), Day: int(d)}
			if buf = append(buf, m); len(buf) == batch {
				if err := fn(buf); err != nil {
					return callerErr{err}
				}
				buf = buf[:0]
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(buf) > 0 {
			if err := fn(buf); err != nil {
				return callerErr{err}
			}
		}
		return nil
	})
	if ce, ok := err.(callerErr); ok {
		return time.Time{}, ce.err
	}
	if err != nil {
		return time.Time{}, dbErr(op, err)
	}
	return ts(at), nil
}

// callerErr carries an error of the caller's callback through a
// transaction function, to be returned unwrapped.
type callerErr struct{ err error }

func (e callerErr) Error() string { return e.err.Error() }
