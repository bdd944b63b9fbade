-- Electronic identity accounts and their authenticators (issue 3).

-- +goose Up
CREATE TABLE accounts (
    id           text COLLATE "C" PRIMARY KEY,
    kind         text        NOT NULL,
    pin          text COLLATE "C" NOT NULL DEFAULT '',  -- '' for an organisation
    level        smallint    NOT NULL,
    status       text        NOT NULL,
    phone        text        NOT NULL DEFAULT '',
    email        text        NOT NULL DEFAULT '',
    guardian_pin text COLLATE "C" NOT NULL DEFAULT '',
    org_name     text        NOT NULL DEFAULT '',
    level2       json,                                  -- cancuoc.LevelGrant
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    version      bigint      NOT NULL
);
-- One citizen account per PIN that is not closed: racing registrations
-- cannot both succeed.
CREATE UNIQUE INDEX accounts_open_pin ON accounts (pin) WHERE kind = 'citizen' AND status <> 'closed';
CREATE INDEX accounts_pin ON accounts (pin, created_at);
CREATE INDEX accounts_guardian ON accounts (guardian_pin) WHERE guardian_pin <> '';

CREATE TABLE account_secrets (
    account_id      text COLLATE "C" PRIMARY KEY REFERENCES accounts (id),
    password_hash   text        NOT NULL DEFAULT '',
    totp_secret     text        NOT NULL DEFAULT '',
    totp_last_step  bigint      NOT NULL DEFAULT 0,
    password_set_at timestamptz
);

CREATE TABLE passkeys (
    id           bytea PRIMARY KEY,
    account_id   text COLLATE "C" NOT NULL REFERENCES accounts (id),
    name         text        NOT NULL DEFAULT '',
    credential   json        NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX passkeys_account ON passkeys (account_id, created_at);

CREATE TABLE challenges (
    id         text COLLATE "C" PRIMARY KEY,
    purpose    text        NOT NULL,
    account_id text        NOT NULL DEFAULT '',
    pin        text        NOT NULL DEFAULT '',
    phone      text        NOT NULL DEFAULT '',
    code_hash  bytea,
    attempts   integer     NOT NULL DEFAULT 0,
    data       bytea,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX challenges_expiry ON challenges (expires_at);

CREATE TABLE auth_throttle (
    key          text COLLATE "C" PRIMARY KEY,
    failures     integer     NOT NULL,
    last_failure timestamptz NOT NULL
);

CREATE TABLE face_photos (
    account_id   text COLLATE "C" PRIMARY KEY REFERENCES accounts (id),
    content_type text        NOT NULL,
    data         bytea       NOT NULL,
    sha256       bytea       NOT NULL,
    created_at   timestamptz NOT NULL
);

CREATE TABLE logins (
    id         bigserial PRIMARY KEY,
    account_id text COLLATE "C" NOT NULL,
    at         timestamptz NOT NULL,
    client_id  text        NOT NULL DEFAULT '',
    amr        text[]      NOT NULL DEFAULT '{}',
    source     text        NOT NULL DEFAULT ''
);
CREATE INDEX logins_account ON logins (account_id, id);

CREATE TABLE org_members (
    org_id     text COLLATE "C" NOT NULL REFERENCES accounts (id),
    account_id text COLLATE "C" NOT NULL REFERENCES accounts (id),
    role       text        NOT NULL,
    added_by   text        NOT NULL DEFAULT '',
    added_at   timestamptz NOT NULL,
    PRIMARY KEY (org_id, account_id)
);

-- +goose Down
DROP TABLE org_members;
DROP TABLE logins;
DROP TABLE face_photos;
DROP TABLE auth_throttle;
DROP TABLE challenges;
DROP TABLE passkeys;
DROP TABLE account_secrets;
DROP TABLE accounts;
