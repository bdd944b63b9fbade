package postgres

import (
	"context"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

const versionCols = `pin, version, at, actor, agency, reason, legal_basis, changes, doc`

func scanVersion(row pgx.Row) (*cancuoc.CitizenVersion, error) {
	var (
		v        cancuoc.CitizenVersion
		pin      string
		changes  []byte
		doc      []byte
		recorded time.Time
	)
	if err := row.Scan(&pin, &v.Version, &recorded, &v.Actor, &v.Agency, &v.Reason, &v.LegalBasis, &changes, &doc); err != nil {
		return nil, err
	}
	v.PIN, v.At = cancuoc.PIN(pin), ts(recorded)
	if changes != nil {
		if err := json.Unmarshal(changes, &v.Changes); err != nil {
			return nil, err
		}
	}
	if doc != nil {
		if err := json.Unmarshal(doc, &v.Citizen); err != nil {
			return nil, err
		}
	}
	return &v, nil
}

func versionRow(v *cancuoc.CitizenVersion) (changes, doc []byte, err error) {
	if v.Changes != nil { // nil stays NULL so it reads back as nil, not empty
		if changes, err = json.Marshal(v.Changes); err != nil {
			return nil, nil, err
		}
	}
	doc, err = citizenDoc(v.Citizen)
	return changes, doc, err
}

// AppendVersion stores a version. Conflict "duplicate" if (PIN, Version)
// exists; like InsertCitizen it leaves the transaction usable. The history
// row of a version the transaction itself just stored the record at goes
// with the transaction's next statement (readahead.go, wrote): it cannot
// exist already, and should it, the transaction fails.
func (c *conn) AppendVersion(ctx context.Context, v *cancuoc.CitizenVersion) error {
	const op = "postgres.AppendVersion"
	changes, doc, err := versionRow(v)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	const insert = `
		INSERT INTO citizen_versions (` + versionCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (pin, version) DO NOTHING`
	args := []any{string(v.PIN), v.Version, ts(v.At), v.Actor, v.Agency, v.Reason, v.LegalBasis, changes, doc}
	if c.ownVersion(v.PIN, v.Version) {
		// Under DeferRefusals it joins the run of its kind (pipeset.go).
		if c.laterSet(appendVersionSet, op, insert, args, string(v.PIN)+"\x00"+strconv.FormatInt(v.Version, 10),
			func() error { return duplicate(op) }) {
			return nil
		}
		// The version the transaction itself stored the record at: no one
		// else can have its history row, so nobody waits for the answer.
		return c.later(ctx, op, insert, args, func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() == 0 {
				return duplicate(op) // cannot happen: fails the transaction
			}
			return nil
		})
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

// Versions lists a citizen's versions, oldest first. Empty if none.
func (c *conn) Versions(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.CitizenVersion, error) {
	const op = "postgres.Versions"
	rows, err := c.q.Query(ctx, `SELECT `+versionCols+` FROM citizen_versions WHERE pin = $1 ORDER BY version`, string(pin))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.CitizenVersion{}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, v)
	}
	return out, dbErr(op, rows.Err())
}

// Version returns one version. NotFound if absent.
func (c *conn) Version(ctx context.Context, pin cancuoc.PIN, version int64) (*cancuoc.CitizenVersion, error) {
	const op = "postgres.Version"
	v, err := scanVersion(c.q.QueryRow(ctx,
		`SELECT `+versionCols+` FROM citizen_versions WHERE pin = $1 AND version = $2`, string(pin), version))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	return v, dbErr(op, err)
}

// VersionAt returns the latest version recorded at or before t; of versions
// recorded in the same microsecond, the highest. NotFound if the citizen had
// no record yet.
func (c *conn) VersionAt(ctx context.Context, pin cancuoc.PIN, t time.Time) (*cancuoc.CitizenVersion, error) {
	const op = "postgres.VersionAt"
	v, err := scanVersion(c.q.QueryRow(ctx, `SELECT `+versionCols+` FROM citizen_versions
		WHERE pin = $1 AND at <= $2 ORDER BY at DESC, version DESC LIMIT 1`, string(pin), ts(t)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	return v, dbErr(op, err)
}
