-- The OpenID provider's login sessions (issue 3): the cookie holds a random
-- value, this table its SHA-256. Times are INTEGER unix microseconds (UTC).

-- +goose Up
CREATE TABLE oidc_sessions (
    hash       BLOB    PRIMARY KEY,
    pin        TEXT    NOT NULL,
    account_id TEXT    NOT NULL,
    amr        TEXT    NOT NULL,  -- JSON array
    auth_time  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at   INTEGER
) STRICT;
CREATE INDEX oidc_sessions_pin ON oidc_sessions (pin) WHERE ended_at IS NULL;
CREATE INDEX oidc_sessions_expiry ON oidc_sessions (expires_at);

-- +goose Down
DROP TABLE oidc_sessions;
