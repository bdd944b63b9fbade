-- The registry's tables. Times are INTEGER unix microseconds (UTC) so that
-- ordering and VersionAt comparisons are exact and match PostgreSQL's
-- resolution. Text compares bytewise (BINARY), which is the order
-- SearchCitizens promises. doc columns hold the whole record as JSON; the
-- other citizen columns are copies kept only for indexes.

-- +goose Up
CREATE TABLE citizens (
    pin           TEXT    PRIMARY KEY,
    version       INTEGER NOT NULL,
    name_key      TEXT    NOT NULL,
    birth_year    INTEGER NOT NULL,
    birth_month   INTEGER NOT NULL,
    birth_day     INTEGER NOT NULL,
    sex           TEXT    NOT NULL,
    life_status   TEXT    NOT NULL,
    home_province TEXT    NOT NULL,
    home_commune  TEXT    NOT NULL,
    household_id  TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    doc           TEXT    NOT NULL
) STRICT;
CREATE INDEX citizens_name ON citizens (name_key, pin);
CREATE INDEX citizens_birth ON citizens (birth_year);
-- life_status makes CountPopulation an index-only scan.
CREATE INDEX citizens_home ON citizens (home_province, home_commune, life_status);
CREATE INDEX citizens_household ON citizens (household_id) WHERE household_id IS NOT NULL;

CREATE TABLE citizen_versions (
    pin         TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    agency      TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    legal_basis TEXT    NOT NULL,
    changes     TEXT    NOT NULL,
    doc         TEXT    NOT NULL,
    PRIMARY KEY (pin, version)
) STRICT;
-- No index on at: VersionAt scans one citizen's few versions through the
-- primary key, and bulk loads save a B-tree insert per citizen.

CREATE TABLE events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT    NOT NULL,
    type    TEXT    NOT NULL,
    pin     TEXT    NOT NULL,
    version INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    data    TEXT
) STRICT;

CREATE TABLE principals (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    province    TEXT    NOT NULL,
    commune     TEXT    NOT NULL,
    agency      TEXT    NOT NULL,
    officer_pin TEXT    NOT NULL,
    disabled    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id           TEXT    PRIMARY KEY,
    principal_id TEXT    NOT NULL REFERENCES principals (id),
    hash         BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;
CREATE INDEX api_keys_principal ON api_keys (principal_id);

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    pin     TEXT    NOT NULL,
    fields  TEXT,
    purpose TEXT    NOT NULL,
    outcome TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_pin ON audit (pin, id);

-- +goose Down
DROP TABLE audit;
DROP TABLE api_keys;
DROP TABLE principals;
DROP TABLE events;
DROP TABLE citizen_versions;
DROP TABLE citizens;
