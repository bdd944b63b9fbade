package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// unitGroup returns the unit columns and the filter of a count: by
// province nationally, by commune within one province.
func unitGroup(province string) (cols, where string, args []any) {
	if province == "" {
		return `c.home_province, ''`, `true`, nil
	}
	return `c.home_province, c.home_commune`, `c.home_province = $1`, []any{province}
}

// CountAccounts counts open citizen accounts by level and home unit.
func (c *conn) CountAccounts(ctx context.Context, province string) ([]cancuoc.AccountCount, error) {
	const op = "postgres.CountAccounts"
	cols, where, args := unitGroup(province)
	rows, err := c.q.Query(ctx, `SELECT `+cols+`, a.level, count(*)
		FROM accounts a JOIN citizens c ON c.pin = a.pin::char(12) -- citizens.pin is char(12): cast the other side, so the primary key serves the join
		WHERE a.kind = 'citizen' AND a.status <> 'closed' AND `+where+`
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return collect(op, rows, func(r pgx.Rows) (cancuoc.AccountCount, error) {
		var x cancuoc.AccountCount
		var level int
		err := r.Scan(&x.Province, &x.Commune, &level, &x.Count)
		x.Level = cancuoc.AccountLevel(level)
		return x, err
	})
}

// AccountsOpened counts citizen accounts by month of opening (UTC).
func (c *conn) AccountsOpened(ctx context.Context, province string) ([]cancuoc.PeriodCount, error) {
	const op = "postgres.AccountsOpened"
	_, where, args := unitGroup(province)
	rows, err := c.q.Query(ctx, `SELECT to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM'), count(*)
		FROM accounts a JOIN citizens c ON c.pin = a.pin::char(12) -- citizens.pin is char(12): cast the other side, so the primary key serves the join
		WHERE a.kind = 'citizen' AND `+where+` GROUP BY 1 ORDER BY 1`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return collectPeriods(op, rows)
}

// CountCards counts valid cards of living citizens by birth year and home
// unit. Cards live in the record's document, so this reads every living
// record of the area: the stats capability caches the answer.
func (c *conn) CountCards(ctx context.Context, province string) ([]cancuoc.CardCount, error) {
	const op = "postgres.CountCards"
	cols, where, args := unitGroup(province)
	rows, err := c.q.Query(ctx, `SELECT `+cols+`, c.birth_year, count(*)
		FROM citizens c CROSS JOIN LATERAL json_array_elements(c.doc->'cards') j
		WHERE c.life_status = 'alive' AND j->>'status' = 'valid' AND `+where+`
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return collect(op, rows, func(r pgx.Rows) (cancuoc.CardCount, error) {
		var x cancuoc.CardCount
		var year int32
		err := r.Scan(&x.Province, &x.Commune, &year, &x.Count)
		x.BirthYear = int(year)
		return x, err
	})
}

// CardsIssued counts cards of living citizens by year of issue.
func (c *conn) CardsIssued(ctx context.Context, province string) ([]cancuoc.PeriodCount, error) {
	const op = "postgres.CardsIssued"
	_, where, args := unitGroup(province)
	rows, err := c.q.Query(ctx, `SELECT left(j->>'issued_on', 4), count(*)
		FROM citizens c CROSS JOIN LATERAL json_array_elements(c.doc->'cards') j
		WHERE c.life_status = 'alive' AND j->>'issued_on' IS NOT NULL AND `+where+`
		GROUP BY 1 ORDER BY 1`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return collectPeriods(op, rows)
}

// CountQuality counts incomplete records of living citizens by home unit:
// one count per work list, each over its partial index (migration 00014),
// so the count reads only the records to fix, not the area's every
// document.
func (c *conn) CountQuality(ctx context.Context, province string) ([]cancuoc.QualityCount, error) {
	const op = "postgres.CountQuality"
	cols, where, args := unitGroup(province)
	var parts []string
	for i, k := range cancuoc.QualityKinds {
		parts = append(parts, `SELECT `+cols+`, `+strconv.Itoa(i)+`, count(*) FROM citizens c WHERE `+qualityPred[k]+` AND `+where+` GROUP BY 1, 2`)
	}
	rows, err := c.q.Query(ctx, strings.Join(parts, " UNION ALL ")+` ORDER BY 1, 2`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	type cell struct {
		prov, com string
		kind      int
		n         int64
	}
	cells, err := collect(op, rows, func(r pgx.Rows) (cell, error) {
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

func collectPeriods(op string, rows pgx.Rows) ([]cancuoc.PeriodCount, error) {
	return collect(op, rows, func(r pgx.Rows) (cancuoc.PeriodCount, error) {
		var x cancuoc.PeriodCount
		err := r.Scan(&x.Period, &x.Count)
		return x, err
	})
}

// collect reads every row with scan and closes rows.
func collect[T any](op string, rows pgx.Rows, scan func(pgx.Rows) (T, error)) ([]T, error) {
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
func (c *conn) CountDocuments(ctx context.Context, province string) ([]cancuoc.DocumentCount, error) {
	const op = "postgres.CountDocuments"
	cols, where, args := unitGroup(province)
	rows, err := c.q.Query(ctx, `SELECT `+cols+`, d.type, count(*)
		FROM documents d JOIN citizens c ON c.pin = d.holder_pin::char(12)
		WHERE `+where+` GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return collect(op, rows, func(r pgx.Rows) (cancuoc.DocumentCount, error) {
		var x cancuoc.DocumentCount
		err := r.Scan(&x.Province, &x.Commune, &x.Type, &x.Count)
		return x, err
	})
}

// DocumentsIssued counts wallet documents by month of issue (UTC).
func (c *conn) DocumentsIssued(ctx context.Context, province string) ([]cancuoc.PeriodCount, error) {
	const op = "postgres.DocumentsIssued"
	_, where, args := unitGroup(province)
	rows, err := c.q.Query(ctx, `SELECT to_char(d.issued_at AT TIME ZONE 'UTC', 'YYYY-MM'), count(*)
		FROM documents d JOIN citizens c ON c.pin = d.holder_pin::char(12)
		WHERE `+where+` GROUP BY 1 ORDER BY 1`, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	return collectPeriods(op, rows)
}
