package postgres

import (
	"context"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cancuoc/cancuoc"
)

// This file implements cancuoc.AccountStore.

const accountCols = `id, kind, pin, level, status, phone, email, guardian_pin, org_name, level2,
	created_at, updated_at, version`

func accountArgs(a *cancuoc.Account) ([]any, error) {
	var level2 []byte
	if a.Level2 != nil {
		g := *a.Level2
		g.At = ts(g.At)
		b, err := json.Marshal(&g)
		if err != nil {
			return nil, err
		}
		level2 = b
	}
	return []any{a.ID, a.Kind, string(a.PIN), int(a.Level), string(a.Status), a.Phone, a.Email,
		string(a.GuardianPIN), a.OrgName, level2, ts(a.CreatedAt), ts(a.UpdatedAt), a.Version}, nil
}

func scanAccount(row pgx.Row) (*cancuoc.Account, error) {
	var (
		a                cancuoc.Account
		pin, guard, st   string
		level            int
		level2           []byte
		created, updated time.Time
	)
	if err := row.Scan(&a.ID, &a.Kind, &pin, &level, &st, &a.Phone, &a.Email, &guard, &a.OrgName, &level2,
		&created, &updated, &a.Version); err != nil {
		return nil, err
	}
	a.PIN, a.GuardianPIN, a.Status, a.Level = cancuoc.PIN(pin), cancuoc.PIN(guard), cancuoc.AccountStatus(st), cancuoc.AccountLevel(level)
	a.CreatedAt, a.UpdatedAt = ts(created), ts(updated)
	if level2 != nil {
		a.Level2 = new(cancuoc.LevelGrant)
		if err := json.Unmarshal(level2, a.Level2); err != nil {
			return nil, err
		}
		a.Level2.At = ts(a.Level2.At)
	}
	return &a, nil
}

func accountNotFound(op string) error {
	return cancuoc.E(cancuoc.NotFound, op, "not_found", "Không tìm thấy tài khoản định danh điện tử.",
		"No such electronic identity account.")
}

func accountExists(op string) error {
	return cancuoc.E(cancuoc.Conflict, op, "account_exists", "Số định danh này đã có tài khoản định danh điện tử.",
		"This personal identification number already has an electronic identity account.")
}

// uniqueOn reports a unique violation of the named constraint.
func uniqueOn(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == constraint
}

// InsertAccount stores a new account. Conflict "account_exists" when the
// PIN has an open citizen account, "duplicate" when the ID exists.
func (c *conn) InsertAccount(ctx context.Context, a *cancuoc.Account) error {
	const op = "postgres.InsertAccount"
	args, err := accountArgs(a)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	_, err = c.q.Exec(ctx, `INSERT INTO accounts (`+accountCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, args...)
	if uniqueOn(err, "accounts_open_pin") {
		return accountExists(op)
	}
	return dbErr(op, err)
}

// Account returns one account by ID. NotFound if absent.
func (c *conn) Account(ctx context.Context, id string) (*cancuoc.Account, error) {
	const op = "postgres.Account"
	a, err := scanAccount(c.q.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, accountNotFound(op)
	}
	return a, dbErr(op, err)
}

// AccountByPIN returns the open citizen account of pin, else the latest
// closed one. NotFound if none.
func (c *conn) AccountByPIN(ctx context.Context, pin cancuoc.PIN) (*cancuoc.Account, error) {
	const op = "postgres.AccountByPIN"
	a, err := scanAccount(c.q.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts
		WHERE pin = $1 AND kind = 'citizen' ORDER BY status = 'closed', created_at DESC LIMIT 1`, string(pin)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, accountNotFound(op)
	}
	return a, dbErr(op, err)
}

// UpdateAccount replaces the account if its stored version is still prev.
func (c *conn) UpdateAccount(ctx context.Context, a *cancuoc.Account, prev int64) error {
	const op = "postgres.UpdateAccount"
	args, err := accountArgs(a)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	tag, err := c.q.Exec(ctx, `UPDATE accounts SET kind = $2, pin = $3, level = $4, status = $5, phone = $6,
		email = $7, guardian_pin = $8, org_name = $9, level2 = $10, created_at = $11, updated_at = $12, version = $13
		WHERE id = $1 AND version = $14`, append(args, prev)...)
	if uniqueOn(err, "accounts_open_pin") {
		return accountExists(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	err = c.q.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1`, a.ID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return accountNotFound(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return staleVersion(op)
}

// AccountsByGuardian lists the accounts whose guardian is pin, oldest first.
func (c *conn) AccountsByGuardian(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.Account, error) {
	const op = "postgres.AccountsByGuardian"
	rows, err := c.q.Query(ctx, `SELECT `+accountCols+` FROM accounts WHERE guardian_pin = $1 ORDER BY created_at, id`, string(pin))
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, dbErr(op, err)
		}
		out = append(out, a)
	}
	return out, dbErr(op, rows.Err())
}

// Secrets returns an account's secrets, empty when none are stored.
func (c *conn) Secrets(ctx context.Context, accountID string) (*cancuoc.AccountSecrets, error) {
	const op = "postgres.Secrets"
	s := &cancuoc.AccountSecrets{AccountID: accountID}
	var set *time.Time
	err := c.q.QueryRow(ctx, `SELECT password_hash, totp_secret, totp_last_step, password_set_at
		FROM account_secrets WHERE account_id = $1`, accountID).Scan(&s.PasswordHash, &s.TOTPSecret, &s.TOTPLastStep, &set)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	if set != nil {
		s.PasswordSetAt = ts(*set)
	}
	return s, nil
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := ts(t)
	return &u
}

func fromOptTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return ts(*t)
}

// PutSecrets inserts or replaces an account's secrets.
func (c *conn) PutSecrets(ctx context.Context, s *cancuoc.AccountSecrets) error {
	_, err := c.q.Exec(ctx, `INSERT INTO account_secrets (account_id, password_hash, totp_secret, totp_last_step, password_set_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO UPDATE SET password_hash = excluded.password_hash,
		totp_secret = excluded.totp_secret, totp_last_step = excluded.totp_last_step, password_set_at = excluded.password_set_at`,
		s.AccountID, s.PasswordHash, s.TOTPSecret, s.TOTPLastStep, optTime(s.PasswordSetAt))
	return dbErr("postgres.PutSecrets", err)
}

// InsertPasskey stores a credential. Conflict "duplicate" if its ID exists.
func (c *conn) InsertPasskey(ctx context.Context, p *cancuoc.Passkey) error {
	const op = "postgres.InsertPasskey"
	_, err := c.q.Exec(ctx, `INSERT INTO passkeys (id, account_id, name, credential, created_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, p.ID, p.AccountID, p.Name, p.Credential, ts(p.CreatedAt), optTime(p.LastUsedAt))
	if uniqueOn(err, "passkeys_pkey") {
		return cancuoc.E(cancuoc.Conflict, op, "duplicate", "Khoá truy cập này đã được đăng ký.", "This passkey is already registered.")
	}
	return dbErr(op, err)
}

// AccountPasskeys returns an account and its credentials in one
// statement: the account's row once per credential (a citizen has one or
// two), or once with NULLs when it has none.
func (c *conn) AccountPasskeys(ctx context.Context, id string) (*cancuoc.Account, []*cancuoc.Passkey, error) {
	acc, pks, _, err := c.accountPasskeys(ctx, "postgres.AccountPasskeys", id, "")
	return acc, pks, err
}

// AccountPasskeysConsent is AccountPasskeys with the citizen's consent for
// clientID joined to each row.
func (c *conn) AccountPasskeysConsent(ctx context.Context, id, clientID string) (*cancuoc.Account, []*cancuoc.Passkey, *cancuoc.Consent, error) {
	return c.accountPasskeys(ctx, "postgres.AccountPasskeysConsent", id, clientID)
}

const (
	accountPasskeysSelect = `SELECT ` + accountCols + `, pk_id, pk_name, pk_credential, pk_created, pk_used`
	accountPasskeysFrom   = `
		FROM accounts LEFT JOIN LATERAL (SELECT id AS pk_id, name AS pk_name, credential AS pk_credential,
			created_at AS pk_created, last_used_at AS pk_used FROM passkeys WHERE account_id = accounts.id) p ON true`
	accountPasskeysWhere = `
		WHERE accounts.id = $1 ORDER BY pk_created, pk_id`
	accountPasskeysQuery = accountPasskeysSelect + accountPasskeysFrom + accountPasskeysWhere
	// The consent's key is (pin, client_id) in the default collation;
	// accounts.pin is in "C", so the join names the key's collation.
	accountPasskeysConsentQuery = accountPasskeysSelect + `, cs_scopes, cs_granted, cs_revoked` + accountPasskeysFrom + `
		LEFT JOIN LATERAL (SELECT scopes AS cs_scopes, granted_at AS cs_granted, revoked_at AS cs_revoked
			FROM oidc_consents WHERE pin = accounts.pin COLLATE "default" AND client_id = $2) cs ON true` +
		accountPasskeysWhere
)

// accountPasskeys reads an account, its passkeys and, when clientID is
// set, its citizen's consent for that client, in one statement.
func (c *conn) accountPasskeys(ctx context.Context, op, id, clientID string) (*cancuoc.Account, []*cancuoc.Passkey, *cancuoc.Consent, error) {
	var (
		rows   pgx.Rows
		err    error
		scopes []string
		grant  *time.Time
		revoke *time.Time
	)
	if clientID == "" {
		rows, err = c.q.Query(ctx, accountPasskeysQuery, id)
	} else {
		rows, err = c.q.Query(ctx, accountPasskeysConsentQuery, id, clientID)
	}
	if err != nil {
		return nil, nil, nil, dbErr(op, err)
	}
	defer rows.Close()
	var (
		acc *cancuoc.Account
		out = []*cancuoc.Passkey{}
	)
	for rows.Next() {
		var (
			pkID, cred []byte
			name       *string
			created    *time.Time
			used       *time.Time
		)
		extra := []any{&pkID, &name, &cred, &created, &used}
		if clientID != "" {
			extra = append(extra, &scopes, &grant, &revoke)
		}
		a, err := scanAccount(withExtra{rows, extra})
		if err != nil {
			return nil, nil, nil, dbErr(op, err)
		}
		acc = a
		if pkID == nil {
			continue
		}
		p := &cancuoc.Passkey{ID: pkID, AccountID: a.ID, Credential: cred, LastUsedAt: fromOptTime(used)}
		if name != nil {
			p.Name = *name
		}
		if created != nil {
			p.CreatedAt = ts(*created)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, dbErr(op, err)
	}
	if acc == nil {
		return nil, nil, nil, accountNotFound(op)
	}
	var cs *cancuoc.Consent
	if grant != nil {
		if scopes == nil {
			scopes = []string{}
		}
		cs = &cancuoc.Consent{PIN: acc.PIN, ClientID: clientID, Scopes: scopes, GrantedAt: ts(*grant), RevokedAt: tsPtr(revoke)}
	}
	return acc, out, cs, nil
}

// withExtra scans a row into a scan function's destinations and then
// extra ones: a row of a join, read by the scanner of one of its tables.
type withExtra struct {
	rows  pgx.Rows
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.rows.Scan(append(dest, w.extra...)...) }

// Passkeys lists an account's credentials, oldest first.
func (c *conn) Passkeys(ctx context.Context, accountID string) ([]*cancuoc.Passkey, error) {
	const op = "postgres.Passkeys"
	rows, err := c.q.Query(ctx, `SELECT id, account_id, name, credential, created_at, last_used_at
		FROM passkeys WHERE account_id = $1 ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.Passkey{}
	for rows.Next() {
		var (
			p       cancuoc.Passkey
			created time.Time
			used    *time.Time
		)
		if err := rows.Scan(&p.ID, &p.AccountID, &p.Name, &p.Credential, &created, &used); err != nil {
			return nil, dbErr(op, err)
		}
		p.CreatedAt, p.LastUsedAt = ts(created), fromOptTime(used)
		out = append(out, &p)
	}
	return out, dbErr(op, rows.Err())
}

// UpdatePasskey replaces a credential's record and last use.
func (c *conn) UpdatePasskey(ctx context.Context, p *cancuoc.Passkey) error {
	const op = "postgres.UpdatePasskey"
	// A login's counter update goes with its transaction's next round trip
	// (pipetx.go). An unknown passkey is refused by the server itself (the
	// count of rows updated divides, so none raises division_by_zero),
	// not by a check of the answer in Go: so nothing need be judged before
	// the COMMIT, which rides in the same round trip as the login's other
	// writes.
	sql := `WITH u AS (UPDATE passkeys SET name = $2, credential = $3, last_used_at = $4 WHERE id = $1 RETURNING 1)
		SELECT 1 / count(*) FROM u`
	args := []any{p.ID, p.Name, p.Credential, optTime(p.LastUsedAt)}
	wrap := func(err error) error {
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "22012" { // division_by_zero: no such passkey
			return notFound(op)
		}
		return dbErr(op, err)
	}
	if c.pipe != nil && c.pipe.err == nil {
		c.pipe.holdRaising(sql, args, wrap)
		return nil
	}
	_, err := c.q.Exec(ctx, sql, args...)
	return wrap(err)
}

// InsertChallenge stores a challenge. Conflict "duplicate" if the ID exists.
func (c *conn) InsertChallenge(ctx context.Context, ch *cancuoc.Challenge) error {
	const op = "postgres.InsertChallenge"
	var used *time.Time
	if ch.UsedAt != nil {
		used = optTime(*ch.UsedAt)
	}
	_, err := c.q.Exec(ctx, `INSERT INTO challenges (id, purpose, account_id, pin, phone, code_hash, attempts,
		data, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		ch.ID, ch.Purpose, ch.AccountID, string(ch.PIN), ch.Phone, ch.CodeHash, ch.Attempts, ch.Data,
		ts(ch.CreatedAt), ts(ch.ExpiresAt), used)
	if uniqueOn(err, "challenges_pkey") {
		return duplicate(op)
	}
	return dbErr(op, err)
}

// Challenge returns one challenge. NotFound if absent.
func (c *conn) Challenge(ctx context.Context, id string) (*cancuoc.Challenge, error) {
	const op = "postgres.Challenge"
	var (
		ch               cancuoc.Challenge
		pin              string
		created, expires time.Time
		used             *time.Time
	)
	err := c.q.QueryRow(ctx, `SELECT id, purpose, account_id, pin, phone, code_hash, attempts, data,
		created_at, expires_at, used_at FROM challenges WHERE id = $1`, id).
		Scan(&ch.ID, &ch.Purpose, &ch.AccountID, &pin, &ch.Phone, &ch.CodeHash, &ch.Attempts, &ch.Data, &created, &expires, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, cancuoc.E(cancuoc.NotFound, op, "not_found", "Không tìm thấy yêu cầu xác thực (có thể đã hết hạn).",
			"No such challenge (it may have expired).")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	ch.PIN, ch.CreatedAt, ch.ExpiresAt = cancuoc.PIN(pin), ts(created), ts(expires)
	if used != nil {
		t := ts(*used)
		ch.UsedAt = &t
	}
	return &ch, nil
}

// UpdateChallenge stores attempts and use if nobody did meanwhile.
func (c *conn) UpdateChallenge(ctx context.Context, ch *cancuoc.Challenge, prevAttempts int) error {
	const op = "postgres.UpdateChallenge"
	var used *time.Time
	if ch.UsedAt != nil {
		used = optTime(*ch.UsedAt)
	}
	tag, err := c.q.Exec(ctx, `UPDATE challenges SET attempts = $2, used_at = $3
		WHERE id = $1 AND attempts = $4 AND used_at IS NULL`, ch.ID, ch.Attempts, used, prevAttempts)
	if err != nil {
		return dbErr(op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	err = c.q.QueryRow(ctx, `SELECT 1 FROM challenges WHERE id = $1`, ch.ID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return staleVersion(op)
}

// DeleteChallenges removes challenges that expired before t.
func (c *conn) DeleteChallenges(ctx context.Context, before time.Time) (int64, error) {
	const op = "postgres.DeleteChallenges"
	tag, err := c.q.Exec(ctx, `DELETE FROM challenges WHERE expires_at < $1`, ts(before))
	if err != nil {
		return 0, dbErr(op, err)
	}
	return tag.RowsAffected(), nil
}

// AddFailure counts one failure under key, starting again when the last
// one is older than resetBefore. One statement, so racing failures all
// count (the upsert locks the row).
func (c *conn) AddFailure(ctx context.Context, key string, at, resetBefore time.Time) (*cancuoc.Throttle, error) {
	const op = "postgres.AddFailure"
	t := &cancuoc.Throttle{Key: key}
	var last time.Time
	err := c.q.QueryRow(ctx, `INSERT INTO auth_throttle AS t (key, failures, last_failure) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN t.last_failure < $3 THEN 1 ELSE t.failures + 1 END,
			last_failure = excluded.last_failure
		RETURNING failures, last_failure`, key, ts(at), ts(resetBefore)).Scan(&t.Failures, &last)
	if err != nil {
		return nil, dbErr(op, err)
	}
	t.LastFailure = ts(last)
	return t, nil
}

// Throttle returns the failures under key.
func (c *conn) Throttle(ctx context.Context, key string) (*cancuoc.Throttle, error) {
	const op = "postgres.Throttle"
	t := &cancuoc.Throttle{Key: key}
	var last time.Time
	err := c.q.QueryRow(ctx, `SELECT failures, last_failure FROM auth_throttle WHERE key = $1`, key).Scan(&t.Failures, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, nil
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	t.LastFailure = ts(last)
	return t, nil
}

// ClearThrottle forgets the failures under key.
func (c *conn) ClearThrottle(ctx context.Context, key string) error {
	_, err := c.q.Exec(ctx, `DELETE FROM auth_throttle WHERE key = $1`, key)
	return dbErr("postgres.ClearThrottle", err)
}

// PutFacePhoto inserts or replaces an account's photo.
func (c *conn) PutFacePhoto(ctx context.Context, p *cancuoc.FacePhoto) error {
	_, err := c.q.Exec(ctx, `INSERT INTO face_photos (account_id, content_type, data, sha256, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO UPDATE SET content_type = excluded.content_type,
		data = excluded.data, sha256 = excluded.sha256, created_at = excluded.created_at`,
		p.AccountID, p.ContentType, p.Data, p.SHA256, ts(p.CreatedAt))
	return dbErr("postgres.PutFacePhoto", err)
}

// FacePhoto returns an account's photo. NotFound if none.
func (c *conn) FacePhoto(ctx context.Context, accountID string) (*cancuoc.FacePhoto, error) {
	const op = "postgres.FacePhoto"
	p := &cancuoc.FacePhoto{AccountID: accountID}
	var created time.Time
	err := c.q.QueryRow(ctx, `SELECT content_type, data, sha256, created_at FROM face_photos WHERE account_id = $1`,
		accountID).Scan(&p.ContentType, &p.Data, &p.SHA256, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	p.CreatedAt = ts(created)
	return p, nil
}

// AppendLogin stores a login and sets its ID.
func (c *conn) AppendLogin(ctx context.Context, l *cancuoc.LoginRecord) error {
	amr := l.AMR
	if amr == nil {
		amr = []string{}
	}
	// In a transaction the ID is set once the next round trip is answered
	// (pipetx.go), at the latest when the transaction commits; the insert
	// has no condition, so a COMMIT may go in that round trip.
	return c.laterInsertRow(ctx, "postgres.AppendLogin", `INSERT INTO logins (account_id, at, client_id, amr, source)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, []any{l.AccountID, ts(l.At), l.ClientID, amr, l.Source},
		func(row pgx.Row) error { return row.Scan(&l.ID) })
}

// Logins lists an account's logins, newest first.
func (c *conn) Logins(ctx context.Context, accountID string, limit int) ([]*cancuoc.LoginRecord, error) {
	const op = "postgres.Logins"
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := c.q.Query(ctx, `SELECT id, account_id, at, client_id, amr, source FROM logins
		WHERE account_id = $1 ORDER BY id DESC LIMIT $2`, accountID, limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.LoginRecord{}
	for rows.Next() {
		var (
			l  cancuoc.LoginRecord
			at time.Time
		)
		if err := rows.Scan(&l.ID, &l.AccountID, &at, &l.ClientID, &l.AMR, &l.Source); err != nil {
			return nil, dbErr(op, err)
		}
		l.At = ts(at)
		out = append(out, &l)
	}
	return out, dbErr(op, rows.Err())
}

// PutOrgMember inserts or replaces a membership.
func (c *conn) PutOrgMember(ctx context.Context, m *cancuoc.OrgMembership) error {
	_, err := c.q.Exec(ctx, `INSERT INTO org_members (org_id, account_id, role, added_by, added_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, account_id) DO UPDATE SET role = excluded.role,
		added_by = excluded.added_by, added_at = excluded.added_at`,
		m.OrgID, m.AccountID, m.Role, m.AddedBy, ts(m.AddedAt))
	return dbErr("postgres.PutOrgMember", err)
}

// OrgMember returns one membership. NotFound if absent.
func (c *conn) OrgMember(ctx context.Context, orgID, accountID string) (*cancuoc.OrgMembership, error) {
	const op = "postgres.OrgMember"
	m := &cancuoc.OrgMembership{OrgID: orgID, AccountID: accountID}
	var at time.Time
	err := c.q.QueryRow(ctx, `SELECT role, added_by, added_at FROM org_members WHERE org_id = $1 AND account_id = $2`,
		orgID, accountID).Scan(&m.Role, &m.AddedBy, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	m.AddedAt = ts(at)
	return m, nil
}

// OrgMembers lists an organisation's members, oldest first.
func (c *conn) OrgMembers(ctx context.Context, orgID string) ([]*cancuoc.OrgMembership, error) {
	return c.memberships(ctx, "postgres.OrgMembers", `WHERE org_id = $1 ORDER BY added_at, account_id`, orgID)
}

// MembershipsOf lists the organisations an account is a member of.
func (c *conn) MembershipsOf(ctx context.Context, accountID string) ([]*cancuoc.OrgMembership, error) {
	return c.memberships(ctx, "postgres.MembershipsOf", `WHERE account_id = $1 ORDER BY added_at, org_id`, accountID)
}

// memberships lists the org_members rows that where (a constant WHERE and
// ORDER BY with one parameter) selects.
func (c *conn) memberships(ctx context.Context, op, where string, arg string) ([]*cancuoc.OrgMembership, error) {
	rows, err := c.q.Query(ctx, `SELECT org_id, account_id, role, added_by, added_at FROM org_members `+where, arg)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.OrgMembership{}
	for rows.Next() {
		var (
			m  cancuoc.OrgMembership
			at time.Time
		)
		if err := rows.Scan(&m.OrgID, &m.AccountID, &m.Role, &m.AddedBy, &at); err != nil {
			return nil, dbErr(op, err)
		}
		m.AddedAt = ts(at)
		out = append(out, &m)
	}
	return out, dbErr(op, rows.Err())
}
