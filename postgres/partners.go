package postgres

import (
	"context"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// Partners, partner consents and used client assertions (migration 00006).
// A partner row is its JSON document plus the columns updates need.

// InsertPartner stores p. Conflict "duplicate" if the ID exists.
func (c *conn) InsertPartner(ctx context.Context, p *cancuoc.Partner) error {
	const op = "postgres.InsertPartner"
	doc, err := json.Marshal(p)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	tag, err := c.q.Exec(ctx, `INSERT INTO partners (id, version, created_at, doc)
		VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`, p.ID, p.Version, ts(p.CreatedAt), string(doc))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

// UpdatePartner replaces p if its stored version is still prev.
func (c *conn) UpdatePartner(ctx context.Context, p *cancuoc.Partner, prev int64) error {
	const op = "postgres.UpdatePartner"
	doc, err := json.Marshal(p)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	tag, err := c.q.Exec(ctx, `UPDATE partners SET version = $1, doc = $2 WHERE id = $3 AND version = $4`,
		p.Version, string(doc), p.ID, prev)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := c.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM partners WHERE id = $1)`, p.ID).Scan(&exists); err != nil {
		return dbErr(op, err)
	}
	if !exists {
		return oidcNotFound(op, "Không tìm thấy đối tác.", "No such partner.")
	}
	return cancuoc.E(cancuoc.Conflict, op, "stale_version", "Đối tác đã được người khác thay đổi; hãy tải lại rồi thử lại.",
		"The partner was changed by someone else; reload and try again.")
}

func scanPartner(row pgx.Row) (*cancuoc.Partner, error) {
	var doc string
	if err := row.Scan(&doc); err != nil {
		return nil, err
	}
	var p cancuoc.Partner
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Partner returns one partner. NotFound if absent.
func (c *conn) Partner(ctx context.Context, id string) (*cancuoc.Partner, error) {
	const op = "postgres.Partner"
	p, err := scanPartner(c.q.QueryRow(ctx, `SELECT doc::text FROM partners WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, oidcNotFound(op, "Không tìm thấy đối tác.", "No such partner.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return p, nil
}

// Partners lists all partners by ID.
func (c *conn) Partners(ctx context.Context) ([]*cancuoc.Partner, error) {
	const op = "postgres.Partners"
	rows, err := c.q.Query(ctx, `SELECT doc::text FROM partners ORDER BY id`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.Partner{}
	for rows.Next() {
		p, err := scanPartner(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, p)
	}
	return out, dbErr(op, rows.Err())
}

// InsertPartnerConsent stores c. Conflict "duplicate" if the ID exists.
func (c *conn) InsertPartnerConsent(ctx context.Context, pc *cancuoc.PartnerConsent) error {
	const op = "postgres.InsertPartnerConsent"
	fields, err := json.Marshal(pc.Fields)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	tag, err := c.q.Exec(ctx, `INSERT INTO partner_consents
		(id, pin, partner_id, fields, purpose, granted_at, expires_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
		pc.ID, string(pc.PIN), pc.PartnerID, string(fields), pc.Purpose, ts(pc.GrantedAt), ts(pc.ExpiresAt), tsPtr(pc.RevokedAt))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

const partnerConsentCols = `id, pin, partner_id, fields::text, purpose, granted_at, expires_at, revoked_at`

func scanPartnerConsent(row pgx.Row) (*cancuoc.PartnerConsent, error) {
	var (
		pc               cancuoc.PartnerConsent
		pin, fields      string
		granted, expires time.Time
		revoked          *time.Time
	)
	if err := row.Scan(&pc.ID, &pin, &pc.PartnerID, &fields, &pc.Purpose, &granted, &expires, &revoked); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fields), &pc.Fields); err != nil {
		return nil, err
	}
	pc.PIN, pc.GrantedAt, pc.ExpiresAt, pc.RevokedAt = cancuoc.PIN(pin), ts(granted), ts(expires), tsPtr(revoked)
	return &pc, nil
}

func (c *conn) partnerConsents(ctx context.Context, op, query string, args ...any) ([]*cancuoc.PartnerConsent, error) {
	rows, err := c.q.Query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.PartnerConsent{}
	for rows.Next() {
		pc, err := scanPartnerConsent(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, pc)
	}
	return out, dbErr(op, rows.Err())
}

// PartnerConsent returns one consent. NotFound if absent.
func (c *conn) PartnerConsent(ctx context.Context, id string) (*cancuoc.PartnerConsent, error) {
	const op = "postgres.PartnerConsent"
	pc, err := scanPartnerConsent(c.q.QueryRow(ctx, `SELECT `+partnerConsentCols+` FROM partner_consents WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, oidcNotFound(op, "Không tìm thấy sự đồng ý.", "No such consent.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return pc, nil
}

// PartnerConsents lists a citizen's consents, newest first.
func (c *conn) PartnerConsents(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.PartnerConsent, error) {
	return c.partnerConsents(ctx, "postgres.PartnerConsents", `SELECT `+partnerConsentCols+`
		FROM partner_consents WHERE pin = $1 ORDER BY granted_at DESC, id`, string(pin))
}

// ConsentsInForce lists a citizen's unrevoked, unexpired consents for a
// partner at t, newest first.
func (c *conn) ConsentsInForce(ctx context.Context, pin cancuoc.PIN, partnerID string, t time.Time) ([]*cancuoc.PartnerConsent, error) {
	return c.partnerConsents(ctx, "postgres.ConsentsInForce", `SELECT `+partnerConsentCols+`
		FROM partner_consents WHERE pin = $1 AND partner_id = $2 AND revoked_at IS NULL AND granted_at <= $3 AND expires_at > $3
		ORDER BY granted_at DESC, id`, string(pin), partnerID, ts(t))
}

// RevokePartnerConsent marks a citizen's consent revoked at t.
func (c *conn) RevokePartnerConsent(ctx context.Context, pin cancuoc.PIN, id string, t time.Time) error {
	const op = "postgres.RevokePartnerConsent"
	tag, err := c.q.Exec(ctx, `UPDATE partner_consents SET revoked_at = $1
		WHERE id = $2 AND pin = $3 AND revoked_at IS NULL`, ts(t), id, string(pin))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return oidcNotFound(op, "Không có sự đồng ý đang hiệu lực với mã này.", "No consent in force with this ID.")
	}
	return nil
}

// UseClientAssertion records an assertion's jti; Conflict if seen before.
// Expired ones are removed first, in the same transaction.
func (c *conn) UseClientAssertion(ctx context.Context, clientID, jti string, expires, now time.Time) error {
	const op = "postgres.UseClientAssertion"
	return c.atomic(ctx, func(q querier) error {
		if _, err := q.Exec(ctx, `DELETE FROM client_assertions WHERE expires_at <= $1`, ts(now)); err != nil {
			return dbErr(op, err)
		}
		tag, err := q.Exec(ctx, `INSERT INTO client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, clientID, jti, ts(expires))
		if err != nil {
			return dbErr(op, err)
		}
		if tag.RowsAffected() == 0 {
			return cancuoc.E(cancuoc.Conflict, op, "assertion_replayed", "Assertion của ứng dụng đã được dùng (jti trùng).",
				"The client assertion was used before (repeated jti).")
		}
		return nil
	})
}
