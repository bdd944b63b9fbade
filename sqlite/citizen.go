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

// micros is the stored form of an instant: exact, ordered, and the
// resolution PostgreSQL keeps, so both backends return the same times.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// citizenDoc is the JSON kept in the doc columns. Times are cut to
// microseconds so that the record reads back as the index columns say.
func citizenDoc(c *cancuoc.Citizen) ([]byte, error) {
	if c == nil {
		return []byte("null"), nil
	}
	d := *c
	d.CreatedAt = d.CreatedAt.Truncate(time.Microsecond)
	d.UpdatedAt = d.UpdatedAt.Truncate(time.Microsecond)
	return json.Marshal(&d)
}

// citizenRow is the column values of a citizen, in the order of citizenCols.
func citizenRow(c *cancuoc.Citizen, doc []byte) []any {
	var household any
	if c.Household != nil && c.Household.ID != "" {
		household = c.Household.ID
	}
	return []any{string(c.PIN), c.Version, c.NameKey, c.BirthDate.Year, c.BirthDate.Month, c.BirthDate.Day,
		string(c.Sex), string(c.LifeStatus), c.Home.Province, c.Home.Commune, household,
		micros(c.CreatedAt), micros(c.UpdatedAt), string(doc), cancuoc.QualityFlags(c)}
}

const citizenCols = `pin, version, name_key, birth_year, birth_month, birth_day, sex, life_status,
	home_province, home_commune, household_id, created_at, updated_at, doc, quality`

const citizenParams = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func decodeCitizen(op string, doc []byte) (*cancuoc.Citizen, error) {
	var c cancuoc.Citizen
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return &c, nil
}

// Citizen returns the current record. NotFound if none.
func (o *ops) Citizen(ctx context.Context, pin cancuoc.PIN) (*cancuoc.Citizen, error) {
	const op = "sqlite.Citizen"
	if c, ok := o.memo.get(pin); ok {
		return c, nil
	}
	var doc []byte
	err := o.r.QueryRowContext(ctx, `SELECT doc FROM citizens WHERE pin = ?`, string(pin)).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy công dân.", "No such citizen.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	c, err := o.docs.citizenCache().decode(string(pin), doc)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return o.memo.put(pin, c), nil
}

// keepWritten keeps c, just written to its row as doc, for the reads that
// follow: the transaction's (memo) and, as the record doc decodes to, the
// store's (docs). The memo forgot the PIN before the write.
func (o *ops) keepWritten(c *cancuoc.Citizen, doc []byte) {
	n, ok := asRead(c, doc)
	if !ok {
		return
	}
	o.docs.citizenCache().put(string(n.PIN), doc, n.Clone())
	o.memo.keep(n)
}

// CitizenDoc returns the stored document undecoded.
func (o *ops) CitizenDoc(ctx context.Context, pin cancuoc.PIN) (*cancuoc.CitizenDoc, error) {
	const op = "sqlite.CitizenDoc"
	d := &cancuoc.CitizenDoc{PIN: pin}
	err := o.r.QueryRowContext(ctx, `SELECT version, home_province, home_commune, doc FROM citizens WHERE pin = ?`, string(pin)).
		Scan(&d.Version, &d.Home.Province, &d.Home.Commune, &d.JSON)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy công dân.", "No such citizen.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return d, nil
}

// CitizenDocs returns the stored documents of those of pins that exist,
// undecoded, in one query: the PINs travel as one JSON array.
func (o *ops) CitizenDocs(ctx context.Context, pins []cancuoc.PIN) ([]*cancuoc.CitizenDoc, error) {
	const op = "sqlite.CitizenDocs"
	if len(pins) == 0 {
		return nil, nil
	}
	rows, err := o.r.QueryContext(ctx, `SELECT pin, version, home_province, home_commune, doc FROM citizens
		WHERE pin IN (SELECT value FROM json_each(?))`, pinsJSON(pins))
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanAll(op, rows, func(r *sql.Rows) (*cancuoc.CitizenDoc, error) {
		var (
			d   cancuoc.CitizenDoc
			pin string
		)
		err := r.Scan(&pin, &d.Version, &d.Home.Province, &d.Home.Commune, &d.JSON)
		d.PIN = cancuoc.PIN(pin)
		return &d, err
	})
}

// InsertCitizen stores a new record. Conflict "pin_taken" when the PIN
// exists; DO NOTHING keeps the transaction usable for a retry.
func (o *ops) InsertCitizen(ctx context.Context, c *cancuoc.Citizen) error {
	const op = "sqlite.InsertCitizen"
	o.memo.forget(c.PIN)
	doc, err := citizenDoc(c)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO citizens (`+citizenCols+`) VALUES `+citizenParams+`
		ON CONFLICT (pin) DO NOTHING`, citizenRow(c, doc)...)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 0 {
		return pinTaken(op)
	}
	o.keepWritten(c, doc)
	return nil
}

func pinTaken(op string) error {
	return conflict(op, "pin_taken", "Số định danh cá nhân đã được cấp cho người khác.",
		"The personal identification number is already taken.")
}

// UpdateCitizen replaces the record if its stored version is still prev.
// Conflict "stale_version" otherwise; NotFound if the PIN is unknown.
//
// Only the columns whose value changes are set, besides the version, the
// time and the document: SQLite rewrites the entry of every index on a
// column an UPDATE sets, equal value or not, and the citizens table has
// nine (names, births, homes, households, the matching key, the quality
// lists). A newborn's residence or a parent's new child changes one or
// two of them; rewriting all made each such update a dozen index writes
// on the single writer, and as many pages to log at the commit.
func (o *ops) UpdateCitizen(ctx context.Context, c *cancuoc.Citizen, prev int64) error {
	const op = "sqlite.UpdateCitizen"
	o.memo.forget(c.PIN)
	doc, err := citizenDoc(c)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	row := citizenRow(c, doc)
	stored := make([]any, len(citizenIndexed))
	dest := make([]any, len(stored))
	for i := range stored {
		dest[i] = &stored[i]
	}
	var version int64
	err = o.w.QueryRowContext(ctx, `SELECT version, `+strings.Join(citizenIndexed, ", ")+` FROM citizens WHERE pin = ?`,
		string(c.PIN)).Scan(append([]any{&version}, dest...)...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return notFound(op, "Không tìm thấy công dân.", "No such citizen.")
	case err != nil:
		return dbErr(op, err)
	case version != prev:
		return staleCitizen(op)
	}
	var q strings.Builder
	q.WriteString(`UPDATE citizens SET version = ?, updated_at = ?, doc = ?`)
	args := []any{c.Version, row[citizenColUpdatedAt], row[citizenColDoc]}
	for i, col := range citizenIndexed {
		v := row[citizenIndexedAt[i]]
		if sameColumn(stored[i], v) {
			continue
		}
		q.WriteString(`, ` + col + ` = ?`)
		args = append(args, v)
	}
	q.WriteString(` WHERE pin = ? AND version = ?`)
	res, err := o.w.ExecContext(ctx, q.String(), append(args, row[0], prev)...)
	if err != nil {
		return dbErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(op, err)
	}
	if n != 1 {
		// Outside a transaction another writer came between the read and
		// the update.
		return staleCitizen(op)
	}
	o.keepWritten(c, doc)
	return nil
}

func staleCitizen(op string) error {
	return conflict(op, "stale_version", "Hồ sơ đã được người khác thay đổi; hãy tải lại rồi thử lại.",
		"The record was changed by someone else; reload it and try again.")
}

// citizenIndexed are the columns of citizens that UpdateCitizen sets only
// when they change, and citizenIndexedAt their places in citizenRow.
var (
	citizenIndexed   = []string{"name_key", "birth_year", "birth_month", "birth_day", "sex", "life_status", "home_province", "home_commune", "household_id", "created_at", "quality"}
	citizenIndexedAt = []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14}
)

// The places in citizenRow of the columns every update sets.
const (
	citizenColUpdatedAt = 12
	citizenColDoc       = 13
)

// sameColumn reports whether a stored column value (as the driver gives
// it: int64, string, nil) equals the value citizenRow gives.
func sameColumn(stored, v any) bool {
	switch v := v.(type) {
	case nil:
		return stored == nil
	case string:
		s, ok := stored.(string)
		return ok && s == v
	case int:
		return sameInt(stored, int64(v))
	case int16:
		return sameInt(stored, int64(v))
	case int32:
		return sameInt(stored, int64(v))
	case int64:
		return sameInt(stored, v)
	}
	return false // a type not listed: set it
}

func sameInt(stored any, v int64) bool {
	n, ok := stored.(int64)
	return ok && n == v
}

// defaultLimit is the page size of a search that names none.
const defaultLimit = 100

// SearchCitizens pages through matching records by (NameKey, PIN), bytewise.
// Invalid for a query with no criterion.
func (o *ops) SearchCitizens(ctx context.Context, q cancuoc.CitizenQuery) ([]*cancuoc.Citizen, error) {
	const op = "sqlite.SearchCitizens"
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if q.NameKey != "" {
		if q.NamePrefix {
			// A range, not LIKE: no wildcards to escape, bytewise, and it
			// uses the (name_key, pin) index.
			if hi, ok := prefixEnd(q.NameKey); ok {
				add(`name_key >= ? AND name_key < ?`, q.NameKey, hi)
			} else {
				add(`name_key >= ?`, q.NameKey)
			}
		} else {
			add(`name_key = ?`, q.NameKey)
		}
	}
	if q.BirthYear != 0 {
		add(`birth_year = ?`, q.BirthYear)
	}
	if q.BirthMonth != 0 {
		add(`birth_month IN (0, ?)`, q.BirthMonth)
	}
	if q.BirthDay != 0 {
		add(`birth_day IN (0, ?)`, q.BirthDay)
	}
	if q.Province != "" {
		add(`home_province = ?`, q.Province)
	}
	if q.Commune != "" {
		add(`home_commune = ?`, q.Commune)
	}
	if len(where) == 0 {
		return nil, cancuoc.InvalidField(op, "query", "query_empty",
			"Cần ít nhất một tiêu chí tìm kiếm (tên, năm sinh, nơi cư trú…).",
			"A search needs at least one criterion (name, birth year, residence…).")
	}
	if q.AfterKey != "" || q.AfterPIN != "" {
		add(`(name_key, pin) > (?, ?)`, q.AfterKey, string(q.AfterPIN))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	args = append(args, limit)
	return o.citizens(ctx, op, `SELECT doc FROM citizens WHERE `+strings.Join(where, " AND ")+
		` ORDER BY name_key, pin LIMIT ?`, args...)
}

// prefixEnd returns the least string greater than every string that starts
// with p, if there is one.
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

func (o *ops) citizens(ctx context.Context, op, query string, args ...any) ([]*cancuoc.Citizen, error) {
	rows, err := o.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*cancuoc.Citizen
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, dbErr(op, err)
		}
		c, err := decodeCitizen(op, doc)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	return out, nil
}

// HouseholdMembers lists the citizens linked to a household, by PIN.
func (o *ops) HouseholdMembers(ctx context.Context, householdID string) ([]*cancuoc.Citizen, error) {
	return o.citizens(ctx, "sqlite.HouseholdMembers",
		`SELECT doc FROM citizens WHERE household_id = ? ORDER BY pin`, householdID)
}

// CountPopulation counts citizens by life status, by province of Home, or
// by commune within province when it is set; rows ordered by unit code.
func (o *ops) CountPopulation(ctx context.Context, province string) ([]cancuoc.PopulationCount, error) {
	const op = "sqlite.CountPopulation"
	const sums = `SUM(life_status = 'alive'), SUM(life_status = 'dead'), SUM(life_status = 'missing')`
	var rows *sql.Rows
	var err error
	if province == "" {
		rows, err = o.r.QueryContext(ctx, `SELECT home_province, '', `+sums+`
			FROM citizens GROUP BY home_province ORDER BY home_province`)
	} else {
		rows, err = o.r.QueryContext(ctx, `SELECT home_province, home_commune, `+sums+`
			FROM citizens WHERE home_province = ? GROUP BY home_commune ORDER BY home_commune`, province)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []cancuoc.PopulationCount
	for rows.Next() {
		var p cancuoc.PopulationCount
		if err := rows.Scan(&p.Province, &p.Commune, &p.Alive, &p.Dead, &p.Missing); err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	return out, nil
}
