-- Signed webhooks to partners (issue 5): subscriptions and one delivery row
-- per (subscription, event). Times are INTEGER unix microseconds (UTC), as
-- in 00001.

-- +goose Up
CREATE TABLE webhook_subscriptions (
    id          TEXT    PRIMARY KEY,
    partner_id  TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    event_types TEXT    NOT NULL, -- JSON array
    status      TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_subscriptions_partner ON webhook_subscriptions (partner_id, id);

CREATE TABLE webhook_deliveries (
    id              TEXT    PRIMARY KEY, -- time-ordered
    subscription_id TEXT    NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    partner_id      TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    event_seq       INTEGER NOT NULL,
    event_type      TEXT    NOT NULL,
    order_key       TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,
    locked_until    INTEGER NOT NULL DEFAULT 0,
    enqueued_at     INTEGER NOT NULL,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    done_at         INTEGER,
    UNIQUE (subscription_id, event_id)
) STRICT;
-- The claim's two lookups: what is due, and whether an earlier delivery of
-- the same citizen is still pending.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at, event_seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, order_key, event_seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (status, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
