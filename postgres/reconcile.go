package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ReconcileStore = (*conn)(nil)

// pinTexts is pins as the text array parameter of a statement.
func pinTexts(pins []cancuoc.PIN) []string {
	ps := make([]string, len(pins))
	for i, p := range pins {
		ps[i] = string(p)
	}
	return ps
}

// MatchRecords returns the identity columns of the PINs that exist, in one
// query. The name and card numbers are read from the document by the
// server, so only a few short columns travel instead of 2 KB documents.
func (c *conn) MatchRecords(ctx context.Context, pins []cancuoc.PIN, cards bool) ([]cancuoc.MatchRecord, error) {
	const op = "postgres.MatchRecords"
	if len(pins) == 0 {
		return nil, nil
	}
	rows, err := c.q.Query(ctx, `SELECT c.pin, coalesce(c.doc->>'full_name', ''), c.name_key, c.birth_year,
		c.birth_month, c.birth_day, c.sex, c.life_status, c.home_province, c.home_commune,
		CASE WHEN $2 THEN coalesce((SELECT string_agg(x->>'number', ' ') FROM json_array_elements(c.doc->'cards') x), '')
			|| ' ' || coalesce(c.doc->>'old_id_number', '') ELSE '' END
		FROM citizens c WHERE c.pin = ANY($1::bpchar[])`, pinTexts(pins), cards)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := make([]cancuoc.MatchRecord, 0, len(pins))
	for rows.Next() {
		var (
			m                    cancuoc.MatchRecord
			pin, sex, life, list string
			y, mo, d             int16
		)
		if err := rows.Scan(&pin, &m.FullName, &m.NameKey, &y, &mo, &d, &sex, &life, &m.Home.Province,
			&m.Home.Commune, &list); err != nil {
			return nil, dbErr(op, err)
		}
		m.PIN, m.Sex, m.LifeStatus = cancuoc.PIN(pin), cancuoc.Sex(sex), cancuoc.LifeStatus(life)
		m.BirthDate = cancuoc.Date{Year: int(y), Month: int(mo), Day: int(d)}
		m.Cards = strings.Fields(list)
		out = append(out, m)
	}
	return out, dbErr(op, rows.Err())
}

// MatchCandidates answers all probes in one query: the probes travel as
// arrays, and each is looked up through citizens_match (00011), whose last
// column is the expression written here.
func (c *conn) MatchCandidates(ctx context.Context, probes []cancuoc.MatchProbe, limit int) ([]cancuoc.MatchCandidate, error) {
	const op = "postgres.MatchCandidates"
	var last, first struct {
		ref, y, m, d []int32
		tok          []string
	}
	for _, p := range probes {
		a := &last
		if p.ByFirst {
			a = &first
		}
		a.ref = append(a.ref, int32(p.Ref))
		a.y = append(a.y, int32(p.Date.Year))
		a.m = append(a.m, int32(p.Date.Month))
		a.d = append(a.d, int32(p.Date.Day))
		a.tok = append(a.tok, p.Token)
	}
	if limit <= 0 {
		limit = 1 << 30
	}
	var out []cancuoc.MatchCandidate
	for _, q := range []struct {
		a *struct {
			ref, y, m, d []int32
			tok          []string
		}
		word string
	}{
		{&last, `reverse(split_part(reverse(c.name_key), ' ', 1))`},
		{&first, `split_part(c.name_key, ' ', 1)`},
	} {
		if len(q.a.ref) == 0 {
			continue
		}
		rows, err := c.q.Query(ctx, `SELECT q.ref, c.pin, c.name_key, c.birth_year, c.birth_month, c.birth_day,
			c.sex, c.life_status, c.home_province, c.home_commune
			FROM unnest($1::int[], $2::int[], $3::int[], $4::int[], $5::text[]) AS q(ref, y, m, d, tok)
			CROSS JOIN LATERAL (SELECT * FROM citizens c WHERE c.birth_year = q.y AND c.birth_month = q.m
				AND c.birth_day = q.d AND `+q.word+` = q.tok LIMIT $6) c`,
			q.a.ref, q.a.y, q.a.m, q.a.d, q.a.tok, limit)
		if err != nil {
			return nil, dbErr(op, err)
		}
		for rows.Next() {
			var (
				m              cancuoc.MatchCandidate
				ref            int32
				pin, sex, life string
				y, mo, d       int16
			)
			if err := rows.Scan(&ref, &pin, &m.NameKey, &y, &mo, &d, &sex, &life, &m.Home.Province, &m.Home.Commune); err != nil {
				rows.Close()
				return nil, dbErr(op, err)
			}
			m.Ref = int(ref)
			m.PIN, m.Sex, m.LifeStatus = cancuoc.PIN(pin), cancuoc.Sex(sex), cancuoc.LifeStatus(life)
			m.BirthDate = cancuoc.Date{Year: int(y), Month: int(mo), Day: int(d)}
			out = append(out, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbErr(op, err)
		}
	}
	return out, nil
}

func reconNotFound(op string) error {
	return cancuoc.E(cancuoc.NotFound, op, "reconciliation_not_found",
		"Không tìm thấy phiên đối soát.", "No such reconciliation.")
}

// CreateReconciliation stores a new job. Conflict if the ID exists.
func (c *conn) CreateReconciliation(ctx context.Context, r *cancuoc.Reconciliation) error {
	const op = "postgres.CreateReconciliation"
	tag, err := c.q.Exec(ctx, `INSERT INTO reconciliations (id, owner, input, report, input_hash, input_size,
		format, report_fmt, reveal, status, offset_, line, report_size, counts, error, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (id) DO NOTHING`,
		r.ID, r.Owner, r.Input, r.Report, r.InputHash, r.InputSize, r.Format, r.ReportFmt, nonNil(r.Reveal), r.Status,
		r.Offset, r.Line, r.ReportSize, countsOf(r), r.Error, ts(r.CreatedAt), ts(r.UpdatedAt))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return cancuoc.E(cancuoc.Conflict, op, "reconciliation_exists", "Mã đối soát đã tồn tại.", "A reconciliation with this ID exists.")
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func countsOf(r *cancuoc.Reconciliation) map[string]int64 {
	if r.Counts == nil {
		return map[string]int64{}
	}
	return r.Counts
}

const reconCols = `id, owner, input, report, input_hash, input_size, format, report_fmt,
		reveal, status, offset_, line, report_size, counts, error, created_at, updated_at`

func scanRecon(row pgx.Row) (*cancuoc.Reconciliation, error) {
	var r cancuoc.Reconciliation
	err := row.Scan(&r.ID, &r.Owner, &r.Input, &r.Report, &r.InputHash,
		&r.InputSize, &r.Format, &r.ReportFmt, &r.Reveal, &r.Status, &r.Offset, &r.Line, &r.ReportSize, &r.Counts,
		&r.Error, &r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if len(r.Reveal) == 0 {
		r.Reveal = nil
	}
	r.CreatedAt, r.UpdatedAt = ts(r.CreatedAt), ts(r.UpdatedAt)
	return &r, nil
}

// Reconciliation returns one job. NotFound if absent.
func (c *conn) Reconciliation(ctx context.Context, id string) (*cancuoc.Reconciliation, error) {
	const op = "postgres.Reconciliation"
	r, err := scanRecon(c.q.QueryRow(ctx, `SELECT `+reconCols+` FROM reconciliations WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, reconNotFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return r, nil
}

// RunningReconciliations lists the running jobs, oldest first.
func (c *conn) RunningReconciliations(ctx context.Context) ([]*cancuoc.Reconciliation, error) {
	const op = "postgres.RunningReconciliations"
	rows, err := c.q.Query(ctx, `SELECT `+reconCols+` FROM reconciliations
		WHERE status = 'running' ORDER BY created_at, id`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*cancuoc.Reconciliation
	for rows.Next() {
		r, err := scanRecon(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, r)
	}
	return out, dbErr(op, rows.Err())
}

// CheckpointReconciliation stores the job's progress.
func (c *conn) CheckpointReconciliation(ctx context.Context, r *cancuoc.Reconciliation) error {
	const op = "postgres.CheckpointReconciliation"
	tag, err := c.q.Exec(ctx, `UPDATE reconciliations SET status = $1, offset_ = $2, line = $3, report_size = $4,
		counts = $5, error = $6, updated_at = $7 WHERE id = $8`, r.Status, r.Offset, r.Line, r.ReportSize,
		countsOf(r), r.Error, ts(r.UpdatedAt), r.ID)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return reconNotFound(op)
	}
	return nil
}

// MarkSeen inserts the keys in one statement and returns those present
// before it. Repeats inside the call are found in Go first, since one
// statement sees only the rows that existed when it started.
func (c *conn) MarkSeen(ctx context.Context, job string, keys []cancuoc.SeenKey) ([]cancuoc.SeenKey, error) {
	const op = "postgres.MarkSeen"
	if len(keys) == 0 {
		return nil, nil
	}
	first := make(map[int64]int64, len(keys))
	hashes := make([]int64, 0, len(keys))
	lines := make([]int64, 0, len(keys))
	var dups []cancuoc.SeenKey
	for _, k := range keys {
		if l, ok := first[k.Hash]; ok {
			dups = append(dups, cancuoc.SeenKey{Hash: k.Hash, Line: l})
			continue
		}
		first[k.Hash] = k.Line
		hashes = append(hashes, k.Hash)
		lines = append(lines, k.Line)
	}
	rows, err := c.q.Query(ctx, `WITH k(hash, line) AS (SELECT * FROM unnest($2::bigint[], $3::bigint[])),
		old AS (SELECT s.hash, s.line FROM reconcile_seen s JOIN k USING (hash) WHERE s.job = $1),
		ins AS (INSERT INTO reconcile_seen (job, hash, line) SELECT $1, hash, line FROM k ON CONFLICT DO NOTHING)
		SELECT hash, line FROM old`, job, hashes, lines)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var d cancuoc.SeenKey
		if err := rows.Scan(&d.Hash, &d.Line); err != nil {
			return nil, dbErr(op, err)
		}
		// A key seen before this call: its earlier line wins, also over
		// a repeat inside the call.
		for i := range dups {
			if dups[i].Hash == d.Hash {
				dups[i].Line = d.Line
			}
		}
		dups = append(dups, d)
	}
	return dups, dbErr(op, rows.Err())
}

// FinishedReconciliations lists done and failed jobs last updated before
// `before`, oldest first.
func (c *conn) FinishedReconciliations(ctx context.Context, before time.Time, limit int) ([]*cancuoc.Reconciliation, error) {
	const op = "postgres.FinishedReconciliations"
	if limit <= 0 {
		limit = 100
	}
	rows, err := c.q.Query(ctx, `SELECT `+reconCols+` FROM reconciliations
		WHERE status IN ('done', 'failed') AND updated_at < $1 ORDER BY updated_at, id LIMIT $2`, before, limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*cancuoc.Reconciliation
	for rows.Next() {
		r, err := scanRecon(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, r)
	}
	return out, dbErr(op, rows.Err())
}

// ForgetSeen deletes a job's seen keys.
func (c *conn) ForgetSeen(ctx context.Context, job string) error {
	_, err := c.q.Exec(ctx, `DELETE FROM reconcile_seen WHERE job = $1`, job)
	return dbErr("postgres.ForgetSeen", err)
}

// ReconciliationTotals sums the done jobs' counts per owner (one row per
// job, not per record).
func (c *conn) ReconciliationTotals(ctx context.Context) ([]cancuoc.ReconciliationTotal, error) {
	const op = "postgres.ReconciliationTotals"
	rows, err := c.q.Query(ctx, `SELECT owner, counts FROM reconciliations WHERE status = 'done' OR (status = 'expired' AND COALESCE(error, '') = '')`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	totals := map[string]*cancuoc.ReconciliationTotal{}
	for rows.Next() {
		var owner string
		var counts map[string]int64
		if err := rows.Scan(&owner, &counts); err != nil {
			return nil, dbErr(op, err)
		}
		cancuoc.SumReconciliations(totals, owner, counts)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	return cancuoc.SortedReconciliationTotals(totals), nil
}
