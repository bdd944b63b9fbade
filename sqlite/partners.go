package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Partners, partner consents and used client assertions (migration 00006).
// A partner row is its JSON document plus the columns updates need.

// InsertPartner stores p. Conflict "duplicate" if the ID exists.
func (o *ops) InsertPartner(ctx context.Context, p *cancuoc.Partner) error {
	const op = "sqlite.InsertPartner"
	doc, err := json.Marshal(p)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO partners (id, version, created_at, doc)
		VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, p.ID, p.Version, micros(p.CreatedAt), string(doc))
	return inserted(op, res, err, "Mã đối tác đã tồn tại.", "The partner ID already exists.")
}

// UpdatePartner replaces p if its stored version is still prev.
func (o *ops) UpdatePartner(ctx context.Context, p *cancuoc.Partner, prev int64) error {
	const op = "sqlite.UpdatePartner"
	doc, err := json.Marshal(p)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `UPDATE partners SET version = ?, doc = ? WHERE id = ? AND version = ?`,
		p.Version, string(doc), p.ID, prev)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return dbErr(op, err)
	}
	var v int64
	err = o.w.QueryRowContext(ctx, `SELECT version FROM partners WHERE id = ?`, p.ID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(op, "Không tìm thấy đối tác.", "No such partner.")
	}
	if err != nil {
		return dbErr(op, err)
	}
	return conflict(op, "stale_version", "Đối tác đã được người khác thay đổi; hãy tải lại rồi thử lại.",
		"The partner was changed by someone else; reload and try again.")
}

func scanPartner(s scanner) (*cancuoc.Partner, error) {
	var doc string
	if err := s.Scan(&doc); err != nil {
		return nil, err
	}
	var p cancuoc.Partner
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Partner returns one partner. NotFound if absent.
func (o *ops) Partner(ctx context.Context, id string) (*cancuoc.Partner, error) {
	const op = "sqlite.Partner"
	p, err := scanPartner(o.r.QueryRowContext(ctx, `SELECT doc FROM partners WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy đối tác.", "No such partner.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return p, nil
}

// Partners lists all partners by ID.
func (o *ops) Partners(ctx context.Context) ([]*cancuoc.Partner, error) {
	const op = "sqlite.Partners"
	rows, err := o.r.QueryContext(ctx, `SELECT doc FROM partners ORDER BY id`)
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
func (o *ops) InsertPartnerConsent(ctx context.Context, c *cancuoc.PartnerConsent) error {
	const op = "sqlite.InsertPartnerConsent"
	fields, err := json.Marshal(c.Fields)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO partner_consents
		(id, pin, partner_id, fields, purpose, granted_at, expires_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		c.ID, string(c.PIN), c.PartnerID, string(fields), c.Purpose, micros(c.GrantedAt), micros(c.ExpiresAt), nullMicros(c.RevokedAt))
	return inserted(op, res, err, "Mã sự đồng ý đã tồn tại.", "The consent ID already exists.")
}

const partnerConsentCols = `id, pin, partner_id, fields, purpose, granted_at, expires_at, revoked_at`

func scanPartnerConsent(s scanner) (*cancuoc.PartnerConsent, error) {
	var (
		c                cancuoc.PartnerConsent
		pin, fields      string
		granted, expires int64
		revoked          sql.NullInt64
	)
	if err := s.Scan(&c.ID, &pin, &c.PartnerID, &fields, &c.Purpose, &granted, &expires, &revoked); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
		return nil, err
	}
	c.PIN, c.GrantedAt, c.ExpiresAt, c.RevokedAt = cancuoc.PIN(pin), fromMicros(granted), fromMicros(expires), fromNullMicros(revoked)
	return &c, nil
}

func (o *ops) partnerConsents(ctx context.Context, op, query string, args ...any) ([]*cancuoc.PartnerConsent, error) {
	rows, err := o.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.PartnerConsent{}
	for rows.Next() {
		c, err := scanPartnerConsent(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, c)
	}
	return out, dbErr(op, rows.Err())
}

// PartnerConsent returns one consent. NotFound if absent.
func (o *ops) PartnerConsent(ctx context.Context, id string) (*cancuoc.PartnerConsent, error) {
	const op = "sqlite.PartnerConsent"
	c, err := scanPartnerConsent(o.r.QueryRowContext(ctx, `SELECT `+partnerConsentCols+` FROM partner_consents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy sự đồng ý.", "No such consent.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return c, nil
}

// PartnerConsents lists a citizen's consents, newest first.
func (o *ops) PartnerConsents(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.PartnerConsent, error) {
	return o.partnerConsents(ctx, "sqlite.PartnerConsents", `SELECT `+partnerConsentCols+`
		FROM partner_consents WHERE pin = ? ORDER BY granted_at DESC, id`, string(pin))
}

// ConsentsInForce lists a citizen's unrevoked, unexpired consents for a
// partner at t, newest first.
func (o *ops) ConsentsInForce(ctx context.Context, pin cancuoc.PIN, partnerID string, t time.Time) ([]*cancuoc.PartnerConsent, error) {
	return o.partnerConsents(ctx, "sqlite.ConsentsInForce", `SELECT `+partnerConsentCols+`
		FROM partner_consents WHERE pin = ? AND partner_id = ? AND revoked_at IS NULL AND granted_at <= ? AND expires_at > ?
		ORDER BY granted_at DESC, id`, string(pin), partnerID, micros(t), micros(t))
}

// RevokePartnerConsent marks a citizen's consent revoked at t.
func (o *ops) RevokePartnerConsent(ctx context.Context, pin cancuoc.PIN, id string, t time.Time) error {
	const op = "sqlite.RevokePartnerConsent"
	res, err := o.w.ExecContext(ctx, `UPDATE partner_consents SET revoked_at = ?
		WHERE id = ? AND pin = ? AND revoked_at IS NULL`, micros(t), id, string(pin))
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return dbErr(op, err)
		}
		return notFound(op, "Không có sự đồng ý đang hiệu lực với mã này.", "No consent in force with this ID.")
	}
	return nil
}

// UseClientAssertion records an assertion's jti; Conflict if seen before.
func (o *ops) UseClientAssertion(ctx context.Context, clientID, jti string, expires, now time.Time) error {
	const op = "sqlite.UseClientAssertion"
	if _, err := o.w.ExecContext(ctx, `DELETE FROM client_assertions WHERE expires_at <= ?`, micros(now)); err != nil {
		return dbErr(op, err)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO client_assertions (client_id, jti, expires_at)
		VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, clientID, jti, micros(expires))
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return dbErr(op, err)
		}
		return conflict(op, "assertion_replayed", "Assertion của ứng dụng đã được dùng (jti trùng).",
			"The client assertion was used before (repeated jti).")
	}
	return nil
}
