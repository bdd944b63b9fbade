package postgres

import (
	"context"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// defaultLimit bounds a page when the caller asks for none.
const defaultLimit = 100

// ts is t as PostgreSQL keeps it: UTC, microseconds. Records are stored
// with their times in this form so that a value read back equals the value
// read from the columns.
func ts(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// citizenDoc is the JSON document of c, with its times as stored.
func citizenDoc(c *cancuoc.Citizen) ([]byte, error) {
	if c == nil {
		return []byte("null"), nil
	}
	n := *c // shallow: only the times change
	n.CreatedAt, n.UpdatedAt = ts(c.CreatedAt), ts(c.UpdatedAt)
	return json.Marshal(&n)
}

// householdID is the indexed household column: NULL without a link.
func householdID(c *cancuoc.Citizen) *string {
	if c.Household == nil || c.Household.ID == "" {
		return nil
	}
	return &c.Household.ID
}

const citizenCols = `doc, version, created_at, updated_at`

func scanCitizen(row pgx.Row) (*cancuoc.Citizen, error) {
	var (
		doc        []byte
		c          cancuoc.Citizen
		ver        int64
		created, u time.Time
	)
	if err := row.Scan(&doc, &ver, &created, &u); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, err
	}
	// The columns are authoritative for what the store itself compares.
	c.Version, c.CreatedAt, c.UpdatedAt = ver, ts(created), ts(u)
	return &c, nil
}

func collectCitizens(rows pgx.Rows) ([]*cancuoc.Citizen, error) {
	out := []*cancuoc.Citizen{}
	for rows.Next() {
		c, err := scanCitizen(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Citizen returns the current record. NotFound if none.
// In a transaction, a record it read already is answered again from its
// copy (readahead.go) until the transaction writes it.
func (c *conn) Citizen(ctx context.Context, pin cancuoc.PIN) (*cancuoc.Citizen, error) {
	const op = "postgres.Citizen"
	if r, ok := c.keptCitizen(pin); ok {
		return r, nil
	}
	row, ahead := c.takeRawCitizen(pin)
	if !ahead {
		row = c.q.QueryRow(ctx, `SELECT `+citizenCols+` FROM citizens WHERE pin = $1`, string(pin))
	}
	r, err := scanCitizen(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	if err == nil && c.pool == nil {
		c.keepCitizen(r)
		c.sawCitizen(pin)
	}
	return r, dbErr(op, err)
}

// readAheadCitizens reads the records of pins in one statement and keeps
// them undecoded for the transaction's next Citizen of each (readahead.go):
// a record read ahead and never asked for costs no decoding. It reads
// their households with them, kept for the next Household of each, or
// kept as none where the register holds none (a birth's police step reads
// the parent's).
func (c *conn) readAheadCitizens(ctx context.Context, pins []string) error {
	if len(pins) == 0 {
		return nil
	}
	rows, err := c.q.Query(ctx, `SELECT c.pin, c.doc, c.version, c.created_at, c.updated_at, c.household_id, h.doc
		FROM citizens c LEFT JOIN households h ON h.id = c.household_id WHERE c.pin = ANY($1)`, pins)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			pin       string
			r         rawCitizen
			household *string
			hdoc      []byte
		)
		if err := rows.Scan(&pin, &r.doc, &r.version, &r.created, &r.updated, &household, &hdoc); err != nil {
			return err
		}
		c.keepRawCitizen(cancuoc.PIN(pin), r)
		if household != nil {
			c.keepHousehold(*household, hdoc)
		}
	}
	return rows.Err()
}

// CitizenDoc returns the stored document undecoded.
func (c *conn) CitizenDoc(ctx context.Context, pin cancuoc.PIN) (*cancuoc.CitizenDoc, error) {
	const op = "postgres.CitizenDoc"
	d := &cancuoc.CitizenDoc{PIN: pin}
	err := c.q.QueryRow(ctx, `SELECT version, home_province, home_commune, doc FROM citizens WHERE pin = $1`, string(pin)).
		Scan(&d.Version, &d.Home.Province, &d.Home.Commune, &d.JSON)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return d, nil
}

// CitizenDocs returns the stored documents of those of pins that exist,
// undecoded, in one statement.
func (c *conn) CitizenDocs(ctx context.Context, pins []cancuoc.PIN) ([]*cancuoc.CitizenDoc, error) {
	const op = "postgres.CitizenDocs"
	if len(pins) == 0 {
		return nil, nil
	}
	rows, err := c.q.Query(ctx, `SELECT pin, version, home_province, home_commune, doc FROM citizens WHERE pin = ANY($1::bpchar[])`, pinTexts(pins))
	if err != nil {
		return nil, dbErr(op, err)
	}
	return collect(op, rows, func(r pgx.Rows) (*cancuoc.CitizenDoc, error) {
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
// exists. ON CONFLICT DO NOTHING rather than a failed INSERT, because a
// failed statement would abort the whole transaction, and the caller is
// promised it can retry with another PIN.
func (c *conn) InsertCitizen(ctx context.Context, r *cancuoc.Citizen) error {
	const op = "postgres.InsertCitizen"
	c.forgetCitizen(r.PIN)
	doc, err := citizenDoc(r)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	const insert = `
		INSERT INTO citizens (pin, version, name_key, birth_year, birth_month, birth_day, sex,
			life_status, home_province, home_commune, household_id, created_at, updated_at, doc, quality)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (pin) DO NOTHING`
	args := []any{string(r.PIN), r.Version, r.NameKey, r.BirthDate.Year, r.BirthDate.Month, r.BirthDate.Day, string(r.Sex),
		string(r.LifeStatus), r.Home.Province, r.Home.Commune, householdID(r), ts(r.CreatedAt), ts(r.UpdatedAt), doc,
		cancuoc.QualityFlags(r)}
	// Its only refusal is a taken PIN (laterOne): a caller that draws
	// another on pin_taken then draws it when the work runs again without
	// deferring (a batch settle's items, each in its own savepoint).
	if c.laterSet(insertCitizenSet, op, insert, args, string(r.PIN), func() error { return pinTaken(op) }) {
		c.wroteCitizen(r.PIN, r.Version)
		c.sawCitizen(r.PIN)
		return nil
	}
	tag, err := c.q.Exec(ctx, insert, args...)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return pinTaken(op)
	}
	c.wroteCitizen(r.PIN, r.Version)
	c.sawCitizen(r.PIN)
	return nil
}

// UpdateCitizen replaces the record if its stored version is still prev.
// Under READ COMMITTED a concurrent writer's UPDATE makes this one wait and
// then re-check the version, so exactly one of two racing updates wins.
// Conflict "stale_version" otherwise; NotFound if the PIN is unknown.
func (c *conn) UpdateCitizen(ctx context.Context, r *cancuoc.Citizen, prev int64) error {
	const op = "postgres.UpdateCitizen"
	c.forgetCitizen(r.PIN)
	doc, err := citizenDoc(r)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	const update = `
		UPDATE citizens SET version = $3, name_key = $4, birth_year = $5, birth_month = $6, birth_day = $7,
			sex = $8, life_status = $9, home_province = $10, home_commune = $11, household_id = $12,
			created_at = $13, updated_at = $14, doc = $15, quality = $16
		WHERE pin = $1 AND version = $2`
	args := []any{string(r.PIN), prev, r.Version, r.NameKey, r.BirthDate.Year, r.BirthDate.Month, r.BirthDate.Day,
		string(r.Sex), string(r.LifeStatus), r.Home.Province, r.Home.Commune, householdID(r),
		ts(r.CreatedAt), ts(r.UpdatedAt), doc, cancuoc.QualityFlags(r)}
	// A record the transaction read or stored exists (readahead.go,
	// seen): only a stale version can refuse the update (laterOne). The
	// row's lock is taken when it runs, before the history row held
	// after it (wroteCitizen).
	if c.ahead.seen[r.PIN] && c.laterSet(updateCitizenSet, op, update, args, string(r.PIN), func() error { return staleVersion(op) }) {
		c.wroteCitizen(r.PIN, r.Version)
		return nil
	}
	tag, err := c.q.Exec(ctx, update, args...)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		c.wroteCitizen(r.PIN, r.Version)
		c.sawCitizen(r.PIN)
		return nil
	}
	var exists bool
	if err := c.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM citizens WHERE pin = $1)`, string(r.PIN)).Scan(&exists); err != nil {
		return dbErr(op, err)
	}
	if !exists {
		return notFound(op)
	}
	return staleVersion(op)
}

// SearchCitizens pages through records matching q, ordered by NameKey then
// PIN. Invalid for a query with no criterion. The SQL is assembled from
// fixed fragments, one per set field; values are always parameters.
func (c *conn) SearchCitizens(ctx context.Context, q cancuoc.CitizenQuery) ([]*cancuoc.Citizen, error) {
	const op = "postgres.SearchCitizens"
	if q.NameKey == "" && q.BirthYear == 0 && q.BirthMonth == 0 && q.BirthDay == 0 && q.Province == "" && q.Commune == "" {
		return nil, cancuoc.E(cancuoc.Invalid, op, "query_empty",
			"Cần ít nhất một tiêu chí tìm kiếm.", "A search needs at least one criterion.")
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch {
	case q.NameKey != "" && q.NamePrefix:
		// A range rather than LIKE: it needs no escaping of % and _, and the
		// btree serves it even from a generic (cached) plan, where LIKE $1
		// cannot be turned into an index range.
		where = append(where, "name_key >= "+arg(q.NameKey))
		if hi, ok := prefixEnd(q.NameKey); ok {
			where = append(where, "name_key < "+arg(hi))
		}
	case q.NameKey != "":
		where = append(where, "name_key = "+arg(q.NameKey))
	}
	if q.BirthYear != 0 {
		where = append(where, "birth_year = "+arg(q.BirthYear))
	}
	if q.BirthMonth != 0 {
		where = append(where, "birth_month IN (0, "+arg(q.BirthMonth)+")")
	}
	if q.BirthDay != 0 {
		where = append(where, "birth_day IN (0, "+arg(q.BirthDay)+")")
	}
	if q.Province != "" {
		where = append(where, "home_province = "+arg(q.Province))
	}
	if q.Commune != "" {
		where = append(where, "home_commune = "+arg(q.Commune))
	}
	if q.AfterKey != "" || q.AfterPIN != "" {
		where = append(where, "(name_key, pin) > ("+arg(q.AfterKey)+", "+arg(string(q.AfterPIN))+")")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	sql := `SELECT ` + citizenCols + ` FROM citizens WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY name_key, pin LIMIT ` + arg(limit)
	rows, err := c.q.Query(ctx, sql, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	out, err := collectCitizens(rows)
	return out, dbErr(op, err)
}

// prefixEnd is the least string greater than every string that starts with
// p: p with its last rune incremented. UTF-8 byte order is code point order,
// so with COLLATE "C" the range [p, prefixEnd(p)) is exactly the strings
// with prefix p. ok is false when no such bound exists.
func prefixEnd(p string) (string, bool) {
	for p != "" {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		if r == utf8.MaxRune || (r == utf8.RuneError && size == 1) {
			continue
		}
		r++
		if r >= 0xD800 && r <= 0xDFFF { // surrogates are not valid in UTF-8
			r = 0xE000
		}
		return p + string(r), true
	}
	return "", false
}

// HouseholdMembers lists the citizens linked to a household, by PIN.
func (c *conn) HouseholdMembers(ctx context.Context, householdID string) ([]*cancuoc.Citizen, error) {
	const op = "postgres.HouseholdMembers"
	if householdID == "" {
		return []*cancuoc.Citizen{}, nil
	}
	rows, err := c.q.Query(ctx, `SELECT `+citizenCols+` FROM citizens WHERE household_id = $1 ORDER BY pin`, householdID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	out, err := collectCitizens(rows)
	return out, dbErr(op, err)
}

// CountPopulation counts citizens by life status, grouped by province of
// Home, or by commune within one province when province is set.
func (c *conn) CountPopulation(ctx context.Context, province string) ([]cancuoc.PopulationCount, error) {
	const op = "postgres.CountPopulation"
	const counts = `count(*) FILTER (WHERE life_status = 'alive'),
		count(*) FILTER (WHERE life_status = 'dead'),
		count(*) FILTER (WHERE life_status = 'missing')`
	var (
		rows pgx.Rows
		err  error
	)
	if province == "" {
		rows, err = c.q.Query(ctx, `SELECT home_province, '', `+counts+`
			FROM citizens GROUP BY home_province ORDER BY home_province`)
	} else {
		rows, err = c.q.Query(ctx, `SELECT home_province, home_commune, `+counts+`
			FROM citizens WHERE home_province = $1 GROUP BY home_province, home_commune ORDER BY home_commune`, province)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	out := []cancuoc.PopulationCount{}
	for rows.Next() {
		var p cancuoc.PopulationCount
		if err := rows.Scan(&p.Province, &p.Commune, &p.Alive, &p.Dead, &p.Missing); err != nil {
			rows.Close()
			return nil, dbErr(op, err)
		}
		out = append(out, p)
	}
	return out, dbErr(op, rows.Err())
}
