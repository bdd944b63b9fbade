package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ProcedureStore = (*ops)(nil)

func procNotFound(op string) error {
	return notFound(op, "Không tìm thấy hồ sơ.", "No such file.")
}

func staleProc(op string) error {
	return conflict(op, "stale_version", "Hồ sơ vừa được người khác thay đổi; hãy tải lại và thử lại.",
		"The file was changed by someone else; reload it and try again.")
}

// InsertProcedure stores a new file.
func (o *ops) InsertProcedure(ctx context.Context, p *cancuoc.Procedure) error {
	const op = "sqlite.InsertProcedure"
	doc, err := json.Marshal(p)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	_, err = o.w.ExecContext(ctx, `INSERT INTO procedures (id, kind, status, applicant, province, submitted_at, deadline, resubmit_by, version, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, string(p.Kind), string(p.Status), string(p.Applicant), p.Province,
		micros(p.SubmittedAt), micros(p.Deadline), microsOrNull(p.ResubmitBy), p.Version, string(doc))
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return conflict(op, "duplicate", "Hồ sơ đã tồn tại.", "The file already exists.")
	}
	if err != nil {
		return dbErr(op, err)
	}
	o.keepProcedure(p, doc)
	return nil
}

// keepProcedure keeps p, just written as doc, for the reads that follow.
func (o *ops) keepProcedure(p *cancuoc.Procedure, doc []byte) {
	if c := o.docs.procedureCache(); c != nil {
		if n, ok := procedureAsRead(p, doc); ok {
			c.put(p.ID, doc, n)
		}
	}
}

// keepStep keeps s, just written as doc, for the reads that follow.
func (o *ops) keepStep(s *cancuoc.ProcedureStep, doc []byte) {
	if c := o.docs.stepCache(); c != nil {
		if n, ok := stepAsRead(s, doc); ok {
			c.put(stepKey(s.ProcedureID, s.No), doc, n)
		}
	}
}

// Procedure returns one file.
func (o *ops) Procedure(ctx context.Context, id string) (*cancuoc.Procedure, error) {
	const op = "sqlite.Procedure"
	var doc []byte
	err := o.r.QueryRowContext(ctx, `SELECT doc FROM procedures WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, procNotFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	p, err := o.docs.procedureCache().decode(id, doc)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return p, nil
}

// UpdateProcedure replaces the file at version prev.
func (o *ops) UpdateProcedure(ctx context.Context, p *cancuoc.Procedure, prev int64) error {
	const op = "sqlite.UpdateProcedure"
	doc, err := json.Marshal(p)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `UPDATE procedures SET status = ?, deadline = ?, resubmit_by = ?, version = ?, doc = ?
		WHERE id = ? AND version = ?`, string(p.Status), micros(p.Deadline), microsOrNull(p.ResubmitBy), p.Version, string(doc), p.ID, prev)
	if err != nil {
		return dbErr(op, err)
	}
	if err := o.updated(ctx, op, res, `SELECT 1 FROM procedures WHERE id = ?`, p.ID); err != nil {
		return err
	}
	o.keepProcedure(p, doc)
	return nil
}

// microsOrNull is t in micros, or NULL when unset.
func microsOrNull(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

// updated tells a stale version from a missing row after an UPDATE that
// changed nothing.
func (o *ops) updated(ctx context.Context, op string, res sql.Result, exists string, args ...any) error {
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return dbErr(op, err)
	}
	var one int
	err := o.w.QueryRowContext(ctx, exists, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return procNotFound(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return staleProc(op)
}

// where builds a conjunction of conditions with their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) in(col string, vals []string) {
	if len(vals) == 0 {
		return
	}
	w.add(col+" IN (?"+strings.Repeat(", ?", len(vals)-1)+")", anys(vals)...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func anys[T ~string](vals []T) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

func strs[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

// limitParam is a LIMIT whose value is bound. Not "LIMIT ?": SQLite
// (3.4x) plans a bound LIMIT for the value bound when it prepares, and
// prepares the statement again whenever a later bind changes the value.
// The steps' queue is read with LIMIT 1 (an idle poll), 50 (a claim) and
// the few a claim still needs, in turn on the same connections, so its
// cached statement was parsed and planned again on most runs (half the
// CPU of the query). An expression is not planned for its value.
const limitParam = "LIMIT (? + 0)"

func limitOf(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

// Procedures lists files matching q.
func (o *ops) Procedures(ctx context.Context, q cancuoc.ProcedureQuery) ([]*cancuoc.Procedure, error) {
	const op = "sqlite.Procedures"
	var w where
	if q.Applicant != "" {
		w.add("applicant = ?", string(q.Applicant))
	}
	if q.Kind != "" {
		w.add("kind = ?", string(q.Kind))
	}
	w.in("status", strs(q.Statuses))
	if q.Province != "" {
		w.add("province = ?", q.Province)
	}
	if !q.SubmittedFrom.IsZero() {
		w.add("submitted_at >= ?", micros(q.SubmittedFrom))
	}
	if !q.SubmittedTo.IsZero() {
		w.add("submitted_at < ?", micros(q.SubmittedTo))
	}
	if !q.ResubmitByBefore.IsZero() {
		w.add("resubmit_by < ?", micros(q.ResubmitByBefore))
	}
	if q.AfterID != "" {
		w.add("id > ?", q.AfterID)
	}
	rows, err := o.r.QueryContext(ctx, `SELECT doc FROM procedures`+w.sql()+` ORDER BY id `+limitParam, append(w.args, limitOf(q.Limit))...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanDocs[cancuoc.Procedure](op, rows)
}

func scanDocs[T any](op string, rows *sql.Rows) ([]*T, error) {
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, dbErr(op, err)
		}
		v := new(T)
		if err := json.Unmarshal(doc, v); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		out = append(out, v)
	}
	return out, dbErr(op, rows.Err())
}

// InsertStep stores a new step; a taken number is a Conflict that leaves
// the transaction usable.
func (o *ops) InsertStep(ctx context.Context, s *cancuoc.ProcedureStep) error {
	const op = "sqlite.InsertStep"
	doc, err := json.Marshal(s)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO procedure_steps (procedure_id, no, agency, status, kind, province, commune, submitted_at, version, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (procedure_id, no) DO NOTHING`,
		s.ProcedureID, s.No, s.Agency, string(s.Status), string(s.Kind), s.Province, s.Commune, micros(s.SubmittedAt), s.Version, string(doc))
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 1 {
		o.keepStep(s, doc)
		return nil
	}
	return conflict(op, "step_exists", "Bước này của hồ sơ đã được tạo.", "This step of the file already exists.")
}

// Step returns one step.
func (o *ops) Step(ctx context.Context, procedureID string, no int) (*cancuoc.ProcedureStep, error) {
	const op = "sqlite.Step"
	var doc []byte
	err := o.r.QueryRowContext(ctx, `SELECT doc FROM procedure_steps WHERE procedure_id = ? AND no = ?`, procedureID, no).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, procNotFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	s, err := o.docs.stepCache().decode(stepKey(procedureID, no), doc)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return s, nil
}

// UpdateStep replaces the step at version prev.
func (o *ops) UpdateStep(ctx context.Context, s *cancuoc.ProcedureStep, prev int64) error {
	const op = "sqlite.UpdateStep"
	doc, err := json.Marshal(s)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	// The place too: a correction may move a step sent back to the
	// applicant (workflow's stepsMoved).
	res, err := o.w.ExecContext(ctx, `UPDATE procedure_steps SET status = ?, province = ?, commune = ?, version = ?, doc = ?
		WHERE procedure_id = ? AND no = ? AND version = ?`, string(s.Status), s.Province, s.Commune, s.Version, string(doc), s.ProcedureID, s.No, prev)
	if err != nil {
		return dbErr(op, err)
	}
	if err := o.updated(ctx, op, res, `SELECT 1 FROM procedure_steps WHERE procedure_id = ? AND no = ?`, s.ProcedureID, s.No); err != nil {
		return err
	}
	o.keepStep(s, doc)
	return nil
}

// Steps lists steps matching q.
func (o *ops) Steps(ctx context.Context, q cancuoc.StepQuery) ([]*cancuoc.ProcedureStep, error) {
	const op = "sqlite.Steps"
	w := stepFilter(q)
	if q.AfterProcedure != "" {
		w.add("(procedure_id, no) > (?, ?)", q.AfterProcedure, q.AfterNo)
	}
	rows, err := o.r.QueryContext(ctx, `SELECT procedure_id, no, doc FROM procedure_steps`+w.sql()+` ORDER BY procedure_id, no `+limitParam, append(w.args, limitOf(q.Limit))...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.ProcedureStep{}
	for rows.Next() {
		var (
			id  string
			no  int
			doc []byte
		)
		if err := rows.Scan(&id, &no, &doc); err != nil {
			return nil, dbErr(op, err)
		}
		s, err := o.docs.stepCache().decode(stepKey(id, no), doc)
		if err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		out = append(out, s)
	}
	return out, dbErr(op, rows.Err())
}

// stepFilter is the WHERE clause of q's selection, without its paging.
func stepFilter(q cancuoc.StepQuery) *where {
	var w where
	if q.ProcedureID != "" {
		w.add("procedure_id = ?", q.ProcedureID)
	}
	if q.Agency != "" {
		w.add("agency = ?", q.Agency)
	}
	if q.Kind != "" {
		w.add("kind = ?", string(q.Kind))
	}
	w.in("status", strs(q.Statuses))
	if q.Province != "" {
		w.add("province = ?", q.Province)
	}
	if q.Commune != "" {
		w.add("commune = ?", q.Commune)
	}
	if !q.SubmittedFrom.IsZero() {
		w.add("submitted_at >= ?", micros(q.SubmittedFrom))
	}
	if !q.SubmittedTo.IsZero() {
		w.add("submitted_at < ?", micros(q.SubmittedTo))
	}
	if q.ReclaimableBy != "" {
		// julianday parses the RFC 3339 claim time to about a millisecond:
		// the bound is moved a millisecond later so that no step whose
		// lease has ended is left out (StepQuery.ClaimedBefore).
		w.add(`(json_extract(doc, '$.claimed_by') = ? OR json_extract(doc, '$.claimed_at') IS NULL
			OR julianday(json_extract(doc, '$.claimed_at')) <= julianday(?))`,
			q.ReclaimableBy, q.ClaimedBefore.Add(time.Millisecond).UTC().Format(time.RFC3339Nano))
	}
	return &w
}

// CountSteps counts q's steps and those due before dueBefore. The due
// time is only in the JSON document (RFC 3339, UTC); julianday parses it
// to the millisecond, which is as close as an overdue flag needs.
func (o *ops) CountSteps(ctx context.Context, q cancuoc.StepQuery, dueBefore time.Time) (int, int, error) {
	const op = "sqlite.CountSteps"
	w := stepFilter(q)
	args := append([]any{dueBefore.UTC().Format(time.RFC3339Nano)}, w.args...)
	var total, due int
	err := o.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(julianday(json_extract(doc, '$.due')) < julianday(?)), 0)
		FROM procedure_steps`+w.sql(), args...).Scan(&total, &due)
	if err != nil {
		return 0, 0, dbErr(op, err)
	}
	return total, due, nil
}

// InsertIssuedDocument stores an issued document; a citizen's second document of
// a kind, or a taken number, is a Conflict that leaves the transaction
// usable.
func (o *ops) InsertIssuedDocument(ctx context.Context, d *cancuoc.IssuedDocument) error {
	const op = "sqlite.InsertDocument"
	res, err := o.w.ExecContext(ctx, `INSERT INTO issued_documents (kind, number, pin, procedure_id, issued_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, d.Kind, d.Number, string(d.PIN), d.ProcedureID, micros(d.IssuedAt))
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return dbErr(op, err)
	}
	return conflict(op, "document_exists", "Giấy tờ này đã được cấp.", "This document has already been issued.")
}

// Documents lists a citizen's issued documents by kind.
func (o *ops) IssuedDocuments(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.IssuedDocument, error) {
	const op = "sqlite.Documents"
	rows, err := o.r.QueryContext(ctx, `SELECT kind, number, pin, procedure_id, issued_at FROM issued_documents
		WHERE pin = ? ORDER BY kind, number`, string(pin))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.IssuedDocument{}
	for rows.Next() {
		var (
			d  cancuoc.IssuedDocument
			p  string
			at int64
		)
		if err := rows.Scan(&d.Kind, &d.Number, &p, &d.ProcedureID, &at); err != nil {
			return nil, dbErr(op, err)
		}
		d.PIN, d.IssuedAt = cancuoc.PIN(p), fromMicros(at)
		out = append(out, &d)
	}
	return out, dbErr(op, rows.Err())
}

// SaveRequest stores an idempotent request's answer.
func (o *ops) SaveRequest(ctx context.Context, r *cancuoc.IdempotentRequest) error {
	const op = "sqlite.SaveRequest"
	_, err := o.w.ExecContext(ctx, `INSERT INTO idempotent_requests (principal, key, hash, status, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, r.Principal, r.Key, r.Hash, r.Status, r.Body, micros(r.CreatedAt))
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return conflict(op, "duplicate", "Yêu cầu với khoá này đã được ghi.", "A request with this key is already recorded.")
	}
	return dbErr(op, err)
}

// Request returns a stored answer.
func (o *ops) Request(ctx context.Context, principal, key string) (*cancuoc.IdempotentRequest, error) {
	const op = "sqlite.Request"
	r := &cancuoc.IdempotentRequest{Principal: principal, Key: key}
	var at int64
	err := o.r.QueryRowContext(ctx, `SELECT hash, status, body, created_at FROM idempotent_requests WHERE principal = ? AND key = ?`,
		principal, key).Scan(&r.Hash, &r.Status, &r.Body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không có yêu cầu với khoá này.", "No request with this key.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	r.CreatedAt = fromMicros(at)
	return r, nil
}
