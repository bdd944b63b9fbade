-- Reconciliation jobs' leases (security review, finding 21): the runner
-- that holds a job and until when (unix microseconds, 0 for none), so that
-- two runners never work on one job at once.

-- +goose Up
ALTER TABLE reconciliations ADD COLUMN runner TEXT NOT NULL DEFAULT '';
ALTER TABLE reconciliations ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE reconciliations DROP COLUMN lease_until;
ALTER TABLE reconciliations DROP COLUMN runner;
