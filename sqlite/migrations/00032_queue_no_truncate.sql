-- PostgreSQL's log-sequencer queues stop being truncated by vacuums
-- (issue 4); SQLite has no such queues. This migration keeps the numbers of
-- both backends alike.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
