-- Interlinked procedures (issue 5): files, their steps (agencies' tasks),
-- the documents they issue and the answers to idempotent requests. Each row
-- keeps the whole object as JSON beside the columns that queries need.

-- +goose Up
CREATE TABLE procedures (
    id           text COLLATE "C" PRIMARY KEY,
    kind         text        NOT NULL,
    status       text        NOT NULL,
    applicant    text COLLATE "C" NOT NULL,
    province     text        NOT NULL,
    submitted_at timestamptz NOT NULL,
    deadline     timestamptz NOT NULL,
    version      bigint      NOT NULL,
    doc          json        NOT NULL
);
CREATE INDEX procedures_applicant ON procedures (applicant, id);
CREATE INDEX procedures_open ON procedures (status, deadline);
CREATE INDEX procedures_submitted ON procedures (submitted_at);

CREATE TABLE procedure_steps (
    procedure_id text COLLATE "C" NOT NULL REFERENCES procedures (id),
    no           integer     NOT NULL,
    agency       text        NOT NULL,
    status       text        NOT NULL,
    kind         text        NOT NULL,
    province     text        NOT NULL,
    commune      text        NOT NULL,
    submitted_at timestamptz NOT NULL,
    version      bigint      NOT NULL,
    doc          json        NOT NULL,
    PRIMARY KEY (procedure_id, no)
);
CREATE INDEX procedure_steps_queue ON procedure_steps (agency, status, province, procedure_id, no);
CREATE INDEX procedure_steps_submitted ON procedure_steps (submitted_at);

CREATE TABLE issued_documents (
    kind         text COLLATE "C" NOT NULL,
    number       text COLLATE "C" NOT NULL,
    pin          text COLLATE "C" NOT NULL,
    procedure_id text COLLATE "C" NOT NULL,
    issued_at    timestamptz NOT NULL,
    PRIMARY KEY (kind, number),
    UNIQUE (kind, pin)
);
CREATE INDEX issued_documents_pin ON issued_documents (pin);

CREATE TABLE idempotent_requests (
    principal  text COLLATE "C" NOT NULL,
    key        text COLLATE "C" NOT NULL,
    hash       bytea       NOT NULL,
    status     integer     NOT NULL,
    body       bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (principal, key)
);

-- +goose Down
DROP TABLE idempotent_requests;
DROP TABLE issued_documents;
DROP TABLE procedure_steps;
DROP TABLE procedures;
