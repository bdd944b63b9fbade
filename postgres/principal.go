package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

const principalCols = `id, name, role, province, commune, agency, officer_pin, disabled, created_at`

func scanPrincipal(row pgx.Row) (*cancuoc.Principal, error) {
	var (
		p       cancuoc.Principal
		role    string
		officer string
		created time.Time
	)
	if err := row.Scan(&p.ID, &p.Name, &role, &p.Jurisdiction.Province, &p.Jurisdiction.Commune,
		&p.Agency, &officer, &p.Disabled, &created); err != nil {
		return nil, err
	}
	p.Role, p.OfficerPIN, p.CreatedAt = cancuoc.Role(role), cancuoc.PIN(officer), ts(created)
	return &p, nil
}

// InsertPrincipal stores p. Conflict "duplicate" if the ID exists.
func (c *conn) InsertPrincipal(ctx context.Context, p *cancuoc.Principal) error {
	const op = "postgres.InsertPrincipal"
	tag, err := c.q.Exec(ctx, `INSERT INTO principals (`+principalCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
		p.ID, p.Name, string(p.Role), p.Jurisdiction.Province, p.Jurisdiction.Commune, p.Agency,
		string(p.OfficerPIN), p.Disabled, ts(p.CreatedAt))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

// Principal returns one principal. NotFound if absent.
func (c *conn) Principal(ctx context.Context, id string) (*cancuoc.Principal, error) {
	const op = "postgres.Principal"
	p, err := scanPrincipal(c.q.QueryRow(ctx, `SELECT `+principalCols+` FROM principals WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	return p, dbErr(op, err)
}

// Principals lists all principals by ID (bytewise, as the column is
// COLLATE "C").
func (c *conn) Principals(ctx context.Context) ([]*cancuoc.Principal, error) {
	const op = "postgres.Principals"
	rows, err := c.q.Query(ctx, `SELECT `+principalCols+` FROM principals ORDER BY id`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.Principal{}
	for rows.Next() {
		p, err := scanPrincipal(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, p)
	}
	return out, dbErr(op, rows.Err())
}

// InsertAPIKey stores k. Conflict "duplicate" if the ID exists.
func (c *conn) InsertAPIKey(ctx context.Context, k *cancuoc.APIKey) error {
	const op = "postgres.InsertAPIKey"
	var revoked *time.Time
	if k.RevokedAt != nil {
		t := ts(*k.RevokedAt)
		revoked = &t
	}
	tag, err := c.q.Exec(ctx, `INSERT INTO api_keys (id, principal_id, hash, created_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.PrincipalID, k.Hash, ts(k.CreatedAt), revoked)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

// APIKey returns one key by its public ID. NotFound if absent.
func (c *conn) APIKey(ctx context.Context, id string) (*cancuoc.APIKey, error) {
	const op = "postgres.APIKey"
	var (
		k       cancuoc.APIKey
		created time.Time
		revoked *time.Time
	)
	err := c.q.QueryRow(ctx, `SELECT id, principal_id, hash, created_at, revoked_at FROM api_keys WHERE id = $1`, id).
		Scan(&k.ID, &k.PrincipalID, &k.Hash, &created, &revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	k.CreatedAt = ts(created)
	if revoked != nil {
		t := ts(*revoked)
		k.RevokedAt = &t
	}
	return &k, nil
}
