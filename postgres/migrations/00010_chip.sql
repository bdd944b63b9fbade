-- Active-authentication challenges of chip-card verification (issue 7):
-- single use, short-lived; stored so any node can accept a challenge
-- another node issued.

-- +goose Up
CREATE TABLE chip_challenges (
    id         text COLLATE "C" PRIMARY KEY,
    challenge  bytea       NOT NULL,
    issued_to  text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX chip_challenges_expiry ON chip_challenges (expires_at);

-- +goose Down
DROP TABLE chip_challenges;
