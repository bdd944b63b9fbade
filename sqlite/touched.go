package sqlite

import (
	"context"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.TouchedStore = (*ops)(nil)

// AppendTouched stores a block's segments, all or none.
func (o *ops) AppendTouched(ctx context.Context, b *cancuoc.TouchedBlock) error {
	const op = "sqlite.AppendTouched"
	segs := b.Segments()
	entry := b.Outcome()
	return o.atomic(ctx, func(t *ops) error {
		for _, s := range segs {
			_, err := t.w.ExecContext(ctx, `INSERT INTO reconcile_touched (job, chunk, bucket, pin_min, pin_max, pins, entry)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, b.Job, b.Chunk, s.Bucket, s.PinMin, s.PinMax, s.Pins, entry)
			if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
				return conflict(op, "duplicate", "Khối công dân của phần này đã được ghi.",
					"This chunk's touched block is stored already.")
			}
			if err != nil {
				return dbErr(op, err)
			}
		}
		return nil
	})
}

// TouchedBlock returns a chunk's block, its segments in PIN order.
func (o *ops) TouchedBlock(ctx context.Context, job string, chunk int64) (*cancuoc.TouchedBlock, error) {
	const op = "sqlite.TouchedBlock"
	rows, err := o.r.QueryContext(ctx, `SELECT pins FROM reconcile_touched WHERE job = ? AND chunk = ? ORDER BY bucket`, job, chunk)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	b := &cancuoc.TouchedBlock{Job: job, Chunk: chunk}
	n := 0
	for rows.Next() {
		var p []byte
		if err := rows.Scan(&p); err != nil {
			return nil, dbErr(op, err)
		}
		b.Pins = append(b.Pins, p...)
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	if n == 0 {
		return nil, notFound(op, "Không tìm thấy khối công dân của phần này.", "This chunk has no stored touched block.")
	}
	return b, nil
}

// touchedHits returns the outcomes of the block entries whose block holds
// pin: the segments of its bucket whose range covers it, binary-searched.
func (o *ops) touchedHits(ctx context.Context, pin cancuoc.PIN) ([]string, error) {
	n, ok := cancuoc.PINNumber(pin)
	if !ok {
		return nil, nil
	}
	rows, err := o.r.QueryContext(ctx, `SELECT pins, entry FROM reconcile_touched
		WHERE bucket = ? AND pin_min <= ? AND pin_max >= ?`, cancuoc.TouchedBucket(n), int64(n), int64(n))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hits []string
	for rows.Next() {
		var (
			pins  []byte
			entry string
		)
		if err := rows.Scan(&pins, &entry); err != nil {
			return nil, err
		}
		if cancuoc.TouchedHas(pins, n) {
			hits = append(hits, entry)
		}
	}
	return hits, rows.Err()
}
