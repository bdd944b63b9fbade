-- Wallet documents (issue 6): SD-JWT VCs issued by agencies to citizens,
-- their holders' keys, the issuers' sealed signing keys and the counters
-- that hand out status-list slots.

-- +goose Up
CREATE TABLE documents (
    id            text COLLATE "C" PRIMARY KEY,
    type          text        NOT NULL,
    holder_pin    text COLLATE "C" NOT NULL,
    issuer        text COLLATE "C" NOT NULL,
    issued_by     text        NOT NULL,
    status_list   bigint      NOT NULL CHECK (status_list >= 0),
    status_index  bigint      NOT NULL CHECK (status_index >= 0),
    status        text        NOT NULL CHECK (status IN ('valid', 'suspended', 'revoked')),
    reason        text        NOT NULL DEFAULT '',
    issued_at     timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    holder_key_id text        NOT NULL,
    replaced_by   text        NOT NULL DEFAULT '',
    claims        jsonb       NOT NULL,
    sd_jwt        text        NOT NULL,
    version       bigint      NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (issuer, status_list, status_index)
);
CREATE INDEX documents_holder ON documents (holder_pin, issued_at);
CREATE INDEX documents_not_valid ON documents (issuer, status_list, status_index) WHERE status <> 'valid';

CREATE TABLE wallet_holder_keys (
    pin        text COLLATE "C" PRIMARY KEY,
    id         text        NOT NULL,
    jwk        jsonb       NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE wallet_issuer_keys (
    id         text COLLATE "C" PRIMARY KEY,
    issuer     text COLLATE "C" NOT NULL,
    private    bytea       NOT NULL,
    public     jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    retire_at  timestamptz NOT NULL
);
CREATE INDEX wallet_issuer_keys_issuer ON wallet_issuer_keys (issuer, retire_at);

CREATE TABLE wallet_status_slots (
    issuer text COLLATE "C" PRIMARY KEY,
    next   bigint NOT NULL CHECK (next >= 0)
);

CREATE TABLE wallet_presentation_requests (
    id          text COLLATE "C" PRIMARY KEY,
    client_id   text        NOT NULL,
    nonce       text        NOT NULL,
    type        text        NOT NULL,
    claims      jsonb       NOT NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    answered_at timestamptz,
    verdict     jsonb
);
CREATE INDEX wallet_presentation_requests_expiry ON wallet_presentation_requests (expires_at);

-- +goose Down
DROP TABLE wallet_presentation_requests;
DROP TABLE wallet_status_slots;
DROP TABLE wallet_issuer_keys;
DROP TABLE wallet_holder_keys;
DROP TABLE documents;
