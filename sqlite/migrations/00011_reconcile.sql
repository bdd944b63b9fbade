-- Bulk reconciliation of partners' records (issue 4): jobs with their
-- checkpoints, the keys each job has read (to flag duplicates across
-- chunks and across a resume), and a blocking index for matching without a
-- PIN: birth date and the last word of the name key (usually the given
-- name). The last word is computed by an expression SQLite can index: rtrim
-- strips the trailing run of the key's own letters, leaving "surname
-- middle ", which replace then removes. Queries must use the same
-- expression to use the index.

-- +goose Up
CREATE TABLE reconciliations (
    id          TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    input       TEXT    NOT NULL,
    report      TEXT    NOT NULL,
    input_hash  TEXT    NOT NULL,
    input_size  INTEGER NOT NULL,
    format      TEXT    NOT NULL,
    report_fmt  TEXT    NOT NULL,
    reveal      TEXT    NOT NULL, -- JSON array of field names
    status      TEXT    NOT NULL,
    offset_     INTEGER NOT NULL,
    line        INTEGER NOT NULL,
    report_size INTEGER NOT NULL,
    counts      TEXT    NOT NULL, -- JSON object outcome → count
    error       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX reconciliations_owner ON reconciliations (owner, created_at);

CREATE TABLE reconcile_seen (
    job  TEXT    NOT NULL,
    hash INTEGER NOT NULL,
    line INTEGER NOT NULL,
    PRIMARY KEY (job, hash)
) STRICT, WITHOUT ROWID;

CREATE INDEX citizens_match ON citizens (birth_year, birth_month, birth_day,
    replace(name_key, rtrim(name_key, replace(name_key, ' ', '')), ''));

-- +goose Down
DROP INDEX citizens_match;
DROP TABLE reconcile_seen;
DROP TABLE reconciliations;
