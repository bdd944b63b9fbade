package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/cancuoc/cancuoc"
)

const versionCols = `pin, version, at, actor, agency, reason, legal_basis, changes, doc`

// versionRow is the column values of v, in the order of versionCols. doc is
// the record's JSON, passed in so BulkInsert encodes each record once.
func versionRow(v *cancuoc.CitizenVersion, doc []byte) ([]any, error) {
	changes, err := json.Marshal(v.Changes)
	if err != nil {
		return nil, err
	}
	return []any{string(v.PIN), v.Version, micros(v.At), v.Actor, v.Agency, v.Reason, v.LegalBasis,
		string(changes), string(doc)}, nil
}

// AppendVersion stores a version. Conflict "duplicate" if (PIN, Version)
// exists.
func (o *ops) AppendVersion(ctx context.Context, v *cancuoc.CitizenVersion) error {
	const op = "sqlite.AppendVersion"
	doc, err := citizenDoc(v.Citizen)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	row, err := versionRow(v, doc)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO citizen_versions (`+versionCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, row...)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 0 {
		return conflict(op, "duplicate", "Phiên bản này của hồ sơ đã được ghi.",
			"This version of the record is already recorded.")
	}
	return nil
}

// Versions lists a citizen's versions, oldest first. Empty if none.
func (o *ops) Versions(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.CitizenVersion, error) {
	const op = "sqlite.Versions"
	rows, err := o.r.QueryContext(ctx, `SELECT `+versionCols+` FROM citizen_versions
		WHERE pin = ? ORDER BY version`, string(pin))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	var out []*cancuoc.CitizenVersion
	for rows.Next() {
		v, err := scanVersion(op, rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(op, err)
	}
	return out, nil
}

// Version returns one version. NotFound if absent.
func (o *ops) Version(ctx context.Context, pin cancuoc.PIN, version int64) (*cancuoc.CitizenVersion, error) {
	return o.oneVersion(ctx, "sqlite.Version", `SELECT `+versionCols+` FROM citizen_versions
		WHERE pin = ? AND version = ?`, string(pin), version)
}

// VersionAt returns the latest version recorded at or before t. NotFound if
// the citizen had no record yet.
func (o *ops) VersionAt(ctx context.Context, pin cancuoc.PIN, t time.Time) (*cancuoc.CitizenVersion, error) {
	return o.oneVersion(ctx, "sqlite.VersionAt", `SELECT `+versionCols+` FROM citizen_versions
		WHERE pin = ? AND at <= ? ORDER BY at DESC, version DESC LIMIT 1`, string(pin), micros(t))
}

func (o *ops) oneVersion(ctx context.Context, op, query string, args ...any) (*cancuoc.CitizenVersion, error) {
	v, err := scanVersion(op, o.r.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy phiên bản hồ sơ.", "No such version of the record.")
	}
	return v, err
}

type scanner interface{ Scan(dest ...any) error }

func scanVersion(op string, s scanner) (*cancuoc.CitizenVersion, error) {
	var (
		v            cancuoc.CitizenVersion
		pin          string
		at           int64
		changes, doc []byte
	)
	err := s.Scan(&pin, &v.Version, &at, &v.Actor, &v.Agency, &v.Reason, &v.LegalBasis, &changes, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	v.PIN, v.At = cancuoc.PIN(pin), fromMicros(at)
	if err := json.Unmarshal(changes, &v.Changes); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := json.Unmarshal(doc, &v.Citizen); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return &v, nil
}
