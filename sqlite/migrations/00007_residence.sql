-- Residence (issue 5, Law on Residence 68/2020/QH14): households (the
-- electronic household book, members inside the document), residence
-- entries (every decision about a person, append-only), the current
-- temporary registration of each person (for expiry lists per commune) and
-- stay notifications. Times are INTEGER unix microseconds (UTC), as in
-- 00001; dates are TEXT YYYY-MM-DD, which sorts as dates do. doc holds the
-- whole value as JSON; the other columns are copies for indexes.

-- +goose Up
CREATE TABLE households (
    id         TEXT    PRIMARY KEY,
    version    INTEGER NOT NULL,
    province   TEXT    NOT NULL,
    commune    TEXT    NOT NULL,
    head_pin   TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    doc        TEXT    NOT NULL
) STRICT;
CREATE INDEX households_unit ON households (province, commune);

CREATE TABLE residence_entries (
    id   TEXT    PRIMARY KEY,
    pin  TEXT    NOT NULL,
    at   INTEGER NOT NULL,
    doc  TEXT    NOT NULL
) STRICT;
-- rowid orders entries of the same instant as they were written.
CREATE INDEX residence_entries_pin ON residence_entries (pin, at);

CREATE TABLE temporary_residences (
    pin        TEXT PRIMARY KEY,
    province   TEXT NOT NULL,
    commune    TEXT NOT NULL,
    until_day  TEXT NOT NULL,
    doc        TEXT NOT NULL
) STRICT;
CREATE INDEX temporary_residences_until ON temporary_residences (province, commune, until_day, pin);
CREATE INDEX temporary_residences_until_all ON temporary_residences (until_day, pin);

CREATE TABLE stay_notifications (
    id         TEXT    PRIMARY KEY,
    reporter   TEXT    NOT NULL,
    reference  TEXT,
    province   TEXT    NOT NULL,
    commune    TEXT    NOT NULL,
    arrival    INTEGER NOT NULL,
    late       INTEGER NOT NULL,
    doc        TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX stay_notifications_reference ON stay_notifications (reporter, reference) WHERE reference IS NOT NULL;
CREATE INDEX stay_notifications_unit ON stay_notifications (province, commune, arrival, id);

-- +goose Down
DROP TABLE stay_notifications;
DROP TABLE temporary_residences;
DROP TABLE residence_entries;
DROP TABLE households;
