package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// qualityPred is each work list's condition, word for word the predicate
// of its partial index in migration 00014 (the planner uses a partial
// index only when the query implies its predicate).
var qualityPred = map[cancuoc.QualityKind]string{
	cancuoc.QualityPartialBirth: `life_status = 'alive' AND (birth_month = 0 OR birth_day = 0)`,
	cancuoc.QualityNoEthnicity:  `life_status = 'alive' AND (quality & 1) <> 0`,
	cancuoc.QualityNoResidence:  `life_status = 'alive' AND (quality & 2) <> 0`,
	cancuoc.QualityOldUnits:     `life_status = 'alive' AND (quality & 4) <> 0`,
}

// errQualityKind is the answer to a list that does not exist.
func errQualityKind(op string) error {
	return cancuoc.InvalidField(op, "kind", "quality_kind_unknown",
		"Không có danh sách chất lượng dữ liệu này.", "No such data-quality list.")
}

// QualityList pages through a work list in (home province, home commune,
// PIN) order: one range of the list's partial index.
func (c *conn) QualityList(ctx context.Context, q cancuoc.QualityQuery) ([]*cancuoc.Citizen, error) {
	const op = "postgres.QualityList"
	pred, ok := qualityPred[q.Kind]
	if !ok {
		return nil, errQualityKind(op)
	}
	where := []string{pred}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.Province != "" {
		where = append(where, "home_province = "+arg(q.Province))
		if q.Commune != "" {
			where = append(where, "home_commune = "+arg(q.Commune))
		}
	}
	if a := q.After; a != (cancuoc.QualityCursor{}) {
		where = append(where, "(home_province, home_commune, pin) > ("+arg(a.Province)+", "+arg(a.Commune)+", "+arg(string(a.PIN))+")")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := c.q.Query(ctx, `SELECT `+citizenCols+` FROM citizens WHERE `+strings.Join(where, " AND ")+
		` ORDER BY home_province, home_commune, pin LIMIT `+arg(limit), args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	out, err := collectCitizens(rows)
	return out, dbErr(op, err)
}

// DuplicateCandidates finds the blocking keys shared by two or more
// living records with a full date of birth (one hash aggregate over the
// table), then reads those records in key order and hands them over by
// group.
func (c *conn) DuplicateCandidates(ctx context.Context, fn func([]*cancuoc.Citizen) error) error {
	const op = "postgres.DuplicateCandidates"
	rows, err := c.q.Query(ctx, `SELECT `+citizenCols+` FROM citizens
		WHERE life_status = 'alive' AND (name_key, birth_year, birth_month, birth_day, sex) IN (
			SELECT name_key, birth_year, birth_month, birth_day, sex FROM citizens
			WHERE life_status = 'alive' AND birth_month <> 0 AND birth_day <> 0 AND name_key <> ''
			GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1)
		ORDER BY name_key, birth_year, birth_month, birth_day, sex, pin`)
	if err != nil {
		return dbErr(op, err)
	}
	defer rows.Close()
	var group []*cancuoc.Citizen
	for rows.Next() {
		x, err := scanCitizen(rows)
		if err != nil {
			return dbErr(op, err)
		}
		if len(group) > 0 && !cancuoc.SameBlock(group[0], x) {
			if err := fn(group); err != nil {
				return err
			}
			group = nil
		}
		group = append(group, x)
	}
	if err := rows.Err(); err != nil {
		return dbErr(op, err)
	}
	if len(group) > 1 {
		return fn(group)
	}
	return nil
}

// ReplaceDuplicates empties the table and writes pairs in chunks, in one
// transaction: readers see the old pairs until the new ones commit.
func (c *conn) ReplaceDuplicates(ctx context.Context, pairs []cancuoc.DuplicatePair) error {
	const op = "postgres.ReplaceDuplicates"
	err := c.atomic(ctx, func(q querier) error {
		if _, err := q.Exec(ctx, `DELETE FROM quality_duplicates`); err != nil {
			return err
		}
		const chunk = 5000
		for len(pairs) > 0 {
			n := min(chunk, len(pairs))
			var pin, other, prov, com, oprov, ocom, reasons []string
			var rank []int32
			var at []time.Time
			for _, p := range pairs[:n] {
				pin, other = append(pin, string(p.PIN)), append(other, string(p.Other))
				prov, com = append(prov, p.Province), append(com, p.Commune)
				oprov, ocom = append(oprov, p.OtherProvince), append(ocom, p.OtherCommune)
				rank = append(rank, int32(100-p.Score))
				reasons = append(reasons, strings.Join(p.Reasons, ","))
				at = append(at, p.FoundAt)
			}
			if _, err := q.Exec(ctx, `INSERT INTO quality_duplicates
				(pin, other, province, commune, other_province, other_commune, rank, reasons, found_at)
				SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::smallint[], $8::text[], $9::timestamptz[])`,
				pin, other, prov, com, oprov, ocom, rank, reasons, at); err != nil {
				return err
			}
			pairs = pairs[n:]
		}
		return nil
	})
	return dbErr(op, err)
}

// Duplicates pages through stored pairs by (rank, pin, other) within the
// area: each scope has its own index (migration 00014).
func (c *conn) Duplicates(ctx context.Context, q cancuoc.DuplicateQuery) ([]cancuoc.DuplicatePair, error) {
	const op = "postgres.Duplicates"
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch {
	case q.Province == "":
		where = append(where, "pin < other")
	case q.Commune == "":
		p := arg(q.Province)
		where = append(where, "province = "+p, "(pin < other OR other_province <> "+p+")")
	default:
		p, cm := arg(q.Province), arg(q.Commune)
		where = append(where, "province = "+p, "commune = "+cm, "(pin < other OR other_province <> "+p+" OR other_commune <> "+cm+")")
	}
	if a := q.After; a != nil {
		where = append(where, "(rank, pin, other) > ("+arg(int32(100-a.Score))+"::smallint, "+arg(string(a.PIN))+", "+arg(string(a.Other))+")")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := c.q.Query(ctx, `SELECT pin, other, province, commune, other_province, other_commune, rank, reasons, found_at
		FROM quality_duplicates WHERE `+strings.Join(where, " AND ")+` ORDER BY rank, pin, other LIMIT `+arg(limit), args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return collect(op, rows, func(r pgx.Rows) (cancuoc.DuplicatePair, error) {
		var p cancuoc.DuplicatePair
		var pin, other, reasons string
		var rank int16
		err := r.Scan(&pin, &other, &p.Province, &p.Commune, &p.OtherProvince, &p.OtherCommune, &rank, &reasons, &p.FoundAt)
		p.PIN, p.Other, p.Score, p.FoundAt = cancuoc.PIN(pin), cancuoc.PIN(other), 100-int(rank), p.FoundAt.UTC()
		p.Reasons = splitReasons(reasons)
		return p, err
	})
}

func splitReasons(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// SaveSnapshot upserts points in one statement.
func (c *conn) SaveSnapshot(ctx context.Context, points []cancuoc.SnapshotPoint) error {
	const op = "postgres.SaveSnapshot"
	var m, u []string
	var at []time.Time
	var v []int64
	for _, p := range points {
		m, u, at, v = append(m, p.Measure), append(u, p.Unit), append(at, p.At), append(v, p.Value)
	}
	_, err := c.q.Exec(ctx, `INSERT INTO stats_snapshots (measure, unit, taken_at, value)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[])
		ON CONFLICT (measure, unit, taken_at) DO UPDATE SET value = excluded.value`, m, u, at, v)
	return dbErr(op, err)
}

// Snapshots lists a measure's points for a unit since a time.
func (c *conn) Snapshots(ctx context.Context, measure, unit string, since time.Time) ([]cancuoc.SnapshotPoint, error) {
	const op = "postgres.Snapshots"
	rows, err := c.q.Query(ctx, `SELECT taken_at, value FROM stats_snapshots
		WHERE measure = $1 AND unit = $2 AND taken_at >= $3 ORDER BY taken_at`, measure, unit, since)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return collect(op, rows, func(r pgx.Rows) (cancuoc.SnapshotPoint, error) {
		p := cancuoc.SnapshotPoint{Measure: measure, Unit: unit}
		err := r.Scan(&p.At, &p.Value)
		p.At = p.At.UTC()
		return p, err
	})
}
