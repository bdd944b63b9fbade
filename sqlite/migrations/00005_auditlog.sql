-- The access log becomes tamper-evident (issue 4): each entry gets its
-- place in the log (seq, 1, 2, 3… without gaps, the Merkle tree's leaf
-- index + 1) and its chain hash. seq replaces the rowid id, whose
-- AUTOINCREMENT skips values after a rollback. Entries written before this
-- migration are numbered in id order and chained by the store when it opens
-- (hash IS NULL until then; the hash is computed in Go, not SQL).

-- +goose Up
CREATE TABLE audit_new (
    seq     INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    pin     TEXT    NOT NULL,
    fields  TEXT,
    purpose TEXT    NOT NULL,
    outcome TEXT    NOT NULL,
    hash    BLOB
) STRICT;
INSERT INTO audit_new (seq, at, actor, action, pin, fields, purpose, outcome)
    SELECT row_number() OVER (ORDER BY id), at, actor, action, pin, fields, purpose, outcome FROM audit;
DROP TABLE audit;
ALTER TABLE audit_new RENAME TO audit;
CREATE INDEX audit_pin ON audit (pin, seq);
-- Auditors list one actor's accesses.
CREATE INDEX audit_actor ON audit (actor, seq);
CREATE INDEX audit_unsealed ON audit (seq) WHERE hash IS NULL;

-- Complete Merkle subtrees at levels 8, 16, 24…: enough to compute any
-- node from at most 256 stored hashes or entries.
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

-- Signed tree heads (checkpoints).
CREATE TABLE audit_heads (
    size      INTEGER PRIMARY KEY,
    root      BLOB    NOT NULL,
    at        INTEGER NOT NULL,
    signature BLOB    NOT NULL
) STRICT;

-- +goose Down
DROP TABLE audit_heads;
DROP TABLE audit_nodes;
CREATE TABLE audit_old (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    pin     TEXT    NOT NULL,
    fields  TEXT,
    purpose TEXT    NOT NULL,
    outcome TEXT    NOT NULL
) STRICT;
INSERT INTO audit_old (id, at, actor, action, pin, fields, purpose, outcome)
    SELECT seq, at, actor, action, pin, fields, purpose, outcome FROM audit;
DROP TABLE audit;
ALTER TABLE audit_old RENAME TO audit;
CREATE INDEX audit_pin ON audit (pin, id);
