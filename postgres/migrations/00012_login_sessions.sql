-- The OpenID provider's login sessions (issue 3): the cookie holds a random
-- value, this table its SHA-256.

-- +goose Up
CREATE TABLE oidc_sessions (
    hash       bytea       PRIMARY KEY,
    pin        text        NOT NULL,
    account_id text        NOT NULL,
    amr        jsonb       NOT NULL,
    auth_time  timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ended_at   timestamptz
);
CREATE INDEX oidc_sessions_pin ON oidc_sessions (pin) WHERE ended_at IS NULL;
CREATE INDEX oidc_sessions_expiry ON oidc_sessions (expires_at);

-- +goose Down
DROP TABLE oidc_sessions;
