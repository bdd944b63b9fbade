package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.AuditArchive = (*Store)(nil)

// AuditSize returns the number of entries, the newest one's place.
func (c *conn) AuditSize(ctx context.Context) (int64, error) {
	var n int64
	err := c.q.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM audit`).Scan(&n)
	return n, dbErr("postgres.AuditSize", err)
}

// AuditRange returns the entries with from ≤ ID ≤ to, in order.
func (c *conn) AuditRange(ctx context.Context, from, to int64) ([]*cancuoc.AuditEntry, error) {
	const op = "postgres.AuditRange"
	rows, err := c.q.Query(ctx, `SELECT `+auditCols+` FROM audit WHERE seq BETWEEN $1 AND $2 ORDER BY seq`, from, to)
	if err != nil {
		return nil, dbErr(op, err)
	}
	out, err := scanAudit(rows)
	return out, dbErr(op, err)
}

// AuditSearch lists the entries matching q, newest first. One citizen's or
// one actor's entries come from their index; other criteria filter a walk
// down the log from the newest entry, which stops once a page is full.
//
// The first page (Before 0) begins with matching entries not yet sequenced
// (ID 0, no hash: just written, see sequencer.go), newest first, so that a
// citizen sees an access at once. When they alone would fill the page, the
// last place goes to the newest sequenced entry, so that a full page ends
// with an ID that continues the listing (Before); the unsequenced entries
// left out then show once sequenced, milliseconds later.
func (c *conn) AuditSearch(ctx context.Context, q cancuoc.AuditQuery) ([]*cancuoc.AuditEntry, error) {
	if q.Before == 0 && c.pool != nil {
		// The queue and the log are read in one snapshot: between two
		// statements the sequencer could move an entry from one to the
		// other, and it would show twice (or not at all).
		var out []*cancuoc.AuditEntry
		err := pgx.BeginTxFunc(ctx, c.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
			func(tx pgx.Tx) error {
				var err error
				out, err = c.auditSearch(ctx, tx, q)
				return err
			})
		return out, dbErr("postgres.AuditSearch", err)
	}
	return c.auditSearch(ctx, c.q, q)
}

func (c *conn) auditSearch(ctx context.Context, db querier, q cancuoc.AuditQuery) ([]*cancuoc.AuditEntry, error) {
	const op = "postgres.AuditSearch"
	if q.Limit <= 0 {
		q.Limit = defaultLimit
	}
	var hits []string
	if q.PIN != "" {
		var err error
		if hits, err = touchedHits(ctx, db, q.PIN); err != nil {
			return nil, dbErr(op, err)
		}
	}
	var pending []*cancuoc.AuditEntry
	if q.Before == 0 {
		where, args := auditWhere(q, hits)
		args = append(args, q.Limit)
		rows, err := db.Query(ctx, `SELECT `+pendingAuditCols+` FROM audit_pending`+where+
			` ORDER BY id DESC LIMIT $`+itoa(len(args)), args...)
		if err != nil {
			return nil, dbErr(op, err)
		}
		if _, pending, err = scanPending(rows); err != nil {
			return nil, dbErr(op, err)
		}
	}
	where, args := auditWhere(q, hits)
	if q.Before > 0 {
		args = append(args, q.Before)
		where = andWhere(where, "seq < $"+itoa(len(args)))
	}
	args = append(args, max(q.Limit-len(pending), 1))
	rows, err := db.Query(ctx, `SELECT `+auditCols+` FROM audit`+where+` ORDER BY seq DESC LIMIT $`+itoa(len(args)), args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	done, err := scanAudit(rows)
	if err != nil {
		return nil, dbErr(op, err)
	}
	if len(pending) >= q.Limit {
		if len(done) == 0 || q.Limit == 1 {
			return pending[:q.Limit], nil
		}
		// A full page ends with a sequenced entry, the listing's cursor.
		return append(pending[:q.Limit-1], done[0]), nil
	}
	return append(pending, done...), nil
}

// auditWhere turns q's criteria (but Before and Limit) into a WHERE clause
// over the columns audit and audit_pending share. hits are the outcomes of
// the block entries whose touched block holds q.PIN (touched.go): they are
// the citizen's entries too.
func auditWhere(q cancuoc.AuditQuery, hits []string) (string, []any) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+itoa(len(args))))
	}
	if q.PIN != "" && len(hits) > 0 {
		args = append(args, string(q.PIN), hits)
		where = append(where, "(pin = $"+itoa(len(args)-1)+" OR (pin IS NULL AND action = '"+cancuoc.TouchedAction+
			"' AND outcome = ANY($"+itoa(len(args))+"::text[])))")
	} else if q.PIN != "" {
		add("pin = ?", string(q.PIN))
	}
	if q.Actor != "" {
		add("actor = ?", q.Actor)
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if q.Purpose != "" {
		add("purpose = ?", q.Purpose)
	}
	if !q.From.IsZero() {
		add("at >= ?", q.From)
	}
	if !q.To.IsZero() {
		add("at < ?", q.To)
	}
	if len(where) == 0 {
		return "", args
	}
	return ` WHERE ` + strings.Join(where, " AND "), args
}

func andWhere(where, cond string) string {
	if where == "" {
		return ` WHERE ` + cond
	}
	return where + ` AND ` + cond
}

func itoa(n int) string { return strconv.Itoa(n) }

// PutAuditNodes stores consecutive nodes of one level; existing ones stay.
func (c *conn) PutAuditNodes(ctx context.Context, level int, start int64, hashes [][]byte) error {
	if len(hashes) == 0 {
		return nil
	}
	idx := make([]int64, len(hashes))
	for i := range idx {
		idx[i] = start + int64(i)
	}
	_, err := c.q.Exec(ctx, `INSERT INTO audit_nodes (level, idx, hash)
		SELECT $1, i, h FROM unnest($2::bigint[], $3::bytea[]) AS t(i, h)
		ON CONFLICT DO NOTHING`, level, idx, hashes)
	return dbErr("postgres.PutAuditNodes", err)
}

// AuditNodes returns the nodes of a level with from ≤ index < to.
func (c *conn) AuditNodes(ctx context.Context, level int, from, to int64) ([][]byte, error) {
	const op = "postgres.AuditNodes"
	rows, err := c.q.Query(ctx, `SELECT hash FROM audit_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`,
		level, from, to)
	if err != nil {
		return nil, dbErr(op, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, dbErr(op, err)
	}
	if int64(len(out)) != to-from {
		return nil, cancuoc.E(cancuoc.NotFound, op, "not_found",
			"Thiếu nút cây Merkle của nhật ký.", "Merkle tree nodes of the log are missing.")
	}
	return out, nil
}

// AppendTreeHead stores h unless a head of its size exists.
func (c *conn) AppendTreeHead(ctx context.Context, h *cancuoc.TreeHead) error {
	_, err := c.q.Exec(ctx, `INSERT INTO audit_heads (size, root, at, signature) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, h.Size, h.Root, ts(h.At), h.Signature)
	return dbErr("postgres.AppendTreeHead", err)
}

// TreeHeads lists heads with from ≤ size ≤ to.
func (c *conn) TreeHeads(ctx context.Context, from, to int64) ([]*cancuoc.TreeHead, error) {
	return c.heads(ctx, "postgres.TreeHeads", `WHERE size BETWEEN $1 AND $2 ORDER BY size`, from, to)
}

// LatestTreeHead returns the largest head. NotFound if none.
func (c *conn) LatestTreeHead(ctx context.Context) (*cancuoc.TreeHead, error) {
	const op = "postgres.LatestTreeHead"
	hs, err := c.heads(ctx, op, `ORDER BY size DESC LIMIT 1`)
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, cancuoc.E(cancuoc.NotFound, op, "not_found",
			"Nhật ký chưa có điểm kiểm tra nào.", "The log has no tree head yet.")
	}
	return hs[0], nil
}

func (c *conn) heads(ctx context.Context, op, tail string, args ...any) ([]*cancuoc.TreeHead, error) {
	rows, err := c.q.Query(ctx, `SELECT size, root, at, signature FROM audit_heads `+tail, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.TreeHead{}
	for rows.Next() {
		var (
			h  cancuoc.TreeHead
			at time.Time
		)
		if err := rows.Scan(&h.Size, &h.Root, &at, &h.Signature); err != nil {
			return nil, dbErr(op, err)
		}
		h.At = ts(at)
		out = append(out, &h)
	}
	return out, dbErr(op, rows.Err())
}
