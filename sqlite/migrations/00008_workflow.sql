-- Interlinked procedures (issue 5): files, their steps (agencies' tasks),
-- the documents they issue and the answers to idempotent requests. Each row
-- keeps the whole object as JSON beside the columns that queries need.
-- Times are INTEGER unix microseconds (UTC), as in 00001.

-- +goose Up
CREATE TABLE procedures (
    id           TEXT    PRIMARY KEY,
    kind         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    applicant    TEXT    NOT NULL,
    province     TEXT    NOT NULL,
    submitted_at INTEGER NOT NULL,
    deadline     INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    doc          TEXT    NOT NULL
) STRICT;
CREATE INDEX procedures_applicant ON procedures (applicant, id);
CREATE INDEX procedures_open ON procedures (status, deadline);
CREATE INDEX procedures_submitted ON procedures (submitted_at);

CREATE TABLE procedure_steps (
    procedure_id TEXT    NOT NULL REFERENCES procedures (id),
    no           INTEGER NOT NULL,
    agency       TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    province     TEXT    NOT NULL,
    commune      TEXT    NOT NULL,
    submitted_at INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    doc          TEXT    NOT NULL,
    PRIMARY KEY (procedure_id, no)
) STRICT;
CREATE INDEX procedure_steps_queue ON procedure_steps (agency, status, province, procedure_id, no);
CREATE INDEX procedure_steps_submitted ON procedure_steps (submitted_at);

CREATE TABLE issued_documents (
    kind         TEXT    NOT NULL,
    number       TEXT    NOT NULL,
    pin          TEXT    NOT NULL,
    procedure_id TEXT    NOT NULL,
    issued_at    INTEGER NOT NULL,
    PRIMARY KEY (kind, number),
    UNIQUE (kind, pin)
) STRICT;
CREATE INDEX issued_documents_pin ON issued_documents (pin);

CREATE TABLE idempotent_requests (
    principal  TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    hash       BLOB    NOT NULL,
    status     INTEGER NOT NULL,
    body       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (principal, key)
) STRICT;

-- +goose Down
DROP TABLE idempotent_requests;
DROP TABLE issued_documents;
DROP TABLE procedure_steps;
DROP TABLE procedures;
