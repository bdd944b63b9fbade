-- The OpenID provider's state (issue 3). Rows are a JSON document (doc, as
-- the provider encodes it) plus the columns lookups and updates need.

-- +goose Up
CREATE TABLE oidc_clients (
    id          text COLLATE "C" PRIMARY KEY,
    secret_hash bytea,
    created_at  timestamptz NOT NULL,
    doc         json        NOT NULL
);

-- Authorization requests live minutes; code_hash finds the request when
-- the client exchanges its code.
CREATE TABLE oidc_auth_requests (
    id         text COLLATE "C" PRIMARY KEY,
    client_id  text        NOT NULL,
    pin        text        NOT NULL DEFAULT '',
    code_hash  bytea,
    code_used  boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    doc        json        NOT NULL
);
CREATE UNIQUE INDEX oidc_auth_requests_code ON oidc_auth_requests (code_hash) WHERE code_hash IS NOT NULL;
CREATE INDEX oidc_auth_requests_expiry ON oidc_auth_requests (expires_at);

CREATE TABLE oidc_tokens (
    id              text COLLATE "C" PRIMARY KEY,
    kind            text        NOT NULL,
    hash            bytea,
    family          text        NOT NULL DEFAULT '',
    auth_request_id text        NOT NULL DEFAULT '',
    client_id       text        NOT NULL,
    pin             text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    revoked_at      timestamptz,
    doc             json        NOT NULL
);
CREATE UNIQUE INDEX oidc_tokens_hash ON oidc_tokens (hash) WHERE hash IS NOT NULL;
CREATE INDEX oidc_tokens_family ON oidc_tokens (family);
CREATE INDEX oidc_tokens_auth_request ON oidc_tokens (auth_request_id);
CREATE INDEX oidc_tokens_holder ON oidc_tokens (pin, client_id);

CREATE TABLE oidc_consents (
    pin        text        NOT NULL,
    client_id  text        NOT NULL,
    scopes     text[]      NOT NULL,
    granted_at timestamptz NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (pin, client_id)
);

-- private is encrypted by the provider before it reaches the database.
CREATE TABLE oidc_signing_keys (
    id         text COLLATE "C" PRIMARY KEY,
    alg        text        NOT NULL,
    private    bytea       NOT NULL,
    public     json        NOT NULL,
    created_at timestamptz NOT NULL,
    retire_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE oidc_signing_keys;
DROP TABLE oidc_consents;
DROP TABLE oidc_tokens;
DROP TABLE oidc_auth_requests;
DROP TABLE oidc_clients;
