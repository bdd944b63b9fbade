-- The log sequencer (issue 5): access-log entries and outbox events are
-- written unsequenced, in the transaction of the change they record and
-- without a global lock, into these queues; one sequencer (the node holding
-- a session advisory lock) moves them in insertion-id order into audit
-- (place + chain hash) and events (seq), in batches. See postgres/sequencer.go.

-- +goose Up
CREATE TABLE audit_pending (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL,
    actor   text        NOT NULL DEFAULT '',
    action  text        NOT NULL,
    pin     char(12) COLLATE "C",
    fields  text[],
    purpose text        NOT NULL DEFAULT '',
    outcome text        NOT NULL DEFAULT ''
);
-- The citizen's view shows entries not yet chained.
CREATE INDEX audit_pending_pin ON audit_pending (pin, id) WHERE pin IS NOT NULL;

CREATE TABLE events_pending (
    id       bigserial PRIMARY KEY,
    event_id text        NOT NULL,
    type     text        NOT NULL,
    pin      char(12) COLLATE "C",
    version  bigint      NOT NULL DEFAULT 0,
    actor    text        NOT NULL DEFAULT '',
    at       timestamptz NOT NULL,
    data     json
);

-- +goose Down
DROP TABLE events_pending;
DROP TABLE audit_pending;
