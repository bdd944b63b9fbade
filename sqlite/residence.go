package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"strings"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ResidenceStore = (*ops)(nil)

// InsertHousehold stores a new household. Conflict if the ID exists.
func (o *ops) InsertHousehold(ctx context.Context, h *cancuoc.Household) error {
	const op = "sqlite.InsertHousehold"
	doc, err := json.Marshal(h)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO households (id, version, province, commune, head_pin, updated_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		h.ID, h.Version, h.Address.Province, h.Address.Commune, string(h.HeadPIN), micros(h.UpdatedAt), string(doc))
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 0 {
		return conflict(op, "household_exists", "Mã hộ gia đình đã tồn tại.", "A household with this ID exists.")
	}
	return nil
}

// UpdateHousehold replaces the household if its stored version is prev.
func (o *ops) UpdateHousehold(ctx context.Context, h *cancuoc.Household, prev int64) error {
	const op = "sqlite.UpdateHousehold"
	doc, err := json.Marshal(h)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `UPDATE households SET version = ?, province = ?, commune = ?, head_pin = ?,
		updated_at = ?, doc = ? WHERE id = ? AND version = ?`,
		h.Version, h.Address.Province, h.Address.Commune, string(h.HeadPIN), micros(h.UpdatedAt), string(doc), h.ID, prev)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 1 {
		return nil
	}
	var one int
	err = o.w.QueryRowContext(ctx, `SELECT 1 FROM households WHERE id = ?`, h.ID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return notFound(op, "Không tìm thấy hộ gia đình.", "No such household.")
	case err != nil:
		return dbErr(op, err)
	}
	return conflict(op, "stale_version", "Hộ gia đình đã được người khác thay đổi; hãy tải lại rồi thử lại.",
		"The household was changed by someone else; reload it and try again.")
}

// Household returns a household. NotFound if none.
func (o *ops) Household(ctx context.Context, id string) (*cancuoc.Household, error) {
	const op = "sqlite.Household"
	var doc []byte
	err := o.r.QueryRowContext(ctx, `SELECT doc FROM households WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy hộ gia đình.", "No such household.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	h := new(cancuoc.Household)
	if err := json.Unmarshal(doc, h); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return h, nil
}

// AppendResidence stores an entry. Conflict if its ID exists.
func (o *ops) AppendResidence(ctx context.Context, e *cancuoc.ResidenceEntry) error {
	const op = "sqlite.AppendResidence"
	doc, err := json.Marshal(e)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO residence_entries (id, pin, at, doc) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, e.ID, string(e.PIN), micros(e.At), string(doc))
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 0 {
		return conflict(op, "duplicate", "Bản ghi đã tồn tại.", "The record already exists.")
	}
	return nil
}

// ResidenceHistory lists a person's entries, oldest first.
func (o *ops) ResidenceHistory(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.ResidenceEntry, error) {
	const op = "sqlite.ResidenceHistory"
	return queryDocs[cancuoc.ResidenceEntry](ctx, o.r, op,
		`SELECT doc FROM residence_entries WHERE pin = ? ORDER BY at, rowid`, string(pin))
}

// PutTemporary stores a person's current temporary registration.
func (o *ops) PutTemporary(ctx context.Context, t *cancuoc.TemporaryRegistration) error {
	const op = "sqlite.PutTemporary"
	doc, err := json.Marshal(t)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	_, err = o.w.ExecContext(ctx, `INSERT INTO temporary_residences (pin, province, commune, until_day, doc)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (pin) DO UPDATE SET province = excluded.province,
		commune = excluded.commune, until_day = excluded.until_day, doc = excluded.doc`,
		string(t.PIN), t.Unit.Province, t.Unit.Commune, t.Until.String(), string(doc))
	return dbErr(op, err)
}

// Temporary returns a person's current temporary registration.
func (o *ops) Temporary(ctx context.Context, pin cancuoc.PIN) (*cancuoc.TemporaryRegistration, error) {
	const op = "sqlite.Temporary"
	out, err := queryDocs[cancuoc.TemporaryRegistration](ctx, o.r, op,
		`SELECT doc FROM temporary_residences WHERE pin = ?`, string(pin))
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound(op, "Không có đăng ký tạm trú hiện hành.", "No current temporary residence registration.")
	}
	return out[0], nil
}

// DeleteTemporary removes a person's current temporary registration.
func (o *ops) DeleteTemporary(ctx context.Context, pin cancuoc.PIN) error {
	_, err := o.w.ExecContext(ctx, `DELETE FROM temporary_residences WHERE pin = ?`, string(pin))
	return dbErr("sqlite.DeleteTemporary", err)
}

// TemporaryEnding lists current registrations ending by q.Until in a unit.
func (o *ops) TemporaryEnding(ctx context.Context, q cancuoc.TemporaryQuery) ([]*cancuoc.TemporaryRegistration, error) {
	const op = "sqlite.TemporaryEnding"
	where := []string{"until_day <= ?"}
	args := []any{q.Until.String()}
	if q.Province != "" {
		where, args = append(where, "province = ?"), append(args, q.Province)
	}
	if q.Commune != "" {
		where, args = append(where, "commune = ?"), append(args, q.Commune)
	}
	if !q.AfterUntil.IsZero() {
		where, args = append(where, "(until_day, pin) > (?, ?)"), append(args, q.AfterUntil.String(), string(q.AfterPIN))
	}
	args = append(args, pageLimit(q.Limit))
	return queryDocs[cancuoc.TemporaryRegistration](ctx, o.r, op, `SELECT doc FROM temporary_residences WHERE `+
		strings.Join(where, " AND ")+` ORDER BY until_day, pin LIMIT ?`, args...)
}

// InsertStay stores a stay notification. Conflict "duplicate" on a
// reporter's repeated reference.
func (o *ops) InsertStay(ctx context.Context, s *cancuoc.StayNotification) error {
	const op = "sqlite.InsertStay"
	doc, err := json.Marshal(s)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	var ref any
	if s.Reference != "" {
		ref = s.Reference
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO stay_notifications (id, reporter, reference, province, commune, arrival, late, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		s.ID, s.Reporter, ref, s.Unit.Province, s.Unit.Commune, micros(s.Arrival), boolInt(!s.OnTime), string(doc))
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 0 {
		return conflict(op, "duplicate", "Thông báo lưu trú với số tham chiếu này đã được gửi.",
			"A stay notification with this reference was already sent.")
	}
	return nil
}

// StayByReference returns a reporter's notification by its reference.
func (o *ops) StayByReference(ctx context.Context, reporter, reference string) (*cancuoc.StayNotification, error) {
	const op = "sqlite.StayByReference"
	out, err := queryDocs[cancuoc.StayNotification](ctx, o.r, op,
		`SELECT doc FROM stay_notifications WHERE reporter = ? AND reference = ?`, reporter, reference)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound(op, "Không tìm thấy thông báo lưu trú.", "No such stay notification.")
	}
	return out[0], nil
}

// Stays lists notifications in a unit and period, newest arrival first.
func (o *ops) Stays(ctx context.Context, q cancuoc.StayQuery) ([]*cancuoc.StayNotification, error) {
	const op = "sqlite.Stays"
	where := []string{"arrival >= ?", "arrival < ?"}
	args := []any{micros(q.From), micros(q.To)}
	if q.Province != "" {
		where, args = append(where, "province = ?"), append(args, q.Province)
	}
	if q.Commune != "" {
		where, args = append(where, "commune = ?"), append(args, q.Commune)
	}
	if q.Late {
		where = append(where, "late = 1")
	}
	if q.AfterID != "" {
		where, args = append(where, "(arrival, id) < (?, ?)"), append(args, micros(q.AfterArrival), q.AfterID)
	}
	args = append(args, pageLimit(q.Limit))
	return queryDocs[cancuoc.StayNotification](ctx, o.r, op, `SELECT doc FROM stay_notifications WHERE `+
		strings.Join(where, " AND ")+` ORDER BY arrival DESC, id DESC LIMIT ?`, args...)
}

func pageLimit(n int) int {
	if n <= 0 || n > defaultLimit {
		return defaultLimit
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// queryDocs decodes the doc column of every row into a new T.
func queryDocs[T any](ctx context.Context, q querier, op, query string, args ...any) ([]*T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
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
