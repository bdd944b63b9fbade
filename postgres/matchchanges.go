package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// MatchChanges reads, in one REPEATABLE READ, read-only transaction (one
// snapshot): the clock and the highest sequenced event, the citizens
// named by the events after `after` and by those still waiting for the
// sequencer (log_pending: committed, not yet given a Seq), and those
// citizens' match columns. The sequencer moves a batch from
// log_pending to events in one transaction, so the snapshot sees every
// committed event in exactly one of the two.
func (s *Store) MatchChanges(ctx context.Context, after int64, limit int) (cancuoc.MatchChanges, error) {
	const op = "postgres.MatchChanges"
	var out cancuoc.MatchChanges
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, snapshotSQL).Scan(&out.At, &out.Seq); err != nil {
			return err
		}
		out.At = ts(out.At)
		// A bulk import's event names no citizen: it comes back as a NULL.
		rows, err := tx.Query(ctx, `SELECT DISTINCT pin FROM (
			SELECT pin FROM events WHERE seq > $1 AND (pin IS NOT NULL OR type = $2)
			UNION ALL
			SELECT u.pin FROM log_pending l, unnest(l.event_pin, l.type) AS u(pin, type)
			WHERE u.pin IS NOT NULL OR u.type = $2) e
			LIMIT $3`, after, cancuoc.EventCitizensLoaded, limit+1)
		if err != nil {
			return err
		}
		var pins []cancuoc.PIN
		for rows.Next() {
			var pin *string
			if err := rows.Scan(&pin); err != nil {
				rows.Close()
				return err
			}
			if pin == nil {
				out.Rescan = true
				continue
			}
			pins = append(pins, cancuoc.PIN(*pin))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if out.Rescan || len(pins) > limit {
			out.Rescan = true
			return nil
		}
		recs, err := (&conn{q: tx}).MatchRecords(ctx, pins, false)
		if err != nil {
			return err
		}
		out.Records, out.Gone = recs, cancuoc.MissingPINs(pins, recs)
		return nil
	})
	if err != nil {
		return cancuoc.MatchChanges{}, dbErr(op, err)
	}
	return out, nil
}
