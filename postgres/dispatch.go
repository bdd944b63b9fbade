package postgres

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ConsumerStore = (*conn)(nil)

// Cursor returns the consumer's cursor, 0 when it has none.
func (c *conn) Cursor(ctx context.Context, name string) (int64, error) {
	const op = "postgres.Cursor"
	var seq int64
	err := c.q.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM consumers WHERE name = $1`, name).Scan(&seq)
	if err != nil {
		return 0, dbErr(op, err)
	}
	return seq, nil
}

// AdvanceCursor moves the cursor forward to seq; never back, even when
// nodes race: the conditional upsert compares with the row it locks.
func (c *conn) AdvanceCursor(ctx context.Context, name string, seq int64) error {
	const op = "postgres.AdvanceCursor"
	if seq < 0 {
		return badSeq(op)
	}
	_, err := c.q.Exec(ctx, `INSERT INTO consumers (name, seq, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
		WHERE excluded.seq > consumers.seq`, name, seq, ts(time.Now()))
	return dbErr(op, err)
}

// ResetCursor sets the cursor to seq, backwards too.
func (c *conn) ResetCursor(ctx context.Context, name string, seq int64) error {
	const op = "postgres.ResetCursor"
	if seq < 0 {
		return badSeq(op)
	}
	_, err := c.q.Exec(ctx, `INSERT INTO consumers (name, seq, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
		name, seq, ts(time.Now()))
	return dbErr(op, err)
}

// Cursors lists every consumer's cursor, by name.
func (c *conn) Cursors(ctx context.Context) ([]cancuoc.Cursor, error) {
	const op = "postgres.Cursors"
	rows, err := c.q.Query(ctx, `SELECT name, seq, updated_at FROM consumers ORDER BY name`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []cancuoc.Cursor{}
	for rows.Next() {
		var cur cancuoc.Cursor
		if err := rows.Scan(&cur.Name, &cur.Seq, &cur.UpdatedAt); err != nil {
			return nil, dbErr(op, err)
		}
		cur.UpdatedAt = ts(cur.UpdatedAt)
		out = append(out, cur)
	}
	return out, dbErr(op, rows.Err())
}

func badSeq(op string) error {
	return cancuoc.InvalidField(op, "seq", "seq_negative",
		"Vị trí con trỏ không được âm.", "A cursor position cannot be negative.")
}
