package postgres

import (
	"errors"
	"reflect"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
)

// Runs of held writes of one kind. A batch settle holds, per item, the
// update of its step, the insert of the next step, the update of its file,
// the document it issues and the update of the record with its history
// row (laterOne, and AppendVersion of the record's own version), and the
// new rows of a birth (the newborn's record; the household and the
// residence entry of the police step), each a statement the server
// parses, plans and runs on its own: a third of the statements of a birth
// procedure. Held writes of one kind between two round trips are gathered
// into one statement over arrays instead (a setForm's), sent where the
// pipe sends what it holds.
//
// What keeps that as safe as one statement each: a run goes, whole, before
// every statement that waits for its answer (a read, a savepoint's start
// or end, the COMMIT), so no read and no savepoint passes it; within a
// round trip it may pass other held writes, never precede one, and the
// forms are writes nothing else in the database depends on (no foreign
// key, trigger or check reads a step's, a file's or a record's version,
// an issued document or a history row, nor that a record, a household or
// a residence entry exists: citizen_versions, households and
// residence_entries have no foreign key, nothing refers to citizens, and
// an update leaves its row's key); a write whose row is in an open run seals the runs first, so
// no statement touches a row twice; and the run's one statement refuses
// (division_by_zero, as laterOne's) when it touched fewer rows than it
// holds writes, which refuses the run as one of its writes alone would
// have: laterOne's writes are held only under DeferRefusals, whose caller
// lets the savepoint fail on any refusal and settles the items again one
// by one.

// setForm is a kind of write that runs gather: sql writes the rows of
// arrays, one per argument of the single write (same order, cast to their
// SQL types), so that a run of n writes is one statement.
type setForm struct {
	name string
	sql  string
}

// setRun is an open run: its form, the single write's SQL (a run of one is
// sent as it), the writes' arguments and how to wrap an error (the first
// write's).
type setRun struct {
	form *setForm
	one  string
	rows [][]any
	wrap func(error) error
}

// holdSet adds a write of form f (one is its SQL alone, args its
// arguments, key the row it touches) to the open run of f, sealing the
// runs first if one touches that row.
func (p *pipe) holdSet(f *setForm, one string, args []any, key string, wrap func(error) error) {
	if p.runKeys[key] {
		p.sealRuns()
	}
	if p.runKeys == nil {
		p.runKeys = map[string]bool{}
	}
	p.runKeys[key] = true
	for _, r := range p.runs {
		if r.form == f {
			r.rows = append(r.rows, args)
			return
		}
	}
	p.runs = append(p.runs, &setRun{form: f, one: one, rows: [][]any{args}, wrap: wrap})
}

// sealRuns turns the open runs into held statements, in the order of
// setOrder: each refuses (division_by_zero) unless it touched one row per
// write.
func (p *pipe) sealRuns() {
	runs := p.runs
	p.runs, p.runKeys = nil, nil
	slices.SortStableFunc(runs, func(a, b *setRun) int {
		return slices.Index(setOrder, a.form) - slices.Index(setOrder, b.form)
	})
	for _, r := range runs {
		cols, ok := columns(r.rows)
		if len(r.rows) == 1 || !ok {
			for _, args := range r.rows {
				p.holdRaising(`WITH w AS (`+r.one+` RETURNING 1) SELECT 1 / count(*) FROM w`, args, r.wrap)
			}
			continue
		}
		n := strconv.Itoa(len(cols) + 1)
		p.holdRaising(`WITH w AS (`+r.form.sql+` RETURNING 1) SELECT 1 / (count(*) = $`+n+`)::int FROM w`,
			append(cols, len(r.rows)), r.wrap)
	}
}

// columns turns rows of arguments into one typed slice per argument (an
// array parameter); false if the rows differ in length or in the type of
// an argument (nil included).
func columns(rows [][]any) ([]any, bool) {
	width := len(rows[0])
	cols := make([]any, width)
	for j := range width {
		if rows[0][j] == nil {
			return nil, false
		}
		t := reflect.TypeOf(rows[0][j])
		col := reflect.MakeSlice(reflect.SliceOf(t), len(rows), len(rows))
		for i, row := range rows {
			if len(row) != width || row[j] == nil || reflect.TypeOf(row[j]) != t {
				return nil, false
			}
			col.Index(i).Set(reflect.ValueOf(row[j]))
		}
		cols[j] = col.Interface()
	}
	return cols, true
}

// laterSet is laterOne for a write of form f on the row key: held in the
// open run of f, or false as laterOne.
func (c *conn) laterSet(f *setForm, op, write string, args []any, key string, refused func() error) bool {
	if !c.ahead.deferring || c.pipe == nil || c.pipe.err != nil {
		return false
	}
	c.pipe.holdSet(f, write, args, f.name+"\x00"+key, func(err error) error {
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "22012" { // division_by_zero: a row short
			return refused()
		}
		return dbErr(op, err)
	})
	return true
}

// setOrder is the order runs are sealed in, whatever order they were
// opened in: a completion's, so that each item takes its rows' locks in
// the order it takes them alone and a writer of the same rows meets them
// in the same order (no deadlock). Above all a record's history row goes
// after the update of the record: the update's row lock is what keeps
// another writer from adding that version's row first (ownVersion), and a
// history row sent before it would hold the version's key while the
// update waits for the other writer, whose own history row then waits for
// it. (A birth opens the run of history rows with the newborn's first
// version, before the update of the parents' records.) A newborn's
// household (new or updated) and its entry in the residence register go
// before the records, and a new record before the update of another, as
// an item alone writes them (the police step stores the household and the
// entry, then updates the child's record; the civil-status step inserts
// the newborn, then updates the parents'): all of a batch's households
// before all its records, an order a single writer, which takes a
// household before a record, cannot cross.
var setOrder = []*setForm{insertHouseholdSet, updateHouseholdSet, appendResidenceSet, insertCitizenSet,
	updateCitizenSet, appendVersionSet, insertDocumentSet, updateStepSet, updateProcedureSet, insertStepSet}

// The forms: each one's arrays are its single write's arguments, in order.
var (
	updateStepSet = &setForm{name: "procedure_steps", sql: `UPDATE procedure_steps s
		SET status = v.status, province = v.province, commune = v.commune, version = v.version, doc = v.doc
		FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::json[], $6::text[], $7::int[], $8::bigint[])
			AS v(status, province, commune, version, doc, procedure_id, no, prev)
		WHERE s.procedure_id = v.procedure_id AND s.no = v.no AND s.version = v.prev`}
	insertStepSet = &setForm{name: "procedure_steps", sql: `INSERT INTO procedure_steps
		(procedure_id, no, agency, status, kind, province, commune, submitted_at, version, doc)
		SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::timestamptz[], $9::bigint[], $10::json[])
		ON CONFLICT (procedure_id, no) DO NOTHING`}
	updateProcedureSet = &setForm{name: "procedures", sql: `UPDATE procedures p
		SET status = v.status, deadline = v.deadline, resubmit_by = v.resubmit_by, version = v.version, doc = v.doc
		FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::json[], $6::text[], $7::bigint[])
			AS v(status, deadline, resubmit_by, version, doc, id, prev)
		WHERE p.id = v.id AND p.version = v.prev`}
	updateCitizenSet = &setForm{name: "citizens", sql: `UPDATE citizens c
		SET version = v.version, name_key = v.name_key, birth_year = v.birth_year, birth_month = v.birth_month,
			birth_day = v.birth_day, sex = v.sex, life_status = v.life_status, home_province = v.home_province,
			home_commune = v.home_commune, household_id = v.household_id, created_at = v.created_at,
			updated_at = v.updated_at, doc = v.doc, quality = v.quality
		FROM unnest($1::bpchar[], $2::bigint[], $3::bigint[], $4::text[], $5::smallint[], $6::smallint[], $7::smallint[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::timestamptz[],
			$15::json[], $16::smallint[])
			AS v(pin, prev, version, name_key, birth_year, birth_month, birth_day, sex, life_status, home_province,
				home_commune, household_id, created_at, updated_at, doc, quality)
		WHERE c.pin = v.pin AND c.version = v.prev`}
	insertCitizenSet = &setForm{name: "citizens", sql: `INSERT INTO citizens (pin, version, name_key, birth_year,
			birth_month, birth_day, sex, life_status, home_province, home_commune, household_id, created_at, updated_at,
			doc, quality)
		SELECT * FROM unnest($1::bpchar[], $2::bigint[], $3::text[], $4::smallint[], $5::smallint[], $6::smallint[],
			$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[],
			$14::json[], $15::smallint[])
		ON CONFLICT (pin) DO NOTHING`}
	insertHouseholdSet = &setForm{name: "households", sql: `INSERT INTO households
		(id, version, province, commune, head_pin, updated_at, doc)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::json[])
		ON CONFLICT (id) DO NOTHING`}
	updateHouseholdSet = &setForm{name: "households", sql: `UPDATE households h
		SET version = v.version, province = v.province, commune = v.commune, head_pin = v.head_pin,
			updated_at = v.updated_at, doc = v.doc
		FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
			$8::json[]) AS v(id, prev, version, province, commune, head_pin, updated_at, doc)
		WHERE h.id = v.id AND h.version = v.prev`}
	// The entries' seq (insertion order) is drawn in the arrays' order,
	// the order of the writes.
	appendResidenceSet = &setForm{name: "residence_entries", sql: `INSERT INTO residence_entries (id, pin, at, doc)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::json[])
		ON CONFLICT (id) DO NOTHING`}
	appendVersionSet = &setForm{name: "citizen_versions", sql: `INSERT INTO citizen_versions (` + versionCols + `)
		SELECT * FROM unnest($1::bpchar[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
			$7::text[], $8::json[], $9::json[])
		ON CONFLICT (pin, version) DO NOTHING`}
	insertDocumentSet = &setForm{name: "issued_documents", sql: `INSERT INTO issued_documents
		(kind, number, pin, procedure_id, issued_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
		ON CONFLICT DO NOTHING`}
)
