package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"strings"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.AuditArchive = (*Store)(nil)

// auditHead returns the place and chain hash of the newest entry (0 and nil
// for an empty log). Entries from before the log was chained (migration
// 00005) are chained first: the hash needs Go, so the migration could not.
// It runs on the writer, inside the appending transaction.
func (o *ops) auditHead(ctx context.Context) (int64, []byte, error) {
	const op = "sqlite.AppendAudit"
	var (
		seq  int64
		hash []byte
	)
	err := o.w.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, dbErr(op, err)
	}
	if hash == nil {
		if hash, err = o.sealLegacy(ctx); err != nil {
			return 0, nil, dbErr(op, err)
		}
	}
	return seq, hash, nil
}

// sealLegacy chains the entries written before the log was chained, in
// place order, and returns the newest one's hash.
func (o *ops) sealLegacy(ctx context.Context) ([]byte, error) {
	var prev []byte
	var first int64
	if err := o.w.QueryRowContext(ctx, `SELECT min(seq) FROM audit WHERE hash IS NULL`).Scan(&first); err != nil {
		return nil, err
	}
	if first > 1 {
		if err := o.w.QueryRowContext(ctx, `SELECT hash FROM audit WHERE seq = ?`, first-1).Scan(&prev); err != nil {
			return nil, err
		}
	}
	for {
		rows, err := o.w.QueryContext(ctx, `SELECT `+auditCols+` FROM audit WHERE hash IS NULL ORDER BY seq LIMIT 1000`)
		if err != nil {
			return nil, err
		}
		es, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		if len(es) == 0 {
			return prev, nil
		}
		for _, e := range es {
			e.Hash = cancuoc.AuditChainHash(prev, e)
			prev = e.Hash
			if _, err := o.w.ExecContext(ctx, `UPDATE audit SET hash = ? WHERE seq = ?`, e.Hash, e.ID); err != nil {
				return nil, err
			}
		}
	}
}

const auditCols = `seq, at, actor, action, pin, fields, purpose, outcome, hash`

func scanAudit(rows *sql.Rows) ([]*cancuoc.AuditEntry, error) {
	defer rows.Close()
	out := []*cancuoc.AuditEntry{}
	for rows.Next() {
		var (
			e      cancuoc.AuditEntry
			p      string
			at     int64
			fields []byte
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &p, &fields, &e.Purpose, &e.Outcome, &e.Hash); err != nil {
			return nil, err
		}
		e.PIN, e.At = cancuoc.PIN(p), fromMicros(at)
		if fields != nil {
			if err := json.Unmarshal(fields, &e.Fields); err != nil {
				return nil, err
			}
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// AuditSize returns the number of entries, the newest one's place.
func (o *ops) AuditSize(ctx context.Context) (int64, error) {
	var n int64
	if err := o.flushLog(ctx); err != nil {
		return 0, dbErr("sqlite.AuditSize", err)
	}
	err := o.r.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM audit`).Scan(&n)
	return n, dbErr("sqlite.AuditSize", err)
}

// AuditRange returns the entries with from ≤ ID ≤ to, in order.
func (o *ops) AuditRange(ctx context.Context, from, to int64) ([]*cancuoc.AuditEntry, error) {
	const op = "sqlite.AuditRange"
	if err := o.flushLog(ctx); err != nil {
		return nil, dbErr(op, err)
	}
	rows, err := o.r.QueryContext(ctx, `SELECT `+auditCols+` FROM audit WHERE seq BETWEEN ? AND ? ORDER BY seq`, from, to)
	if err != nil {
		return nil, dbErr(op, err)
	}
	out, err := scanAudit(rows)
	return out, dbErr(op, err)
}

// AuditSearch lists the entries matching q, newest first.
func (o *ops) AuditSearch(ctx context.Context, q cancuoc.AuditQuery) ([]*cancuoc.AuditEntry, error) {
	const op = "sqlite.AuditSearch"
	if q.Limit <= 0 {
		q.Limit = defaultLimit
	}
	if err := o.flushLog(ctx); err != nil {
		return nil, dbErr(op, err)
	}
	var args []any
	// branch selects the newest entries matching q's criteria besides the
	// PIN, and pinCond.
	branch := func(pinCond string, pinArgs ...any) string {
		var where []string
		add := func(cond string, v any) {
			where = append(where, cond)
			args = append(args, v)
		}
		if pinCond != "" {
			where = append(where, pinCond)
			args = append(args, pinArgs...)
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
			add("at >= ?", micros(q.From))
		}
		if !q.To.IsZero() {
			add("at < ?", micros(q.To))
		}
		if q.Before > 0 {
			add("seq < ?", q.Before)
		}
		s := `SELECT ` + auditCols + ` FROM audit`
		if len(where) > 0 {
			s += ` WHERE ` + strings.Join(where, " AND ")
		}
		args = append(args, q.Limit)
		return s + ` ORDER BY seq DESC LIMIT ?`
	}
	var s string
	switch {
	case q.PIN == "":
		s = branch("")
	default:
		// The block entries whose touched block holds the PIN are the
		// citizen's entries too (touched.go), read by their own index in
		// a second branch.
		hits, err := o.touchedHits(ctx, q.PIN)
		if err != nil {
			return nil, dbErr(op, err)
		}
		s = branch("pin = ?", string(q.PIN))
		if len(hits) > 0 {
			in := make([]any, len(hits))
			for i, h := range hits {
				in[i] = h
			}
			blocks := branch("pin = '' AND action = '"+cancuoc.TouchedAction+"' AND outcome IN (?"+
				strings.Repeat(", ?", len(hits)-1)+")", in...)
			s = `SELECT * FROM (` + s + `) UNION ALL SELECT * FROM (` + blocks + `) ORDER BY seq DESC LIMIT ?`
			args = append(args, q.Limit)
		}
	}
	rows, err := o.r.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	out, err := scanAudit(rows)
	return out, dbErr(op, err)
}

// PutAuditNodes stores consecutive nodes of one level; existing ones stay.
func (o *ops) PutAuditNodes(ctx context.Context, level int, start int64, hashes [][]byte) error {
	const op = "sqlite.PutAuditNodes"
	if len(hashes) == 0 {
		return nil
	}
	return o.atomic(ctx, func(t *ops) error {
		for i, h := range hashes {
			if _, err := t.w.ExecContext(ctx, `INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, level, start+int64(i), h); err != nil {
				return dbErr(op, err)
			}
		}
		return nil
	})
}

// AuditNodes returns the nodes of a level with from ≤ index < to.
func (o *ops) AuditNodes(ctx context.Context, level int, from, to int64) ([][]byte, error) {
	const op = "sqlite.AuditNodes"
	rows, err := o.r.QueryContext(ctx, `SELECT hash FROM audit_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx`,
		level, from, to)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	if int64(len(out)) != to-from {
		return nil, notFound(op, "Thiếu nút cây Merkle của nhật ký.", "Merkle tree nodes of the log are missing.")
	}
	return out, nil
}

// AppendTreeHead stores h unless a head of its size exists.
func (o *ops) AppendTreeHead(ctx context.Context, h *cancuoc.TreeHead) error {
	_, err := o.w.ExecContext(ctx, `INSERT INTO audit_heads (size, root, at, signature) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, h.Size, h.Root, micros(h.At), h.Signature)
	return dbErr("sqlite.AppendTreeHead", err)
}

// TreeHeads lists heads with from ≤ size ≤ to.
func (o *ops) TreeHeads(ctx context.Context, from, to int64) ([]*cancuoc.TreeHead, error) {
	return o.heads(ctx, "sqlite.TreeHeads", `WHERE size BETWEEN ? AND ? ORDER BY size`, from, to)
}

// LatestTreeHead returns the largest head. NotFound if none.
func (o *ops) LatestTreeHead(ctx context.Context) (*cancuoc.TreeHead, error) {
	const op = "sqlite.LatestTreeHead"
	hs, err := o.heads(ctx, op, `ORDER BY size DESC LIMIT 1`)
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, notFound(op, "Nhật ký chưa có điểm kiểm tra nào.", "The log has no tree head yet.")
	}
	return hs[0], nil
}

func (o *ops) heads(ctx context.Context, op, tail string, args ...any) ([]*cancuoc.TreeHead, error) {
	rows, err := o.r.QueryContext(ctx, `SELECT size, root, at, signature FROM audit_heads `+tail, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.TreeHead{}
	for rows.Next() {
		var (
			h  cancuoc.TreeHead
			at int64
		)
		if err := rows.Scan(&h.Size, &h.Root, &at, &h.Signature); err != nil {
			return nil, dbErr(op, err)
		}
		h.At = fromMicros(at)
		out = append(out, &h)
	}
	return out, dbErr(op, rows.Err())
}
