-- Data-quality work lists and the dashboard's trends (issue 8). See the
-- PostgreSQL migration of the same number for the reasons: each work list
-- is a partial index over the quality flags that the store computes on
-- every write (cancuoc.QualityFlags: 1 no ethnicity, 2 no permanent
-- residence, 4 a residence in the 63-province units); duplicates are
-- found by a background recount; snapshots give trends. The predicates
-- are repeated word for word by sqlite/quality.go, which is what lets
-- SQLite's planner use the partial indexes. Times are unix microseconds.

-- +goose Up
ALTER TABLE citizens ADD COLUMN quality INTEGER NOT NULL DEFAULT 0;
UPDATE citizens SET quality =
      (CASE WHEN json_extract(doc, '$.ethnicity') IS NULL THEN 1 ELSE 0 END)
    | (CASE WHEN json_extract(doc, '$.permanent_residence') IS NULL THEN 2 ELSE 0 END)
    | (CASE WHEN json_extract(doc, '$.permanent_residence.era') = '63' OR json_extract(doc, '$.current_residence.era') = '63' THEN 4 ELSE 0 END);
CREATE INDEX citizens_q_partial_birth ON citizens (home_province, home_commune, pin)
    WHERE life_status = 'alive' AND (birth_month = 0 OR birth_day = 0);
CREATE INDEX citizens_q_no_ethnicity ON citizens (home_province, home_commune, pin)
    WHERE life_status = 'alive' AND (quality & 1) <> 0;
CREATE INDEX citizens_q_no_residence ON citizens (home_province, home_commune, pin)
    WHERE life_status = 'alive' AND (quality & 2) <> 0;
CREATE INDEX citizens_q_old_units ON citizens (home_province, home_commune, pin)
    WHERE life_status = 'alive' AND (quality & 4) <> 0;

CREATE TABLE quality_duplicates (
    pin            TEXT    NOT NULL,
    other          TEXT    NOT NULL,
    province       TEXT    NOT NULL DEFAULT '',
    commune        TEXT    NOT NULL DEFAULT '',
    other_province TEXT    NOT NULL DEFAULT '',
    other_commune  TEXT    NOT NULL DEFAULT '',
    rank           INTEGER NOT NULL,
    reasons        TEXT    NOT NULL DEFAULT '',
    found_at       INTEGER NOT NULL,
    PRIMARY KEY (pin, other)
) STRICT;
CREATE INDEX quality_duplicates_commune ON quality_duplicates (province, commune, rank, pin, other);
CREATE INDEX quality_duplicates_province ON quality_duplicates (province, rank, pin, other);
CREATE INDEX quality_duplicates_nation ON quality_duplicates (rank, pin, other);

CREATE TABLE stats_snapshots (
    measure  TEXT    NOT NULL,
    unit     TEXT    NOT NULL,
    taken_at INTEGER NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (measure, unit, taken_at)
) STRICT;

-- +goose Down
DROP TABLE stats_snapshots;
DROP TABLE quality_duplicates;
DROP INDEX citizens_q_old_units;
DROP INDEX citizens_q_no_residence;
DROP INDEX citizens_q_no_ethnicity;
DROP INDEX citizens_q_partial_birth;
ALTER TABLE citizens DROP COLUMN quality;
