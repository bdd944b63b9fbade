-- Wallet documents (issue 6): SD-JWT VCs issued by agencies to citizens,
-- their holders' keys, the issuers' sealed signing keys and the counters
-- that hand out status-list slots. Times are INTEGER unix microseconds.

-- +goose Up
CREATE TABLE documents (
    id            TEXT    PRIMARY KEY,
    type          TEXT    NOT NULL,
    holder_pin    TEXT    NOT NULL,
    issuer        TEXT    NOT NULL,
    issued_by     TEXT    NOT NULL,
    status_list   INTEGER NOT NULL CHECK (status_list >= 0),
    status_index  INTEGER NOT NULL CHECK (status_index >= 0),
    status        TEXT    NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked')),
    reason        TEXT    NOT NULL DEFAULT '',
    issued_at     INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    holder_key_id TEXT    NOT NULL,
    replaced_by   TEXT    NOT NULL DEFAULT '',
    claims        TEXT    NOT NULL,
    sd_jwt        TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (issuer, status_list, status_index)
) STRICT;
CREATE INDEX documents_holder ON documents (holder_pin, issued_at);
CREATE INDEX documents_not_valid ON documents (issuer, status_list, status_index) WHERE status <> 'valid';

CREATE TABLE wallet_holder_keys (
    pin        TEXT    PRIMARY KEY,
    id         TEXT    NOT NULL,
    jwk        TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE wallet_issuer_keys (
    id         TEXT    PRIMARY KEY,
    issuer     TEXT    NOT NULL,
    private    BLOB    NOT NULL,
    public     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    retire_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX wallet_issuer_keys_issuer ON wallet_issuer_keys (issuer, retire_at);

CREATE TABLE wallet_status_slots (
    issuer TEXT    PRIMARY KEY,
    next   INTEGER NOT NULL CHECK (next >= 0)
) STRICT;

CREATE TABLE wallet_presentation_requests (
    id          TEXT    PRIMARY KEY,
    client_id   TEXT    NOT NULL,
    nonce       TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    claims      TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    answered_at INTEGER,
    verdict     TEXT
) STRICT;
CREATE INDEX wallet_presentation_requests_expiry ON wallet_presentation_requests (expires_at);

-- +goose Down
DROP TABLE wallet_presentation_requests;
DROP TABLE wallet_status_slots;
DROP TABLE wallet_issuer_keys;
DROP TABLE wallet_holder_keys;
DROP TABLE documents;
