package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.TouchedStore = (*conn)(nil)

// AppendTouched stores a block's segments in one statement.
func (c *conn) AppendTouched(ctx context.Context, b *cancuoc.TouchedBlock) error {
	const op = "postgres.AppendTouched"
	segs := b.Segments()
	if len(segs) == 0 {
		return nil
	}
	buckets := make([]int64, len(segs))
	mins := make([]int64, len(segs))
	maxs := make([]int64, len(segs))
	pins := make([][]byte, len(segs))
	for i, s := range segs {
		buckets[i], mins[i], maxs[i], pins[i] = s.Bucket, s.PinMin, s.PinMax, s.Pins
	}
	_, err := c.q.Exec(ctx, `INSERT INTO reconcile_touched (job, chunk, bucket, pin_min, pin_max, pins, entry)
		SELECT $1, $2, b, lo, hi, p, $7 FROM unnest($3::bigint[], $4::bigint[], $5::bigint[], $6::bytea[]) AS t(b, lo, hi, p)`,
		b.Job, b.Chunk, buckets, mins, maxs, pins, b.Outcome())
	return dbErr(op, err) // Conflict when the chunk has a block
}

// TouchedBlock returns a chunk's block, its segments in PIN order.
func (c *conn) TouchedBlock(ctx context.Context, job string, chunk int64) (*cancuoc.TouchedBlock, error) {
	const op = "postgres.TouchedBlock"
	rows, err := c.q.Query(ctx, `SELECT pins FROM reconcile_touched WHERE job = $1 AND chunk = $2 ORDER BY bucket`, job, chunk)
	if err != nil {
		return nil, dbErr(op, err)
	}
	segs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, dbErr(op, err)
	}
	if len(segs) == 0 {
		return nil, cancuoc.E(cancuoc.NotFound, op, "not_found",
			"Không tìm thấy khối công dân của phần này.", "This chunk has no stored touched block.")
	}
	b := &cancuoc.TouchedBlock{Job: job, Chunk: chunk}
	for _, s := range segs {
		b.Pins = append(b.Pins, s...)
	}
	return b, nil
}

// touchedHits returns the outcomes of the block entries whose block holds
// pin: the segments of its bucket whose range covers it, binary-searched.
func touchedHits(ctx context.Context, db querier, pin cancuoc.PIN) ([]string, error) {
	n, ok := cancuoc.PINNumber(pin)
	if !ok {
		return nil, nil
	}
	rows, err := db.Query(ctx, `SELECT pins, entry FROM reconcile_touched
		WHERE bucket = $1 AND pin_min <= $2 AND pin_max >= $2`, cancuoc.TouchedBucket(n), int64(n))
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
