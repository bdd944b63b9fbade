-- Citizens' applications (issue 8): filed online, decided by the officers
-- of one place (province, commune in today's units). The whole application
-- is JSON beside the columns the queue, the citizen's list and the
-- statistics need. Times are INTEGER unix microseconds (UTC), as in 00001.

-- +goose Up
CREATE TABLE applications (
    id        TEXT    PRIMARY KEY,
    kind      TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    pin       TEXT    NOT NULL,
    filed_by  TEXT    NOT NULL,
    province  TEXT    NOT NULL,
    commune   TEXT    NOT NULL,
    filed_at  INTEGER NOT NULL,
    due       INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    doc       TEXT    NOT NULL
) STRICT;
CREATE INDEX applications_queue ON applications (province, commune, status, due, id);
CREATE INDEX applications_pin ON applications (pin);
CREATE INDEX applications_filed_by ON applications (filed_by);

-- +goose Down
DROP TABLE applications;
