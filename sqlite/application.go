package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ApplicationStore = (*ops)(nil)

// InsertApplication stores a new application.
func (o *ops) InsertApplication(ctx context.Context, a *cancuoc.Application) error {
	const op = "sqlite.InsertApplication"
	doc, err := json.Marshal(a)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	_, err = o.w.ExecContext(ctx, `INSERT INTO applications (id, kind, status, pin, filed_by, province, commune, filed_at, due, version, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, string(a.Kind), string(a.Status), string(a.PIN), string(a.FiledBy),
		a.Unit.Province, a.Unit.Commune, micros(a.FiledAt), micros(a.Due), a.Version, string(doc))
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return conflict(op, "duplicate", "Hồ sơ đề nghị đã tồn tại.", "The application already exists.")
	}
	return dbErr(op, err)
}

// Application returns one application.
func (o *ops) Application(ctx context.Context, id string) (*cancuoc.Application, error) {
	const op = "sqlite.Application"
	var doc []byte
	err := o.r.QueryRowContext(ctx, `SELECT doc FROM applications WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, cancuoc.ErrApplicationNotFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	a := new(cancuoc.Application)
	return a, cancuoc.WithOp(op, json.Unmarshal(doc, a))
}

// UpdateApplication replaces the application at version prev.
func (o *ops) UpdateApplication(ctx context.Context, a *cancuoc.Application, prev int64) error {
	const op = "sqlite.UpdateApplication"
	doc, err := json.Marshal(a)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `UPDATE applications SET status = ?, due = ?, version = ?, doc = ? WHERE id = ? AND version = ?`,
		string(a.Status), micros(a.Due), a.Version, string(doc), a.ID, prev)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return dbErr(op, err)
	}
	var one int
	err = o.w.QueryRowContext(ctx, `SELECT 1 FROM applications WHERE id = ?`, a.ID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return cancuoc.ErrApplicationNotFound(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return conflict(op, "stale_version", "Hồ sơ đề nghị vừa được người khác thay đổi; hãy tải lại và thử lại.",
		"The application was changed by someone else; reload it and try again.")
}

// Applications lists matching applications by due time, then ID.
func (o *ops) Applications(ctx context.Context, q cancuoc.ApplicationQuery) ([]*cancuoc.Application, error) {
	const op = "sqlite.Applications"
	var w where
	if q.Province != "" {
		w.add("province = ?", q.Province)
	}
	if q.Commune != "" {
		w.add("commune = ?", q.Commune)
	}
	if q.Person != "" {
		w.add("(pin = ? OR filed_by = ?)", string(q.Person), string(q.Person))
	}
	w.in("kind", anyStrings(q.Kinds))
	w.in("status", anyStrings(q.Statuses))
	if !q.DueBefore.IsZero() {
		w.add("due < ?", micros(q.DueBefore))
	}
	if q.AfterID != "" {
		w.add("(due > ? OR (due = ? AND id > ?))", micros(q.AfterDue), micros(q.AfterDue), q.AfterID)
	}
	rows, err := o.r.QueryContext(ctx, `SELECT doc FROM applications`+w.sql()+` ORDER BY due, id LIMIT ?`,
		append(w.args, appLimit(q.Limit))...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*cancuoc.Application
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, dbErr(op, err)
		}
		a := new(cancuoc.Application)
		if err := json.Unmarshal(doc, a); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		out = append(out, a)
	}
	return out, dbErr(op, rows.Err())
}

// CountApplications counts by kind and unit: provinces nationally,
// communes within one province.
func (o *ops) CountApplications(ctx context.Context, province string, now time.Time) ([]cancuoc.ApplicationCount, error) {
	const op = "sqlite.CountApplications"
	unit, cond, args := "province", "", []any{micros(now)}
	if province != "" {
		unit, cond = "commune", " WHERE province = ?"
		args = append(args, province)
	}
	rows, err := o.r.QueryContext(ctx, `SELECT kind, province, `+unit+`, count(*),
		sum(status = 'approved'), sum(status = 'rejected'), sum(status = 'submitted' AND due < ?)
		FROM applications`+cond+` GROUP BY kind, province, `+unit, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []cancuoc.ApplicationCount
	for rows.Next() {
		var c cancuoc.ApplicationCount
		var u string
		var kind string
		if err := rows.Scan(&kind, &c.Province, &u, &c.Received, &c.Approved, &c.Rejected, &c.Overdue); err != nil {
			return nil, dbErr(op, err)
		}
		c.Kind = cancuoc.ApplicationKind(kind)
		if province != "" {
			c.Commune = u
		}
		out = append(out, c)
	}
	return out, dbErr(op, rows.Err())
}

// appLimit bounds a page: 100 when none is asked, at most 1000.
func appLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return min(n, 1000)
}

func anyStrings[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}
