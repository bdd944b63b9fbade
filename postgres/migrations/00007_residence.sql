-- Residence (issue 5, Law on Residence 68/2020/QH14): households (the
-- electronic household book, members inside the document), residence
-- entries (every decision about a person, append-only), the current
-- temporary registration of each person (for expiry lists per commune) and
-- stay notifications. Dates are text YYYY-MM-DD in the C collation, which
-- sorts as dates do. doc holds the whole value as json (text, as for
-- citizens: kept as written, no reparse); the other columns are copies for
-- indexes.

-- +goose Up
CREATE TABLE households (
    id         text COLLATE "C" PRIMARY KEY,
    version    bigint      NOT NULL,
    province   text COLLATE "C" NOT NULL,
    commune    text COLLATE "C" NOT NULL,
    head_pin   text COLLATE "C" NOT NULL,
    updated_at timestamptz NOT NULL,
    doc        json        NOT NULL
);
CREATE INDEX households_unit ON households (province, commune);

CREATE TABLE residence_entries (
    id   text COLLATE "C" PRIMARY KEY,
    seq  bigserial   NOT NULL, -- insertion order, for entries of the same instant
    pin  text COLLATE "C" NOT NULL,
    at   timestamptz NOT NULL,
    doc  json        NOT NULL
);
CREATE INDEX residence_entries_pin ON residence_entries (pin, at, seq);

CREATE TABLE temporary_residences (
    pin        text COLLATE "C" PRIMARY KEY,
    province   text COLLATE "C" NOT NULL,
    commune    text COLLATE "C" NOT NULL,
    until_day  text COLLATE "C" NOT NULL,
    doc        json  NOT NULL
);
CREATE INDEX temporary_residences_until ON temporary_residences (province, commune, until_day, pin);
CREATE INDEX temporary_residences_until_all ON temporary_residences (until_day, pin);

CREATE TABLE stay_notifications (
    id         text COLLATE "C" PRIMARY KEY,
    reporter   text COLLATE "C" NOT NULL,
    reference  text COLLATE "C",
    province   text COLLATE "C" NOT NULL,
    commune    text COLLATE "C" NOT NULL,
    arrival    timestamptz NOT NULL,
    late       boolean     NOT NULL,
    doc        json        NOT NULL
);
CREATE UNIQUE INDEX stay_notifications_reference ON stay_notifications (reporter, reference) WHERE reference IS NOT NULL;
CREATE INDEX stay_notifications_unit ON stay_notifications (province, commune, arrival, id);

-- +goose Down
DROP TABLE stay_notifications;
DROP TABLE temporary_residences;
DROP TABLE residence_entries;
DROP TABLE households;
