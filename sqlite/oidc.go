package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/cancuoc/cancuoc"
)

// The OpenID provider's tables (migration 00003). Rows keep the provider's
// JSON document; the columns exist for lookups and atomic updates.

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func fromNullMicros(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMicros(n.Int64)
	return &t
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// InsertClient stores c. Conflict "duplicate" if the ID exists.
func (o *ops) InsertClient(ctx context.Context, c *cancuoc.Client) error {
	const op = "sqlite.InsertClient"
	doc, err := json.Marshal(c)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `INSERT INTO oidc_clients (id, secret_hash, created_at, doc)
		VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, c.ID, nullBytes(c.SecretHash), micros(c.CreatedAt), string(doc))
	return inserted(op, res, err, "Mã ứng dụng đã tồn tại.", "The client ID already exists.")
}

func scanClient(s scanner) (*cancuoc.Client, error) {
	var (
		hash []byte
		doc  string
	)
	if err := s.Scan(&hash, &doc); err != nil {
		return nil, err
	}
	var c cancuoc.Client
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		return nil, err
	}
	c.SecretHash = hash
	return &c, nil
}

// Client returns one client. NotFound if absent.
func (o *ops) Client(ctx context.Context, id string) (*cancuoc.Client, error) {
	const op = "sqlite.Client"
	c, err := scanClient(o.r.QueryRowContext(ctx, `SELECT secret_hash, doc FROM oidc_clients WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy ứng dụng.", "No such client.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return c, nil
}

// Clients lists all clients by ID.
func (o *ops) Clients(ctx context.Context) ([]*cancuoc.Client, error) {
	const op = "sqlite.Clients"
	rows, err := o.r.QueryContext(ctx, `SELECT secret_hash, doc FROM oidc_clients ORDER BY id`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.Client{}
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, c)
	}
	return out, dbErr(op, rows.Err())
}

// InsertAuthRequest stores r. Conflict "duplicate" if the ID exists.
func (o *ops) InsertAuthRequest(ctx context.Context, r *cancuoc.AuthRequest) error {
	const op = "sqlite.InsertAuthRequest"
	res, err := o.w.ExecContext(ctx, `INSERT INTO oidc_auth_requests
		(id, client_id, pin, code_hash, code_used, created_at, expires_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		r.ID, r.ClientID, string(r.PIN), nullBytes(r.CodeHash), r.CodeUsed, micros(r.CreatedAt), micros(r.ExpiresAt), string(r.Doc))
	return inserted(op, res, err, "Yêu cầu đã tồn tại.", "The request already exists.")
}

const authRequestCols = `id, client_id, pin, code_hash, code_used, created_at, expires_at, doc`

func scanAuthRequest(s scanner) (*cancuoc.AuthRequest, error) {
	var (
		r               cancuoc.AuthRequest
		pin, doc        string
		created, expire int64
	)
	if err := s.Scan(&r.ID, &r.ClientID, &pin, &r.CodeHash, &r.CodeUsed, &created, &expire, &doc); err != nil {
		return nil, err
	}
	r.PIN, r.CreatedAt, r.ExpiresAt, r.Doc = cancuoc.PIN(pin), fromMicros(created), fromMicros(expire), json.RawMessage(doc)
	return &r, nil
}

// AuthRequest returns a request by ID. NotFound if absent.
func (o *ops) AuthRequest(ctx context.Context, id string) (*cancuoc.AuthRequest, error) {
	const op = "sqlite.AuthRequest"
	r, err := scanAuthRequest(o.r.QueryRowContext(ctx, `SELECT `+authRequestCols+` FROM oidc_auth_requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy yêu cầu đăng nhập.", "No such login request.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return r, nil
}

// AuthRequestByCodeHash returns the request of a code, unclaimed.
func (o *ops) AuthRequestByCodeHash(ctx context.Context, codeHash []byte) (*cancuoc.AuthRequest, error) {
	const op = "sqlite.AuthRequestByCodeHash"
	if len(codeHash) == 0 {
		return nil, notFound(op, "Mã xác thực không hợp lệ.", "Unknown authorization code.")
	}
	r, err := scanAuthRequest(o.r.QueryRowContext(ctx, `SELECT `+authRequestCols+` FROM oidc_auth_requests WHERE code_hash = ?`, codeHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Mã xác thực không hợp lệ.", "Unknown authorization code.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return r, nil
}

// UpdateAuthRequest replaces the PIN, code hash and document of r.
func (o *ops) UpdateAuthRequest(ctx context.Context, r *cancuoc.AuthRequest) error {
	const op = "sqlite.UpdateAuthRequest"
	res, err := o.w.ExecContext(ctx, `UPDATE oidc_auth_requests SET pin = ?, code_hash = ?, doc = ? WHERE id = ?`,
		string(r.PIN), nullBytes(r.CodeHash), string(r.Doc), r.ID)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return dbErr(op, err)
		}
		return notFound(op, "Không tìm thấy yêu cầu đăng nhập.", "No such login request.")
	}
	return nil
}

// SwapAuthRequest updates r while its stored document is still prev.
func (o *ops) SwapAuthRequest(ctx context.Context, r *cancuoc.AuthRequest, prev json.RawMessage) error {
	const op = "sqlite.SwapAuthRequest"
	res, err := o.w.ExecContext(ctx, `UPDATE oidc_auth_requests SET pin = ?, code_hash = ?, doc = ? WHERE id = ? AND doc = ?`,
		string(r.PIN), nullBytes(r.CodeHash), string(r.Doc), r.ID, string(prev))
	if err != nil {
		return dbErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(op, err)
	}
	if n == 1 {
		return nil
	}
	var one int
	if err := o.w.QueryRowContext(ctx, `SELECT 1 FROM oidc_auth_requests WHERE id = ?`, r.ID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return notFound(op, "Không tìm thấy yêu cầu đăng nhập.", "No such login request.")
	} else if err != nil {
		return dbErr(op, err)
	}
	return authRequestChanged(op)
}

func authRequestChanged(op string) error {
	return conflict(op, "auth_request_changed", "Bước đăng nhập này vừa được thực hiện ở một yêu cầu khác; hãy tải lại trang.",
		"This login step was just taken by another request; reload the page.")
}

// ClaimAuthCode marks the code used and returns its request, atomically.
func (o *ops) ClaimAuthCode(ctx context.Context, codeHash []byte) (*cancuoc.AuthRequest, error) {
	const op = "sqlite.ClaimAuthCode"
	if len(codeHash) == 0 {
		return nil, notFound(op, "Mã xác thực không hợp lệ.", "Unknown authorization code.")
	}
	var out *cancuoc.AuthRequest
	err := o.atomic(ctx, func(t *ops) error {
		r, err := scanAuthRequest(t.w.QueryRowContext(ctx, `SELECT `+authRequestCols+` FROM oidc_auth_requests WHERE code_hash = ?`, codeHash))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, "Mã xác thực không hợp lệ.", "Unknown authorization code.")
		}
		if err != nil {
			return dbErr(op, err)
		}
		out = r
		if r.CodeUsed {
			return nil
		}
		if _, err := t.w.ExecContext(ctx, `UPDATE oidc_auth_requests SET code_used = 1 WHERE id = ?`, r.ID); err != nil {
			return dbErr(op, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out.CodeUsed {
		return out, codeUsed(op)
	}
	out.CodeUsed = true
	return out, nil
}

// UseAuthCode marks the code used: Conflict "code_used" unless a request
// has it unused.
func (o *ops) UseAuthCode(ctx context.Context, codeHash []byte) error {
	const op = "sqlite.UseAuthCode"
	if len(codeHash) == 0 {
		return codeUsed(op)
	}
	res, err := o.w.ExecContext(ctx, `UPDATE oidc_auth_requests SET code_used = 1 WHERE code_hash = ? AND code_used = 0`, codeHash)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 0 {
		return codeUsed(op)
	}
	return nil
}

func codeUsed(op string) error {
	return conflict(op, "code_used", "Mã xác thực đã được sử dụng.", "The authorization code was already used.")
}

// DeleteAuthRequest removes a request; absent is not an error.
func (o *ops) DeleteAuthRequest(ctx context.Context, id string) error {
	_, err := o.w.ExecContext(ctx, `DELETE FROM oidc_auth_requests WHERE id = ?`, id)
	return dbErr("sqlite.DeleteAuthRequest", err)
}

// DeleteExpiredAuthRequests removes requests that expired before t.
func (o *ops) DeleteExpiredAuthRequests(ctx context.Context, t time.Time) error {
	_, err := o.w.ExecContext(ctx, `DELETE FROM oidc_auth_requests WHERE expires_at < ?`, micros(t))
	return dbErr("sqlite.DeleteExpiredAuthRequests", err)
}

// InsertToken stores t. Conflict "duplicate" if the ID exists.
func (o *ops) InsertToken(ctx context.Context, t *cancuoc.Token) error {
	const op = "sqlite.InsertToken"
	res, err := o.w.ExecContext(ctx, `INSERT INTO oidc_tokens
		(id, kind, hash, family, auth_request_id, client_id, pin, created_at, expires_at, used_at, revoked_at, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		t.ID, string(t.Kind), nullBytes(t.Hash), t.Family, t.AuthRequestID, t.ClientID, string(t.PIN),
		micros(t.CreatedAt), micros(t.ExpiresAt), nullMicros(t.UsedAt), nullMicros(t.RevokedAt), string(t.Doc))
	return inserted(op, res, err, "Mã token đã tồn tại.", "The token ID already exists.")
}

const tokenCols = `id, kind, hash, family, auth_request_id, client_id, pin, created_at, expires_at, used_at, revoked_at, doc`

func scanToken(s scanner, more ...any) (*cancuoc.Token, error) {
	var (
		t               cancuoc.Token
		kind, pin, doc  string
		created, expire int64
		used, revoked   sql.NullInt64
	)
	dest := append([]any{&t.ID, &kind, &t.Hash, &t.Family, &t.AuthRequestID, &t.ClientID, &pin, &created, &expire,
		&used, &revoked, &doc}, more...)
	if err := s.Scan(dest...); err != nil {
		return nil, err
	}
	t.Kind, t.PIN, t.Doc = cancuoc.TokenKind(kind), cancuoc.PIN(pin), json.RawMessage(doc)
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicros(expire)
	t.UsedAt, t.RevokedAt = fromNullMicros(used), fromNullMicros(revoked)
	return &t, nil
}

func (o *ops) tokenWhere(ctx context.Context, op, where string, arg any) (*cancuoc.Token, error) {
	t, err := scanToken(o.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM oidc_tokens WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy token.", "No such token.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return t, nil
}

// Token returns a token by ID. NotFound if absent.
func (o *ops) Token(ctx context.Context, id string) (*cancuoc.Token, error) {
	return o.tokenWhere(ctx, "sqlite.Token", "id = ?", id)
}

// TokenCitizen returns an access token with its citizen's current record,
// joined in one statement: userinfo's two reads in one.
func (o *ops) TokenCitizen(ctx context.Context, id string) (*cancuoc.Token, *cancuoc.CitizenDoc, error) {
	const op = "sqlite.TokenCitizen"
	var (
		version    sql.NullInt64
		prov, comm sql.NullString
		doc        []byte
	)
	t, err := scanToken(o.r.QueryRowContext(ctx, tokenCitizenQuery, id), &version, &prov, &comm, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound(op, "Không tìm thấy token.", "No such token.")
	}
	if err != nil {
		return nil, nil, dbErr(op, err)
	}
	if !version.Valid {
		return t, nil, nil
	}
	return t, &cancuoc.CitizenDoc{PIN: t.PIN, Version: version.Int64,
		Home: cancuoc.UnitRef{Province: prov.String, Commune: comm.String}, JSON: doc}, nil
}

// tokenCitizenQuery reads an access token and its citizen's record
// (TokenCitizen).
const tokenCitizenQuery = `SELECT t.id, t.kind, t.hash, t.family, t.auth_request_id, t.client_id, t.pin, t.created_at,
	t.expires_at, t.used_at, t.revoked_at, t.doc, c.version, c.home_province, c.home_commune, c.doc
	FROM oidc_tokens t LEFT JOIN citizens c ON t.kind = 'access' AND c.pin = t.pin
	WHERE t.id = ?`

// TokenByHash returns a refresh token by the hash of its value.
func (o *ops) TokenByHash(ctx context.Context, hash []byte) (*cancuoc.Token, error) {
	if len(hash) == 0 {
		return nil, notFound("sqlite.TokenByHash", "Không tìm thấy token.", "No such token.")
	}
	return o.tokenWhere(ctx, "sqlite.TokenByHash", "hash = ?", hash)
}

// UseToken marks an unused, unrevoked token used at t.
func (o *ops) UseToken(ctx context.Context, id string, t time.Time) error {
	const op = "sqlite.UseToken"
	res, err := o.w.ExecContext(ctx, `UPDATE oidc_tokens SET used_at = ?
		WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL`, micros(t), id)
	if err != nil {
		return dbErr(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(op, err)
	}
	if n == 0 {
		return conflict(op, "token_used", "Token đã được sử dụng hoặc bị thu hồi.", "The token was already used or revoked.")
	}
	return nil
}

// RevokeToken revokes one token at t.
func (o *ops) RevokeToken(ctx context.Context, id string, t time.Time) error {
	const op = "sqlite.RevokeToken"
	res, err := o.w.ExecContext(ctx, `UPDATE oidc_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, micros(t), id)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return dbErr(op, err)
		}
		return notFound(op, "Không tìm thấy token.", "No such token.")
	}
	return nil
}

// RevokeTokens revokes a refresh family, or the tokens of an auth request.
func (o *ops) RevokeTokens(ctx context.Context, family, authRequestID string, t time.Time) error {
	const op = "sqlite.RevokeTokens"
	var err error
	if family != "" {
		_, err = o.w.ExecContext(ctx, `UPDATE oidc_tokens SET revoked_at = ?
			WHERE family = ? AND family <> '' AND revoked_at IS NULL`, micros(t), family)
	} else if authRequestID != "" {
		_, err = o.w.ExecContext(ctx, `UPDATE oidc_tokens SET revoked_at = ? WHERE auth_request_id = ? AND revoked_at IS NULL`, micros(t), authRequestID)
	}
	return dbErr(op, err)
}

// RevokeClientTokens revokes every token of a citizen for a client.
func (o *ops) RevokeClientTokens(ctx context.Context, pin cancuoc.PIN, clientID string, t time.Time) error {
	_, err := o.w.ExecContext(ctx, `UPDATE oidc_tokens SET revoked_at = ?
		WHERE pin = ? AND client_id = ? AND revoked_at IS NULL`, micros(t), string(pin), clientID)
	return dbErr("sqlite.RevokeClientTokens", err)
}

// PutConsent stores a consent, replacing an earlier one.
func (o *ops) PutConsent(ctx context.Context, c *cancuoc.Consent) error {
	const op = "sqlite.PutConsent"
	scopes, err := json.Marshal(c.Scopes)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	_, err = o.w.ExecContext(ctx, `INSERT INTO oidc_consents (pin, client_id, scopes, granted_at, revoked_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (pin, client_id) DO UPDATE
		SET scopes = excluded.scopes, granted_at = excluded.granted_at, revoked_at = excluded.revoked_at`,
		string(c.PIN), c.ClientID, string(scopes), micros(c.GrantedAt), nullMicros(c.RevokedAt))
	return dbErr(op, err)
}

func scanConsent(s scanner) (*cancuoc.Consent, error) {
	var (
		c           cancuoc.Consent
		pin, scopes string
		granted     int64
		revoked     sql.NullInt64
	)
	if err := s.Scan(&pin, &c.ClientID, &scopes, &granted, &revoked); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return nil, err
	}
	c.PIN, c.GrantedAt, c.RevokedAt = cancuoc.PIN(pin), fromMicros(granted), fromNullMicros(revoked)
	return &c, nil
}

// Consent returns a citizen's consent for a client. NotFound if none.
func (o *ops) Consent(ctx context.Context, pin cancuoc.PIN, clientID string) (*cancuoc.Consent, error) {
	const op = "sqlite.Consent"
	c, err := scanConsent(o.r.QueryRowContext(ctx, `SELECT pin, client_id, scopes, granted_at, revoked_at
		FROM oidc_consents WHERE pin = ? AND client_id = ?`, string(pin), clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Chưa có sự đồng ý.", "No consent.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return c, nil
}

// Consents lists a citizen's consents, newest first.
func (o *ops) Consents(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.Consent, error) {
	const op = "sqlite.Consents"
	rows, err := o.r.QueryContext(ctx, `SELECT pin, client_id, scopes, granted_at, revoked_at
		FROM oidc_consents WHERE pin = ? ORDER BY granted_at DESC, client_id`, string(pin))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.Consent{}
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, c)
	}
	return out, dbErr(op, rows.Err())
}

// RevokeConsent marks a consent revoked at t. NotFound if none is in force.
func (o *ops) RevokeConsent(ctx context.Context, pin cancuoc.PIN, clientID string, t time.Time) error {
	const op = "sqlite.RevokeConsent"
	res, err := o.w.ExecContext(ctx, `UPDATE oidc_consents SET revoked_at = ?
		WHERE pin = ? AND client_id = ? AND revoked_at IS NULL`, micros(t), string(pin), clientID)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return dbErr(op, err)
		}
		return notFound(op, "Không có sự đồng ý đang hiệu lực.", "No consent in force.")
	}
	return nil
}

// InsertSigningKey stores k. Conflict "duplicate" if the ID exists.
func (o *ops) InsertSigningKey(ctx context.Context, k *cancuoc.SigningKey) error {
	const op = "sqlite.InsertSigningKey"
	res, err := o.w.ExecContext(ctx, `INSERT INTO oidc_signing_keys (id, alg, private, public, created_at, retire_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Alg, k.Private, string(k.Public), micros(k.CreatedAt), micros(k.RetireAt))
	return inserted(op, res, err, "Mã khoá đã tồn tại.", "The key ID already exists.")
}

// SigningKeys lists keys not retired at t, newest first.
func (o *ops) SigningKeys(ctx context.Context, t time.Time) ([]*cancuoc.SigningKey, error) {
	const op = "sqlite.SigningKeys"
	rows, err := o.r.QueryContext(ctx, `SELECT id, alg, private, public, created_at, retire_at
		FROM oidc_signing_keys WHERE retire_at > ? ORDER BY created_at DESC, id`, micros(t))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.SigningKey{}
	for rows.Next() {
		var (
			k               cancuoc.SigningKey
			public          string
			created, retire int64
		)
		if err := rows.Scan(&k.ID, &k.Alg, &k.Private, &public, &created, &retire); err != nil {
			return nil, dbErr(op, err)
		}
		k.Public, k.CreatedAt, k.RetireAt = json.RawMessage(public), fromMicros(created), fromMicros(retire)
		out = append(out, &k)
	}
	return out, dbErr(op, rows.Err())
}
