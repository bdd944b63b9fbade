package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

// The OpenID provider's tables (migration 00003). Rows keep the provider's
// JSON document; the columns exist for lookups and atomic updates.

func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

func bytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func oidcNotFound(op, vi, en string) error {
	return cancuoc.E(cancuoc.NotFound, op, "not_found", vi, en)
}

// InsertClient stores c. Conflict "duplicate" if the ID exists.
func (c *conn) InsertClient(ctx context.Context, cl *cancuoc.Client) error {
	const op = "postgres.InsertClient"
	doc, err := json.Marshal(cl)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	tag, err := c.q.Exec(ctx, `INSERT INTO oidc_clients (id, secret_hash, created_at, doc)
		VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`, cl.ID, bytesOrNil(cl.SecretHash), ts(cl.CreatedAt), string(doc))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

func scanClient(row pgx.Row) (*cancuoc.Client, error) {
	var (
		hash []byte
		doc  string
	)
	if err := row.Scan(&hash, &doc); err != nil {
		return nil, err
	}
	var cl cancuoc.Client
	if err := json.Unmarshal([]byte(doc), &cl); err != nil {
		return nil, err
	}
	cl.SecretHash = hash
	return &cl, nil
}

// Client returns one client. NotFound if absent.
func (c *conn) Client(ctx context.Context, id string) (*cancuoc.Client, error) {
	const op = "postgres.Client"
	cl, err := scanClient(c.q.QueryRow(ctx, `SELECT secret_hash, doc::text FROM oidc_clients WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, oidcNotFound(op, "Không tìm thấy ứng dụng.", "No such client.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return cl, nil
}

// Clients lists all clients by ID.
func (c *conn) Clients(ctx context.Context) ([]*cancuoc.Client, error) {
	const op = "postgres.Clients"
	rows, err := c.q.Query(ctx, `SELECT secret_hash, doc::text FROM oidc_clients ORDER BY id`)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.Client{}
	for rows.Next() {
		cl, err := scanClient(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, cl)
	}
	return out, dbErr(op, rows.Err())
}

// InsertAuthRequest stores r. Conflict "duplicate" if the ID exists.
func (c *conn) InsertAuthRequest(ctx context.Context, r *cancuoc.AuthRequest) error {
	const op = "postgres.InsertAuthRequest"
	// No ON CONFLICT: a taken ID raises unique_violation (dbErr: Conflict
	// "duplicate"), which a transaction's queue carries up to its COMMIT
	// (pipetx.go). A passkey login inserts its request, finished, with its
	// other records, and the key is what refuses a second use of the
	// request the login page carried sealed (oidc/sealed.go).
	return c.later(ctx, op, `INSERT INTO oidc_auth_requests
		(id, client_id, pin, code_hash, code_used, created_at, expires_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		[]any{r.ID, r.ClientID, string(r.PIN), bytesOrNil(r.CodeHash), r.CodeUsed, ts(r.CreatedAt), ts(r.ExpiresAt), string(r.Doc)}, nil)
}

const authRequestCols = `id, client_id, pin, code_hash, code_used, created_at, expires_at, doc::text`

func scanAuthRequest(row pgx.Row) (*cancuoc.AuthRequest, error) {
	var (
		r               cancuoc.AuthRequest
		pin, doc        string
		created, expire time.Time
	)
	if err := row.Scan(&r.ID, &r.ClientID, &pin, &r.CodeHash, &r.CodeUsed, &created, &expire, &doc); err != nil {
		return nil, err
	}
	r.PIN, r.CreatedAt, r.ExpiresAt, r.Doc = cancuoc.PIN(pin), ts(created), ts(expire), json.RawMessage(doc)
	return &r, nil
}

// AuthRequest returns a request by ID. NotFound if absent.
func (c *conn) AuthRequest(ctx context.Context, id string) (*cancuoc.AuthRequest, error) {
	const op = "postgres.AuthRequest"
	r, err := scanAuthRequest(c.q.QueryRow(ctx, `SELECT `+authRequestCols+` FROM oidc_auth_requests WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, oidcNotFound(op, "Không tìm thấy yêu cầu đăng nhập.", "No such login request.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return r, nil
}

// AuthRequestByCodeHash returns the request of a code, unclaimed.
func (c *conn) AuthRequestByCodeHash(ctx context.Context, codeHash []byte) (*cancuoc.AuthRequest, error) {
	const op = "postgres.AuthRequestByCodeHash"
	if len(codeHash) == 0 {
		return nil, oidcNotFound(op, "Mã xác thực không hợp lệ.", "Unknown authorization code.")
	}
	r, err := scanAuthRequest(c.q.QueryRow(ctx, `SELECT `+authRequestCols+` FROM oidc_auth_requests WHERE code_hash = $1`, codeHash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, oidcNotFound(op, "Mã xác thực không hợp lệ.", "Unknown authorization code.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return r, nil
}

// UpdateAuthRequest replaces the PIN, code hash and document of r.
func (c *conn) UpdateAuthRequest(ctx context.Context, r *cancuoc.AuthRequest) error {
	const op = "postgres.UpdateAuthRequest"
	tag, err := c.q.Exec(ctx, `UPDATE oidc_auth_requests SET pin = $1, code_hash = $2, doc = $3 WHERE id = $4`,
		string(r.PIN), bytesOrNil(r.CodeHash), string(r.Doc), r.ID)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return oidcNotFound(op, "Không tìm thấy yêu cầu đăng nhập.", "No such login request.")
	}
	return nil
}

// SwapAuthRequest updates r while its stored document is still prev; the
// column is json, which keeps the text as written, so the text compares.
// The row lock of UPDATE makes a racing second swap wait, then find the
// document changed.
func (c *conn) SwapAuthRequest(ctx context.Context, r *cancuoc.AuthRequest, prev json.RawMessage) error {
	const op = "postgres.SwapAuthRequest"
	tag, err := c.q.Exec(ctx, `UPDATE oidc_auth_requests SET pin = $1, code_hash = $2, doc = $3 WHERE id = $4 AND doc::text = $5`,
		string(r.PIN), bytesOrNil(r.CodeHash), string(r.Doc), r.ID, string(prev))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	if err := c.q.QueryRow(ctx, `SELECT 1 FROM oidc_auth_requests WHERE id = $1`, r.ID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
		return oidcNotFound(op, "Không tìm thấy yêu cầu đăng nhập.", "No such login request.")
	} else if err != nil {
		return dbErr(op, err)
	}
	return cancuoc.E(cancuoc.Conflict, op, "auth_request_changed", "Bước đăng nhập này vừa được thực hiện ở một yêu cầu khác; hãy tải lại trang.",
		"This login step was just taken by another request; reload the page.")
}

// ClaimAuthCode marks the code used and returns its request, atomically:
// the row lock taken by UPDATE makes a concurrent second claim wait and
// then see the code used.
func (c *conn) ClaimAuthCode(ctx context.Context, codeHash []byte) (*cancuoc.AuthRequest, error) {
	const op = "postgres.ClaimAuthCode"
	notFoundErr := oidcNotFound(op, "Mã xác thực không hợp lệ.", "Unknown authorization code.")
	if len(codeHash) == 0 {
		return nil, notFoundErr
	}
	// One statement: claim the code if unused and report whether this call
	// claimed it.
	r, err := scanAuthRequest(c.q.QueryRow(ctx, `UPDATE oidc_auth_requests SET code_used = true
		WHERE code_hash = $1 AND NOT code_used RETURNING `+authRequestCols, codeHash))
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, dbErr(op, err)
	}
	r, err = scanAuthRequest(c.q.QueryRow(ctx, `SELECT `+authRequestCols+` FROM oidc_auth_requests WHERE code_hash = $1`, codeHash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFoundErr
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return r, cancuoc.E(cancuoc.Conflict, op, "code_used", "Mã xác thực đã được sử dụng.", "The authorization code was already used.")
}

// UseAuthCode marks the code used. The server refuses a code not there
// unused (the count of rows claimed divides: none raises
// division_by_zero), so in a transaction the claim is held and goes with
// the token's insert and the COMMIT in one round trip (pipetx.go).
func (c *conn) UseAuthCode(ctx context.Context, codeHash []byte) error {
	const op = "postgres.UseAuthCode"
	used := cancuoc.E(cancuoc.Conflict, op, "code_used", "Mã xác thực đã được sử dụng.", "The authorization code was already used.")
	if len(codeHash) == 0 {
		return used
	}
	sql := `WITH c AS (UPDATE oidc_auth_requests SET code_used = true WHERE code_hash = $1 AND NOT code_used RETURNING 1)
		SELECT 1 / count(*) FROM c`
	wrap := func(err error) error {
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "22012" { // division_by_zero: nothing claimed
			return used
		}
		return dbErr(op, err)
	}
	if c.pipe != nil && c.pipe.err == nil {
		c.pipe.holdRaising(sql, []any{codeHash}, wrap)
		return nil
	}
	_, err := c.q.Exec(ctx, sql, codeHash)
	return wrap(err)
}

// DeleteAuthRequest removes a request; absent is not an error.
func (c *conn) DeleteAuthRequest(ctx context.Context, id string) error {
	_, err := c.q.Exec(ctx, `DELETE FROM oidc_auth_requests WHERE id = $1`, id)
	return dbErr("postgres.DeleteAuthRequest", err)
}

// DeleteExpiredAuthRequests removes requests that expired before t.
func (c *conn) DeleteExpiredAuthRequests(ctx context.Context, t time.Time) error {
	_, err := c.q.Exec(ctx, `DELETE FROM oidc_auth_requests WHERE expires_at < $1`, ts(t))
	return dbErr("postgres.DeleteExpiredAuthRequests", err)
}

// InsertToken stores t. Conflict "duplicate" if the ID exists.
func (c *conn) InsertToken(ctx context.Context, t *cancuoc.Token) error {
	const op = "postgres.InsertToken"
	// No ON CONFLICT: a taken ID raises unique_violation (dbErr: Conflict
	// "duplicate"), so the insert can wait in a transaction's queue and go
	// with its COMMIT (pipetx.go).
	return c.later(ctx, op, `INSERT INTO oidc_tokens
		(id, kind, hash, family, auth_request_id, client_id, pin, created_at, expires_at, used_at, revoked_at, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		[]any{t.ID, string(t.Kind), bytesOrNil(t.Hash), t.Family, t.AuthRequestID, t.ClientID, string(t.PIN),
			ts(t.CreatedAt), ts(t.ExpiresAt), tsPtr(t.UsedAt), tsPtr(t.RevokedAt), string(t.Doc)}, nil)
}

const tokenCols = `id, kind, hash, family, auth_request_id, client_id, pin, created_at, expires_at, used_at, revoked_at, doc::text`

// tokenCitizenQuery reads an access token and its citizen's record
// (TokenCitizen). citizens.pin is char(12) in collation "C": the token's
// pin is cast to it so that the join is the primary key's lookup.
const tokenCitizenQuery = `SELECT t.id, t.kind, t.hash, t.family, t.auth_request_id, t.client_id, t.pin, t.created_at,
	t.expires_at, t.used_at, t.revoked_at, t.doc::text, c.version, c.home_province, c.home_commune, c.doc
	FROM oidc_tokens t LEFT JOIN citizens c ON t.kind = 'access' AND c.pin = t.pin::char(12) COLLATE "C"
	WHERE t.id = $1`

func scanToken(row pgx.Row, more ...any) (*cancuoc.Token, error) {
	var (
		t               cancuoc.Token
		kind, pin, doc  string
		created, expire time.Time
		used, revoked   *time.Time
	)
	dest := append([]any{&t.ID, &kind, &t.Hash, &t.Family, &t.AuthRequestID, &t.ClientID, &pin, &created, &expire,
		&used, &revoked, &doc}, more...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	t.Kind, t.PIN, t.Doc = cancuoc.TokenKind(kind), cancuoc.PIN(pin), json.RawMessage(doc)
	t.CreatedAt, t.ExpiresAt, t.UsedAt, t.RevokedAt = ts(created), ts(expire), tsPtr(used), tsPtr(revoked)
	return &t, nil
}

func (c *conn) tokenWhere(ctx context.Context, op, where string, arg any) (*cancuoc.Token, error) {
	t, err := scanToken(c.q.QueryRow(ctx, `SELECT `+tokenCols+` FROM oidc_tokens WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, oidcNotFound(op, "Không tìm thấy token.", "No such token.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return t, nil
}

// Token returns a token by ID. NotFound if absent.
func (c *conn) Token(ctx context.Context, id string) (*cancuoc.Token, error) {
	return c.tokenWhere(ctx, "postgres.Token", "id = $1", id)
}

// TokenCitizen returns an access token with its citizen's current record,
// joined in one statement (one round trip instead of two at userinfo).
func (c *conn) TokenCitizen(ctx context.Context, id string) (*cancuoc.Token, *cancuoc.CitizenDoc, error) {
	const op = "postgres.TokenCitizen"
	var (
		version    *int64
		prov, comm *string
		doc        []byte
	)
	t, err := scanToken(c.q.QueryRow(ctx, tokenCitizenQuery, id), &version, &prov, &comm, &doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, oidcNotFound(op, "Không tìm thấy token.", "No such token.")
	}
	if err != nil {
		return nil, nil, dbErr(op, err)
	}
	if version == nil {
		return t, nil, nil
	}
	return t, &cancuoc.CitizenDoc{PIN: t.PIN, Version: *version,
		Home: cancuoc.UnitRef{Province: *prov, Commune: *comm}, JSON: doc}, nil
}

// TokenByHash returns a refresh token by the hash of its value.
func (c *conn) TokenByHash(ctx context.Context, hash []byte) (*cancuoc.Token, error) {
	if len(hash) == 0 {
		return nil, oidcNotFound("postgres.TokenByHash", "Không tìm thấy token.", "No such token.")
	}
	return c.tokenWhere(ctx, "postgres.TokenByHash", "hash = $1", hash)
}

// UseToken marks an unused, unrevoked token used at t.
func (c *conn) UseToken(ctx context.Context, id string, t time.Time) error {
	const op = "postgres.UseToken"
	tag, err := c.q.Exec(ctx, `UPDATE oidc_tokens SET used_at = $1
		WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL`, ts(t), id)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return cancuoc.E(cancuoc.Conflict, op, "token_used", "Token đã được sử dụng hoặc bị thu hồi.", "The token was already used or revoked.")
	}
	return nil
}

// RevokeToken revokes one token at t.
func (c *conn) RevokeToken(ctx context.Context, id string, t time.Time) error {
	const op = "postgres.RevokeToken"
	tag, err := c.q.Exec(ctx, `UPDATE oidc_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, ts(t), id)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return oidcNotFound(op, "Không tìm thấy token.", "No such token.")
	}
	return nil
}

// RevokeTokens revokes a refresh family, or the tokens of an auth request.
func (c *conn) RevokeTokens(ctx context.Context, family, authRequestID string, t time.Time) error {
	const op = "postgres.RevokeTokens"
	var err error
	if family != "" {
		_, err = c.q.Exec(ctx, `UPDATE oidc_tokens SET revoked_at = $1
			WHERE family = $2 AND family <> '' AND revoked_at IS NULL`, ts(t), family)
	} else if authRequestID != "" {
		_, err = c.q.Exec(ctx, `UPDATE oidc_tokens SET revoked_at = $1 WHERE auth_request_id = $2 AND revoked_at IS NULL`, ts(t), authRequestID)
	}
	return dbErr(op, err)
}

// RevokeClientTokens revokes every token of a citizen for a client.
func (c *conn) RevokeClientTokens(ctx context.Context, pin cancuoc.PIN, clientID string, t time.Time) error {
	_, err := c.q.Exec(ctx, `UPDATE oidc_tokens SET revoked_at = $1
		WHERE pin = $2 AND client_id = $3 AND revoked_at IS NULL`, ts(t), string(pin), clientID)
	return dbErr("postgres.RevokeClientTokens", err)
}

// PutConsent stores a consent, replacing an earlier one.
func (c *conn) PutConsent(ctx context.Context, cs *cancuoc.Consent) error {
	scopes := cs.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	_, err := c.q.Exec(ctx, `INSERT INTO oidc_consents (pin, client_id, scopes, granted_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (pin, client_id) DO UPDATE
		SET scopes = excluded.scopes, granted_at = excluded.granted_at, revoked_at = excluded.revoked_at`,
		string(cs.PIN), cs.ClientID, scopes, ts(cs.GrantedAt), tsPtr(cs.RevokedAt))
	return dbErr("postgres.PutConsent", err)
}

func scanConsent(row pgx.Row) (*cancuoc.Consent, error) {
	var (
		cs      cancuoc.Consent
		pin     string
		granted time.Time
		revoked *time.Time
	)
	if err := row.Scan(&pin, &cs.ClientID, &cs.Scopes, &granted, &revoked); err != nil {
		return nil, err
	}
	cs.PIN, cs.GrantedAt, cs.RevokedAt = cancuoc.PIN(pin), ts(granted), tsPtr(revoked)
	return &cs, nil
}

// Consent returns a citizen's consent for a client. NotFound if none.
func (c *conn) Consent(ctx context.Context, pin cancuoc.PIN, clientID string) (*cancuoc.Consent, error) {
	const op = "postgres.Consent"
	cs, err := scanConsent(c.q.QueryRow(ctx, `SELECT pin, client_id, scopes, granted_at, revoked_at
		FROM oidc_consents WHERE pin = $1 AND client_id = $2`, string(pin), clientID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, oidcNotFound(op, "Chưa có sự đồng ý.", "No consent.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return cs, nil
}

// Consents lists a citizen's consents, newest first.
func (c *conn) Consents(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.Consent, error) {
	const op = "postgres.Consents"
	rows, err := c.q.Query(ctx, `SELECT pin, client_id, scopes, granted_at, revoked_at
		FROM oidc_consents WHERE pin = $1 ORDER BY granted_at DESC, client_id`, string(pin))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.Consent{}
	for rows.Next() {
		cs, err := scanConsent(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, cs)
	}
	return out, dbErr(op, rows.Err())
}

// RevokeConsent marks a consent revoked at t. NotFound if none is in force.
func (c *conn) RevokeConsent(ctx context.Context, pin cancuoc.PIN, clientID string, t time.Time) error {
	const op = "postgres.RevokeConsent"
	tag, err := c.q.Exec(ctx, `UPDATE oidc_consents SET revoked_at = $1
		WHERE pin = $2 AND client_id = $3 AND revoked_at IS NULL`, ts(t), string(pin), clientID)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return oidcNotFound(op, "Không có sự đồng ý đang hiệu lực.", "No consent in force.")
	}
	return nil
}

// InsertSigningKey stores k. Conflict "duplicate" if the ID exists.
func (c *conn) InsertSigningKey(ctx context.Context, k *cancuoc.SigningKey) error {
	const op = "postgres.InsertSigningKey"
	tag, err := c.q.Exec(ctx, `INSERT INTO oidc_signing_keys (id, alg, private, public, created_at, retire_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Alg, k.Private, string(k.Public), ts(k.CreatedAt), ts(k.RetireAt))
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 0 {
		return duplicate(op)
	}
	return nil
}

// SigningKeys lists keys not retired at t, newest first.
func (c *conn) SigningKeys(ctx context.Context, t time.Time) ([]*cancuoc.SigningKey, error) {
	const op = "postgres.SigningKeys"
	rows, err := c.q.Query(ctx, `SELECT id, alg, private, public::text, created_at, retire_at
		FROM oidc_signing_keys WHERE retire_at > $1 ORDER BY created_at DESC, id`, ts(t))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.SigningKey{}
	for rows.Next() {
		var (
			k               cancuoc.SigningKey
			public          string
			created, retire time.Time
		)
		if err := rows.Scan(&k.ID, &k.Alg, &k.Private, &public, &created, &retire); err != nil {
			return nil, dbErr(op, err)
		}
		k.Public, k.CreatedAt, k.RetireAt = json.RawMessage(public), ts(created), ts(retire)
		out = append(out, &k)
	}
	return out, dbErr(op, rows.Err())
}
