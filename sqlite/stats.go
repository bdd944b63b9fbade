package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/cancuoc/cancuoc"
)

// unitGroup returns the unit columns and the filter of a count: by
// province nationally, by commune within one province.
func unitGroup(province string) (cols, where string, args []any) {
	if province == "" {
		return `c.home_province, ''`, `1`, nil
	}
	return `c.home_province, c.home_commune`, `c.home_province = ?`, []any{province}
}

// CountAccounts counts open citizen accounts by level and home unit.
func (o *ops) CountAccounts(ctx context.Context, province string) ([]cancuoc.AccountCount, error) {
	const op = "sqlite.CountAccounts"
	cols, where, args := unitGroup(province)
	rows, err := o.r.QueryContext(ctx, `SELECT `+cols+`, a.level, count(*)
		FROM accounts a JOIN citizens c ON c.pin = a.pin
		WHERE a.kind = 'citizen' AND a.status <> 'closed' AND `+where+`
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanAll(op, rows, func(r *sql.Rows) (cancuoc.AccountCount, error) {
		var x cancuoc.AccountCount
		err := r.Scan(&x.Province, &x.Commune, &x.Level, &x.Count)
		return x, err
	})
}

// AccountsOpened counts citizen accounts by month of opening.
func (o *ops) AccountsOpened(ctx context.Context, province string) ([]cancuoc.PeriodCount, error) {
	const op = "sqlite.AccountsOpened"
	_, where, args := unitGroup(province)
	rows, err := o.r.QueryContext(ctx, `SELECT strftime('%Y-%m', a.created_at / 1000000, 'unixepoch'), count(*)
		FROM accounts a JOIN citizens c ON c.pin = a.pin
		WHERE a.kind = 'citizen' AND `+where+` GROUP BY 1 ORDER BY 1`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanPeriods(op, rows)
}

// CountCards counts valid cards of living citizens by birth year and home
// unit. Cards live in the record's document, so this reads every living
// record of the area: the stats capability caches the answer.
func (o *ops) CountCards(ctx context.Context, province string) ([]cancuoc.CardCount, error) {
	const op = "sqlite.CountCards"
	cols, where, args := unitGroup(province)
	rows, err := o.r.QueryContext(ctx, `SELECT `+cols+`, c.birth_year, count(*)
		FROM citizens c, json_each(c.doc, '$.cards') j
		WHERE c.life_status = 'alive' AND json_extract(j.value, '$.status') = 'valid' AND `+where+`
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanAll(op, rows, func(r *sql.Rows) (cancuoc.CardCount, error) {
		var x cancuoc.CardCount
		err := r.Scan(&x.Province, &x.Commune, &x.BirthYear, &x.Count)
		return x, err
	})
}

// CardsIssued counts cards of living citizens by year of issue.
func (o *ops) CardsIssued(ctx context.Context, province string) ([]cancuoc.PeriodCount, error) {
	const op = "sqlite.CardsIssued"
	_, where, args := unitGroup(province)
	rows, err := o.r.QueryContext(ctx, `SELECT substr(json_extract(j.value, '$.issued_on'), 1, 4) AS y, count(*)
		FROM citizens c, json_each(c.doc, '$.cards') j
		WHERE c.life_status = 'alive' AND json_extract(j.value, '$.issued_on') IS NOT NULL AND `+where+`
		GROUP BY 1 ORDER BY 1`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanPeriods(op, rows)
}

// CountQuality counts incomplete records of living citizens by home unit:
// one count per work list, each over its partial index (migration 00014).
func (o *ops) CountQuality(ctx context.Context, province string) ([]cancuoc.QualityCount, error) {
	const op = "sqlite.CountQuality"
	cols, where, args := unitGroup(province)
	var parts []string
	var all []any
	for i, k := range cancuoc.QualityKinds {
		parts = append(parts, `SELECT `+cols+`, `+strconv.Itoa(i)+`, count(*) FROM citizens c WHERE `+qualityPred[k]+` AND `+where+` GROUP BY 1, 2`)
		all = append(all, args...)
	}
	rows, err := o.r.QueryContext(ctx, strings.Join(parts, " UNION ALL ")+` ORDER BY 1, 2`, all...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	type cell struct {
		prov, com string
		kind      int
		n         int64
	}
	cells, err := scanAll(op, rows, func(r *sql.Rows) (cell, error) {
		var x cell
		err := r.Scan(&x.prov, &x.com, &x.kind, &x.n)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	return cancuoc.QualityCountsOf(len(cells), func(i int) (string, string, cancuoc.QualityKind, int64) {
		return cells[i].prov, cells[i].com, cancuoc.QualityKinds[cells[i].kind], cells[i].n
	}), nil
}

func scanPeriods(op string, rows *sql.Rows) ([]cancuoc.PeriodCount, error) {
	return scanAll(op, rows, func(r *sql.Rows) (cancuoc.PeriodCount, error) {
		var x cancuoc.PeriodCount
		err := r.Scan(&x.Period, &x.Count)
		return x, err
	})
}

// scanAll reads every row with scan and closes rows.
func scanAll[T any](op string, rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	return out, nil
}

// CountDocuments counts wallet documents by type and the holder's home unit.
func (o *ops) CountDocuments(ctx context.Context, province string) ([]cancuoc.DocumentCount, error) {
	const op = "sqlite.CountDocuments"
	cols, where, args := unitGroup(province)
	rows, err := o.r.QueryContext(ctx, `SELECT `+cols+`, d.type, count(*)
		FROM documents d JOIN citizens c ON c.pin = d.holder_pin
		WHERE `+where+` GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanAll(op, rows, func(r *sql.Rows) (cancuoc.DocumentCount, error) {
		var x cancuoc.DocumentCount
		err := r.Scan(&x.Province, &x.Commune, &x.Type, &x.Count)
		return x, err
	})
}

// DocumentsIssued counts wallet documents by month of issue (UTC).
func (o *ops) DocumentsIssued(ctx context.Context, province string) ([]cancuoc.PeriodCount, error) {
	const op = "sqlite.DocumentsIssued"
	_, where, args := unitGroup(province)
	rows, err := o.r.QueryContext(ctx, `SELECT strftime('%Y-%m', d.issued_at / 1000000, 'unixepoch'), count(*)
		FROM documents d JOIN citizens c ON c.pin = d.holder_pin
		WHERE `+where+` GROUP BY 1 ORDER BY 1`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanPeriods(op, rows)
}
