package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.DocumentStore = (*conn)(nil)

const documentCols = `id, type, holder_pin, issuer, issued_by, status_list, status_index, status, reason,
	issued_at, expires_at, holder_key_id, replaced_by, claims::text, sd_jwt, version, updated_at`

// InsertDocument stores d. Conflict "duplicate" if its ID or slot is taken.
func (c *conn) InsertDocument(ctx context.Context, d *cancuoc.Document) error {
	const op = "postgres.InsertDocument"
	tag, err := c.q.Exec(ctx, `INSERT INTO documents (id, type, holder_pin, issuer, issued_by, status_list, status_index,
		status, reason, issued_at, expires_at, holder_key_id, replaced_by, claims, sd_jwt, version, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT DO NOTHING`,
		d.ID, d.Type, d.HolderPIN.String(), d.Issuer, d.IssuedBy, d.StatusList, d.StatusIndex, string(d.Status), d.Reason,
		ts(d.IssuedAt), ts(d.ExpiresAt), d.HolderKeyID, d.ReplacedBy, string(d.Claims), d.SDJWT, d.Version, ts(d.UpdatedAt))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

func scanDocument(sc interface{ Scan(...any) error }) (*cancuoc.Document, error) {
	var (
		d                   cancuoc.Document
		pin, status, claims string
	)
	if err := sc.Scan(&d.ID, &d.Type, &pin, &d.Issuer, &d.IssuedBy, &d.StatusList, &d.StatusIndex, &status, &d.Reason,
		&d.IssuedAt, &d.ExpiresAt, &d.HolderKeyID, &d.ReplacedBy, &claims, &d.SDJWT, &d.Version, &d.UpdatedAt); err != nil {
		return nil, err
	}
	d.HolderPIN, d.Status, d.Claims = cancuoc.PIN(pin), cancuoc.DocumentStatus(status), json.RawMessage(claims)
	d.IssuedAt, d.ExpiresAt, d.UpdatedAt = ts(d.IssuedAt), ts(d.ExpiresAt), ts(d.UpdatedAt)
	return &d, nil
}

// Document returns one document. NotFound if absent.
func (c *conn) Document(ctx context.Context, id string) (*cancuoc.Document, error) {
	const op = "postgres.Document"
	d, err := scanDocument(c.q.QueryRow(ctx, `SELECT `+documentCols+` FROM documents WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return d, nil
}

// DocumentsByHolder lists a holder's documents, newest first.
func (c *conn) DocumentsByHolder(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.Document, error) {
	const op = "postgres.DocumentsByHolder"
	rows, err := c.q.Query(ctx, `SELECT `+documentCols+` FROM documents WHERE holder_pin = $1
		ORDER BY issued_at DESC, id`, pin.String())
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.Document{}
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, d)
	}
	return out, dbErr(op, rows.Err())
}

// UpdateDocument stores the status, reason and replacement if the version is still prev.
func (c *conn) UpdateDocument(ctx context.Context, d *cancuoc.Document, prev int64) error {
	const op = "postgres.UpdateDocument"
	tag, err := c.q.Exec(ctx, `UPDATE documents SET status = $1, reason = $2, replaced_by = $3, version = $4, updated_at = $5
		WHERE id = $6 AND version = $7`, string(d.Status), d.Reason, d.ReplacedBy, d.Version, ts(d.UpdatedAt), d.ID, prev)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	err = c.q.QueryRow(ctx, `SELECT 1 FROM documents WHERE id = $1`, d.ID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return staleVersion(op)
}

// StatusEntries lists the list's entries whose document is not valid.
func (c *conn) StatusEntries(ctx context.Context, issuer string, list int64) ([]cancuoc.StatusEntry, error) {
	const op = "postgres.StatusEntries"
	rows, err := c.q.Query(ctx, `SELECT status_index, status FROM documents
		WHERE issuer = $1 AND status_list = $2 AND status <> 'valid' ORDER BY status_index`, issuer, list)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []cancuoc.StatusEntry{}
	for rows.Next() {
		var (
			e      cancuoc.StatusEntry
			status string
		)
		if err := rows.Scan(&e.Index, &status); err != nil {
			return nil, dbErr(op, err)
		}
		e.Status = cancuoc.DocumentStatus(status)
		out = append(out, e)
	}
	return out, dbErr(op, rows.Err())
}

// NextStatusSlot hands out the issuer's next slot number; the row lock
// of the upsert serialises concurrent issuers.
func (c *conn) NextStatusSlot(ctx context.Context, issuer string) (int64, error) {
	const op = "postgres.NextStatusSlot"
	var next int64
	err := c.q.QueryRow(ctx, `INSERT INTO wallet_status_slots AS s (issuer, next) VALUES ($1, 1)
		ON CONFLICT (issuer) DO UPDATE SET next = s.next + 1 RETURNING next`, issuer).Scan(&next)
	if err != nil {
		return 0, dbErr(op, err)
	}
	return next - 1, nil
}

// PutHolderKey stores the holder's key, replacing any earlier one.
func (c *conn) PutHolderKey(ctx context.Context, k *cancuoc.HolderKey) error {
	const op = "postgres.PutHolderKey"
	_, err := c.q.Exec(ctx, `INSERT INTO wallet_holder_keys (pin, id, jwk, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (pin) DO UPDATE SET id = excluded.id, jwk = excluded.jwk, created_at = excluded.created_at`,
		k.PIN.String(), k.ID, string(k.JWK), ts(k.CreatedAt))
	return dbErr(op, err)
}

// HolderKey returns the holder's current key. NotFound if none.
func (c *conn) HolderKey(ctx context.Context, pin cancuoc.PIN) (*cancuoc.HolderKey, error) {
	const op = "postgres.HolderKey"
	k := cancuoc.HolderKey{PIN: pin}
	var jwk string
	err := c.q.QueryRow(ctx, `SELECT id, jwk::text, created_at FROM wallet_holder_keys WHERE pin = $1`, pin.String()).
		Scan(&k.ID, &jwk, &k.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	k.JWK, k.CreatedAt = json.RawMessage(jwk), ts(k.CreatedAt)
	return &k, nil
}

// HolderKeys returns the current keys of those of pins that have one.
func (c *conn) HolderKeys(ctx context.Context, pins []cancuoc.PIN) ([]*cancuoc.HolderKey, error) {
	const op = "postgres.HolderKeys"
	if len(pins) == 0 {
		return nil, nil
	}
	rows, err := c.q.Query(ctx, `SELECT pin, id, jwk::text, created_at FROM wallet_holder_keys WHERE pin = ANY($1::text[])`, pinTexts(pins))
	if err != nil {
		return nil, dbErr(op, err)
	}
	return collect(op, rows, func(r pgx.Rows) (*cancuoc.HolderKey, error) {
		var (
			k        cancuoc.HolderKey
			pin, jwk string
		)
		err := r.Scan(&pin, &k.ID, &jwk, &k.CreatedAt)
		k.PIN, k.JWK, k.CreatedAt = cancuoc.PIN(pin), json.RawMessage(jwk), ts(k.CreatedAt)
		return &k, err
	})
}

// InsertIssuerKey stores k. Conflict "duplicate" if the ID exists.
func (c *conn) InsertIssuerKey(ctx context.Context, k *cancuoc.IssuerKey) error {
	const op = "postgres.InsertIssuerKey"
	tag, err := c.q.Exec(ctx, `INSERT INTO wallet_issuer_keys (id, issuer, private, public, created_at, retire_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Issuer, k.Private, string(k.Public), ts(k.CreatedAt), ts(k.RetireAt))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

// IssuerKeys lists an issuer's keys not retired at t, newest first.
func (c *conn) IssuerKeys(ctx context.Context, issuer string, t time.Time) ([]*cancuoc.IssuerKey, error) {
	const op = "postgres.IssuerKeys"
	rows, err := c.q.Query(ctx, `SELECT id, issuer, private, public::text, created_at, retire_at
		FROM wallet_issuer_keys WHERE issuer = $1 AND retire_at > $2 ORDER BY created_at DESC, id`, issuer, ts(t))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.IssuerKey{}
	for rows.Next() {
		var (
			k               cancuoc.IssuerKey
			public          string
			created, retire time.Time
		)
		if err := rows.Scan(&k.ID, &k.Issuer, &k.Private, &public, &created, &retire); err != nil {
			return nil, dbErr(op, err)
		}
		k.Public, k.CreatedAt, k.RetireAt = json.RawMessage(public), ts(created), ts(retire)
		out = append(out, &k)
	}
	return out, dbErr(op, rows.Err())
}

// InsertPresentationRequest stores r. Conflict "duplicate" if the ID exists.
func (c *conn) InsertPresentationRequest(ctx context.Context, r *cancuoc.PresentationRequest) error {
	const op = "postgres.InsertPresentationRequest"
	claims, err := json.Marshal(r.Claims)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	tag, err := c.q.Exec(ctx, `INSERT INTO wallet_presentation_requests (id, client_id, nonce, type, claims,
		created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
		r.ID, r.ClientID, r.Nonce, r.Type, string(claims), r.CreatedBy, ts(r.CreatedAt), ts(r.ExpiresAt))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

// PresentationRequest returns one request. NotFound if absent.
func (c *conn) PresentationRequest(ctx context.Context, id string) (*cancuoc.PresentationRequest, error) {
	const op = "postgres.PresentationRequest"
	r := cancuoc.PresentationRequest{ID: id}
	var (
		claims  string
		verdict *string
	)
	err := c.q.QueryRow(ctx, `SELECT client_id, nonce, type, claims::text, created_by, created_at, expires_at, answered_at, verdict::text
		FROM wallet_presentation_requests WHERE id = $1`, id).
		Scan(&r.ClientID, &r.Nonce, &r.Type, &claims, &r.CreatedBy, &r.CreatedAt, &r.ExpiresAt, &r.AnsweredAt, &verdict)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	if err := json.Unmarshal([]byte(claims), &r.Claims); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	r.CreatedAt, r.ExpiresAt = ts(r.CreatedAt), ts(r.ExpiresAt)
	if r.AnsweredAt != nil {
		t := ts(*r.AnsweredAt)
		r.AnsweredAt = &t
	}
	if verdict != nil {
		r.Verdict = json.RawMessage(*verdict)
	}
	return &r, nil
}

// ClaimPresentationRequest marks an unanswered request answered at t; the
// conditional update takes the row lock, so racing responses serialise.
func (c *conn) ClaimPresentationRequest(ctx context.Context, id string, t time.Time) error {
	const op = "postgres.ClaimPresentationRequest"
	tag, err := c.q.Exec(ctx, `UPDATE wallet_presentation_requests SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL`, ts(t), id)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	err = c.q.QueryRow(ctx, `SELECT 1 FROM wallet_presentation_requests WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return cancuoc.E(cancuoc.Conflict, op, "request_answered", "Yêu cầu này đã được trả lời.", "This request has already been answered.")
}

// SetPresentationVerdict stores the verdict of an answered request.
func (c *conn) SetPresentationVerdict(ctx context.Context, id string, verdict json.RawMessage) error {
	const op = "postgres.SetPresentationVerdict"
	tag, err := c.q.Exec(ctx, `UPDATE wallet_presentation_requests SET verdict = $1 WHERE id = $2`, string(verdict), id)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op)
	}
	return nil
}

// DeletePresentationRequests removes requests that expired before t.
func (c *conn) DeletePresentationRequests(ctx context.Context, before time.Time) (int64, error) {
	const op = "postgres.DeletePresentationRequests"
	tag, err := c.q.Exec(ctx, `DELETE FROM wallet_presentation_requests WHERE expires_at < $1`, ts(before))
	if err != nil {
		return 0, dbErr(op, err)
	}
	return tag.RowsAffected(), nil
}
