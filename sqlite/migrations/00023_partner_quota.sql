-- Partners' calls per quota window, summed over every node (partner/quota.go):
-- each node adds its own count about once a second.

-- +goose Up
CREATE TABLE partner_quota_usage (
    partner TEXT NOT NULL,
    window_kind TEXT NOT NULL,
    window_start BIGINT NOT NULL, -- unix seconds
    calls BIGINT NOT NULL,
    PRIMARY KEY (partner, window_kind, window_start)
);

-- +goose Down
DROP TABLE partner_quota_usage;
