-- Data-quality work lists and the dashboard's trends (issue 8).
--
-- Each work list is a partial index over the living records that lack
-- something, keyed by home unit and PIN: it holds only the records to
-- fix, and one index answers a commune's, a province's and the nation's
-- list in (province, commune, PIN) order as well as their counts. What a
-- record lacks is computed by the store on every write from the record
-- itself (cancuoc.QualityFlags) into the quality column: an index
-- predicate over the JSON document instead would parse the document on
-- every write, which made bulk loads four times slower (measured). Bits:
-- 1 no ethnicity, 2 no permanent residence, 4 permanent or current
-- residence in the 63-province units; the partial date of birth uses the
-- birth columns. The queries repeat each predicate word for word (see
-- postgres/quality.go), which is what lets the planner use the index.

-- +goose Up
ALTER TABLE citizens ADD COLUMN quality smallint NOT NULL DEFAULT 0;
-- Existing records: the flags from their documents, once (only the rows
-- that have some are rewritten).
UPDATE citizens SET quality =
      (CASE WHEN (doc->>'ethnicity') IS NULL THEN 1 ELSE 0 END)
    | (CASE WHEN (doc->'permanent_residence') IS NULL THEN 2 ELSE 0 END)
    | (CASE WHEN (doc->'permanent_residence'->>'era') = '63' OR (doc->'current_residence'->>'era') = '63' THEN 4 ELSE 0 END)
  WHERE (doc->>'ethnicity') IS NULL OR (doc->'permanent_residence') IS NULL
     OR (doc->'permanent_residence'->>'era') = '63' OR (doc->'current_residence'->>'era') = '63';
CREATE INDEX citizens_q_partial_birth ON citizens (home_province, home_commune, pin)
    WHERE life_status = 'alive' AND (birth_month = 0 OR birth_day = 0);
CREATE INDEX citizens_q_no_ethnicity ON citizens (home_province, home_commune, pin)
    WHERE life_status = 'alive' AND (quality & 1) <> 0;
CREATE INDEX citizens_q_no_residence ON citizens (home_province, home_commune, pin)
    WHERE life_status = 'alive' AND (quality & 2) <> 0;
CREATE INDEX citizens_q_old_units ON citizens (home_province, home_commune, pin)
    WHERE life_status = 'alive' AND (quality & 4) <> 0;

-- Suspected duplicates, found by a background recount (a pair needs two
-- records compared, which no index can keep). Each pair is stored once
-- from each side, under that side's home unit, so that an officer's list
-- is one index range; lists above a commune show a pair once (pin < other
-- unless the other side lies outside the area). rank is 100 - score, so
-- that the best candidates come first in ascending keyset order.
CREATE TABLE quality_duplicates (
    pin            char(12) COLLATE "C" NOT NULL,
    other          char(12) COLLATE "C" NOT NULL,
    province       text COLLATE "C" NOT NULL DEFAULT '',
    commune        text COLLATE "C" NOT NULL DEFAULT '',
    other_province text COLLATE "C" NOT NULL DEFAULT '',
    other_commune  text COLLATE "C" NOT NULL DEFAULT '',
    rank           smallint    NOT NULL,
    reasons        text        NOT NULL DEFAULT '',
    found_at       timestamptz NOT NULL,
    PRIMARY KEY (pin, other)
);
CREATE INDEX quality_duplicates_commune ON quality_duplicates (province, commune, rank, pin, other);
CREATE INDEX quality_duplicates_province ON quality_duplicates (province, rank, pin, other);
CREATE INDEX quality_duplicates_nation ON quality_duplicates (rank, pin, other);

-- Periodic snapshots of the dashboard's measures, for trends over time:
-- one value per measure, unit ('' for the country, else a province code)
-- and time taken.
CREATE TABLE stats_snapshots (
    measure  text COLLATE "C" NOT NULL,
    unit     text COLLATE "C" NOT NULL,
    taken_at timestamptz NOT NULL,
    value    bigint      NOT NULL,
    PRIMARY KEY (measure, unit, taken_at)
);

-- +goose Down
DROP TABLE stats_snapshots;
DROP TABLE quality_duplicates;
DROP INDEX citizens_q_old_units;
DROP INDEX citizens_q_no_residence;
DROP INDEX citizens_q_no_ethnicity;
DROP INDEX citizens_q_partial_birth;
ALTER TABLE citizens DROP COLUMN quality;
