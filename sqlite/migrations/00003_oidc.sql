-- The OpenID provider's state (issue 3). Rows are a JSON document (doc, as
-- the provider encodes it) plus the columns lookups and updates need. Times
-- are INTEGER unix microseconds (UTC), as in 00001.

-- +goose Up
CREATE TABLE oidc_clients (
    id          TEXT    PRIMARY KEY,
    secret_hash BLOB,
    created_at  INTEGER NOT NULL,
    doc         TEXT    NOT NULL
) STRICT;

-- Authorization requests live minutes; code_hash finds the request when
-- the client exchanges its code.
CREATE TABLE oidc_auth_requests (
    id         TEXT    PRIMARY KEY,
    client_id  TEXT    NOT NULL,
    pin        TEXT    NOT NULL,
    code_hash  BLOB,
    code_used  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    doc        TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX oidc_auth_requests_code ON oidc_auth_requests (code_hash) WHERE code_hash IS NOT NULL;
CREATE INDEX oidc_auth_requests_expiry ON oidc_auth_requests (expires_at);

CREATE TABLE oidc_tokens (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL,
    hash            BLOB,
    family          TEXT    NOT NULL,
    auth_request_id TEXT    NOT NULL,
    client_id       TEXT    NOT NULL,
    pin             TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER,
    revoked_at      INTEGER,
    doc             TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX oidc_tokens_hash ON oidc_tokens (hash) WHERE hash IS NOT NULL;
CREATE INDEX oidc_tokens_family ON oidc_tokens (family);
CREATE INDEX oidc_tokens_auth_request ON oidc_tokens (auth_request_id);
CREATE INDEX oidc_tokens_holder ON oidc_tokens (pin, client_id);

CREATE TABLE oidc_consents (
    pin        TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (pin, client_id)
) STRICT;

-- private is encrypted by the provider before it reaches the database.
CREATE TABLE oidc_signing_keys (
    id         TEXT    PRIMARY KEY,
    alg        TEXT    NOT NULL,
    private    BLOB    NOT NULL,
    public     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    retire_at  INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE oidc_signing_keys;
DROP TABLE oidc_consents;
DROP TABLE oidc_tokens;
DROP TABLE oidc_auth_requests;
DROP TABLE oidc_clients;
