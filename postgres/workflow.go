package postgres

import (
	"context"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ProcedureStore = (*conn)(nil)

func procNotFound(op string) error {
	return cancuoc.E(cancuoc.NotFound, op, "not_found", "Không tìm thấy hồ sơ.", "No such file.")
}

// InsertProcedure stores a new file.
func (c *conn) InsertProcedure(ctx context.Context, p *cancuoc.Procedure) error {
	const op = "postgres.InsertProcedure"
	c.forgetProc(p.ID)
	doc, err := json.Marshal(p)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	const insert = `INSERT INTO procedures (id, kind, status, applicant, province, submitted_at, deadline, resubmit_by, version, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`
	args := []any{p.ID, string(p.Kind), string(p.Status), string(p.Applicant), p.Province, ts(p.SubmittedAt), ts(p.Deadline),
		tsOrNull(p.ResubmitBy), p.Version, doc}
	// Its only refusal is a taken ID (laterOne). The new file has no
	// steps, which the transaction then knows (its first InsertStep is
	// held too).
	if c.laterOne(op, insert, args, func() error { return duplicate(op) }) {
		c.keepFile(p.ID, map[int][]byte{})
		return nil
	}
	tag, err := c.q.Exec(ctx, insert, args...)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

// laterOne holds write, an INSERT or UPDATE of at most one row, when the
// transaction's caller defers refusals (DeferRefusals, readahead.go): it
// goes with the next statement, a COMMIT or RELEASE included (pipetx.go,
// holdRaising), and laterOne reports true. With RETURNING 1 added, the
// server itself refuses it when it touched no row (a taken key, a stale
// version): 1 / count(*) of its rows raises division_by_zero, as
// UpdatePasskey's does, and refused is then the error. Only a write whose
// only refusal is refused's may go this way: the caller rules out a
// missing row. Otherwise laterOne reports false, and the caller runs the
// write at once.
func (c *conn) laterOne(op, write string, args []any, refused func() error) bool {
	if !c.ahead.deferring || c.pipe == nil || c.pipe.err != nil {
		return false
	}
	wrap := func(err error) error {
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "22012" { // division_by_zero: no row
			return refused()
		}
		return dbErr(op, err)
	}
	c.pipe.holdRaising(`WITH w AS (`+write+` RETURNING 1) SELECT 1 / count(*) FROM w`, args, wrap)
	return true
}

// Procedure returns one file. In a transaction it reads the file's steps
// with it, kept for the Step that nearly always follows (readahead.go).
func (c *conn) Procedure(ctx context.Context, id string) (*cancuoc.Procedure, error) {
	const op = "postgres.Procedure"
	doc, ok := c.takeProc(id)
	var err error
	switch {
	case ok:
	case c.pool != nil:
		err = c.q.QueryRow(ctx, `SELECT doc FROM procedures WHERE id = $1`, id).Scan(&doc)
	default:
		doc, err = c.procedureWithSteps(ctx, id)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, procNotFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	p := new(cancuoc.Procedure)
	return p, cancuoc.WithOp(op, json.Unmarshal(doc, p))
}

// ReadAheadFiles reads the files ids with all their steps in one
// statement and keeps them for the transaction's next Procedure and Step
// of each (readahead.go): a batch settle reads each item's file in turn,
// a round trip per item, where it knows them all at the start. It reads
// the records of the files' applicants and subjects too, in a second
// statement, kept for the transaction's next Citizen of each: a step's
// effect reads them (a birth's parent, the newborn), a round trip per
// item and record. Outside a transaction it does nothing. Files that do
// not exist are not kept (their Procedure reads, and finds none).
func (c *conn) ReadAheadFiles(ctx context.Context, ids []string) error {
	const op = "postgres.ReadAheadFiles"
	if c.pool != nil || len(ids) == 0 {
		return nil
	}
	rows, err := c.q.Query(ctx, readAheadFilesSQL, ids)
	if err != nil {
		return dbErr(op, err)
	}
	defer rows.Close()
	files := map[string]map[int][]byte{}
	var people []string
	for rows.Next() {
		var (
			id, applicant, subject string
			doc, stepDoc           []byte
			no                     *int
		)
		if err := rows.Scan(&id, &doc, &no, &stepDoc, &applicant, &subject); err != nil {
			return dbErr(op, err)
		}
		if files[id] == nil {
			files[id] = map[int][]byte{}
			c.keepProc(id, doc)
			people = append(people, applicant)
			if subject != "" {
				people = append(people, subject)
			}
		}
		if no != nil {
			c.keepStep(id, *no, stepDoc)
			files[id][*no] = stepDoc
		}
	}
	if err := rows.Err(); err != nil {
		return dbErr(op, err)
	}
	rows.Close()
	for id, steps := range files {
		c.keepFile(id, steps)
	}
	return dbErr(op, c.readAheadCitizens(ctx, people))
}

// readAheadFilesSQL reads the files $1 with their steps. The steps are
// read file by file through the primary key (LATERAL … OFFSET 0 keeps the
// planner from flattening the subquery into a join): as a plain join, the
// planner with no statistics yet or stale ones (autovacuum off or behind)
// hashed the files and scanned the whole steps table, so every batch
// settle read every step ever written (0.3 ms per birth procedure at 9,000
// steps, growing with the table).
const readAheadFilesSQL = `SELECT p.id, p.doc, s.no, s.doc, p.applicant, coalesce(p.doc->>'subject', '') FROM procedures p
	LEFT JOIN LATERAL (SELECT no, doc FROM procedure_steps WHERE procedure_id = p.id OFFSET 0) s ON true
	WHERE p.id = ANY($1)`

// procedureWithSteps reads file id and keeps its steps (pgx.ErrNoRows if
// there is no such file).
func (c *conn) procedureWithSteps(ctx context.Context, id string) ([]byte, error) {
	rows, err := c.q.Query(ctx, `SELECT p.doc, s.no, s.doc FROM procedures p
		LEFT JOIN procedure_steps s ON s.procedure_id = p.id WHERE p.id = $1`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var doc []byte
	all := map[int][]byte{}
	for rows.Next() {
		var (
			no      *int
			stepDoc []byte
		)
		if err := rows.Scan(&doc, &no, &stepDoc); err != nil {
			return nil, err
		}
		if no != nil {
			c.keepStep(id, *no, stepDoc)
			all[*no] = stepDoc
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, pgx.ErrNoRows
	}
	c.keepFile(id, all)
	return doc, nil
}

// UpdateProcedure replaces the file at version prev.
func (c *conn) UpdateProcedure(ctx context.Context, p *cancuoc.Procedure, prev int64) error {
	const op = "postgres.UpdateProcedure"
	c.forgetProc(p.ID)
	doc, err := json.Marshal(p)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	const update = `UPDATE procedures SET status = $1, deadline = $2, resubmit_by = $3, version = $4, doc = $5
		WHERE id = $6 AND version = $7`
	args := []any{string(p.Status), ts(p.Deadline), tsOrNull(p.ResubmitBy), p.Version, doc, p.ID, prev}
	// A file the transaction read exists (files are never deleted): only
	// a stale version can refuse the update (laterOne).
	if c.ahead.files[p.ID] != nil && c.laterSet(updateProcedureSet, op, update, args, p.ID, func() error { return staleVersion(op) }) {
		return nil
	}
	tag, err := c.q.Exec(ctx, update, args...)
	if err != nil {
		return dbErr(op, err)
	}
	return c.updated(ctx, op, tag, `SELECT 1 FROM procedures WHERE id = $1`, p.ID)
}

// tsOrNull is t as stored, or NULL when unset: a typed nil, so that the
// batched write (updateProcedureSet) still makes one array of the column.
func tsOrNull(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// updated tells a stale version from a missing row after an UPDATE that
// changed nothing.
func (c *conn) updated(ctx context.Context, op string, tag pgconn.CommandTag, exists string, args ...any) error {
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	err := c.q.QueryRow(ctx, exists, args...).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return procNotFound(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return staleVersion(op)
}

// where builds a conjunction of conditions with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	for range args {
		w.args = append(w.args, nil)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	copy(w.args[len(w.args)-len(args):], args)
	w.conds = append(w.conds, cond)
}

func (w *where) next() string { return "$" + strconv.Itoa(len(w.args)+1) }

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func strs[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

func limitOf(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

// Procedures lists files matching q.
func (c *conn) Procedures(ctx context.Context, q cancuoc.ProcedureQuery) ([]*cancuoc.Procedure, error) {
	const op = "postgres.Procedures"
	var w where
	if q.Applicant != "" {
		w.add("applicant = ?", string(q.Applicant))
	}
	if q.Kind != "" {
		w.add("kind = ?", string(q.Kind))
	}
	if len(q.Statuses) > 0 {
		w.add("status = ANY(?)", strs(q.Statuses))
	}
	if q.Province != "" {
		w.add("province = ?", q.Province)
	}
	if !q.SubmittedFrom.IsZero() {
		w.add("submitted_at >= ?", ts(q.SubmittedFrom))
	}
	if !q.SubmittedTo.IsZero() {
		w.add("submitted_at < ?", ts(q.SubmittedTo))
	}
	if !q.ResubmitByBefore.IsZero() {
		w.add("resubmit_by < ?", ts(q.ResubmitByBefore))
	}
	if q.AfterID != "" {
		w.add("id > ?", q.AfterID)
	}
	sql := `SELECT doc FROM procedures` + w.sql() + ` ORDER BY id LIMIT ` + w.next()
	rows, err := c.q.Query(ctx, sql, append(w.args, limitOf(q.Limit))...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanDocs[cancuoc.Procedure](op, rows)
}

func scanDocs[T any](op string, rows pgx.Rows) ([]*T, error) {
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

// InsertStep stores a new step; ON CONFLICT DO NOTHING keeps the
// transaction usable when the number is taken.
func (c *conn) InsertStep(ctx context.Context, s *cancuoc.ProcedureStep) error {
	const op = "postgres.InsertStep"
	c.forgetProc(s.ProcedureID)
	steps, known := c.ahead.files[s.ProcedureID]
	_, taken := steps[s.No]
	delete(c.ahead.files, s.ProcedureID)
	doc, err := json.Marshal(s)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	const insert = `INSERT INTO procedure_steps (procedure_id, no, agency, status, kind, province, commune, submitted_at, version, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (procedure_id, no) DO NOTHING`
	args := []any{s.ProcedureID, s.No, s.Agency, string(s.Status), string(s.Kind), s.Province, s.Commune, ts(s.SubmittedAt), s.Version, doc}
	exists := func() error {
		return cancuoc.E(cancuoc.Conflict, op, "step_exists", "Bước này của hồ sơ đã được tạo.", "This step of the file already exists.")
	}
	// The transaction holds all the file's steps and this one is not
	// among them (the next step of a completion, the first of a new
	// file): only a transaction creating it at the same moment can take
	// it (laterOne).
	if known && !taken && c.laterSet(insertStepSet, op, insert, args, stepRow(s), exists) {
		return nil
	}
	tag, err := c.q.Exec(ctx, insert, args...)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return exists()
	}
	return nil
}

// Step returns one step.
func (c *conn) Step(ctx context.Context, procedureID string, no int) (*cancuoc.ProcedureStep, error) {
	const op = "postgres.Step"
	doc, ok := c.takeStep(procedureID, no)
	var err error
	if !ok {
		err = c.q.QueryRow(ctx, `SELECT doc FROM procedure_steps WHERE procedure_id = $1 AND no = $2`, procedureID, no).Scan(&doc)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, procNotFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	s := new(cancuoc.ProcedureStep)
	return s, cancuoc.WithOp(op, json.Unmarshal(doc, s))
}

// UpdateStep replaces the step at version prev.
func (c *conn) UpdateStep(ctx context.Context, s *cancuoc.ProcedureStep, prev int64) error {
	const op = "postgres.UpdateStep"
	c.forgetProc(s.ProcedureID)
	doc, err := json.Marshal(s)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	// The place too: a correction may move a step sent back to the
	// applicant (workflow's stepsMoved).
	const update = `UPDATE procedure_steps SET status = $1, province = $2, commune = $3, version = $4, doc = $5
		WHERE procedure_id = $6 AND no = $7 AND version = $8`
	args := []any{string(s.Status), s.Province, s.Commune, s.Version, doc, s.ProcedureID, s.No, prev}
	if c.pipe != nil && c.lockedAt(s.ProcedureID, s.No, prev) {
		// Locked by this transaction at prev: the update cannot be
		// refused, so nobody waits for its answer (a batch claim's
		// tasks then go in one round trip with the next statement). A
		// gathered write of the step, if any, goes first.
		c.pipe.sealRuns()
		c.lockStep(s.ProcedureID, s.No, s.Version)
		c.wroteFileStep(s.ProcedureID, s.No, doc)
		return c.later(ctx, op, update, args, func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != 1 {
				return staleVersion(op) // cannot happen under the lock
			}
			return nil
		})
	}
	delete(c.ahead.locked, stepKey{s.ProcedureID, s.No})
	// A step the transaction read with its file exists (steps are never
	// deleted): only a stale version can refuse the update (laterOne).
	if _, ok := c.ahead.files[s.ProcedureID][s.No]; ok && c.laterSet(updateStepSet, op, update, args, stepRow(s), func() error { return staleVersion(op) }) {
		c.wroteFileStep(s.ProcedureID, s.No, doc)
		return nil
	}
	tag, err := c.q.Exec(ctx, update, args...)
	if err != nil {
		delete(c.ahead.files, s.ProcedureID)
		return dbErr(op, err)
	}
	if err := c.updated(ctx, op, tag, `SELECT 1 FROM procedure_steps WHERE procedure_id = $1 AND no = $2`, s.ProcedureID, s.No); err != nil {
		delete(c.ahead.files, s.ProcedureID)
		return err
	}
	c.wroteFileStep(s.ProcedureID, s.No, doc)
	return nil
}

// Steps lists steps matching q.
func (c *conn) Steps(ctx context.Context, q cancuoc.StepQuery) ([]*cancuoc.ProcedureStep, error) {
	const op = "postgres.Steps"
	if docs, ok := c.fileSteps(q.ProcedureID); ok && wholeFile(q) && len(docs) <= limitOf(0) {
		// All the file's steps, which the transaction holds (readahead.go).
		out := make([]*cancuoc.ProcedureStep, len(docs))
		for i, doc := range docs {
			out[i] = new(cancuoc.ProcedureStep)
			if err := json.Unmarshal(doc, out[i]); err != nil {
				return nil, cancuoc.WithOp(op, err)
			}
		}
		return out, nil
	}
	w := stepFilter(q)
	if q.AfterProcedure != "" {
		w.add("(procedure_id, no) > (?, ?)", q.AfterProcedure, q.AfterNo)
	}
	sql := w.sql() + ` ORDER BY procedure_id, no LIMIT ` + w.next()
	if q.ForClaim && c.pool == nil {
		return c.stepsForClaim(ctx, `SELECT procedure_id, no, doc FROM procedure_steps`+sql+` FOR UPDATE SKIP LOCKED`,
			append(w.args, limitOf(q.Limit)))
	}
	sql = `SELECT doc FROM procedure_steps` + sql
	rows, err := c.q.Query(ctx, sql, append(w.args, limitOf(q.Limit))...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanDocs[cancuoc.ProcedureStep](op, rows)
}

// stepsForClaim runs a claim's selection (locking the steps) and reads
// their files with them, kept for the claim's Procedure of each task
// (readahead.go).
func (c *conn) stepsForClaim(ctx context.Context, sel string, args []any) ([]*cancuoc.ProcedureStep, error) {
	const op = "postgres.Steps"
	rows, err := c.q.Query(ctx, `WITH s AS MATERIALIZED (`+sel+`)
		SELECT s.doc, s.procedure_id, p.doc FROM s LEFT JOIN procedures p ON p.id = s.procedure_id
		ORDER BY s.procedure_id, s.no`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.ProcedureStep{}
	for rows.Next() {
		var (
			doc, procDoc []byte
			id           string
		)
		if err := rows.Scan(&doc, &id, &procDoc); err != nil {
			return nil, dbErr(op, err)
		}
		st := new(cancuoc.ProcedureStep)
		if err := json.Unmarshal(doc, st); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		c.lockStep(st.ProcedureID, st.No, st.Version)
		if procDoc != nil {
			c.keepProc(id, procDoc)
		}
		out = append(out, st)
	}
	return out, dbErr(op, rows.Err())
}

// wholeFile tells whether q asks for all the steps of one file, nothing more.
func wholeFile(q cancuoc.StepQuery) bool {
	rest := q
	rest.ProcedureID = ""
	return q.ProcedureID != "" && reflect.ValueOf(rest).IsZero()
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
	if len(q.Statuses) > 0 {
		w.add("status = ANY(?)", strs(q.Statuses))
	}
	if q.Province != "" {
		w.add("province = ?", q.Province)
	}
	if q.Commune != "" {
		w.add("commune = ?", q.Commune)
	}
	if !q.SubmittedFrom.IsZero() {
		w.add("submitted_at >= ?", ts(q.SubmittedFrom))
	}
	if !q.SubmittedTo.IsZero() {
		w.add("submitted_at < ?", ts(q.SubmittedTo))
	}
	if q.ReclaimableBy != "" {
		// The claim time is text in the document (RFC 3339, to the
		// nanosecond); timestamptz keeps microseconds, so the bound is
		// moved a millisecond later, as on SQLite (StepQuery.ClaimedBefore).
		// A claim's FOR UPDATE SKIP LOCKED then locks only these steps,
		// not every claimed task of the queue.
		w.add(`(doc->>'claimed_by' = ? OR doc->>'claimed_at' IS NULL OR (doc->>'claimed_at')::timestamptz <= ?)`,
			q.ReclaimableBy, ts(q.ClaimedBefore.Add(time.Millisecond)))
	}
	return &w
}

// CountSteps counts q's steps and those due before dueBefore (the due time
// is only in the JSON document).
func (c *conn) CountSteps(ctx context.Context, q cancuoc.StepQuery, dueBefore time.Time) (int, int, error) {
	const op = "postgres.CountSteps"
	w := stepFilter(q)
	due := w.next()
	w.args = append(w.args, ts(dueBefore))
	var total, overdue int
	err := c.q.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE (doc->>'due')::timestamptz < `+due+`)
		FROM procedure_steps`+w.sql(), w.args...).Scan(&total, &overdue)
	if err != nil {
		return 0, 0, dbErr(op, err)
	}
	return total, overdue, nil
}

// InsertIssuedDocument stores an issued document; ON CONFLICT DO NOTHING keeps
// the transaction usable when the citizen has one or the number is taken.
func (c *conn) InsertIssuedDocument(ctx context.Context, d *cancuoc.IssuedDocument) error {
	const op = "postgres.InsertDocument"
	const insert = `INSERT INTO issued_documents (kind, number, pin, procedure_id, issued_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`
	args := []any{d.Kind, d.Number, string(d.PIN), d.ProcedureID, ts(d.IssuedAt)}
	issued := func() error {
		return cancuoc.E(cancuoc.Conflict, op, "document_exists", "Giấy tờ này đã được cấp.", "This document has already been issued.")
	}
	if c.laterSet(insertDocumentSet, op, insert, args, d.Kind+"\x00"+d.Number, issued) { // its only refusal
		return nil
	}
	tag, err := c.q.Exec(ctx, insert, args...)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return issued()
	}
	return nil
}

// Documents lists a citizen's issued documents by kind.
func (c *conn) IssuedDocuments(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.IssuedDocument, error) {
	const op = "postgres.Documents"
	rows, err := c.q.Query(ctx, `SELECT kind, number, pin, procedure_id, issued_at FROM issued_documents
		WHERE pin = $1 ORDER BY kind, number`, string(pin))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.IssuedDocument{}
	for rows.Next() {
		var (
			d cancuoc.IssuedDocument
			p string
		)
		if err := rows.Scan(&d.Kind, &d.Number, &p, &d.ProcedureID, &d.IssuedAt); err != nil {
			return nil, dbErr(op, err)
		}
		d.PIN, d.IssuedAt = cancuoc.PIN(p), ts(d.IssuedAt)
		out = append(out, &d)
	}
	return out, dbErr(op, rows.Err())
}

// SaveRequest stores an idempotent request's answer.
func (c *conn) SaveRequest(ctx context.Context, r *cancuoc.IdempotentRequest) error {
	const op = "postgres.SaveRequest"
	const insert = `INSERT INTO idempotent_requests (principal, key, hash, status, body, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`
	args := []any{r.Principal, r.Key, r.Hash, r.Status, r.Body, ts(r.CreatedAt)}
	if c.laterOne(op, insert, args, func() error { return duplicate(op) }) { // its only refusal: it goes with the COMMIT
		return nil
	}
	tag, err := c.q.Exec(ctx, insert, args...)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

// Request returns a stored answer.
func (c *conn) Request(ctx context.Context, principal, key string) (*cancuoc.IdempotentRequest, error) {
	const op = "postgres.Request"
	r := &cancuoc.IdempotentRequest{Principal: principal, Key: key}
	err := c.q.QueryRow(ctx, `SELECT hash, status, body, created_at FROM idempotent_requests WHERE principal = $1 AND key = $2`,
		principal, key).Scan(&r.Hash, &r.Status, &r.Body, &r.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, cancuoc.E(cancuoc.NotFound, op, "not_found", "Không có yêu cầu với khoá này.", "No request with this key.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	r.CreatedAt = ts(r.CreatedAt)
	return r, nil
}

// stepRow names a step's row for the runs of gathered writes (pipeset.go).
func stepRow(s *cancuoc.ProcedureStep) string {
	return s.ProcedureID + "\x00" + strconv.Itoa(s.No)
}
