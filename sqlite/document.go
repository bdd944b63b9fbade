package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/cancuoc/cancuoc"
)

var _ cancuoc.DocumentStore = (*ops)(nil)

const documentCols = `id, type, holder_pin, issuer, issued_by, status_list, status_index, status, reason,
	issued_at, expires_at, holder_key_id, replaced_by, claims, sd_jwt, version, updated_at`

// InsertDocument stores d. Conflict "duplicate" if its ID or slot is taken.
func (o *ops) InsertDocument(ctx context.Context, d *cancuoc.Document) error {
	const op = "sqlite.InsertDocument"
	res, err := o.w.ExecContext(ctx, `INSERT INTO documents (`+documentCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		d.ID, d.Type, d.HolderPIN.String(), d.Issuer, d.IssuedBy, d.StatusList, d.StatusIndex, string(d.Status), d.Reason,
		micros(d.IssuedAt), micros(d.ExpiresAt), d.HolderKeyID, d.ReplacedBy, string(d.Claims), d.SDJWT, d.Version, micros(d.UpdatedAt))
	return inserted(op, res, err, "Tài liệu hoặc vị trí trạng thái đã tồn tại.", "The document or its status slot already exists.")
}

func scanDocument(sc interface{ Scan(...any) error }) (*cancuoc.Document, error) {
	var (
		d                          cancuoc.Document
		pin, status, claims        string
		issued, expires, updatedAt int64
	)
	if err := sc.Scan(&d.ID, &d.Type, &pin, &d.Issuer, &d.IssuedBy, &d.StatusList, &d.StatusIndex, &status, &d.Reason,
		&issued, &expires, &d.HolderKeyID, &d.ReplacedBy, &claims, &d.SDJWT, &d.Version, &updatedAt); err != nil {
		return nil, err
	}
	d.HolderPIN, d.Status, d.Claims = cancuoc.PIN(pin), cancuoc.DocumentStatus(status), json.RawMessage(claims)
	d.IssuedAt, d.ExpiresAt, d.UpdatedAt = fromMicros(issued), fromMicros(expires), fromMicros(updatedAt)
	return &d, nil
}

func documentNotFound(op string) error {
	return notFound(op, "Không tìm thấy tài liệu.", "No such document.")
}

// Document returns one document. NotFound if absent.
func (o *ops) Document(ctx context.Context, id string) (*cancuoc.Document, error) {
	const op = "sqlite.Document"
	d, err := scanDocument(o.r.QueryRowContext(ctx, `SELECT `+documentCols+` FROM documents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, documentNotFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return d, nil
}

// DocumentsByHolder lists a holder's documents, newest first.
func (o *ops) DocumentsByHolder(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.Document, error) {
	const op = "sqlite.DocumentsByHolder"
	rows, err := o.r.QueryContext(ctx, `SELECT `+documentCols+` FROM documents WHERE holder_pin = ?
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
func (o *ops) UpdateDocument(ctx context.Context, d *cancuoc.Document, prev int64) error {
	const op = "sqlite.UpdateDocument"
	res, err := o.w.ExecContext(ctx, `UPDATE documents SET status = ?, reason = ?, replaced_by = ?, version = ?, updated_at = ?
		WHERE id = ? AND version = ?`, string(d.Status), d.Reason, d.ReplacedBy, d.Version, micros(d.UpdatedAt), d.ID, prev)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 1 {
		return nil
	}
	var one int
	err = o.w.QueryRowContext(ctx, `SELECT 1 FROM documents WHERE id = ?`, d.ID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return documentNotFound(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return conflict(op, "stale_version", "Tài liệu vừa được thay đổi; hãy tải lại và thử lại.",
		"The document was changed meanwhile; reload it and try again.")
}

// StatusEntries lists the list's entries whose document is not valid.
func (o *ops) StatusEntries(ctx context.Context, issuer string, list int64) ([]cancuoc.StatusEntry, error) {
	const op = "sqlite.StatusEntries"
	rows, err := o.r.QueryContext(ctx, `SELECT status_index, status FROM documents
		WHERE issuer = ? AND status_list = ? AND status <> 'valid' ORDER BY status_index`, issuer, list)
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

// NextStatusSlot hands out the issuer's next slot number.
func (o *ops) NextStatusSlot(ctx context.Context, issuer string) (int64, error) {
	const op = "sqlite.NextStatusSlot"
	var next int64
	err := o.w.QueryRowContext(ctx, `INSERT INTO wallet_status_slots (issuer, next) VALUES (?, 1)
		ON CONFLICT (issuer) DO UPDATE SET next = next + 1 RETURNING next`, issuer).Scan(&next)
	if err != nil {
		return 0, dbErr(op, err)
	}
	return next - 1, nil
}

// PutHolderKey stores the holder's key, replacing any earlier one.
func (o *ops) PutHolderKey(ctx context.Context, k *cancuoc.HolderKey) error {
	const op = "sqlite.PutHolderKey"
	_, err := o.w.ExecContext(ctx, `INSERT INTO wallet_holder_keys (pin, id, jwk, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (pin) DO UPDATE SET id = excluded.id, jwk = excluded.jwk, created_at = excluded.created_at`,
		k.PIN.String(), k.ID, string(k.JWK), micros(k.CreatedAt))
	return dbErr(op, err)
}

// HolderKey returns the holder's current key. NotFound if none.
func (o *ops) HolderKey(ctx context.Context, pin cancuoc.PIN) (*cancuoc.HolderKey, error) {
	const op = "sqlite.HolderKey"
	var (
		k       = cancuoc.HolderKey{PIN: pin}
		jwk     string
		created int64
	)
	err := o.r.QueryRowContext(ctx, `SELECT id, jwk, created_at FROM wallet_holder_keys WHERE pin = ?`, pin.String()).
		Scan(&k.ID, &jwk, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Chưa đăng ký khoá ví.", "No wallet key is registered.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	k.JWK, k.CreatedAt = json.RawMessage(jwk), fromMicros(created)
	return &k, nil
}

// HolderKeys returns the current keys of those of pins that have one: the
// PINs travel as one JSON array.
func (o *ops) HolderKeys(ctx context.Context, pins []cancuoc.PIN) ([]*cancuoc.HolderKey, error) {
	const op = "sqlite.HolderKeys"
	if len(pins) == 0 {
		return nil, nil
	}
	rows, err := o.r.QueryContext(ctx, `SELECT pin, id, jwk, created_at FROM wallet_holder_keys
		WHERE pin IN (SELECT value FROM json_each(?))`, pinsJSON(pins))
	if err != nil {
		return nil, dbErr(op, err)
	}
	return scanAll(op, rows, func(r *sql.Rows) (*cancuoc.HolderKey, error) {
		var (
			k        cancuoc.HolderKey
			pin, jwk string
			created  int64
		)
		err := r.Scan(&pin, &k.ID, &jwk, &created)
		k.PIN, k.JWK, k.CreatedAt = cancuoc.PIN(pin), json.RawMessage(jwk), fromMicros(created)
		return &k, err
	})
}

// InsertIssuerKey stores k. Conflict "duplicate" if the ID exists.
func (o *ops) InsertIssuerKey(ctx context.Context, k *cancuoc.IssuerKey) error {
	const op = "sqlite.InsertIssuerKey"
	res, err := o.w.ExecContext(ctx, `INSERT INTO wallet_issuer_keys (id, issuer, private, public, created_at, retire_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Issuer, k.Private, string(k.Public), micros(k.CreatedAt), micros(k.RetireAt))
	return inserted(op, res, err, "Mã khoá đã tồn tại.", "The key ID already exists.")
}

// IssuerKeys lists an issuer's keys not retired at t, newest first.
func (o *ops) IssuerKeys(ctx context.Context, issuer string, t time.Time) ([]*cancuoc.IssuerKey, error) {
	const op = "sqlite.IssuerKeys"
	rows, err := o.r.QueryContext(ctx, `SELECT id, issuer, private, public, created_at, retire_at
		FROM wallet_issuer_keys WHERE issuer = ? AND retire_at > ? ORDER BY created_at DESC, id`, issuer, micros(t))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.IssuerKey{}
	for rows.Next() {
		var (
			k               cancuoc.IssuerKey
			public          string
			created, retire int64
		)
		if err := rows.Scan(&k.ID, &k.Issuer, &k.Private, &public, &created, &retire); err != nil {
			return nil, dbErr(op, err)
		}
		k.Public, k.CreatedAt, k.RetireAt = json.RawMessage(public), fromMicros(created), fromMicros(retire)
		out = append(out, &k)
	}
	return out, dbErr(op, rows.Err())
}

// InsertPresentationRequest stores r. Conflict "duplicate" if the ID exists.
func (o *ops) InsertPresentationRequest(ctx context.Context, r *cancuoc.PresentationRequest) error {
	const op = "sqlite.InsertPresentationRequest"
	claims, err := json.Marshal(r.Claims)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO wallet_presentation_requests (id, client_id, nonce, type, claims,
		created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		r.ID, r.ClientID, r.Nonce, r.Type, string(claims), r.CreatedBy, micros(r.CreatedAt), micros(r.ExpiresAt))
	return inserted(op, res, err, "Yêu cầu đã tồn tại.", "The request already exists.")
}

// PresentationRequest returns one request. NotFound if absent.
func (o *ops) PresentationRequest(ctx context.Context, id string) (*cancuoc.PresentationRequest, error) {
	const op = "sqlite.PresentationRequest"
	var (
		r                = cancuoc.PresentationRequest{ID: id}
		claims           string
		created, expires int64
		answered         sql.NullInt64
		verdict          sql.NullString
	)
	err := o.r.QueryRowContext(ctx, `SELECT client_id, nonce, type, claims, created_by, created_at, expires_at, answered_at, verdict
		FROM wallet_presentation_requests WHERE id = ?`, id).
		Scan(&r.ClientID, &r.Nonce, &r.Type, &claims, &r.CreatedBy, &created, &expires, &answered, &verdict)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không có yêu cầu này.", "No such request.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	if err := json.Unmarshal([]byte(claims), &r.Claims); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	r.CreatedAt, r.ExpiresAt = fromMicros(created), fromMicros(expires)
	if answered.Valid {
		t := fromMicros(answered.Int64)
		r.AnsweredAt = &t
	}
	if verdict.Valid {
		r.Verdict = json.RawMessage(verdict.String)
	}
	return &r, nil
}

// ClaimPresentationRequest marks an unanswered request answered at t.
func (o *ops) ClaimPresentationRequest(ctx context.Context, id string, t time.Time) error {
	const op = "sqlite.ClaimPresentationRequest"
	res, err := o.w.ExecContext(ctx, `UPDATE wallet_presentation_requests SET answered_at = ? WHERE id = ? AND answered_at IS NULL`, micros(t), id)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 1 {
		return nil
	}
	var one int
	err = o.w.QueryRowContext(ctx, `SELECT 1 FROM wallet_presentation_requests WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(op, "Không có yêu cầu này.", "No such request.")
	}
	if err != nil {
		return dbErr(op, err)
	}
	return conflict(op, "request_answered", "Yêu cầu này đã được trả lời.", "This request has already been answered.")
}

// SetPresentationVerdict stores the verdict of an answered request.
func (o *ops) SetPresentationVerdict(ctx context.Context, id string, verdict json.RawMessage) error {
	const op = "sqlite.SetPresentationVerdict"
	res, err := o.w.ExecContext(ctx, `UPDATE wallet_presentation_requests SET verdict = ? WHERE id = ?`, string(verdict), id)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 0 {
		return notFound(op, "Không có yêu cầu này.", "No such request.")
	}
	return nil
}

// DeletePresentationRequests removes requests that expired before t.
func (o *ops) DeletePresentationRequests(ctx context.Context, before time.Time) (int64, error) {
	const op = "sqlite.DeletePresentationRequests"
	res, err := o.w.ExecContext(ctx, `DELETE FROM wallet_presentation_requests WHERE expires_at < ?`, micros(before))
	if err != nil {
		return 0, dbErr(op, err)
	}
	n, err := res.RowsAffected()
	return n, dbErr(op, err)
}
