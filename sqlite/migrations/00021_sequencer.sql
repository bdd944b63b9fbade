-- The log sequencer (issue 5) is PostgreSQL's: SQLite has one writer, which
-- gives access-log entries and outbox events their places as it appends
-- them, so it needs no queue. This migration keeps the numbers of both
-- backends alike.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
