package oidc

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
)

// PartnerConsents lets the consent screen give a partner's consent
// (*partner.Service implements it). A client linked to a partner
// (Client.PartnerID) whose policy allows data release ("release") shows,
// on its consent page, the policy's fields, purpose and the consent's end;
// accepting grants that partner consent in the same transaction as the
// OpenID consent, so both are given or neither. The partner then fetches
// those fields (GET /v1/partner/citizens/{pin}) until the end or a
// withdrawal, which takes effect on the very next fetch.
type PartnerConsents interface {
	// Check returns the partner when its policy allows op (and fields).
	Check(ctx context.Context, id string, op cancuoc.PartnerOp, fields ...string) (*cancuoc.Partner, error)
	// GrantTx records the consent inside tx.
	GrantTx(ctx context.Context, tx cancuoc.Tx, pin cancuoc.PIN, r PartnerConsentRequest) (*cancuoc.PartnerConsent, error)
}

// PartnerConsentRequest is what the consent screen grants.
type PartnerConsentRequest struct {
	PartnerID string
	Fields    []string
	Purpose   string
	ExpiresAt time.Time
}

// PartnerConsentTerm is how long a consent given on the consent screen
// lasts (within the partner module's one-year maximum).
const PartnerConsentTerm = 180 * 24 * time.Hour

// UsePartnerConsents wires the partners' consents into the consent screen.
func (p *Provider) UsePartnerConsents(pc PartnerConsents) { p.partners = pc }

// partnerRelease is the partner consent the consent page offers.
type partnerRelease struct {
	Partner *cancuoc.Partner
	Fields  []string
	Purpose string
	Until   time.Time
}

// releaseFor is the partner consent a client's consent page offers; nil
// when the client is not linked to a partner allowed to receive data.
func (p *Provider) releaseFor(ctx context.Context, c *cancuoc.Client) *partnerRelease {
	if p.partners == nil || c == nil || c.PartnerID == "" {
		return nil
	}
	pt, err := p.partners.Check(ctx, c.PartnerID, cancuoc.OpRelease)
	if err != nil || len(pt.Policy.Fields) == 0 {
		return nil
	}
	return &partnerRelease{Partner: pt, Fields: pt.Policy.Fields, Purpose: pt.Policy.Purpose,
		Until: p.now().Add(PartnerConsentTerm).UTC()}
}

// grantRelease grants the offered partner consent inside tx.
func (p *Provider) grantRelease(ctx context.Context, tx cancuoc.Tx, pin cancuoc.PIN, rel *partnerRelease) error {
	_, err := p.partners.GrantTx(ctx, tx, pin, PartnerConsentRequest{PartnerID: rel.Partner.ID, Fields: rel.Fields,
		Purpose: rel.Purpose, ExpiresAt: rel.Until})
	return err
}
