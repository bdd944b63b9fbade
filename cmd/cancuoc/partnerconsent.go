package main

import (
	"context"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/partner"
)

// partnerConsents gives the OpenID consent screen the partners' consents
// (oidc.PartnerConsents).
type partnerConsents struct{ *partner.Service }

func (pc partnerConsents) GrantTx(ctx context.Context, tx cancuoc.Tx, pin cancuoc.PIN, r oidc.PartnerConsentRequest) (*cancuoc.PartnerConsent, error) {
	return pc.Service.GrantTx(ctx, tx, pin, partner.ConsentRequest{PartnerID: r.PartnerID, Fields: r.Fields, Purpose: r.Purpose,
		ExpiresAt: r.ExpiresAt})
}
