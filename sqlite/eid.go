package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cancuoc/cancuoc"
)

// This file implements cancuoc.AccountStore.

const accountCols = `id, kind, pin, level, status, phone, email, guardian_pin, org_name, level2,
	created_at, updated_at, version`

func accountRow(a *cancuoc.Account) ([]any, error) {
	var level2 any
	if a.Level2 != nil {
		g := *a.Level2
		g.At = g.At.UTC().Truncate(time.Microsecond)
		b, err := json.Marshal(&g)
		if err != nil {
			return nil, err
		}
		level2 = string(b)
	}
	return []any{a.ID, a.Kind, string(a.PIN), int(a.Level), string(a.Status), a.Phone, a.Email,
		string(a.GuardianPIN), a.OrgName, level2, micros(a.CreatedAt), micros(a.UpdatedAt), a.Version}, nil
}

func scanAccount(row scanner) (*cancuoc.Account, error) {
	var (
		a                cancuoc.Account
		pin, guard, st   string
		level            int
		level2           sql.NullString
		created, updated int64
	)
	if err := row.Scan(&a.ID, &a.Kind, &pin, &level, &st, &a.Phone, &a.Email, &guard, &a.OrgName, &level2,
		&created, &updated, &a.Version); err != nil {
		return nil, err
	}
	a.PIN, a.GuardianPIN, a.Status, a.Level = cancuoc.PIN(pin), cancuoc.PIN(guard), cancuoc.AccountStatus(st), cancuoc.AccountLevel(level)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	if level2.Valid {
		a.Level2 = new(cancuoc.LevelGrant)
		if err := json.Unmarshal([]byte(level2.String), a.Level2); err != nil {
			return nil, err
		}
		a.Level2.At = a.Level2.At.UTC()
	}
	return &a, nil
}

func accountNotFound(op string) error {
	return notFound(op, "Không tìm thấy tài khoản định danh điện tử.", "No such electronic identity account.")
}

// InsertAccount stores a new account. Conflict "account_exists" when the
// PIN has an open citizen account, "duplicate" when the ID exists.
func (o *ops) InsertAccount(ctx context.Context, a *cancuoc.Account) error {
	const op = "sqlite.InsertAccount"
	row, err := accountRow(a)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	_, err = o.w.ExecContext(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, row...)
	switch {
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY):
		return conflict(op, "duplicate", "Bản ghi đã tồn tại.", "The record already exists.")
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE):
		return conflict(op, "account_exists", "Số định danh này đã có tài khoản định danh điện tử.",
			"This personal identification number already has an electronic identity account.")
	}
	return dbErr(op, err)
}

// Account returns one account by ID. NotFound if absent.
func (o *ops) Account(ctx context.Context, id string) (*cancuoc.Account, error) {
	const op = "sqlite.Account"
	a, err := scanAccount(o.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, accountNotFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return a, nil
}

// AccountByPIN returns the open citizen account of pin, else the latest
// closed one. NotFound if none.
func (o *ops) AccountByPIN(ctx context.Context, pin cancuoc.PIN) (*cancuoc.Account, error) {
	const op = "sqlite.AccountByPIN"
	a, err := scanAccount(o.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts
		WHERE pin = ? AND kind = 'citizen' ORDER BY status = 'closed', created_at DESC LIMIT 1`, string(pin)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, accountNotFound(op)
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	return a, nil
}

// UpdateAccount replaces the account if its stored version is still prev.
func (o *ops) UpdateAccount(ctx context.Context, a *cancuoc.Account, prev int64) error {
	const op = "sqlite.UpdateAccount"
	row, err := accountRow(a)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	res, err := o.w.ExecContext(ctx, `UPDATE accounts SET kind = ?, pin = ?, level = ?, status = ?, phone = ?,
		email = ?, guardian_pin = ?, org_name = ?, level2 = ?, created_at = ?, updated_at = ?, version = ?
		WHERE id = ? AND version = ?`, append(row[1:], row[0], prev)...)
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return conflict(op, "account_exists", "Số định danh này đã có tài khoản định danh điện tử.",
			"This personal identification number already has an electronic identity account.")
	}
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 1 {
		return nil
	}
	var one int
	err = o.w.QueryRowContext(ctx, `SELECT 1 FROM accounts WHERE id = ?`, a.ID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return accountNotFound(op)
	}
	if err != nil {
		return dbErr(op, err)
	}
	return conflict(op, "stale_version", "Tài khoản vừa được thay đổi; hãy thử lại.",
		"The account was changed meanwhile; try again.")
}

// AccountsByGuardian lists the accounts whose guardian is pin, oldest first.
func (o *ops) AccountsByGuardian(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.Account, error) {
	const op = "sqlite.AccountsByGuardian"
	rows, err := o.r.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE guardian_pin = ?
		ORDER BY created_at, id`, string(pin))
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
func (o *ops) Secrets(ctx context.Context, accountID string) (*cancuoc.AccountSecrets, error) {
	const op = "sqlite.Secrets"
	s := &cancuoc.AccountSecrets{AccountID: accountID}
	var set int64
	err := o.r.QueryRowContext(ctx, `SELECT password_hash, totp_secret, totp_last_step, password_set_at
		FROM account_secrets WHERE account_id = ?`, accountID).Scan(&s.PasswordHash, &s.TOTPSecret, &s.TOTPLastStep, &set)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	if set != 0 {
		s.PasswordSetAt = fromMicros(set)
	}
	return s, nil
}

// PutSecrets inserts or replaces an account's secrets.
func (o *ops) PutSecrets(ctx context.Context, s *cancuoc.AccountSecrets) error {
	var set int64
	if !s.PasswordSetAt.IsZero() {
		set = micros(s.PasswordSetAt)
	}
	_, err := o.w.ExecContext(ctx, `INSERT INTO account_secrets (account_id, password_hash, totp_secret, totp_last_step, password_set_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET password_hash = excluded.password_hash,
		totp_secret = excluded.totp_secret, totp_last_step = excluded.totp_last_step, password_set_at = excluded.password_set_at`,
		s.AccountID, s.PasswordHash, s.TOTPSecret, s.TOTPLastStep, set)
	return dbErr("sqlite.PutSecrets", err)
}

// InsertPasskey stores a credential. Conflict "duplicate" if its ID exists.
func (o *ops) InsertPasskey(ctx context.Context, p *cancuoc.Passkey) error {
	const op = "sqlite.InsertPasskey"
	_, err := o.w.ExecContext(ctx, `INSERT INTO passkeys (id, account_id, name, credential, created_at, last_used_at)
		VALUES (?, ?, ?, ?, ?, ?)`, p.ID, p.AccountID, p.Name, string(p.Credential), micros(p.CreatedAt), optMicros(p.LastUsedAt))
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return conflict(op, "duplicate", "Khoá truy cập này đã được đăng ký.", "This passkey is already registered.")
	}
	return dbErr(op, err)
}

func optMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func fromOptMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return fromMicros(us)
}

// AccountPasskeys returns an account and its credentials in one
// statement: the account's row once per credential, or once with NULLs
// when it has none.
func (o *ops) AccountPasskeys(ctx context.Context, id string) (*cancuoc.Account, []*cancuoc.Passkey, error) {
	acc, pks, _, err := o.accountPasskeys(ctx, "sqlite.AccountPasskeys", id, "")
	return acc, pks, err
}

// AccountPasskeysConsent is AccountPasskeys with the citizen's consent for
// clientID joined to each row.
func (o *ops) AccountPasskeysConsent(ctx context.Context, id, clientID string) (*cancuoc.Account, []*cancuoc.Passkey, *cancuoc.Consent, error) {
	return o.accountPasskeys(ctx, "sqlite.AccountPasskeysConsent", id, clientID)
}

const (
	accountPasskeysSelect = `SELECT ` + accountCols + `, pk_id, pk_name, pk_credential, pk_created, pk_used`
	accountPasskeysFrom   = `
		FROM accounts LEFT JOIN (SELECT id AS pk_id, account_id AS pk_account, name AS pk_name, credential AS pk_credential,
			created_at AS pk_created, last_used_at AS pk_used FROM passkeys) ON pk_account = accounts.id`
	accountPasskeysWhere = `
		WHERE accounts.id = ?1 ORDER BY pk_created, pk_id`
	accountPasskeysQuery        = accountPasskeysSelect + accountPasskeysFrom + accountPasskeysWhere
	accountPasskeysConsentQuery = accountPasskeysSelect + `, cs_scopes, cs_granted, cs_revoked` + accountPasskeysFrom + `
		LEFT JOIN (SELECT pin AS cs_pin, client_id AS cs_client, scopes AS cs_scopes, granted_at AS cs_granted,
			revoked_at AS cs_revoked FROM oidc_consents) ON cs_pin = accounts.pin AND cs_client = ?2` +
		accountPasskeysWhere
)

// accountPasskeys reads an account, its passkeys and, when clientID is
// set, its citizen's consent for that client, in one statement.
func (o *ops) accountPasskeys(ctx context.Context, op, id, clientID string) (*cancuoc.Account, []*cancuoc.Passkey, *cancuoc.Consent, error) {
	var (
		rows   *sql.Rows
		err    error
		scopes sql.NullString
		grant  sql.NullInt64
		revoke sql.NullInt64
	)
	if clientID == "" {
		rows, err = o.r.QueryContext(ctx, accountPasskeysQuery, id)
	} else {
		rows, err = o.r.QueryContext(ctx, accountPasskeysConsentQuery, id, clientID)
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
			pkID          []byte
			name, cred    sql.NullString
			created, used sql.NullInt64
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
		out = append(out, &cancuoc.Passkey{ID: pkID, AccountID: a.ID, Name: name.String, Credential: []byte(cred.String),
			CreatedAt: fromMicros(created.Int64), LastUsedAt: fromOptMicros(used.Int64)})
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, dbErr(op, err)
	}
	if acc == nil {
		return nil, nil, nil, accountNotFound(op)
	}
	if !grant.Valid {
		return acc, out, nil, nil
	}
	cs := &cancuoc.Consent{PIN: acc.PIN, ClientID: clientID, GrantedAt: fromMicros(grant.Int64), RevokedAt: fromNullMicros(revoke)}
	if err := json.Unmarshal([]byte(scopes.String), &cs.Scopes); err != nil {
		return nil, nil, nil, dbErr(op, err)
	}
	return acc, out, cs, nil
}

// withExtra scans a row into a scan function's destinations and then
// extra ones: a row of a join, read by the scanner of one of its tables.
type withExtra struct {
	rows  *sql.Rows
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.rows.Scan(append(dest, w.extra...)...) }

// Passkeys lists an account's credentials, oldest first.
func (o *ops) Passkeys(ctx context.Context, accountID string) ([]*cancuoc.Passkey, error) {
	const op = "sqlite.Passkeys"
	rows, err := o.r.QueryContext(ctx, `SELECT id, account_id, name, credential, created_at, last_used_at
		FROM passkeys WHERE account_id = ? ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.Passkey{}
	for rows.Next() {
		var (
			p             cancuoc.Passkey
			cred          string
			created, used int64
		)
		if err := rows.Scan(&p.ID, &p.AccountID, &p.Name, &cred, &created, &used); err != nil {
			return nil, dbErr(op, err)
		}
		p.Credential, p.CreatedAt, p.LastUsedAt = []byte(cred), fromMicros(created), fromOptMicros(used)
		out = append(out, &p)
	}
	return out, dbErr(op, rows.Err())
}

// UpdatePasskey replaces a credential's record and last use.
func (o *ops) UpdatePasskey(ctx context.Context, p *cancuoc.Passkey) error {
	const op = "sqlite.UpdatePasskey"
	res, err := o.w.ExecContext(ctx, `UPDATE passkeys SET name = ?, credential = ?, last_used_at = ? WHERE id = ?`,
		p.Name, string(p.Credential), optMicros(p.LastUsedAt), p.ID)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 0 {
		return notFound(op, "Không tìm thấy khoá truy cập.", "No such passkey.")
	}
	return nil
}

// InsertChallenge stores a challenge. Conflict "duplicate" if the ID exists.
func (o *ops) InsertChallenge(ctx context.Context, c *cancuoc.Challenge) error {
	const op = "sqlite.InsertChallenge"
	var data any
	if c.Data != nil {
		data = string(c.Data)
	}
	var used any
	if c.UsedAt != nil {
		used = micros(*c.UsedAt)
	}
	_, err := o.w.ExecContext(ctx, `INSERT INTO challenges (id, purpose, account_id, pin, phone, code_hash, attempts,
		data, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Purpose, c.AccountID, string(c.PIN), c.Phone, c.CodeHash, c.Attempts, data,
		micros(c.CreatedAt), micros(c.ExpiresAt), used)
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return conflict(op, "duplicate", "Bản ghi đã tồn tại.", "The record already exists.")
	}
	return dbErr(op, err)
}

// Challenge returns one challenge. NotFound if absent.
func (o *ops) Challenge(ctx context.Context, id string) (*cancuoc.Challenge, error) {
	const op = "sqlite.Challenge"
	var (
		c                cancuoc.Challenge
		pin              string
		data             sql.NullString
		created, expires int64
		used             sql.NullInt64
	)
	err := o.r.QueryRowContext(ctx, `SELECT id, purpose, account_id, pin, phone, code_hash, attempts, data,
		created_at, expires_at, used_at FROM challenges WHERE id = ?`, id).
		Scan(&c.ID, &c.Purpose, &c.AccountID, &pin, &c.Phone, &c.CodeHash, &c.Attempts, &data, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không tìm thấy yêu cầu xác thực (có thể đã hết hạn).", "No such challenge (it may have expired).")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	c.PIN, c.CreatedAt, c.ExpiresAt = cancuoc.PIN(pin), fromMicros(created), fromMicros(expires)
	if data.Valid {
		c.Data = []byte(data.String)
	}
	if used.Valid {
		t := fromMicros(used.Int64)
		c.UsedAt = &t
	}
	return &c, nil
}

// UpdateChallenge stores attempts and use if nobody did meanwhile.
func (o *ops) UpdateChallenge(ctx context.Context, c *cancuoc.Challenge, prevAttempts int) error {
	const op = "sqlite.UpdateChallenge"
	var used any
	if c.UsedAt != nil {
		used = micros(*c.UsedAt)
	}
	res, err := o.w.ExecContext(ctx, `UPDATE challenges SET attempts = ?, used_at = ?
		WHERE id = ? AND attempts = ? AND used_at IS NULL`, c.Attempts, used, c.ID, prevAttempts)
	if err != nil {
		return dbErr(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbErr(op, err)
	} else if n == 1 {
		return nil
	}
	var one int
	err = o.w.QueryRowContext(ctx, `SELECT 1 FROM challenges WHERE id = ?`, c.ID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(op, "Không tìm thấy yêu cầu xác thực.", "No such challenge.")
	}
	if err != nil {
		return dbErr(op, err)
	}
	return conflict(op, "stale_version", "Yêu cầu xác thực vừa được dùng; hãy thử lại.", "The challenge was used meanwhile; try again.")
}

// DeleteChallenges removes challenges that expired before t.
func (o *ops) DeleteChallenges(ctx context.Context, before time.Time) (int64, error) {
	const op = "sqlite.DeleteChallenges"
	res, err := o.w.ExecContext(ctx, `DELETE FROM challenges WHERE expires_at < ?`, micros(before))
	if err != nil {
		return 0, dbErr(op, err)
	}
	n, err := res.RowsAffected()
	return n, dbErr(op, err)
}

// AddFailure counts one failure under key, starting again when the last
// one is older than resetBefore. One statement, so racing failures all count.
func (o *ops) AddFailure(ctx context.Context, key string, at, resetBefore time.Time) (*cancuoc.Throttle, error) {
	const op = "sqlite.AddFailure"
	t := &cancuoc.Throttle{Key: key}
	var last int64
	err := o.w.QueryRowContext(ctx, `INSERT INTO auth_throttle (key, failures, last_failure) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN auth_throttle.last_failure < ? THEN 1 ELSE auth_throttle.failures + 1 END,
			last_failure = excluded.last_failure
		RETURNING failures, last_failure`, key, micros(at), micros(resetBefore)).Scan(&t.Failures, &last)
	if err != nil {
		return nil, dbErr(op, err)
	}
	t.LastFailure = fromMicros(last)
	return t, nil
}

// Throttle returns the failures under key.
func (o *ops) Throttle(ctx context.Context, key string) (*cancuoc.Throttle, error) {
	const op = "sqlite.Throttle"
	t := &cancuoc.Throttle{Key: key}
	var last int64
	err := o.r.QueryRowContext(ctx, `SELECT failures, last_failure FROM auth_throttle WHERE key = ?`, key).Scan(&t.Failures, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	t.LastFailure = fromMicros(last)
	return t, nil
}

// ClearThrottle forgets the failures under key.
func (o *ops) ClearThrottle(ctx context.Context, key string) error {
	_, err := o.w.ExecContext(ctx, `DELETE FROM auth_throttle WHERE key = ?`, key)
	return dbErr("sqlite.ClearThrottle", err)
}

// PutFacePhoto inserts or replaces an account's photo.
func (o *ops) PutFacePhoto(ctx context.Context, p *cancuoc.FacePhoto) error {
	_, err := o.w.ExecContext(ctx, `INSERT INTO face_photos (account_id, content_type, data, sha256, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET content_type = excluded.content_type,
		data = excluded.data, sha256 = excluded.sha256, created_at = excluded.created_at`,
		p.AccountID, p.ContentType, p.Data, p.SHA256, micros(p.CreatedAt))
	return dbErr("sqlite.PutFacePhoto", err)
}

// FacePhoto returns an account's photo. NotFound if none.
func (o *ops) FacePhoto(ctx context.Context, accountID string) (*cancuoc.FacePhoto, error) {
	const op = "sqlite.FacePhoto"
	p := &cancuoc.FacePhoto{AccountID: accountID}
	var created int64
	err := o.r.QueryRowContext(ctx, `SELECT content_type, data, sha256, created_at FROM face_photos WHERE account_id = ?`,
		accountID).Scan(&p.ContentType, &p.Data, &p.SHA256, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không có ảnh khuôn mặt.", "No face photo.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	p.CreatedAt = fromMicros(created)
	return p, nil
}

// AppendLogin stores a login and sets its ID.
func (o *ops) AppendLogin(ctx context.Context, l *cancuoc.LoginRecord) error {
	const op = "sqlite.AppendLogin"
	amr := l.AMR
	if amr == nil {
		amr = []string{}
	}
	b, err := json.Marshal(amr)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	err = o.w.QueryRowContext(ctx, `INSERT INTO logins (account_id, at, client_id, amr, source) VALUES (?, ?, ?, ?, ?)
		RETURNING id`, l.AccountID, micros(l.At), l.ClientID, string(b), l.Source).Scan(&l.ID)
	return dbErr(op, err)
}

// Logins lists an account's logins, newest first.
func (o *ops) Logins(ctx context.Context, accountID string, limit int) ([]*cancuoc.LoginRecord, error) {
	const op = "sqlite.Logins"
	if limit <= 0 {
		limit = defaultLimit
	}
	rows, err := o.r.QueryContext(ctx, `SELECT id, account_id, at, client_id, amr, source FROM logins
		WHERE account_id = ? ORDER BY id DESC LIMIT ?`, accountID, limit)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.LoginRecord{}
	for rows.Next() {
		var (
			l   cancuoc.LoginRecord
			at  int64
			amr string
		)
		if err := rows.Scan(&l.ID, &l.AccountID, &at, &l.ClientID, &amr, &l.Source); err != nil {
			return nil, dbErr(op, err)
		}
		l.At = fromMicros(at)
		if err := json.Unmarshal([]byte(amr), &l.AMR); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		out = append(out, &l)
	}
	return out, dbErr(op, rows.Err())
}

// PutOrgMember inserts or replaces a membership.
func (o *ops) PutOrgMember(ctx context.Context, m *cancuoc.OrgMembership) error {
	_, err := o.w.ExecContext(ctx, `INSERT INTO org_members (org_id, account_id, role, added_by, added_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id, account_id) DO UPDATE SET role = excluded.role,
		added_by = excluded.added_by, added_at = excluded.added_at`,
		m.OrgID, m.AccountID, m.Role, m.AddedBy, micros(m.AddedAt))
	return dbErr("sqlite.PutOrgMember", err)
}

// OrgMember returns one membership. NotFound if absent.
func (o *ops) OrgMember(ctx context.Context, orgID, accountID string) (*cancuoc.OrgMembership, error) {
	const op = "sqlite.OrgMember"
	m := &cancuoc.OrgMembership{OrgID: orgID, AccountID: accountID}
	var at int64
	err := o.r.QueryRowContext(ctx, `SELECT role, added_by, added_at FROM org_members WHERE org_id = ? AND account_id = ?`,
		orgID, accountID).Scan(&m.Role, &m.AddedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "Không phải thành viên của tổ chức.", "Not a member of the organisation.")
	}
	if err != nil {
		return nil, dbErr(op, err)
	}
	m.AddedAt = fromMicros(at)
	return m, nil
}

// OrgMembers lists an organisation's members, oldest first.
func (o *ops) OrgMembers(ctx context.Context, orgID string) ([]*cancuoc.OrgMembership, error) {
	return o.memberships(ctx, "sqlite.OrgMembers", `WHERE org_id = ? ORDER BY added_at, account_id`, orgID)
}

// MembershipsOf lists the organisations an account is a member of.
func (o *ops) MembershipsOf(ctx context.Context, accountID string) ([]*cancuoc.OrgMembership, error) {
	return o.memberships(ctx, "sqlite.MembershipsOf", `WHERE account_id = ? ORDER BY added_at, org_id`, accountID)
}

// memberships lists the org_members rows that where (a constant WHERE and
// ORDER BY with one parameter) selects.
func (o *ops) memberships(ctx context.Context, op, where string, arg string) ([]*cancuoc.OrgMembership, error) {
	rows, err := o.r.QueryContext(ctx, `SELECT org_id, account_id, role, added_by, added_at FROM org_members `+where, arg)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer rows.Close()
	out := []*cancuoc.OrgMembership{}
	for rows.Next() {
		var (
			m  cancuoc.OrgMembership
			at int64
		)
		if err := rows.Scan(&m.OrgID, &m.AccountID, &m.Role, &m.AddedBy, &at); err != nil {
			return nil, dbErr(op, err)
		}
		m.AddedAt = fromMicros(at)
		out = append(out, &m)
	}
	return out, dbErr(op, rows.Err())
}
