-- Citizens' applications (issue 8): filed online, decided by the officers
-- of one place (province, commune in today's units). The whole application
-- is JSON beside the columns the queue, the citizen's list and the
-- statistics need.

-- +goose Up
CREATE TABLE applications (
    id        text COLLATE "C" PRIMARY KEY,
    kind      text        NOT NULL,
    status    text        NOT NULL,
    pin       text COLLATE "C" NOT NULL,
    filed_by  text COLLATE "C" NOT NULL,
    province  text        NOT NULL,
    commune   text        NOT NULL,
    filed_at  timestamptz NOT NULL,
    due       timestamptz NOT NULL,
    version   bigint      NOT NULL,
    doc       json        NOT NULL
);
CREATE INDEX applications_queue ON applications (province, commune, status, due, id);
CREATE INDEX applications_pin ON applications (pin);
CREATE INDEX applications_filed_by ON applications (filed_by);

-- +goose Down
DROP TABLE applications;
