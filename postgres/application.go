package postgres

import (
	"context"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ApplicationStore = (*conn)(nil)

// InsertApplication stores a new application.
func (c *conn) InsertApplication(ctx context.Context, a *cancuoc.Application) error {
	const op = "postgres.InsertApplication"
	doc, err := appDoc(a)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	tag, err := c.q.Exec(ctx, `INSERT INTO applications (id, kind, status, pin, filed_by, province, commune, filed_at, due, version, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`, a.ID, string(a.Kind), string(a.Status),
		string(a.PIN), string(a.FiledBy), a.Unit.Province, a.Unit.Commune, ts(a.FiledAt), ts(a.Due), a.Version, doc)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return cancuoc.E(cancuoc.Conflict, op, "duplicate", "Hồ sơ đề nghị đã tồn tại.", "The application already exists.")
	}
	return nil
}

// appDoc is the application's JSON with its times as stored.
func appDoc(a *cancuoc.Application) ([]byte, error) {
	n := *a
	n.FiledAt, n.Due, n.UpdatedAt = ts(a.FiledAt), ts(a.Due), ts(a.UpdatedAt)
	if a.DecidedAt != nil {
		t := ts(*a.DecidedAt)
		n.DecidedAt = &t
	}
	return json.Marshal(&n)
}

// Application returns one application.
func (c *conn) Application(ctx context.Context, id string) (*cancuoc.Application, error) {
	const op = "postgres.Application"
	var doc []byte
	err := c.q.QueryRow(ctx, `SELECT doc FROM applications WHERE id = $1`, id).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, cancuoc.ErrApplicationNotFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	a := new(cancuoc.Application)
	return a, cancuoc.WithOp(op, json.Unmarshal(doc, a))
}

// UpdateApplication replaces the application at version prev. The UPDATE
// takes the row lock, so a racing decision waits for this transaction and
// then finds the version moved on.
func (c *conn) UpdateApplication(ctx context.Context, a *cancuoc.Application, prev int64) error {
	const op = "postgres.UpdateApplication"
	doc, err := appDoc(a)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	tag, err := c.q.Exec(ctx, `UPDATE applications SET status = $1, due = $2, version = $3, doc = $4 WHERE id = $5 AND version = $6`,
		string(a.Status), ts(a.Due), a.Version, doc, a.ID, prev)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	err = c.q.QueryRow(ctx, `SELECT 1 FROM applications WHERE id = $1`, a.ID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return cancuoc.ErrApplicationNotFound(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return cancuoc.E(cancuoc.Conflict, op, "stale_version", "Hồ sơ đề nghị vừa được người khác thay đổi; hãy tải lại và thử lại.",
		"The application was changed by someone else; reload it and try again.")
}

// Applications lists matching applications by due time, then ID.
func (c *conn) Applications(ctx context.Context, q cancuoc.ApplicationQuery) ([]*cancuoc.Application, error) {
	const op = "postgres.Applications"
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
	if len(q.Kinds) > 0 {
		w.add("kind = ANY(?)", strs(q.Kinds))
	}
	if len(q.Statuses) > 0 {
		w.add("status = ANY(?)", strs(q.Statuses))
	}
	if !q.DueBefore.IsZero() {
		w.add("due < ?", ts(q.DueBefore))
	}
	if q.AfterID != "" {
		w.add("(due, id) > (?, ?)", ts(q.AfterDue), q.AfterID)
	}
	lim := w.next()
	rows, err := c.q.Query(ctx, `SELECT doc FROM applications`+w.sql()+` ORDER BY due, id LIMIT `+lim,
		append(w.args, min(limitOf(q.Limit), 1000))...)
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
func (c *conn) CountApplications(ctx context.Context, province string, now time.Time) ([]cancuoc.ApplicationCount, error) {
	const op = "postgres.CountApplications"
	unit, cond, args := "province", "", []any{ts(now)}
	if province != "" {
		unit, cond = "commune", " WHERE province = $2"
		args = append(args, province)
	}
	rows, err := c.q.Query(ctx, `SELECT kind, province, `+unit+`, count(*),
		count(*) FILTER (WHERE status = 'approved'), count(*) FILTER (WHERE status = 'rejected'),
		count(*) FILTER (WHERE status = 'submitted' AND due < $1)
		FROM applications`+cond+` GROUP BY kind, province, `+unit, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []cancuoc.ApplicationCount
	for rows.Next() {
		var a cancuoc.ApplicationCount
		var kind, u string
		if err := rows.Scan(&kind, &a.Province, &u, &a.Received, &a.Approved, &a.Rejected, &a.Overdue); err != nil {
			return nil, dbErr(op, err)
		}
		a.Kind = cancuoc.ApplicationKind(kind)
		if province != "" {
			a.Commune = u
		}
		out = append(out, a)
	}
	return out, dbErr(op, rows.Err())
}
