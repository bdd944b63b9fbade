package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/cancuoc/cancuoc"
	sqlite3 "modernc.org/sqlite/lib"
)

// AppendEvent stores e and sets e.Seq. AUTOINCREMENT keeps Seq growing even
// after the newest events are pruned, so consumers never see a Seq twice.
// In a transaction the row is written with the transaction's other log
// rows before its commit (txLog).
func (o *ops) AppendEvent(ctx context.Context, e *cancuoc.Event) error {
	const op = "sqlite.AppendEvent"
	if o.log != nil {
		return dbErr(op, o.log.appendEvent(ctx, o, e))
	}
	var data any
	if len(e.Data) > 0 {
		data = string(e.Data)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO events (id, type, pin, version, actor, at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.ID, e.Type, string(e.PIN), e.Version, e.Actor, micros(e.At), data)
	if err != nil {
		return dbErr(op, err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return dbErr(op, err)
	}
	e.Seq = seq
	return nil
}

// EventsAfter returns up to limit events with Seq > after, by Seq.
func (o *ops) EventsAfter(ctx context.Context, after int64, limit int) ([]cancuoc.Event, error) {
	const op = "sqlite.EventsAfter"
	if limit <= 0 {
		limit = defaultLimit
	}
	if err := o.flushLog(ctx); err != nil {
		return nil, dbErr(op, err)
	}
	rows, err := o.r.QueryContext(ctx, `SELECT seq, id, type, pin, version, actor, at, data FROM events
		WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []cancuoc.Event
	for rows.Next() {
		var (
			e    cancuoc.Event
			pin  string
			at   int64
			data []byte
		)
		if err := rows.Scan(&e.Seq, &e.ID, &e.Type, &pin, &e.Version, &e.Actor, &at, &data); err != nil {
			return nil, dbErr(op, err)
		}
		e.PIN, e.At = cancuoc.PIN(pin), fromMicros(at)
		if data != nil {
			e.Data = json.RawMessage(data)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	return out, nil
}

// AppendAudit stores entries, all or none, gives them the next places in
// the log and chains their hashes (cancuoc.AuditStamp). SQLite has one
// writer, so reading the newest entry and appending after it cannot race:
// the log's order is the writer's commit order.
func (o *ops) AppendAudit(ctx context.Context, entries ...*cancuoc.AuditEntry) error {
	const op = "sqlite.AppendAudit"
	if len(entries) == 0 {
		return nil
	}
	// Work on copies so that a rollback leaves the caller's entries as they
	// were (no ID or hash of a log position that was never committed).
	stamped := make([]*cancuoc.AuditEntry, len(entries))
	for i, e := range entries {
		c := *e
		stamped[i] = &c
	}
	fields := make([]any, len(stamped))
	for i, e := range stamped {
		if e.Fields != nil {
			b, err := json.Marshal(e.Fields)
			if err != nil {
				return cancuoc.WithOp(op, err)
			}
			fields[i] = string(b)
		}
	}
	// The rows go in with the transaction's other log rows, in multi-row
	// INSERTs, before its commit (txLog): a bulk reconciliation appends
	// tens of thousands of entries at once, and a birth procedure a dozen
	// one by one.
	err := o.atomic(ctx, func(t *ops) error { return dbErr(op, t.log.appendAudit(ctx, t, stamped, fields)) })
	if err != nil {
		return err
	}
	for i, e := range entries {
		*e = *stamped[i]
	}
	return nil
}

// AuditFor lists entries about one citizen, newest first.
func (o *ops) AuditFor(ctx context.Context, pin cancuoc.PIN, limit int) ([]*cancuoc.AuditEntry, error) {
	return o.AuditSearch(ctx, cancuoc.AuditQuery{PIN: pin, Limit: limit})
}

// InsertPrincipal stores p. Conflict "duplicate" if the ID exists.
func (o *ops) InsertPrincipal(ctx context.Context, p *cancuoc.Principal) error {
	const op = "sqlite.InsertPrincipal"
	res, err := o.w.ExecContext(ctx, `INSERT INTO principals
		(id, name, role, province, commune, agency, officer_pin, disabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		p.ID, p.Name, string(p.Role), p.Jurisdiction.Province, p.Jurisdiction.Commune, p.Agency,
		string(p.OfficerPIN), p.Disabled, micros(p.CreatedAt))
	return inserted(op, res, err, "Mã chủ thể đã tồn tại.", "The principal ID already exists.")
}

// inserted turns the outcome of an INSERT … ON CONFLICT DO NOTHING into
// nil, Conflict "duplicate" (no row written) or a database error.
func inserted(op string, res sql.Result, err error, vi, en string) error {
	if err != nil {
		return dbErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(op, err)
	}
	if n == 0 {
		return conflict(op, "duplicate", vi, en)
	}
	return nil
}

const principalCols = `id, name, role, province, commune, agency, officer_pin, disabled, created_at`

func scanPrincipal(s scanner) (*cancuoc.Principal, error) {
	var (
		p          cancuoc.Principal
		role, opin string
		at         int64
	)
	if err := s.Scan(&p.ID, &p.Name, &role, &p.Jurisdiction.Province, &p.Jurisdiction.Commune, &p.Agency,
		&opin, &p.Disabled, &at); err != nil {
		return nil, err
	}
	p.Role, p.OfficerPIN, p.CreatedAt = cancuoc.Role(role), cancuoc.PIN(opin), fromMicros(at)
	return &p, nil
}

// Principal returns one principal. NotFound if absent.
func (o *ops) Principal(ctx context.Context, id string) (*cancuoc.Principal, error) {
	const op = "sqlite.Principal"
	p, err := scanPrincipal(o.r.QueryRowContext(ctx, `SELECT `+principalCols+` FROM principals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy chủ thể.", "No such principal.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return p, nil
}

// Principals lists all principals by ID.
func (o *ops) Principals(ctx context.Context) ([]*cancuoc.Principal, error) {
	const op = "sqlite.Principals"
	rows, err := o.r.QueryContext(ctx, `SELECT `+principalCols+` FROM principals ORDER BY id`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*cancuoc.Principal
	for rows.Next() {
		p, err := scanPrincipal(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	return out, nil
}

// InsertAPIKey stores k. Conflict "duplicate" if the ID exists; Invalid
// "principal_unknown" if its principal does not.
func (o *ops) InsertAPIKey(ctx context.Context, k *cancuoc.APIKey) error {
	const op = "sqlite.InsertAPIKey"
	var revoked any
	if k.RevokedAt != nil {
		revoked = micros(*k.RevokedAt)
	}
	hash := k.Hash
	if hash == nil {
		hash = []byte{} // NOT NULL: an empty hash is still a value
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO api_keys (id, principal_id, hash, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, k.ID, k.PrincipalID, hash, micros(k.CreatedAt), revoked)
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) {
		return cancuoc.InvalidField(op, "principal_id", "principal_unknown",
			"Chủ thể của khoá không tồn tại.", "The key's principal does not exist.")
	}
	return inserted(op, res, err, "Mã khoá đã tồn tại.", "The key ID already exists.")
}

// APIKey returns one key by its public ID. NotFound if absent.
func (o *ops) APIKey(ctx context.Context, id string) (*cancuoc.APIKey, error) {
	const op = "sqlite.APIKey"
	var (
		k       cancuoc.APIKey
		at      int64
		revoked sql.NullInt64
	)
	err := o.r.QueryRowContext(ctx, `SELECT id, principal_id, hash, created_at, revoked_at FROM api_keys
		WHERE id = ?`, id).Scan(&k.ID, &k.PrincipalID, &k.Hash, &at, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy khoá.", "No such key.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	k.CreatedAt = fromMicros(at)
	if revoked.Valid {
		t := fromMicros(revoked.Int64)
		k.RevokedAt = &t
	}
	return &k, nil
}
