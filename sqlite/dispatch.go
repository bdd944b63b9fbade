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
	return dbErr(op, o.cursorWrite(ctx, `INSERT INTO consumers (name, seq, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
		WHERE excluded.seq > consumers.seq`, name, seq))
}

// ResetCursor sets the cursor to seq, backwards too.
func (o *ops) ResetCursor(ctx context.Context, name string, seq int64) error {
	const op = "sqlite.ResetCursor"
	if seq < 0 {
		return badSeq(op)
	}
	return dbErr(op, o.cursorWrite(ctx, `INSERT INTO consumers (name, seq, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`, name, seq))
}

// cursorWrite runs a cursor's upsert q in a write transaction: on the
// Store, one of its own, so that it joins the group commit (group.go) of
// the transactions waiting for the writer. The event consumers move their
// cursors after each batch they handle, a few dozen times a second under
// load; each ran alone on the writer's connection with a commit of its
// own, almost a third of the writer's commits in the births benchmark.
func (o *ops) cursorWrite(ctx context.Context, q, name string, seq int64) error {
	return o.atomic(ctx, func(t *ops) error {
		_, err := t.w.ExecContext(ctx, q, name, seq, micros(time.Now()))
		return err
	})
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
