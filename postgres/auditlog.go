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
		sql, args := auditSelect(pendingAuditCols, pendingAuditFrom, "id DESC, n DESC", "", q, hits, 0, q.Limit)
		rows, err := db.Query(ctx, sql, args...)
		if err != nil {
			return nil, dbErr(op, err)
		}
		if pending, err = scanPending(rows); err != nil {
			return nil, dbErr(op, err)
		}
	}
	sql, args := auditSelect(auditCols, "audit", "seq DESC", "seq", q, hits, q.Before, max(q.Limit-len(pending), 1))
	rows, err := db.Query(ctx, sql, args...)
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

// pendingAuditFrom is the queued runs' access-log entries (log_pending,
// insertLogSQL), a row each, newest last by (id, n): read in the
// citizen's view before the sequencer gives them places. The queue holds
// the few milliseconds' runs the sequencer has not taken yet, so it is
// scanned whole rather than indexed: an index would cost every writer.
const pendingAuditFrom = `(SELECT l.id, u.n, u.at, u.actor, u.action, u.pin,
		CASE WHEN u.hi < 0 THEN NULL ELSE l.fields[u.lo:u.hi] END AS fields, u.purpose, u.outcome
	FROM log_pending l, unnest(l.at, l.actor, l.action, l.pin, l.lo, l.hi, l.purpose, l.outcome) WITH ORDINALITY
		AS u(at, actor, action, pin, lo, hi, purpose, outcome, n)) p`

const pendingAuditCols = `id, n, at, actor, action, coalesce(pin, ''), fields, purpose, outcome`

// scanPending reads pendingAuditCols' rows: entries with no place yet.
func scanPending(rows pgx.Rows) ([]*cancuoc.AuditEntry, error) {
	defer rows.Close()
	var out []*cancuoc.AuditEntry
	for rows.Next() {
		var (
			id, n int64
			e     cancuoc.AuditEntry
			at    time.Time
			p     string
		)
		if err := rows.Scan(&id, &n, &at, &e.Actor, &e.Action, &p, &e.Fields, &e.Purpose, &e.Outcome); err != nil {
			return nil, err
		}
		e.At, e.PIN = ts(at), cancuoc.PIN(p)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// auditSelect returns the query of the newest `limit` rows of from (audit
// or pendingAuditFrom, in the order given, newest first) matching q's
// criteria (but Limit; Before is before on key, 0 for none). hits are the outcomes of the block entries
// whose touched block holds q.PIN (touched.go): they are the citizen's
// entries too, read by their own index in a second branch of a UNION ALL
// (an OR would let the planner walk the whole log backwards).
func auditSelect(cols, from, order, key string, q cancuoc.AuditQuery, hits []string, before int64, limit int) (string, []any) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	branch := func(pinCond string) string {
		var where []string
		if pinCond != "" {
			where = append(where, pinCond)
		}
		if q.Actor != "" {
			where = append(where, "actor = "+arg(q.Actor))
		}
		if q.Action != "" {
			where = append(where, "action = "+arg(q.Action))
		}
		if q.Purpose != "" {
			where = append(where, "purpose = "+arg(q.Purpose))
		}
		if !q.From.IsZero() {
			where = append(where, "at >= "+arg(q.From))
		}
		if !q.To.IsZero() {
			where = append(where, "at < "+arg(q.To))
		}
		if before > 0 {
			where = append(where, key+" < "+arg(before))
		}
		s := `SELECT ` + cols + ` FROM ` + from
		if len(where) > 0 {
			s += ` WHERE ` + strings.Join(where, " AND ")
		}
		return s + ` ORDER BY ` + order + ` LIMIT ` + arg(limit)
	}
	if q.PIN == "" {
		return branch(""), args
	}
	own := branch("pin = " + arg(string(q.PIN)))
	if len(hits) == 0 {
		return own, args
	}
	blocks := branch("pin IS NULL AND action = '" + cancuoc.TouchedAction + "' AND outcome = ANY(" + arg(hits) + "::text[])")
	return `SELECT * FROM ((` + own + `) UNION ALL (` + blocks + `)) u ORDER BY ` + order + ` LIMIT ` + arg(limit), args
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
