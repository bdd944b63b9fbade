package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// ScanCitizenDocs reads every citizen's document in one sequential scan
// inside a REPEATABLE READ, read-only transaction. Its first statement
// takes the snapshot and reads the highest sequenced event: the sequencer
// gives an event its Seq only after the event's transaction committed,
// so every change of an event up to that Seq is in the snapshot.
func (s *Store) ScanCitizenDocs(ctx context.Context, batch int, fn func([]cancuoc.CitizenDoc) error) (int64, error) {
	const op = "postgres.ScanCitizenDocs"
	if batch <= 0 {
		batch = 10000
	}
	var seq int64
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&seq); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT pin, version, home_province, home_commune, doc FROM citizens`)
		if err != nil {
			return err
		}
		defer rows.Close()
		buf := make([]cancuoc.CitizenDoc, batch)
		n := 0
		for rows.Next() {
			d := &buf[n]
			var pin string
			// Scanning into d.JSON reuses its bytes from an earlier batch.
			if err := rows.Scan(&pin, &d.Version, &d.Home.Province, &d.Home.Commune, &d.JSON); err != nil {
				return err
			}
			d.PIN = cancuoc.PIN(pin)
			if n++; n == batch {
				if err := fn(buf[:n]); err != nil {
					return callerErr{err}
				}
				n = 0
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n > 0 {
			if err := fn(buf[:n]); err != nil {
				return callerErr{err}
			}
		}
		return nil
	})
	if ce, ok := err.(callerErr); ok {
		return 0, ce.err
	}
	if err != nil {
		return 0, dbErr(op, err)
	}
	return seq, nil
}
