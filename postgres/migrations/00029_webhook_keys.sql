-- Webhook signing keys (rotation): the Ed25519 seed sealed under the server
-- secret, published and signing until retire_at.

-- +goose Up
CREATE TABLE webhook_keys (
    id         text COLLATE "C" PRIMARY KEY,
    private    bytea       NOT NULL,
    public     bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    retire_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE webhook_keys;
