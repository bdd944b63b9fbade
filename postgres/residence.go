package postgres

import (
	"context"
	"github.com/cancuoc/cancuoc/internal/json"
	"strconv"
	"strings"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.ResidenceStore = (*conn)(nil)

// InsertHousehold stores a new household. Conflict if the ID exists.
func (c *conn) InsertHousehold(ctx context.Context, h *cancuoc.Household) error {
	const op = "postgres.InsertHousehold"
	doc, err := json.Marshal(h)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	const insert = `INSERT INTO households (id, version, province, commune, head_pin, updated_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`
	args := []any{h.ID, h.Version, h.Address.Province, h.Address.Commune, string(h.HeadPIN), ts(h.UpdatedAt), doc}
	exists := func() error {
		return cancuoc.E(cancuoc.Conflict, op, "household_exists", "Mã hộ gia đình đã tồn tại.", "A household with this ID exists.")
	}
	c.forgetHousehold(h.ID)
	if c.laterSet(insertHouseholdSet, op, insert, args, h.ID, exists) { // its only refusal
		c.sawHousehold(h.ID)
		return nil
	}
	tag, err := c.q.Exec(ctx, insert, args...)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return exists()
	}
	c.sawHousehold(h.ID)
	return nil
}

// UpdateHousehold replaces the household if its stored version is prev.
// As for citizens, a concurrent UPDATE waits and then re-checks the version.
func (c *conn) UpdateHousehold(ctx context.Context, h *cancuoc.Household, prev int64) error {
	const op = "postgres.UpdateHousehold"
	c.forgetHousehold(h.ID)
	doc, err := json.Marshal(h)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	const update = `UPDATE households SET version = $3, province = $4, commune = $5, head_pin = $6,
		updated_at = $7, doc = $8 WHERE id = $1 AND version = $2`
	args := []any{h.ID, prev, h.Version, h.Address.Province, h.Address.Commune, string(h.HeadPIN), ts(h.UpdatedAt), doc}
	stale := func() error {
		return cancuoc.E(cancuoc.Conflict, op, "stale_version", "Hộ gia đình đã được người khác thay đổi; hãy tải lại rồi thử lại.",
			"The household was changed by someone else; reload it and try again.")
	}
	// A household the transaction read or stored exists (households are
	// never deleted): only a stale version can refuse the update, and it is
	// held (laterSet), as a record's is, rather than a round trip per item
	// of a batch settle that also sealed the batch's runs.
	if c.ahead.seenHouseholds[h.ID] && c.laterSet(updateHouseholdSet, op, update, args, h.ID, stale) {
		return nil
	}
	tag, err := c.q.Exec(ctx, update, args...)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := c.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM households WHERE id = $1)`, h.ID).Scan(&exists); err != nil {
		return dbErr(op, err)
	}
	if !exists {
		return notFound(op)
	}
	return stale()
}

// Household returns a household. NotFound if none. In a batch settle,
// the household of a record read ahead with the files is answered from
// what was read then (readahead.go).
func (c *conn) Household(ctx context.Context, id string) (*cancuoc.Household, error) {
	const op = "postgres.Household"
	doc, ok := c.takeHousehold(id)
	if !ok {
		h, err := one[cancuoc.Household](ctx, c, op, `SELECT doc FROM households WHERE id = $1`, id)
		if err == nil {
			c.sawHousehold(id)
		}
		return h, err
	}
	if doc == nil {
		return nil, notFound(op)
	}
	h := new(cancuoc.Household)
	if err := json.Unmarshal(doc, h); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	c.sawHousehold(id)
	return h, nil
}

// AppendResidence stores an entry. Conflict if its ID exists.
func (c *conn) AppendResidence(ctx context.Context, e *cancuoc.ResidenceEntry) error {
	const op = "postgres.AppendResidence"
	doc, err := json.Marshal(e)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	const insert = `INSERT INTO residence_entries (id, pin, at, doc) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`
	args := []any{e.ID, string(e.PIN), ts(e.At), doc}
	if c.laterSet(appendResidenceSet, op, insert, args, e.ID, func() error { return duplicate(op) }) { // its only refusal
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

// ResidenceHistory lists a person's entries, oldest first.
func (c *conn) ResidenceHistory(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.ResidenceEntry, error) {
	return docs[cancuoc.ResidenceEntry](ctx, c, "postgres.ResidenceHistory",
		`SELECT doc FROM residence_entries WHERE pin = $1 ORDER BY at, seq`, string(pin))
}

// PutTemporary stores a person's current temporary registration.
func (c *conn) PutTemporary(ctx context.Context, t *cancuoc.TemporaryRegistration) error {
	const op = "postgres.PutTemporary"
	doc, err := json.Marshal(t)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	_, err = c.q.Exec(ctx, `INSERT INTO temporary_residences (pin, province, commune, until_day, doc)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (pin) DO UPDATE SET province = excluded.province,
		commune = excluded.commune, until_day = excluded.until_day, doc = excluded.doc`,
		string(t.PIN), t.Unit.Province, t.Unit.Commune, t.Until.String(), doc)
	return dbErr(op, err)
}

// Temporary returns a person's current temporary registration.
func (c *conn) Temporary(ctx context.Context, pin cancuoc.PIN) (*cancuoc.TemporaryRegistration, error) {
	return one[cancuoc.TemporaryRegistration](ctx, c, "postgres.Temporary",
		`SELECT doc FROM temporary_residences WHERE pin = $1`, string(pin))
}

// DeleteTemporary removes a person's current temporary registration.
func (c *conn) DeleteTemporary(ctx context.Context, pin cancuoc.PIN) error {
	_, err := c.q.Exec(ctx, `DELETE FROM temporary_residences WHERE pin = $1`, string(pin))
	return dbErr("postgres.DeleteTemporary", err)
}

// TemporaryEnding lists current registrations ending by q.Until in a unit.
func (c *conn) TemporaryEnding(ctx context.Context, q cancuoc.TemporaryQuery) ([]*cancuoc.TemporaryRegistration, error) {
	var w conj
	w.add("until_day <= $?", q.Until.String())
	if q.Province != "" {
		w.add("province = $?", q.Province)
	}
	if q.Commune != "" {
		w.add("commune = $?", q.Commune)
	}
	if !q.AfterUntil.IsZero() {
		w.add("(until_day, pin) > ($?, $?)", q.AfterUntil.String(), string(q.AfterPIN))
	}
	limit := w.arg(pageLimit(q.Limit))
	return docs[cancuoc.TemporaryRegistration](ctx, c, "postgres.TemporaryEnding",
		`SELECT doc FROM temporary_residences WHERE `+w.String()+` ORDER BY until_day, pin LIMIT `+limit, w.args...)
}

// InsertStay stores a stay notification. Conflict "duplicate" on a
// reporter's repeated reference; DO NOTHING keeps the transaction usable.
func (c *conn) InsertStay(ctx context.Context, s *cancuoc.StayNotification) error {
	const op = "postgres.InsertStay"
	doc, err := json.Marshal(s)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	var ref *string
	if s.Reference != "" {
		ref = &s.Reference
	}
	tag, err := c.q.Exec(ctx, `INSERT INTO stay_notifications (id, reporter, reference, province, commune, arrival, late, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		s.ID, s.Reporter, ref, s.Unit.Province, s.Unit.Commune, ts(s.Arrival), !s.OnTime, doc)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return cancuoc.E(cancuoc.Conflict, op, "duplicate", "Thông báo lưu trú với số tham chiếu này đã được gửi.",
			"A stay notification with this reference was already sent.")
	}
	return nil
}

// StayByReference returns a reporter's notification by its reference.
func (c *conn) StayByReference(ctx context.Context, reporter, reference string) (*cancuoc.StayNotification, error) {
	return one[cancuoc.StayNotification](ctx, c, "postgres.StayByReference",
		`SELECT doc FROM stay_notifications WHERE reporter = $1 AND reference = $2`, reporter, reference)
}

// Stays lists notifications in a unit and period, newest arrival first.
func (c *conn) Stays(ctx context.Context, q cancuoc.StayQuery) ([]*cancuoc.StayNotification, error) {
	var w conj
	w.add("arrival >= $?", ts(q.From))
	w.add("arrival < $?", ts(q.To))
	if q.Province != "" {
		w.add("province = $?", q.Province)
	}
	if q.Commune != "" {
		w.add("commune = $?", q.Commune)
	}
	if q.Late {
		w.add("late")
	}
	if q.AfterID != "" {
		w.add("(arrival, id) < ($?, $?)", ts(q.AfterArrival), q.AfterID)
	}
	limit := w.arg(pageLimit(q.Limit))
	return docs[cancuoc.StayNotification](ctx, c, "postgres.Stays",
		`SELECT doc FROM stay_notifications WHERE `+w.String()+` ORDER BY arrival DESC, id DESC LIMIT `+limit, w.args...)
}

// conj builds a conjunction whose "$?" placeholders are numbered in order.
type conj struct {
	conds []string
	args  []any
}

func (w *conj) add(cond string, args ...any) {
	for _, a := range args {
		cond = strings.Replace(cond, "$?", w.arg(a), 1)
	}
	w.conds = append(w.conds, cond)
}

// arg adds an argument and returns its placeholder.
func (w *conj) arg(a any) string {
	w.args = append(w.args, a)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *conj) String() string { return strings.Join(w.conds, " AND ") }

func pageLimit(n int) int {
	if n <= 0 || n > defaultLimit {
		return defaultLimit
	}
	return n
}

// docs decodes the doc column of every row into a new T.
func docs[T any](ctx context.Context, c *conn, op, query string, args ...any) ([]*T, error) {
	rows, err := c.q.Query(ctx, query, args...)
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

// one is docs for a query of at most one row. NotFound when there is none.
func one[T any](ctx context.Context, c *conn, op, query string, args ...any) (*T, error) {
	out, err := docs[T](ctx, c, op, query, args...)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound(op)
	}
	return out[0], nil
}
