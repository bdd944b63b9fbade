-- The organisations an account acts for (oidc's org scope asks at every
-- login that wants it): memberships by account.

-- +goose Up
CREATE INDEX org_members_account ON org_members (account_id, org_id);

-- +goose Down
DROP INDEX org_members_account;
