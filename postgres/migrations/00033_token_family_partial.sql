-- The tokens' family index holds refresh families only (issue 3). An access
-- token, one per login, has no family (''), yet each one was an entry of
-- oidc_tokens_family, written and WAL-logged with the token for no query:
-- RevokeTokens looks a family up only by a non-empty name, and says so in
-- its WHERE clause so that the planner can use this partial index.

-- +goose Up
DROP INDEX oidc_tokens_family;
CREATE INDEX oidc_tokens_family ON oidc_tokens (family) WHERE family <> '';

-- +goose Down
DROP INDEX oidc_tokens_family;
CREATE INDEX oidc_tokens_family ON oidc_tokens (family);
