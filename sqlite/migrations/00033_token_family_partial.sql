-- The tokens' family index holds refresh families only (issue 3): an
-- access token, one per login, has no family (''), and its entry in the
-- index served no query. RevokeTokens looks a family up only by a
-- non-empty name, and says so in its WHERE clause so that SQLite can use
-- this partial index. (00033 is taken on PostgreSQL by the same change.)

-- +goose Up
DROP INDEX oidc_tokens_family;
CREATE INDEX oidc_tokens_family ON oidc_tokens (family) WHERE family <> '';

-- +goose Down
DROP INDEX oidc_tokens_family;
CREATE INDEX oidc_tokens_family ON oidc_tokens (family);
