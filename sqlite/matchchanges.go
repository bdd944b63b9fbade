package sqlite

import (
	"context"
	"database/sql"

	"github.com/cancuoc/cancuoc"
)

// MatchChanges reads, in one read transaction (one WAL snapshot): the
// highest event's Seq, the citizens named by the events after `after`, and
// their match columns. SQLite's one writer gives an event its Seq in the
// transaction of its change, so no event waits unsequenced.
func (s *Store) MatchChanges(ctx context.Context, after int64, limit int) (cancuoc.MatchChanges, error) {
	const op = "sqlite.MatchChanges"
	var out cancuoc.MatchChanges
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return out, dbErr(op, err)
	}
	defer func() { _ = tx.Rollback() }()
	if out.MatchSnapshot, err = readSnapshot(ctx, tx); err != nil {
		return cancuoc.MatchChanges{}, dbErr(op, err)
	}
	// A bulk import's event names no citizen: it comes back as ''.
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT pin FROM events WHERE seq > ? AND (pin <> '' OR type = ?)
		LIMIT ?`, after, cancuoc.EventCitizensLoaded, limit+1)
	if err != nil {
		return cancuoc.MatchChanges{}, dbErr(op, err)
	}
	var pins []cancuoc.PIN
	for rows.Next() {
		var pin string
		if err := rows.Scan(&pin); err != nil {
			rows.Close()
			return cancuoc.MatchChanges{}, dbErr(op, err)
		}
		if pin == "" {
			out.Rescan = true
			continue
		}
		pins = append(pins, cancuoc.PIN(pin))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return cancuoc.MatchChanges{}, dbErr(op, err)
	}
	if out.Rescan || len(pins) > limit {
		out.Rescan = true
		return out, nil
	}
	recs, err := (&ops{r: tx, w: tx}).MatchRecords(ctx, pins, false)
	if err != nil {
		return cancuoc.MatchChanges{}, cancuoc.WithOp(op, err)
	}
	out.Records, out.Gone = recs, cancuoc.MissingPINs(pins, recs)
	return out, nil
}
