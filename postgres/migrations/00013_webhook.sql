-- Signed webhooks to partners (issue 5): subscriptions and one delivery row
-- per (subscription, event).

-- +goose Up
CREATE TABLE webhook_subscriptions (
    id          text COLLATE "C" PRIMARY KEY,
    partner_id  text COLLATE "C" NOT NULL,
    url         text        NOT NULL,
    event_types text[]      NOT NULL,
    status      text        NOT NULL CHECK (status IN ('active', 'disabled')),
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX webhook_subscriptions_partner ON webhook_subscriptions (partner_id, id);

CREATE TABLE webhook_deliveries (
    id              text COLLATE "C" PRIMARY KEY, -- time-ordered
    subscription_id text COLLATE "C" NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    partner_id      text COLLATE "C" NOT NULL,
    event_id        text        NOT NULL,
    event_seq       bigint      NOT NULL,
    event_type      text        NOT NULL,
    order_key       text COLLATE "C" NOT NULL,
    payload         bytea       NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_at         timestamptz NOT NULL,
    locked_until    timestamptz NOT NULL DEFAULT '-infinity',
    enqueued_at     timestamptz NOT NULL,
    last_status     integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    done_at         timestamptz,
    UNIQUE (subscription_id, event_id)
);
-- The claim's two lookups: what is due, and whether an earlier delivery of
-- the same citizen is still pending.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at, event_seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (subscription_id, order_key, event_seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (status, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
