-- Compact access-log entries of bulk reconciliation (issue 4): one chained
-- entry per chunk names the chunk's touched block (the sorted, packed PINs
-- of the citizens it touched), kept here in segments by PIN prefix; a
-- citizen's query finds the segments of their bucket, binary-searches them
-- and lists the entries named, found by their outcome (a partial index:
-- only block entries have no PIN and that action). Blocks are part of the
-- log and are never deleted. See touched.go.

-- +goose Up
CREATE TABLE reconcile_touched (
    job     TEXT    NOT NULL,
    chunk   INTEGER NOT NULL,
    bucket  INTEGER NOT NULL,
    pin_min INTEGER NOT NULL,
    pin_max INTEGER NOT NULL,
    pins    BLOB    NOT NULL,
    entry   TEXT    NOT NULL, -- the outcome of the entry naming the block
    PRIMARY KEY (job, chunk, bucket)
) STRICT, WITHOUT ROWID;
CREATE INDEX reconcile_touched_bucket ON reconcile_touched (bucket, pin_min, pin_max);
CREATE INDEX audit_touched ON audit (outcome) WHERE pin = '' AND action = 'citizen.reconcile';

-- +goose Down
DROP INDEX audit_touched;
DROP TABLE reconcile_touched;
