-- The log sequencer's queues are never truncated by a vacuum (issue 4).
-- Every row of audit_pending and events_pending dies right after its
-- insert, so a vacuum (the sequencer's own every 100,000 rows, or
-- autovacuum) finds the heap's last pages empty and truncates them, which
-- takes an ACCESS EXCLUSIVE lock: the inserts of every writer, among them
-- the access-log entry a match check commits before it answers, wait for
-- it (vacuum lets go only when it notices them, after up to 20 ms). A queue
-- reuses its free pages anyway.

-- +goose Up
ALTER TABLE audit_pending SET (vacuum_truncate = false);
ALTER TABLE events_pending SET (vacuum_truncate = false);

-- +goose Down
ALTER TABLE events_pending RESET (vacuum_truncate);
ALTER TABLE audit_pending RESET (vacuum_truncate);
