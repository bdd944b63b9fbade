package sqlite

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ConsumerStore = (*ops)(nil)

// Cursor returns the consumer's cursor, 0 when it has none.
func (o *ops) Cursor(ctx context.Context, name string) (int64, error) {
	const op = "sqlite.Cursor"
	var seq int64
	err := o.r.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM consumers WHERE name = ?`, name).Scan(&seq)
	if err != nil {
		return 0, dbErr(op, err)
	}
	return seq, nil
}

// AdvanceCursor moves the cursor forward to seq; never back.
func (o *ops) AdvanceCursor(ctx context.Context, name string, seq int64) error {
	const op = "sqlite.AdvanceCursor"
	if seq < 0 {
		return badSeq(op)
	}
	_, err := o.w.ExecContext(ctx, `INSERT INTO consumers (name, seq, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
		WHERE excluded.seq > consumers.seq`, name, seq, micros(time.Now()))
	return dbErr(op, err)
}

// ResetCursor sets the cursor to seq, backwards too.
func (o *ops) ResetCursor(ctx context.Context, name string, seq int64) error {
	const op = "sqlite.ResetCursor"
	if seq < 0 {
		return badSeq(op)
	}
	_, err := o.w.ExecContext(ctx, `INSERT INTO consumers (name, seq, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
		name, seq, micros(time.Now()))
	return dbErr(op, err)
}

// Cursors lists every consumer's cursor, by name.
func (o *ops) Cursors(ctx context.Context) ([]cancuoc.Cursor, error) {
	const op = "sqlite.Cursors"
	rows, err := o.r.QueryContext(ctx, `SELECT name, seq, updated_at FROM consumers ORDER BY name`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []cancuoc.Cursor{}
	for rows.Next() {
		var (
			c  cancuoc.Cursor
			at int64
		)
		if err := rows.Scan(&c.Name, &c.Seq, &at); err != nil {
			return nil, dbErr(op, err)
		}
		c.UpdatedAt = fromMicros(at)
		out = append(out, c)
	}
	return out, dbErr(op, rows.Err())
}

func badSeq(op string) error {
	return cancuoc.InvalidField(op, "seq", "seq_negative",
		"Vị trí con trỏ không được âm.", "A cursor position cannot be negative.")
}
