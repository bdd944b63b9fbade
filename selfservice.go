package cancuoc

import "strings"

// RoleCitizen is a citizen acting for themself after logging in with their
// eID (the portal). It is not one of Roles: no API key can carry it, and
// the registry's role table grants it nothing; capabilities that serve a
// citizen's own data recognise it with SelfPIN.
const RoleCitizen Role = "citizen"

// CitizenPrincipal is the principal of a citizen signed in with the eID
// account accountID. Its ID ("eid:" + account) is what the access log
// shows as the actor; OfficerPIN holds the citizen's own PIN.
func CitizenPrincipal(accountID string, pin PIN) *Principal {
	return &Principal{ID: "eid:" + accountID, Name: "Công dân / Citizen", Role: RoleCitizen, OfficerPIN: pin}
}

// SelfPIN returns the PIN of a citizen principal and true, or false for
// any other principal.
func SelfPIN(p *Principal) (PIN, bool) {
	if p == nil || p.Role != RoleCitizen || !strings.HasPrefix(p.ID, "eid:") || p.OfficerPIN == "" {
		return "", false
	}
	return p.OfficerPIN, true
}
