-- Compact access-log entries of bulk reconciliation (issue 4): one chained
-- entry per chunk names the chunk's touched block (the sorted, packed PINs
-- of the citizens it touched), kept here in segments by PIN prefix; a
-- citizen's query finds the segments of their bucket, binary-searches them
-- and lists the entries named, found by their outcome (partial indexes: only
-- block entries have no PIN and that action). Blocks are part of the log and
-- are never deleted. See touched.go.

-- +goose Up
CREATE TABLE reconcile_touched (
    job     text COLLATE "C" NOT NULL,
    chunk   bigint NOT NULL,
    bucket  bigint NOT NULL,
    pin_min bigint NOT NULL,
    pin_max bigint NOT NULL,
    pins    bytea  NOT NULL,
    entry   text   COLLATE "C" NOT NULL, -- the outcome of the entry naming the block
    PRIMARY KEY (job, chunk, bucket)
);
CREATE INDEX reconcile_touched_bucket ON reconcile_touched (bucket, pin_min, pin_max);
CREATE INDEX audit_touched ON audit (outcome) WHERE pin IS NULL AND action = 'citizen.reconcile';
CREATE INDEX audit_pending_touched ON audit_pending (outcome) WHERE pin IS NULL AND action = 'citizen.reconcile';

-- +goose Down
DROP INDEX audit_pending_touched;
DROP INDEX audit_touched;
DROP TABLE reconcile_touched;
