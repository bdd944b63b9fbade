package cancuoc

import "strings"

// RolePartner is a partner's system calling with a client-credentials
// token of our OpenID provider. Like RoleCitizen it is not one of Roles: no
// API key carries it and the registry's role table grants it nothing;
// what it may do is its partner's policy (partner.Service.Authorize),
// which the capabilities that serve partners consult.
const RolePartner Role = "partner"

// PartnerPrincipal is the principal of partner partnerID's system. Its ID
// ("partner:" + the partner's ID) is the actor in the access log and the
// owner of what it creates (reconciliation jobs, issued documents).
func PartnerPrincipal(partnerID string) *Principal {
	return &Principal{ID: "partner:" + partnerID, Name: partnerID, Role: RolePartner}
}

// PartnerOf returns the partner ID of a partner principal (or of an actor
// or owner string "partner:ID") and true; false for anything else.
func PartnerOf(p *Principal) (string, bool) {
	if p == nil || p.Role != RolePartner {
		return "", false
	}
	return PartnerOwner(p.ID)
}

// PartnerOwner returns the partner ID of an owner or actor string
// "partner:ID".
func PartnerOwner(owner string) (string, bool) {
	id, ok := strings.CutPrefix(owner, "partner:")
	return id, ok && id != ""
}
