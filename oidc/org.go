package oidc

import (
	"context"
	"slices"

	"github.com/cancuoc/cancuoc"
)

// ScopeOrg asks for the organisation the citizen acts for: the `org` claim
// {id, name, role} in the ID token and userinfo. Only clients registered
// for it may ask. At each login that asks, the consent page lets the
// citizen choose among the organisations they are a member of (one is
// chosen for them); the claim is released only when the Accounts confirm
// the membership (OrgActor.ActsFor) at the login, and again at every
// userinfo and token refresh, so a removed member stops acting at once.
const ScopeOrg = "org"

// OrgActor is implemented by Accounts that know organisations' members
// (*eid.Service). Without it the org scope releases nothing.
type OrgActor interface {
	// ActsFor returns the role with which the account acts for the
	// organisation; NotFound if it does not.
	ActsFor(ctx context.Context, accountID, orgID string) (string, error)
}

// orgChoice is an organisation offered on the consent page.
type orgChoice struct{ ID, Name, Role string }

// wantsOrg: the request asks for the org scope and its client may.
func wantsOrg(c *cancuoc.Client, scopes []string) bool {
	return c != nil && c.AllowsScope(ScopeOrg) && slices.Contains(scopes, ScopeOrg)
}

// orgChoices lists the active organisations the account is a member of.
func (p *Provider) orgChoices(ctx context.Context, accountID string) ([]orgChoice, error) {
	if _, ok := p.accounts.(OrgActor); !ok {
		return nil, nil
	}
	ms, err := p.store.MembershipsOf(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var out []orgChoice
	for _, m := range ms {
		org, err := p.store.Account(ctx, m.OrgID)
		if err != nil || org.Kind != cancuoc.AccountOrganisation || org.Status != cancuoc.AccountActive {
			continue
		}
		out = append(out, orgChoice{ID: org.ID, Name: org.OrgName, Role: m.Role})
	}
	return out, nil
}

// chooseOrg records the organisation the citizen chose on the consent page,
// once ActsFor confirms it. An empty choice with one organisation takes it;
// with several it is Invalid, as is a choice the account does not act for.
func (p *Provider) chooseOrg(ctx context.Context, a *authRequest, orgID string) error {
	const op = "oidc.consent"
	choices, err := p.orgChoices(ctx, a.d.AccountID)
	if err != nil {
		return err
	}
	if orgID == "" && len(choices) == 1 {
		orgID = choices[0].ID
	}
	if orgID == "" && len(choices) == 0 {
		a.d.Org = ""
		return nil
	}
	bad := cancuoc.E(cancuoc.Invalid, op, "org_invalid", "Hãy chọn một tổ chức mà bạn là thành viên.",
		"Choose an organisation you are a member of.")
	if orgID == "" || !slices.ContainsFunc(choices, func(c orgChoice) bool { return c.ID == orgID }) {
		return bad
	}
	if _, err := p.accounts.(OrgActor).ActsFor(ctx, a.d.AccountID, orgID); err != nil {
		return bad
	}
	a.d.Org = orgID
	return nil
}

// orgClaim is the org claim of a token, after ActsFor confirms that the
// account still acts for the organisation; nil otherwise.
func (p *Provider) orgClaim(ctx context.Context, pin cancuoc.PIN, accountID, orgID string) map[string]string {
	actor, ok := p.accounts.(OrgActor)
	if orgID == "" || !ok {
		return nil
	}
	if accountID == "" {
		acc, err := p.accounts.AccountByPIN(ctx, pin)
		if err != nil {
			return nil
		}
		accountID = acc.ID
	}
	role, err := actor.ActsFor(ctx, accountID, orgID)
	if err != nil {
		return nil
	}
	org, err := p.store.Account(ctx, orgID)
	if err != nil || org.Status != cancuoc.AccountActive {
		return nil
	}
	return map[string]string{"id": org.ID, "name": org.OrgName, "role": role}
}
