package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ReconcileStore = (*ops)(nil)

// lastWord is the indexed expression of citizens_match (00011): the last
// word of the name key. It must be written exactly so to use the index.
const lastWord = `replace(c.name_key, rtrim(c.name_key, replace(c.name_key, ' ', '')), '')`

// firstWord is the first word of the name key (not indexed: it filters the
// rows of one birth date).
const firstWord = `substr(c.name_key, 1, instr(c.name_key || ' ', ' ') - 1)`

// pinsJSON is pins as one JSON array, the parameter that json_each reads a
// list of PINs from.
func pinsJSON(pins []cancuoc.PIN) string {
	arr, _ := json.Marshal(pins) // strings always encode
	return string(arr)
}

// MatchRecords returns the identity columns of the PINs that exist, in one
// query: the PINs travel as one JSON array.
func (o *ops) MatchRecords(ctx context.Context, pins []cancuoc.PIN, cards bool) ([]cancuoc.MatchRecord, error) {
	const op = "sqlite.MatchRecords"
	if len(pins) == 0 {
		return nil, nil
	}
	cardsCol := `''`
	if cards {
		cardsCol = `coalesce((SELECT group_concat(json_extract(value, '$.number'), ' ') FROM json_each(c.doc, '$.cards')), '')
			|| ' ' || coalesce(json_extract(c.doc, '$.old_id_number'), '')`
	}
	rows, err := o.r.QueryContext(ctx, `SELECT c.pin, json_extract(c.doc, '$.full_name'), c.name_key, c.birth_year,
		c.birth_month, c.birth_day, c.sex, c.life_status, c.home_province, c.home_commune, `+cardsCol+`
		FROM citizens c WHERE c.pin IN (SELECT value FROM json_each(?))`, pinsJSON(pins))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := make([]cancuoc.MatchRecord, 0, len(pins))
	for rows.Next() {
		var m cancuoc.MatchRecord
		var pin, sex, life, cardList string
		var name sql.NullString
		if err := rows.Scan(&pin, &name, &m.NameKey, &m.BirthDate.Year, &m.BirthDate.Month, &m.BirthDate.Day,
			&sex, &life, &m.Home.Province, &m.Home.Commune, &cardList); err != nil {
			return nil, dbErr(op, err)
		}
		m.PIN, m.FullName, m.Sex, m.LifeStatus = cancuoc.PIN(pin), name.String, cancuoc.Sex(sex), cancuoc.LifeStatus(life)
		m.Cards = strings.Fields(cardList)
		out = append(out, m)
	}
	return out, dbErr(op, rows.Err())
}

// MatchCandidates runs one indexed query per probe, through statements
// prepared once per call: SQLite is embedded, so a query costs a function
// call, not a round trip, but parsing the SQL each time would cost more
// than running it.
func (o *ops) MatchCandidates(ctx context.Context, probes []cancuoc.MatchProbe, limit int) ([]cancuoc.MatchCandidate, error) {
	const op = "sqlite.MatchCandidates"
	if len(probes) == 0 {
		return nil, nil
	}
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	const cols = `SELECT c.pin, c.name_key, c.birth_year, c.birth_month, c.birth_day, c.sex, c.life_status,
		c.home_province, c.home_commune FROM citizens c WHERE c.birth_year = ?1
		AND c.birth_month = ?2 AND c.birth_day = ?3 AND `
	prep, done, err := o.preparer(ctx)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer done()
	byLast, err := prep(cols + lastWord + ` = ?4 LIMIT ?5`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer byLast.Close()
	byFirst, err := prep(cols + firstWord + ` = ?4 LIMIT ?5`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer byFirst.Close()
	var out []cancuoc.MatchCandidate
	for _, p := range probes {
		st := byLast
		if p.ByFirst {
			st = byFirst
		}
		rows, err := st.QueryContext(ctx, p.Date.Year, p.Date.Month, p.Date.Day, p.Token, limit)
		if err != nil {
			return nil, dbErr(op, err)
		}
		for rows.Next() {
			m := cancuoc.MatchCandidate{Ref: p.Ref}
			var pin, sex, life string
			if err := rows.Scan(&pin, &m.NameKey, &m.BirthDate.Year, &m.BirthDate.Month, &m.BirthDate.Day,
				&sex, &life, &m.Home.Province, &m.Home.Commune); err != nil {
				rows.Close()
				return nil, dbErr(op, err)
			}
			m.PIN, m.Sex, m.LifeStatus = cancuoc.PIN(pin), cancuoc.Sex(sex), cancuoc.LifeStatus(life)
			out = append(out, m)
		}
		if err := rows.Close(); err != nil {
			return nil, dbErr(op, err)
		}
		if err := rows.Err(); err != nil {
			return nil, dbErr(op, err)
		}
	}
	return out, nil
}

// preparer returns a function preparing statements on one connection of
// the read pool (or on the transaction), and a function releasing it.
func (o *ops) preparer(ctx context.Context) (func(string) (*sql.Stmt, error), func(), error) {
	switch q := o.r.(type) {
	case *sql.Tx:
		return func(s string) (*sql.Stmt, error) { return q.PrepareContext(ctx, s) }, func() {}, nil
	case *sql.DB:
		c, err := q.Conn(ctx)
		if err != nil {
			return nil, nil, err
		}
		return func(s string) (*sql.Stmt, error) { return c.PrepareContext(ctx, s) }, func() { c.Close() }, nil
	}
	return nil, nil, errors.New("sqlite: unknown querier")
}

// CreateReconciliation stores a new job. Conflict if the ID exists.
func (o *ops) CreateReconciliation(ctx context.Context, r *cancuoc.Reconciliation) error {
	const op = "sqlite.CreateReconciliation"
	reveal, _ := json.Marshal(nonNil(r.Reveal))
	counts, _ := json.Marshal(r.Counts)
	res, err := o.w.ExecContext(ctx, `INSERT INTO reconciliations (id, owner, input, report, input_hash, input_size,
		format, report_fmt, reveal, status, offset_, line, report_size, counts, error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		r.ID, r.Owner, r.Input, r.Report, r.InputHash, r.InputSize, r.Format, r.ReportFmt, string(reveal), r.Status,
		r.Offset, r.Line, r.ReportSize, string(counts), r.Error, micros(r.CreatedAt), micros(r.UpdatedAt))
	if err != nil {
		return dbErr(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return conflict(op, "reconciliation_exists", "Mã đối soát đã tồn tại.", "A reconciliation with this ID exists.")
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const reconCols = `id, owner, input, report, input_hash, input_size, format, report_fmt,
		reveal, status, offset_, line, report_size, counts, error, created_at, updated_at`

func scanRecon(op string, row interface{ Scan(...any) error }) (*cancuoc.Reconciliation, error) {
	var (
		r              cancuoc.Reconciliation
		reveal, counts string
		created, upd   int64
	)
	err := row.Scan(&r.ID, &r.Owner, &r.Input, &r.Report, &r.InputHash,
		&r.InputSize, &r.Format, &r.ReportFmt, &reveal, &r.Status, &r.Offset, &r.Line, &r.ReportSize, &counts,
		&r.Error, &created, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, cancuoc.E(cancuoc.NotFound, op, "reconciliation_not_found",
			"Không tìm thấy phiên đối soát.", "No such reconciliation.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	if err := json.Unmarshal([]byte(reveal), &r.Reveal); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if len(r.Reveal) == 0 {
		r.Reveal = nil
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(upd)
	return &r, nil
}

// Reconciliation returns one job. NotFound if absent.
func (o *ops) Reconciliation(ctx context.Context, id string) (*cancuoc.Reconciliation, error) {
	return scanRecon("sqlite.Reconciliation", o.r.QueryRowContext(ctx, `SELECT `+reconCols+`
		FROM reconciliations WHERE id = ?`, id))
}

// RunningReconciliations lists the running jobs, oldest first.
func (o *ops) RunningReconciliations(ctx context.Context) ([]*cancuoc.Reconciliation, error) {
	const op = "sqlite.RunningReconciliations"
	rows, err := o.r.QueryContext(ctx, `SELECT `+reconCols+` FROM reconciliations
		WHERE status = 'running' ORDER BY created_at, id`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*cancuoc.Reconciliation
	for rows.Next() {
		r, err := scanRecon(op, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, dbErr(op, rows.Err())
}

// CheckpointReconciliation stores the job's progress.
func (o *ops) CheckpointReconciliation(ctx context.Context, r *cancuoc.Reconciliation) error {
	const op = "sqlite.CheckpointReconciliation"
	counts, _ := json.Marshal(r.Counts)
	res, err := o.w.ExecContext(ctx, `UPDATE reconciliations SET status = ?, offset_ = ?, line = ?, report_size = ?,
		counts = ?, error = ?, updated_at = ? WHERE id = ?`, r.Status, r.Offset, r.Line, r.ReportSize, string(counts),
		r.Error, micros(r.UpdatedAt), r.ID)
	if err != nil {
		return dbErr(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return cancuoc.E(cancuoc.NotFound, op, "reconciliation_not_found",
			"Không tìm thấy phiên đối soát.", "No such reconciliation.")
	}
	return nil
}

// MarkSeen inserts the keys one by one on the writer (prepared once per
// call) and returns those already present.
func (o *ops) MarkSeen(ctx context.Context, job string, keys []cancuoc.SeenKey) ([]cancuoc.SeenKey, error) {
	const op = "sqlite.MarkSeen"
	if len(keys) == 0 {
		return nil, nil
	}
	var dups []cancuoc.SeenKey
	err := o.atomic(ctx, func(t *ops) error {
		tx, ok := sqlTx(t.w)
		if !ok {
			return errors.New("MarkSeen outside a transaction")
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO reconcile_seen (job, hash, line) VALUES (?, ?, ?)
			ON CONFLICT (job, hash) DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		get, err := tx.PrepareContext(ctx, `SELECT line FROM reconcile_seen WHERE job = ? AND hash = ?`)
		if err != nil {
			return err
		}
		defer get.Close()
		for _, k := range keys {
			res, err := ins.ExecContext(ctx, job, k.Hash, k.Line)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				continue
			}
			d := cancuoc.SeenKey{Hash: k.Hash}
			if err := get.QueryRowContext(ctx, job, k.Hash).Scan(&d.Line); err != nil {
				return err
			}
			dups = append(dups, d)
		}
		return nil
	})
	if err != nil {
		return nil, dbErr(op, err)
	}
	return dups, nil
}

// FinishedReconciliations lists done and failed jobs last updated before
// `before`, oldest first.
func (o *ops) FinishedReconciliations(ctx context.Context, before time.Time, limit int) ([]*cancuoc.Reconciliation, error) {
	const op = "sqlite.FinishedReconciliations"
	if limit <= 0 {
		limit = 100
	}
	rows, err := o.r.QueryContext(ctx, `SELECT `+reconCols+` FROM reconciliations
		WHERE status IN ('done', 'failed') AND updated_at < ? ORDER BY updated_at, id LIMIT ?`, micros(before), limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*cancuoc.Reconciliation
	for rows.Next() {
		r, err := scanRecon(op, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, dbErr(op, rows.Err())
}

// ForgetSeen deletes a job's seen keys.
func (o *ops) ForgetSeen(ctx context.Context, job string) error {
	_, err := o.w.ExecContext(ctx, `DELETE FROM reconcile_seen WHERE job = ?`, job)
	return dbErr("sqlite.ForgetSeen", err)
}

// ReconciliationTotals sums the done jobs' counts per owner; the counts are
// JSON, so they are summed here (one row per job, not per record).
func (o *ops) ReconciliationTotals(ctx context.Context) ([]cancuoc.ReconciliationTotal, error) {
	const op = "sqlite.ReconciliationTotals"
	rows, err := o.r.QueryContext(ctx, `SELECT owner, counts FROM reconciliations WHERE status = 'done' OR (status = 'expired' AND COALESCE(error, '') = '')`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	totals := map[string]*cancuoc.ReconciliationTotal{}
	for rows.Next() {
		var owner, raw string
		if err := rows.Scan(&owner, &raw); err != nil {
			return nil, dbErr(op, err)
		}
		var counts map[string]int64
		if err := json.Unmarshal([]byte(raw), &counts); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		cancuoc.SumReconciliations(totals, owner, counts)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	return cancuoc.SortedReconciliationTotals(totals), nil
}
