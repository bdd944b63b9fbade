package cancuoc

import (
	"context"
	"encoding/json"
	"time"
)

// Webhook subscription statuses.
const (
	WebhookActive   = "active"
	WebhookDisabled = "disabled" // the receiver answered 410 Gone, or an operator stopped it; deliveries wait until it is enabled again
)

// WebhookKey is a key webhooks are signed with. Private holds the Ed25519
// seed sealed by the webhook capability (the store never sees it in
// clear); Public is the raw 32-byte public key. A key signs and is
// published from CreatedAt until RetireAt; a rotation sets the older keys'
// RetireAt to when every delivery they signed is past its retry window.
type WebhookKey struct {
	ID        string
	Private   []byte
	Public    []byte
	CreatedAt time.Time
	RetireAt  time.Time
}

// Webhook delivery statuses.
const (
	DeliveryPending   = "pending"   // waiting for its first attempt or a retry
	DeliveryDelivered = "delivered" // the receiver answered 2xx
	DeliveryDead      = "dead"      // given up: on the dead-letter list until an operator re-drives it
)

// WebhookSubscription is a partner's request to receive events of some
// types, signed, at an HTTPS URL.
type WebhookSubscription struct {
	ID         string    `json:"id"`
	PartnerID  string    `json:"partner_id"`
	URL        string    `json:"url"`
	EventTypes []string  `json:"event_types"`
	Status     string    `json:"status"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// WebhookDelivery is one event to send to one subscription. There is at
// most one per (SubscriptionID, EventID), so an event delivered twice to
// the fan-out creates no second webhook. Deliveries of one subscription
// with the same OrderKey (the citizen) are sent in EventSeq order: a later
// one waits while an earlier one is pending.
type WebhookDelivery struct {
	ID             string          `json:"id"`
	SubscriptionID string          `json:"subscription_id"`
	PartnerID      string          `json:"partner_id"`
	EventID        string          `json:"event_id"`
	EventSeq       int64           `json:"event_seq"`
	EventType      string          `json:"event_type"`
	OrderKey       string          `json:"-"` // the citizen's PIN, "" for events about no citizen
	Payload        json.RawMessage `json:"payload"`
	Status         string          `json:"status"`
	Attempts       int             `json:"attempts"`
	NextAt         time.Time       `json:"next_at"`
	EnqueuedAt     time.Time       `json:"enqueued_at"` // reset by a re-drive; the max age counts from it
	LastStatus     int             `json:"last_status,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	DoneAt         *time.Time      `json:"done_at,omitempty"`
}

// WebhookOutcome is the result of one attempt, recorded by
// FinishWebhookDelivery.
type WebhookOutcome struct {
	Status     string    // DeliveryPending (retry at NextAt), DeliveryDelivered or DeliveryDead
	NextAt     time.Time // for a retry
	LastStatus int       // the receiver's HTTP status, 0 if none
	LastError  string    // why it failed; no personal data
	At         time.Time
}

// WebhookStore keeps webhook subscriptions and their deliveries.
type WebhookStore interface {
	// InsertWebhookSubscription stores s. Conflict if the ID exists.
	InsertWebhookSubscription(ctx context.Context, s *WebhookSubscription) error
	// WebhookSubscription returns one subscription. NotFound if absent.
	WebhookSubscription(ctx context.Context, id string) (*WebhookSubscription, error)
	// WebhookSubscriptions lists the subscriptions of one partner, or of
	// all when partnerID is "", by ID.
	WebhookSubscriptions(ctx context.Context, partnerID string) ([]*WebhookSubscription, error)
	// SetWebhookStatus changes a subscription's status. NotFound if absent.
	SetWebhookStatus(ctx context.Context, id, status string, at time.Time) error
	// DeleteWebhookSubscription removes a subscription and its deliveries.
	// NotFound if absent.
	DeleteWebhookSubscription(ctx context.Context, id string) error
	// InsertWebhookDelivery stores d unless a delivery of the same event to
	// the same subscription exists; it reports whether it stored d. The
	// transaction stays usable either way.
	InsertWebhookDelivery(ctx context.Context, d *WebhookDelivery) (bool, error)
	// ClaimWebhookDeliveries takes up to limit pending deliveries that are
	// due at now, of active subscriptions, each the earliest pending one of
	// its subscription and order key, and not claimed by anyone else in the
	// last lease. It counts the attempt (Attempts+1) and hides them from
	// other claims until now+lease. Several nodes may claim at once: none
	// gets a delivery another holds.
	ClaimWebhookDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*WebhookDelivery, error)
	// FinishWebhookDelivery records the outcome of attempt number attempt
	// of delivery id. It reports false, changing nothing, when that attempt
	// is no longer the delivery's last (its lease ran out and another claim
	// followed) or the delivery is not pending.
	FinishWebhookDelivery(ctx context.Context, id string, attempt int, o WebhookOutcome) (bool, error)
	// WebhookDeliveries lists deliveries in one status, of one partner (all
	// when partnerID is ""), newest first, with ID < before when before is
	// not "".
	WebhookDeliveries(ctx context.Context, status, partnerID, before string, limit int) ([]*WebhookDelivery, error)
	// WebhookDelivery returns one delivery. NotFound if absent.
	WebhookDelivery(ctx context.Context, id string) (*WebhookDelivery, error)
	// RedriveWebhookDelivery puts a dead delivery back in line: pending,
	// no attempts, due at now, enqueued at now. NotFound if absent;
	// Conflict "delivery_not_dead" if it is not dead.
	RedriveWebhookDelivery(ctx context.Context, id string, now time.Time) error
	// InsertWebhookKey stores k. Conflict "duplicate" if the ID exists.
	InsertWebhookKey(ctx context.Context, k *WebhookKey) error
	// WebhookKeys lists the signing keys not retired at t, newest first.
	WebhookKeys(ctx context.Context, t time.Time) ([]*WebhookKey, error)
	// RetireWebhookKeys sets RetireAt to at on every key but except whose
	// RetireAt is later.
	RetireWebhookKeys(ctx context.Context, except string, at time.Time) error
}
