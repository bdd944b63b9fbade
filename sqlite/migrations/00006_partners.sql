-- Partners, their citizens' consents and used client assertions (issue 4).
-- Times are INTEGER unix microseconds (UTC), as in 00001.

-- +goose Up
CREATE TABLE partners (
    id         TEXT    PRIMARY KEY,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    doc        TEXT    NOT NULL
) STRICT;

-- A consent is found by its ID (the partner's proof), by citizen (their
-- list) and by citizen and partner (each release).
CREATE TABLE partner_consents (
    id         TEXT    PRIMARY KEY,
    pin        TEXT    NOT NULL,
    partner_id TEXT    NOT NULL,
    fields     TEXT    NOT NULL,
    purpose    TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX partner_consents_holder ON partner_consents (pin, partner_id, granted_at);

-- The jti of every private_key_jwt assertion until it expires: a replayed
-- assertion is refused.
CREATE TABLE client_assertions (
    client_id  TEXT    NOT NULL,
    jti        TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
) STRICT;
CREATE INDEX client_assertions_expiry ON client_assertions (expires_at);

-- +goose Down
DROP TABLE client_assertions;
DROP TABLE partner_consents;
DROP TABLE partners;
