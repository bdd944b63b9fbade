-- Cursors of the event dispatcher's durable consumers (issue 5): the Seq of
-- the last outbox event each consumer handled. Times are INTEGER unix
-- microseconds (UTC), as in 00001.

-- +goose Up
CREATE TABLE consumers (
    name       TEXT    PRIMARY KEY,
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    updated_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE consumers;
