-- Webhook signing keys (rotation): the Ed25519 seed sealed under the server
-- secret, published and signing until retire_at. Times are INTEGER unix
-- microseconds (UTC), as in 00001.

-- +goose Up
CREATE TABLE webhook_keys (
    id         TEXT    PRIMARY KEY,
    private    BLOB    NOT NULL,
    public     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    retire_at  INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE webhook_keys;
