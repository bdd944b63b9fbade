-- The access log becomes tamper-evident (issue 4): each entry gets its
-- place in the log (seq, 1, 2, 3… without gaps, the Merkle tree's leaf
-- index + 1) and its chain hash. seq replaces the bigserial id, which skips
-- values after a rollback and is allocated in insert order, not commit
-- order; AppendAudit assigns seq under an advisory lock instead. Entries
-- written before this migration are numbered in id order and chained by the
-- store when it opens (hash IS NULL until then: the hash is computed in Go).

-- +goose Up
ALTER TABLE audit ADD COLUMN seq bigint;
ALTER TABLE audit ADD COLUMN hash bytea;
UPDATE audit a SET seq = n.rn
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM audit) n WHERE a.id = n.id;
ALTER TABLE audit ALTER COLUMN seq SET NOT NULL;
ALTER TABLE audit DROP CONSTRAINT audit_pkey;
ALTER TABLE audit DROP COLUMN id;
ALTER TABLE audit ADD PRIMARY KEY (seq);
DROP INDEX IF EXISTS audit_pin; -- dropping id dropped it already
CREATE INDEX audit_pin ON audit (pin, seq) WHERE pin IS NOT NULL;
-- Auditors list one actor's accesses.
CREATE INDEX audit_actor ON audit (actor, seq);
CREATE INDEX audit_unsealed ON audit (seq) WHERE hash IS NULL;

-- Complete Merkle subtrees at levels 8, 16, 24…: enough to compute any
-- node from at most 256 stored hashes or entries.
CREATE TABLE audit_nodes (
    level smallint NOT NULL,
    idx   bigint   NOT NULL,
    hash  bytea    NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Signed tree heads (checkpoints).
CREATE TABLE audit_heads (
    size      bigint      PRIMARY KEY,
    root      bytea       NOT NULL,
    at        timestamptz NOT NULL,
    signature bytea       NOT NULL
);

-- +goose Down
DROP TABLE audit_heads;
DROP TABLE audit_nodes;
DROP INDEX audit_unsealed;
DROP INDEX audit_actor;
DROP INDEX IF EXISTS audit_pin; -- dropping id dropped it already
ALTER TABLE audit DROP CONSTRAINT audit_pkey;
ALTER TABLE audit DROP COLUMN hash;
ALTER TABLE audit RENAME COLUMN seq TO id;
CREATE SEQUENCE audit_id_seq OWNED BY audit.id;
SELECT setval('audit_id_seq', coalesce((SELECT max(id) FROM audit), 0) + 1, false);
ALTER TABLE audit ALTER COLUMN id SET DEFAULT nextval('audit_id_seq');
ALTER TABLE audit ADD PRIMARY KEY (id);
CREATE INDEX audit_pin ON audit (pin, id) WHERE pin IS NOT NULL;
