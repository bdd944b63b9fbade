-- Bulk reconciliation of partners' records (issue 4): jobs with their
-- checkpoints, the keys each job has read (to flag duplicates across
-- chunks and across a resume), and a blocking index for matching without a
-- PIN: birth date and the last word of the name key (usually the given
-- name). Queries must use the same expression to use the index.

-- +goose Up
CREATE TABLE reconciliations (
    id          text COLLATE "C" PRIMARY KEY,
    owner       text        NOT NULL,
    input       text        NOT NULL,
    report      text        NOT NULL,
    input_hash  text        NOT NULL,
    input_size  bigint      NOT NULL,
    format      text        NOT NULL,
    report_fmt  text        NOT NULL,
    reveal      text[]      NOT NULL DEFAULT '{}',
    status      text        NOT NULL,
    offset_     bigint      NOT NULL,
    line        bigint      NOT NULL,
    report_size bigint      NOT NULL,
    counts      jsonb       NOT NULL,
    error       text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX reconciliations_owner ON reconciliations (owner, created_at);

-- Rows of finished jobs may be deleted; they only serve the job itself.
CREATE TABLE reconcile_seen (
    job  text COLLATE "C" NOT NULL,
    hash bigint NOT NULL,
    line bigint NOT NULL,
    PRIMARY KEY (job, hash)
);

CREATE INDEX citizens_match ON citizens (birth_year, birth_month, birth_day,
    (reverse(split_part(reverse(name_key), ' ', 1))));

-- +goose Down
DROP INDEX citizens_match;
DROP TABLE reconcile_seen;
DROP TABLE reconciliations;
