-- Active-authentication challenges of chip-card verification (issue 7):
-- single use, short-lived; stored so any node can accept a challenge
-- another node issued. Times are INTEGER unix microseconds (UTC).

-- +goose Up
CREATE TABLE chip_challenges (
    id         TEXT    PRIMARY KEY,
    challenge  BLOB    NOT NULL,
    issued_to  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX chip_challenges_expiry ON chip_challenges (expires_at);

-- +goose Down
DROP TABLE chip_challenges;
