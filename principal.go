package cancuoc

import "time"

// Role of a principal: what kind of actor it is. Permissions follow from the
// role and the jurisdiction; see the registry package for the rules.
type Role string

// Roles.
const (
	RoleCommuneOfficer  Role = "commune_officer"
	RoleProvinceOfficer Role = "province_officer"
	RoleNationalAdmin   Role = "national_admin"
	RoleMinistrySystem  Role = "ministry_system"
	RoleAuditor         Role = "auditor"
)

// Roles lists every role, for validation and documentation.
func Roles() []Role {
	return []Role{RoleCommuneOfficer, RoleProvinceOfficer, RoleNationalAdmin, RoleMinistrySystem, RoleAuditor, RoleLodging}
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles() {
		if r == x {
			return true
		}
	}
	return false
}

// Jurisdiction is where a principal may act, in today's units (Era34): a
// commune, a whole province, or the nation when both are empty.
type Jurisdiction struct {
	Province string `json:"province,omitempty"`
	Commune  string `json:"commune,omitempty"`
}

// National reports a jurisdiction over the whole country.
func (j Jurisdiction) National() bool { return j.Province == "" && j.Commune == "" }

// Covers reports whether a place in today's units lies inside j.
func (j Jurisdiction) Covers(u UnitRef) bool {
	switch {
	case j.National():
		return true
	case j.Commune != "":
		return u.Commune == j.Commune && u.Province == j.Province
	}
	return u.Province == j.Province
}

// Principal is an officer or a system that calls the registry. Officers are
// linked to their own PIN so the eID issue can log them in by citizen
// identity; systems (ministries, banks) authenticate with API keys.
type Principal struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	Role         Role         `json:"role"`
	Jurisdiction Jurisdiction `json:"jurisdiction"`
	Agency       string       `json:"agency,omitempty"`
	OfficerPIN   PIN          `json:"officer_pin,omitempty"`
	Disabled     bool         `json:"disabled"`
	CreatedAt    time.Time    `json:"created_at"`
}

// APIKey is a credential of a principal. Only a hash of the secret is kept:
// the secret is shown once, at creation.
type APIKey struct {
	ID          string     `json:"id"` // public part of the key, used to find it
	PrincipalID string     `json:"principal_id"`
	Hash        []byte     `json:"-"`
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}
