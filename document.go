package cancuoc

import (
	"context"
	"encoding/json"
	"time"
)

// DocumentStatus is a wallet document's standing, mirrored in the issuer's
// Token Status List.
type DocumentStatus string

// Document statuses. A suspended document can be reinstated; a revoked one
// (by its issuer, by reissue, or by the holder's death) cannot.
const (
	DocumentValid     DocumentStatus = "valid"
	DocumentSuspended DocumentStatus = "suspended"
	DocumentRevoked   DocumentStatus = "revoked"
)

// Event types written to the outbox by the wallet capability.
const (
	EventDocumentIssued      = "document.issued"
	EventDocumentSuspended   = "document.suspended"
	EventDocumentReinstated  = "document.reinstated"
	EventDocumentRevoked     = "document.revoked"
	EventDocumentHolderBound = "document.holder_key"
)

// Document is a digital document in a citizen's wallet: an SD-JWT VC
// issued by an agency (Issuer, the agency's code) to the holder, bound to
// the holder's key, with an entry (StatusList, StatusIndex) in the
// issuer's status list. Claims are the claims as issued, kept so that the
// document can be reissued (to a new holder key, or corrected); SDJWT is
// the issued token with every disclosure.
type Document struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	HolderPIN   PIN             `json:"holder_pin"`
	Issuer      string          `json:"issuer"`
	IssuedBy    string          `json:"issued_by"` // the principal that asked for it
	StatusList  int64           `json:"status_list"`
	StatusIndex int64           `json:"status_index"`
	Status      DocumentStatus  `json:"status"`
	Reason      string          `json:"reason,omitempty"`
	IssuedAt    time.Time       `json:"issued_at"`
	ExpiresAt   time.Time       `json:"expires_at"`
	HolderKeyID string          `json:"holder_key_id"`
	ReplacedBy  string          `json:"replaced_by,omitempty"`
	Claims      json.RawMessage `json:"-"`
	SDJWT       string          `json:"-"`
	Version     int64           `json:"version"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// HolderKey is the public key (a JWK) a citizen's wallet holds the private
// half of; documents are bound to it (cnf). ID is its RFC 7638 thumbprint.
// For a child, the guardian's wallet registers and holds the key.
type HolderKey struct {
	PIN       PIN             `json:"-"`
	ID        string          `json:"id"`
	JWK       json.RawMessage `json:"jwk"`
	CreatedAt time.Time       `json:"created_at"`
}

// IssuerKey is an issuing agency's signing key, kept sealed like
// SigningKey: Private is encrypted by the wallet capability.
type IssuerKey struct {
	ID        string
	Issuer    string
	Private   []byte
	Public    json.RawMessage
	CreatedAt time.Time
	RetireAt  time.Time
}

// StatusEntry is one non-valid entry of a status list.
type StatusEntry struct {
	Index  int64
	Status DocumentStatus
}

// PresentationRequest is a verifier's request for a presentation (the
// wallet's direct_post flow): kept in the store so that any node answers
// it, and answered at most once. Verdict is the wallet capability's
// verdict as JSON, set when answered.
type PresentationRequest struct {
	ID         string
	ClientID   string
	Nonce      string
	Type       string
	Claims     []string
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	AnsweredAt *time.Time
	Verdict    json.RawMessage
}

// DocumentStore keeps wallet documents, holder keys, issuer keys and
// status-list slots. It only stores: the wallet capability decides.
type DocumentStore interface {
	// InsertDocument stores d. Conflict "duplicate" if its ID or its
	// status-list slot is taken.
	InsertDocument(ctx context.Context, d *Document) error
	// Document returns one document. NotFound if absent.
	Document(ctx context.Context, id string) (*Document, error)
	// DocumentsByHolder lists a holder's documents, newest first.
	DocumentsByHolder(ctx context.Context, pin PIN) ([]*Document, error)
	// UpdateDocument stores d's status, reason, replacement and update
	// time if its stored version is still prev (d.Version is the new one).
	// Conflict "stale_version" otherwise; NotFound if absent.
	UpdateDocument(ctx context.Context, d *Document, prev int64) error
	// StatusEntries lists the entries of one status list of an issuer
	// whose document is not valid, by index.
	StatusEntries(ctx context.Context, issuer string, list int64) ([]StatusEntry, error)
	// NextStatusSlot returns the issuer's next status-list slot number
	// (0, 1, 2… without reuse) and advances it.
	NextStatusSlot(ctx context.Context, issuer string) (int64, error)
	// PutHolderKey stores the holder's key, replacing any earlier one.
	PutHolderKey(ctx context.Context, k *HolderKey) error
	// HolderKey returns the holder's current key. NotFound if none.
	HolderKey(ctx context.Context, pin PIN) (*HolderKey, error)
	// HolderKeys returns the current keys of those of pins that have one,
	// each once (a PIN given twice included), in no particular order, in
	// one read: a batch of events asks about its subjects together.
	HolderKeys(ctx context.Context, pins []PIN) ([]*HolderKey, error)
	// InsertIssuerKey stores k. Conflict "duplicate" if the ID exists.
	InsertIssuerKey(ctx context.Context, k *IssuerKey) error
	// IssuerKeys lists an issuer's keys not retired at t, newest first.
	IssuerKeys(ctx context.Context, issuer string, t time.Time) ([]*IssuerKey, error)

	// InsertPresentationRequest stores r. Conflict "duplicate" if the ID exists.
	InsertPresentationRequest(ctx context.Context, r *PresentationRequest) error
	// PresentationRequest returns one request. NotFound if absent.
	PresentationRequest(ctx context.Context, id string) (*PresentationRequest, error)
	// ClaimPresentationRequest marks an unanswered request answered at t,
	// atomically, so two racing responses cannot both count. Conflict
	// "request_answered" if it was answered already; NotFound if absent.
	ClaimPresentationRequest(ctx context.Context, id string, t time.Time) error
	// SetPresentationVerdict stores the verdict of an answered request.
	// NotFound if absent.
	SetPresentationVerdict(ctx context.Context, id string, verdict json.RawMessage) error
	// DeletePresentationRequests removes requests that expired before t
	// and returns how many.
	DeletePresentationRequests(ctx context.Context, before time.Time) (int64, error)
}
