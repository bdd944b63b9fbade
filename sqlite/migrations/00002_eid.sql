-- Electronic identity accounts and their authenticators (issue 3). Times
-- are INTEGER unix microseconds (UTC), as in 00001.

-- +goose Up
CREATE TABLE accounts (
    id           TEXT    PRIMARY KEY,
    kind         TEXT    NOT NULL,
    pin          TEXT    NOT NULL,  -- '' for an organisation
    level        INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    phone        TEXT    NOT NULL,
    email        TEXT    NOT NULL,
    guardian_pin TEXT    NOT NULL,
    org_name     TEXT    NOT NULL,
    level2       TEXT,              -- JSON of cancuoc.LevelGrant
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL
) STRICT;
-- One citizen account per PIN that is not closed: racing registrations
-- cannot both succeed.
CREATE UNIQUE INDEX accounts_open_pin ON accounts (pin) WHERE kind = 'citizen' AND status <> 'closed';
CREATE INDEX accounts_pin ON accounts (pin, created_at);
CREATE INDEX accounts_guardian ON accounts (guardian_pin) WHERE guardian_pin <> '';

CREATE TABLE account_secrets (
    account_id      TEXT    PRIMARY KEY REFERENCES accounts (id),
    password_hash   TEXT    NOT NULL,
    totp_secret     TEXT    NOT NULL,
    totp_last_step  INTEGER NOT NULL,
    password_set_at INTEGER NOT NULL
) STRICT;

CREATE TABLE passkeys (
    id           BLOB    PRIMARY KEY,
    account_id   TEXT    NOT NULL REFERENCES accounts (id),
    name         TEXT    NOT NULL,
    credential   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
) STRICT;
CREATE INDEX passkeys_account ON passkeys (account_id, created_at);

CREATE TABLE challenges (
    id         TEXT    PRIMARY KEY,
    purpose    TEXT    NOT NULL,
    account_id TEXT    NOT NULL,
    pin        TEXT    NOT NULL,
    phone      TEXT    NOT NULL,
    code_hash  BLOB,
    attempts   INTEGER NOT NULL,
    data       TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX challenges_expiry ON challenges (expires_at);

CREATE TABLE auth_throttle (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure INTEGER NOT NULL
) STRICT;

CREATE TABLE face_photos (
    account_id   TEXT    PRIMARY KEY REFERENCES accounts (id),
    content_type TEXT    NOT NULL,
    data         BLOB    NOT NULL,
    sha256       BLOB    NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE logins (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    client_id  TEXT    NOT NULL,
    amr        TEXT    NOT NULL,  -- JSON array
    source     TEXT    NOT NULL
) STRICT;
CREATE INDEX logins_account ON logins (account_id, id);

CREATE TABLE org_members (
    org_id     TEXT    NOT NULL REFERENCES accounts (id),
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    role       TEXT    NOT NULL,
    added_by   TEXT    NOT NULL,
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (org_id, account_id)
) STRICT;

-- +goose Down
DROP TABLE org_members;
DROP TABLE logins;
DROP TABLE face_photos;
DROP TABLE auth_throttle;
DROP TABLE challenges;
DROP TABLE passkeys;
DROP TABLE account_secrets;
DROP TABLE accounts;
