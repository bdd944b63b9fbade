-- Cursors of the event dispatcher's durable consumers (issue 5): the Seq of
-- the last outbox event each consumer handled.

-- +goose Up
CREATE TABLE consumers (
    name       text COLLATE "C" PRIMARY KEY,
    seq        bigint      NOT NULL CHECK (seq >= 0),
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE consumers;
