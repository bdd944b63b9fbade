-- Partners, their citizens' consents and used client assertions (issue 4).

-- +goose Up
CREATE TABLE partners (
    id         text COLLATE "C" PRIMARY KEY,
    version    bigint      NOT NULL,
    created_at timestamptz NOT NULL,
    doc        json        NOT NULL
);

-- A consent is found by its ID (the partner's proof), by citizen (their
-- list) and by citizen and partner (each release).
CREATE TABLE partner_consents (
    id         text COLLATE "C" PRIMARY KEY,
    pin        text        NOT NULL,
    partner_id text        NOT NULL,
    fields     json        NOT NULL,
    purpose    text        NOT NULL,
    granted_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX partner_consents_holder ON partner_consents (pin, partner_id, granted_at);

-- The jti of every private_key_jwt assertion until it expires: a replayed
-- assertion is refused.
CREATE TABLE client_assertions (
    client_id  text        NOT NULL,
    jti        text        NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertions_expiry ON client_assertions (expires_at);

-- +goose Down
DROP TABLE client_assertions;
DROP TABLE partner_consents;
DROP TABLE partners;
