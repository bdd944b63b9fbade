-- The first schema of the PostgreSQL store. Text keys that are ordered or
-- compared by range use COLLATE "C": ordering is then bytewise, the same as
-- SQLite's, whatever the database's default collation, and a plain btree
-- serves prefix (range) queries.

-- +goose Up
CREATE TABLE citizens (
    pin           char(12) COLLATE "C" PRIMARY KEY,
    version       bigint      NOT NULL,
    name_key      text COLLATE "C" NOT NULL,
    birth_year    smallint    NOT NULL DEFAULT 0,
    birth_month   smallint    NOT NULL DEFAULT 0, -- 0: unknown
    birth_day     smallint    NOT NULL DEFAULT 0, -- 0: unknown
    sex           text        NOT NULL DEFAULT '',
    life_status   text        NOT NULL DEFAULT '',
    home_province text COLLATE "C" NOT NULL DEFAULT '',
    home_commune  text COLLATE "C" NOT NULL DEFAULT '',
    household_id  text,                           -- NULL: no household link
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    -- The whole cancuoc.Citizen; the columns above are for indexes. json,
    -- not jsonb: the registry never queries inside the document, and json
    -- is stored as sent and returned without conversion, which makes both
    -- bulk loads and lookups cheaper for the server. Operators can still
    -- use the json operators.
    doc           json        NOT NULL
);
-- Search pages by (name_key, pin); the index gives both the order and the keyset.
CREATE INDEX citizens_name ON citizens (name_key, pin);
CREATE INDEX citizens_birth_year ON citizens (birth_year);
-- life_status is in the key so CountPopulation can be answered from the index alone.
CREATE INDEX citizens_home ON citizens (home_province, home_commune, life_status);
CREATE INDEX citizens_household ON citizens (household_id) WHERE household_id IS NOT NULL;

-- lz4 compresses the documents (about 2 KB, so PostgreSQL compresses them
-- on write) several times faster than the default pglz: bulk imports run
-- about 1.5 times faster. A server built without lz4 keeps pglz.
-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE citizens ALTER COLUMN doc SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END
$$;
-- +goose StatementEnd

-- No foreign key to citizens: history is written in the same transaction as
-- the record (in either order) and by COPY, where a per-row check would cost.
CREATE TABLE citizen_versions (
    pin         char(12) COLLATE "C" NOT NULL,
    version     bigint      NOT NULL,
    at          timestamptz NOT NULL,
    actor       text        NOT NULL DEFAULT '',
    agency      text        NOT NULL DEFAULT '',
    reason      text        NOT NULL DEFAULT '',
    legal_basis text        NOT NULL DEFAULT '',
    -- json, not jsonb: the old and new values are raw JSON handed back byte
    -- for byte; jsonb would reorder their keys and respace them.
    changes     json,
    doc         json,  -- json, not jsonb: see citizens.doc
    PRIMARY KEY (pin, version)
);

-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE citizen_versions ALTER COLUMN doc SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END
$$;
-- +goose StatementEnd

-- seq is allocated at insert time; AppendEvent serialises appenders with an
-- advisory lock so that seq order is also commit order (see outbox.go).
CREATE TABLE events (
    seq     bigserial PRIMARY KEY,
    id      text        NOT NULL,
    type    text        NOT NULL,
    pin     char(12) COLLATE "C",
    version bigint      NOT NULL DEFAULT 0,
    actor   text        NOT NULL DEFAULT '',
    at      timestamptz NOT NULL,
    data    json        -- json, not jsonb: returned to consumers byte for byte
);

CREATE TABLE principals (
    id            text COLLATE "C" PRIMARY KEY,
    name          text        NOT NULL DEFAULT '',
    role          text        NOT NULL,
    province      text        NOT NULL DEFAULT '',
    commune       text        NOT NULL DEFAULT '',
    agency        text        NOT NULL DEFAULT '',
    officer_pin   text        NOT NULL DEFAULT '',
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id           text COLLATE "C" PRIMARY KEY,
    principal_id text        NOT NULL,
    hash         bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_principal ON api_keys (principal_id);

CREATE TABLE audit (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL,
    actor   text        NOT NULL DEFAULT '',
    action  text        NOT NULL,
    pin     char(12) COLLATE "C",
    fields  text[],
    purpose text        NOT NULL DEFAULT '',
    outcome text        NOT NULL DEFAULT ''
);
-- AuditFor reads one citizen's entries newest first.
CREATE INDEX audit_pin ON audit (pin, id) WHERE pin IS NOT NULL;

-- +goose Down
DROP TABLE audit;
DROP TABLE api_keys;
DROP TABLE principals;
DROP TABLE events;
DROP TABLE citizen_versions;
DROP TABLE citizens;
