package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
)

// qualityPred is each work list's condition, word for word the WHERE of
// its partial index in migration 00014: SQLite uses a partial index only
// when the query's WHERE contains the index's terms.
var qualityPred = map[cancuoc.QualityKind]string{
	cancuoc.QualityPartialBirth: `life_status = 'alive' AND (birth_month = 0 OR birth_day = 0)`,
	cancuoc.QualityNoEthnicity:  `life_status = 'alive' AND (quality & 1) <> 0`,
	cancuoc.QualityNoResidence:  `life_status = 'alive' AND (quality & 2) <> 0`,
	cancuoc.QualityOldUnits:     `life_status = 'alive' AND (quality & 4) <> 0`,
}

// QualityList pages through a work list in (home province, home commune,
// PIN) order: one range of the list's partial index.
func (o *ops) QualityList(ctx context.Context, q cancuoc.QualityQuery) ([]*cancuoc.Citizen, error) {
	const op = "sqlite.QualityList"
	pred, ok := qualityPred[q.Kind]
	if !ok {
		return nil, cancuoc.InvalidField(op, "kind", "quality_kind_unknown",
			"Không có danh sách chất lượng dữ liệu này.", "No such data-quality list.")
	}
	where := []string{pred}
	var args []any
	if q.Province != "" {
		where, args = append(where, `home_province = ?`), append(args, q.Province)
		if q.Commune != "" {
			where, args = append(where, `home_commune = ?`), append(args, q.Commune)
		}
	}
	if a := q.After; a != (cancuoc.QualityCursor{}) {
		where = append(where, `(home_province, home_commune, pin) > (?, ?, ?)`)
		args = append(args, a.Province, a.Commune, string(a.PIN))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	args = append(args, limit)
	out, err := o.citizens(ctx, op, `SELECT doc FROM citizens WHERE `+strings.Join(where, " AND ")+
		` ORDER BY home_province, home_commune, pin LIMIT ?`, args...)
	if out == nil && err == nil {
		out = []*cancuoc.Citizen{}
	}
	return out, err
}

// DuplicateCandidates groups the blocking keys shared by two or more
// living records with a full date of birth, then reads those records in
// key order and hands them over by group.
func (o *ops) DuplicateCandidates(ctx context.Context, fn func([]*cancuoc.Citizen) error) error {
	const op = "sqlite.DuplicateCandidates"
	rows, err := o.r.QueryContext(ctx, `WITH k AS (
			SELECT name_key, birth_year, birth_month, birth_day, sex FROM citizens
			WHERE life_status = 'alive' AND birth_month <> 0 AND birth_day <> 0 AND name_key <> ''
			GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1)
		SELECT c.doc FROM k JOIN citizens c USING (name_key, birth_year, birth_month, birth_day, sex)
		WHERE c.life_status = 'alive'
		ORDER BY c.name_key, c.birth_year, c.birth_month, c.birth_day, c.sex, c.pin`)
	if err != nil {
		return dbErr(op, err)
	}
	defer rows.Close()
	var group []*cancuoc.Citizen
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return dbErr(op, err)
		}
		x, err := decodeCitizen(op, doc)
		if err != nil {
			return err
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

// ReplaceDuplicates empties the table and writes pairs in one transaction.
func (o *ops) ReplaceDuplicates(ctx context.Context, pairs []cancuoc.DuplicatePair) error {
	const op = "sqlite.ReplaceDuplicates"
	return o.atomic(ctx, func(t *ops) error {
		if _, err := t.w.ExecContext(ctx, `DELETE FROM quality_duplicates`); err != nil {
			return dbErr(op, err)
		}
		for _, p := range pairs {
			if _, err := t.w.ExecContext(ctx, `INSERT INTO quality_duplicates
				(pin, other, province, commune, other_province, other_commune, rank, reasons, found_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				string(p.PIN), string(p.Other), p.Province, p.Commune, p.OtherProvince, p.OtherCommune,
				100-p.Score, strings.Join(p.Reasons, ","), micros(p.FoundAt)); err != nil {
				return dbErr(op, err)
			}
		}
		return nil
	})
}

// Duplicates pages through stored pairs by (rank, pin, other) within the
// area; each scope has its own index (migration 00014).
func (o *ops) Duplicates(ctx context.Context, q cancuoc.DuplicateQuery) ([]cancuoc.DuplicatePair, error) {
	const op = "sqlite.Duplicates"
	var where []string
	var args []any
	switch {
	case q.Province == "":
		where = append(where, `pin < other`)
	case q.Commune == "":
		where = append(where, `province = ?`, `(pin < other OR other_province <> ?)`)
		args = append(args, q.Province, q.Province)
	default:
		where = append(where, `province = ?`, `commune = ?`, `(pin < other OR other_province <> ? OR other_commune <> ?)`)
		args = append(args, q.Province, q.Commune, q.Province, q.Commune)
	}
	if a := q.After; a != nil {
		where = append(where, `(rank, pin, other) > (?, ?, ?)`)
		args = append(args, 100-a.Score, string(a.PIN), string(a.Other))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	args = append(args, limit)
	rows, err := o.r.QueryContext(ctx, `SELECT pin, other, province, commune, other_province, other_commune, rank, reasons, found_at
		FROM quality_duplicates WHERE `+strings.Join(where, " AND ")+` ORDER BY rank, pin, other LIMIT ?`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanAll(op, rows, func(r *sql.Rows) (cancuoc.DuplicatePair, error) {
		var p cancuoc.DuplicatePair
		var pin, other, reasons string
		var rank, at int64
		err := r.Scan(&pin, &other, &p.Province, &p.Commune, &p.OtherProvince, &p.OtherCommune, &rank, &reasons, &at)
		p.PIN, p.Other, p.Score, p.FoundAt = cancuoc.PIN(pin), cancuoc.PIN(other), 100-int(rank), fromMicros(at)
		p.Reasons = []string{}
		if reasons != "" {
			p.Reasons = strings.Split(reasons, ",")
		}
		return p, err
	})
}

// SaveSnapshot upserts points in one transaction.
func (o *ops) SaveSnapshot(ctx context.Context, points []cancuoc.SnapshotPoint) error {
	const op = "sqlite.SaveSnapshot"
	return o.atomic(ctx, func(t *ops) error {
		for _, p := range points {
			if _, err := t.w.ExecContext(ctx, `INSERT INTO stats_snapshots (measure, unit, taken_at, value) VALUES (?, ?, ?, ?)
				ON CONFLICT (measure, unit, taken_at) DO UPDATE SET value = excluded.value`,
				p.Measure, p.Unit, micros(p.At), p.Value); err != nil {
				return dbErr(op, err)
			}
		}
		return nil
	})
}

// Snapshots lists a measure's points for a unit since a time.
func (o *ops) Snapshots(ctx context.Context, measure, unit string, since time.Time) ([]cancuoc.SnapshotPoint, error) {
	const op = "sqlite.Snapshots"
	rows, err := o.r.QueryContext(ctx, `SELECT taken_at, value FROM stats_snapshots
		WHERE measure = ? AND unit = ? AND taken_at >= ? ORDER BY taken_at`, measure, unit, micros(since))
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanAll(op, rows, func(r *sql.Rows) (cancuoc.SnapshotPoint, error) {
		p := cancuoc.SnapshotPoint{Measure: measure, Unit: unit}
		var at int64
		err := r.Scan(&at, &p.Value)
		p.At = fromMicros(at)
		return p, err
	})
}
