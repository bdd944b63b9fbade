package cancuoc

import (
	"context"
	"time"
)

// PartnerKind is what kind of organisation a partner is.
type PartnerKind string

// Partner kinds.
const (
	PartnerMinistry PartnerKind = "ministry"
	PartnerBank     PartnerKind = "bank"
	PartnerHospital PartnerKind = "hospital"
	PartnerTelecom  PartnerKind = "telecom"
	PartnerPortal   PartnerKind = "portal"
)

// PartnerKinds lists every kind, for validation and documentation.
func PartnerKinds() []PartnerKind {
	return []PartnerKind{PartnerMinistry, PartnerBank, PartnerHospital, PartnerTelecom, PartnerPortal}
}

// PartnerOp is an operation a partner's policy may allow.
type PartnerOp string

// Partner operations.
const (
	OpMatch          PartnerOp = "match"           // "does this match?" without receiving data
	OpRelease        PartnerOp = "release"         // consented data release (eKYC)
	OpReconcile      PartnerOp = "reconcile"       // bulk reconciliation of the partner's data set
	OpSubscribe      PartnerOp = "subscribe"       // registry event subscriptions
	OpIssueDocuments PartnerOp = "issue_documents" // documents into citizens' wallets
)

// PartnerOps lists every operation.
func PartnerOps() []PartnerOp {
	return []PartnerOp{OpMatch, OpRelease, OpReconcile, OpSubscribe, OpIssueDocuments}
}

// Quota bounds a partner's requests. Zero means no bound of that period.
type Quota struct {
	PerMinute int `json:"per_minute,omitempty"`
	PerDay    int `json:"per_day,omitempty"`
}

// PartnerPolicy is what a partner may do, on which fields, why and on what
// legal basis. Every partner call is checked against it.
type PartnerPolicy struct {
	Operations []PartnerOp `json:"operations"`
	// Fields are the registry's JSON field names ("full_name",
	// "birth_date", …) the partner may compare or receive.
	Fields        []string `json:"fields"`
	Purpose       string   `json:"purpose"`
	LegalBasis    string   `json:"legal_basis"`
	EventTypes    []string `json:"event_types,omitempty"`    // for subscriptions
	DocumentTypes []string `json:"document_types,omitempty"` // for issuance
	Quota         Quota    `json:"quota"`
}

// Partner is an organisation (ministry, bank, hospital, telecom, portal)
// whose systems call the verification services. Its systems authenticate
// as OpenID clients whose PartnerID is the partner's ID.
type Partner struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Kind      PartnerKind   `json:"kind"`
	Policy    PartnerPolicy `json:"policy"`
	Disabled  bool          `json:"disabled"`
	Version   int64         `json:"version"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// Outbox events of partner consents, so that the partner (through its
// subscription) and other capabilities learn of a withdrawal at once. Data
// holds the consent ID, the partner and the field names.
const (
	EventConsentGranted = "partner.consent.granted"
	EventConsentRevoked = "partner.consent.revoked"
)

// PartnerConsent is a citizen's permission for one partner to receive
// named fields of their record for a stated purpose until a time. It is
// kept after it expires or is withdrawn, so that both the citizen and the
// partner can show what was agreed. (Consents given on the OpenID consent
// screen are Consent: scopes for a relying party's login.)
type PartnerConsent struct {
	ID        string     `json:"id"`
	PIN       PIN        `json:"pin"`
	PartnerID string     `json:"partner_id"`
	Fields    []string   `json:"fields"`
	Purpose   string     `json:"purpose"`
	GrantedAt time.Time  `json:"granted_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// InForce reports whether the consent lets data leave at t.
func (c *PartnerConsent) InForce(t time.Time) bool {
	return c.RevokedAt == nil && t.Before(c.ExpiresAt) && !t.Before(c.GrantedAt)
}

// PartnerStore keeps partners, their citizens' consents and the client
// assertions already used.
type PartnerStore interface {
	// InsertPartner stores p. Conflict "duplicate" if the ID exists.
	InsertPartner(ctx context.Context, p *Partner) error
	// UpdatePartner replaces p if its stored version is still prev.
	// NotFound if absent; Conflict "stale_version" if it moved on.
	UpdatePartner(ctx context.Context, p *Partner, prev int64) error
	// Partner returns one partner. NotFound if absent.
	Partner(ctx context.Context, id string) (*Partner, error)
	// Partners lists all partners by ID.
	Partners(ctx context.Context) ([]*Partner, error)

	// InsertPartnerConsent stores c. Conflict "duplicate" if the ID exists.
	InsertPartnerConsent(ctx context.Context, c *PartnerConsent) error
	// PartnerConsent returns one consent. NotFound if absent.
	PartnerConsent(ctx context.Context, id string) (*PartnerConsent, error)
	// PartnerConsents lists a citizen's consents, newest first.
	PartnerConsents(ctx context.Context, pin PIN) ([]*PartnerConsent, error)
	// ConsentsInForce lists a citizen's consents for a partner that are not
	// revoked and not expired at t, newest first.
	ConsentsInForce(ctx context.Context, pin PIN, partnerID string, t time.Time) ([]*PartnerConsent, error)
	// RevokePartnerConsent marks the citizen's consent id revoked at t.
	// NotFound if the citizen has no unrevoked consent with that ID.
	RevokePartnerConsent(ctx context.Context, pin PIN, id string, t time.Time) error

	// UseClientAssertion records the ID (jti) of a client's signed
	// assertion, kept until it expires. Conflict "assertion_replayed" if it
	// was used before; assertions expired before now are forgotten.
	UseClientAssertion(ctx context.Context, clientID, jti string, expires, now time.Time) error
}
