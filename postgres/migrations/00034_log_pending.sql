-- The log sequencer's queue holds one row per run (issue 5): a writing
-- transaction's access-log entries and events between two savepoint
-- statements are queued as ONE row of column arrays (the entries' and the
-- events', in their order), where audit_pending and events_pending took a
-- row per entry, each with its heap tuple, index entries (four for an
-- entry) and later its delete and vacuum. The sequencer unpacks the rows
-- in id order, each row's elements in array order. See postgres/sequencer.go.
--
-- Upgrade: the rows left in the old queues are moved here first, in their
-- id order, so they are sequenced before any row of this release. The old
-- queues stay, empty, for nodes of the previous release during a rolling
-- upgrade: a trigger turns each of their inserts into a row here, whose id
-- is drawn at that insert as every writer's is, so the order rules hold
-- across releases; their sequencer (another leader key) finds nothing.

-- +goose Up
CREATE TABLE log_pending (
    id          bigserial PRIMARY KEY,
    -- The access-log entries; NULLs when the run has none. Entry i's fields
    -- are fields[lo[i]:hi[i]] of the run's flat array, NULL when hi[i] < 0.
    at          timestamptz[],
    actor       text[],
    action      text[],
    -- The PINs keep the log's column type, char(12), as the per-entry
    -- queues did: a PIN that does not fit fails its writer, not every pass
    -- of the sequencer; a short one is padded here as in audit, so the
    -- sequencer hashes what a reader of the log reads.
    pin         char(12)[] COLLATE "C",
    fields      text[],
    lo          int[],
    hi          int[],
    purpose     text[],
    outcome     text[],
    -- The events; NULLs when the run has none.
    event_id    text[],
    type        text[],
    event_pin   char(12)[] COLLATE "C",
    version     bigint[],
    event_actor text[],
    event_at    timestamptz[],
    data        json[]
) WITH (
    -- Never truncated by a vacuum (as 00032 for the old queues), and a
    -- run's row is not compressed or moved out of line below a page: it
    -- lives for milliseconds.
    vacuum_truncate = false,
    toast_tuple_target = 8160
);

-- events_pending first: a pass of the previous release's sequencer takes
-- it (its move of events) before audit_pending (its read, then its move of
-- entries); locked the other way, the migration and a pass each waited
-- for the other (a deadlock, failing one of them).
LOCK TABLE events_pending, audit_pending IN EXCLUSIVE MODE;

INSERT INTO log_pending (at, actor, action, pin, fields, lo, hi, purpose, outcome)
SELECT ARRAY[at], ARRAY[actor], ARRAY[action], ARRAY[pin], coalesce(fields, '{}'), ARRAY[1],
    ARRAY[CASE WHEN fields IS NULL THEN -1 ELSE coalesce(array_length(fields, 1), 0) END], ARRAY[purpose], ARRAY[outcome]
FROM audit_pending ORDER BY id;
DELETE FROM audit_pending;

INSERT INTO log_pending (event_id, type, event_pin, version, event_actor, event_at, data)
SELECT ARRAY[event_id], ARRAY[type], ARRAY[pin], ARRAY[version], ARRAY[actor], ARRAY[at], ARRAY[data]
FROM events_pending ORDER BY id;
DELETE FROM events_pending;

-- +goose StatementBegin
CREATE FUNCTION log_pending_from_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO log_pending (at, actor, action, pin, fields, lo, hi, purpose, outcome)
    VALUES (ARRAY[NEW.at], ARRAY[NEW.actor], ARRAY[NEW.action], ARRAY[NEW.pin], coalesce(NEW.fields, '{}'), ARRAY[1],
        ARRAY[CASE WHEN NEW.fields IS NULL THEN -1 ELSE coalesce(array_length(NEW.fields, 1), 0) END],
        ARRAY[NEW.purpose], ARRAY[NEW.outcome]);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION log_pending_from_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO log_pending (event_id, type, event_pin, version, event_actor, event_at, data)
    VALUES (ARRAY[NEW.event_id], ARRAY[NEW.type], ARRAY[NEW.pin], ARRAY[NEW.version], ARRAY[NEW.actor],
        ARRAY[NEW.at], ARRAY[NEW.data]);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_pending_to_log BEFORE INSERT ON audit_pending
    FOR EACH ROW EXECUTE FUNCTION log_pending_from_audit();
CREATE TRIGGER events_pending_to_log BEFORE INSERT ON events_pending
    FOR EACH ROW EXECUTE FUNCTION log_pending_from_events();

-- +goose Down
DROP TRIGGER events_pending_to_log ON events_pending;
DROP TRIGGER audit_pending_to_log ON audit_pending;
DROP FUNCTION log_pending_from_events();
DROP FUNCTION log_pending_from_audit();
LOCK TABLE log_pending IN EXCLUSIVE MODE;
INSERT INTO audit_pending (at, actor, action, pin, fields, purpose, outcome)
SELECT u.at, u.actor, u.action, u.pin, CASE WHEN u.hi < 0 THEN NULL ELSE l.fields[u.lo:u.hi] END, u.purpose, u.outcome
FROM log_pending l, unnest(l.at, l.actor, l.action, l.pin, l.lo, l.hi, l.purpose, l.outcome) WITH ORDINALITY
    AS u(at, actor, action, pin, lo, hi, purpose, outcome, n)
ORDER BY l.id, u.n;
INSERT INTO events_pending (event_id, type, pin, version, actor, at, data)
SELECT u.event_id, u.type, u.pin, u.version, u.actor, u.at, u.data
FROM log_pending l, unnest(l.event_id, l.type, l.event_pin, l.version, l.event_actor, l.event_at, l.data) WITH ORDINALITY
    AS u(event_id, type, pin, version, actor, at, data, n)
ORDER BY l.id, u.n;
DROP TABLE log_pending;
