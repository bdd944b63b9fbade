package cancuoc

import (
	"context"
	"time"
)

// RoleLodging is a host system: a hotel, guest house, hospital or other
// lodging that makes stay notifications (Law on Residence art. 30) for the
// commune of its jurisdiction and may do nothing else.
const RoleLodging Role = "lodging"

// Event types written to the outbox by the residence capability. Changes of
// a citizen's record also write the registry's own event.
const (
	EventHouseholdCreated      = "household.created"
	EventHouseholdHead         = "household.head_changed"
	EventResidenceRegistered   = "residence.registered"   // permanent residence, a household joined
	EventResidenceTemporary    = "residence.temporary"    // temporary residence registered or renewed
	EventResidenceAbsence      = "residence.absence"      // temporary absence declared
	EventResidenceDeregistered = "residence.deregistered" // permanent residence deregistered
	EventResidenceLeft         = "residence.left"         // left a household on registering permanent residence in another
	// EventResidenceTemporaryEnded: a temporary residence ended by the
	// permanent residence registered where the person lived temporarily.
	EventResidenceTemporaryEnded = "residence.temporary_ended"
	EventStayNotified            = "residence.stay_notified"
	EventCitizenMarried          = "citizen.married"
	EventCitizenDivorced         = "citizen.divorced"
)

// HeadConsent is the household head's agreement to a person registering
// permanent residence in the household (Law on Residence art. 20–21): who
// agreed, when and how. By is empty only when the law needs no consent
// (a newborn joining a parent's household through the birth procedure).
type HeadConsent struct {
	By     PIN       `json:"by,omitempty"`
	At     time.Time `json:"at"`
	Method string    `json:"method"` // "in_person", "written", "vneid", "by_law", "procedure" (a filed procedure)
}

// HouseholdMember is one person's membership of a household: the
// relationship to the head, from when, until when (nil while a member),
// and the consent recorded when they joined.
type HouseholdMember struct {
	PIN      PIN          `json:"pin"`
	Name     string       `json:"name"`
	Relation string       `json:"relation"`
	Since    time.Time    `json:"since"`
	Until    *time.Time   `json:"until,omitempty"`
	Consent  *HeadConsent `json:"consent,omitempty"`
	// Request is the person's own request to register here (or their
	// legal representative's), recorded as the head's consent is.
	Request *HeadConsent `json:"request,omitempty"`
	EntryID string       `json:"entry_id"` // the residence entry that admitted them
}

// Active reports whether m is still a member.
func (m HouseholdMember) Active() bool { return m.Until == nil }

// Household replaces the paper household book: relatives living at one
// lawful residence (Address, in today's units), their head, and every
// member past and present. Version is optimistic, as for citizens.
type Household struct {
	ID        string            `json:"id"`
	Version   int64             `json:"version"`
	Address   Place             `json:"address"`
	HeadPIN   PIN               `json:"head_pin"`
	Members   []HouseholdMember `json:"members"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Member returns the active membership of pin, if any.
func (h *Household) Member(pin PIN) (HouseholdMember, bool) {
	for _, m := range h.Members {
		if m.PIN == pin && m.Active() {
			return m, true
		}
	}
	return HouseholdMember{}, false
}

// ActiveMembers lists the current members.
func (h *Household) ActiveMembers() []HouseholdMember {
	var out []HouseholdMember
	for _, m := range h.Members {
		if m.Active() {
			out = append(out, m)
		}
	}
	return out
}

// Clone returns a deep copy.
func (h *Household) Clone() *Household {
	n := *h
	n.Members = make([]HouseholdMember, len(h.Members))
	for i, m := range h.Members {
		n.Members[i] = m
		if m.Until != nil {
			u := *m.Until
			n.Members[i].Until = &u
		}
		if m.Consent != nil {
			c := *m.Consent
			n.Members[i].Consent = &c
		}
	}
	if h.Address.Today != nil {
		t := *h.Address.Today
		n.Address.Today = &t
	}
	return &n
}

// ResidenceKind is what a residence entry decided.
type ResidenceKind string

// Residence entry kinds.
const (
	ResidencePermanent    ResidenceKind = "permanent"      // permanent residence registered
	ResidenceTemporary    ResidenceKind = "temporary"      // temporary residence registered
	ResidenceRenewal      ResidenceKind = "renewal"        // temporary residence renewed
	ResidenceAbsence      ResidenceKind = "absence"        // temporary absence declared
	ResidenceDeregistered ResidenceKind = "deregistered"   // permanent residence deregistered
	ResidenceLeft         ResidenceKind = "left_household" // left a household on moving
	// ResidenceTemporaryEnded: the temporary registration ended because
	// the person registered permanent residence.
	ResidenceTemporaryEnded ResidenceKind = "temporary_ended"
)

// ResidenceEntry is one decision of the residence register about one
// person: what, where, for which period, and who decided, when, why and on
// what legal basis. Entries are never changed; a person's entries are
// their residence history.
type ResidenceEntry struct {
	ID          string        `json:"id"`
	PIN         PIN           `json:"pin"`
	Kind        ResidenceKind `json:"kind"`
	Place       *Place        `json:"place,omitempty"`
	Unit        UnitRef       `json:"unit"` // today's units of the place (or of the person), for jurisdiction
	HouseholdID string        `json:"household_id,omitempty"`
	Relation    string        `json:"relation,omitempty"`
	Consent     *HeadConsent  `json:"consent,omitempty"`
	Request     *HeadConsent  `json:"request,omitempty"` // the person's (or representative's) request to register
	From        Date          `json:"from"`
	Until       Date          `json:"until"`
	Cause       string        `json:"cause,omitempty"` // deregistration cause
	Actor       string        `json:"actor"`
	Agency      string        `json:"agency,omitempty"`
	Reason      string        `json:"reason"`
	LegalBasis  string        `json:"legal_basis"`
	At          time.Time     `json:"at"`
}

// TemporaryRegistration is a person's current temporary residence
// registration, kept apart so that expiries can be listed per commune.
type TemporaryRegistration struct {
	PIN     PIN       `json:"pin"`
	EntryID string    `json:"entry_id"`
	Place   Place     `json:"place"`
	Unit    UnitRef   `json:"unit"`
	From    Date      `json:"from"`
	Until   Date      `json:"until"`
	At      time.Time `json:"at"`
}

// TemporaryQuery selects current temporary registrations in a unit (the
// commune, or the whole province when Commune is empty, or the nation when
// both are) that end on or before Until, ordered by Until then PIN. After*
// resume after the last row of the previous page.
type TemporaryQuery struct {
	Province   string
	Commune    string
	Until      Date
	AfterUntil Date
	AfterPIN   PIN
	Limit      int
}

// StayGuest is who stays: a citizen by PIN, or anyone by name and the
// number of the document shown (a passport for a foreigner).
type StayGuest struct {
	PIN      PIN    `json:"pin,omitempty"`
	Name     string `json:"name,omitempty"`
	Document string `json:"document,omitempty"`
}

// StayNotification is a stay notification (thông báo lưu trú) made by a
// host, hotel or hospital: who stays where from when, when it was made,
// and whether it met the deadline (vietnam.md §5).
type StayNotification struct {
	ID         string      `json:"id"`
	Reporter   string      `json:"reporter"`            // principal ID, or "citizen:<PIN>" of a citizen host
	Reference  string      `json:"reference,omitempty"` // the reporter's own number; unique per reporter
	Host       string      `json:"host,omitempty"`      // establishment or host name
	Place      Place       `json:"place"`
	Unit       UnitRef     `json:"unit"`
	Guests     []StayGuest `json:"guests"`
	Arrival    time.Time   `json:"arrival"`
	Departure  Date        `json:"departure"`
	NotifiedAt time.Time   `json:"notified_at"`
	Deadline   time.Time   `json:"deadline"`
	OnTime     bool        `json:"on_time"`
	LateBy     int64       `json:"late_by_seconds"`
}

// StayQuery selects stay notifications in a unit whose arrival lies in
// [From, To), newest arrival first; Late keeps only late ones. AfterID
// resumes after the last row of the previous page (arrival, id order).
type StayQuery struct {
	Province     string
	Commune      string
	From, To     time.Time
	Late         bool
	AfterArrival time.Time
	AfterID      string
	Limit        int
}

// ResidenceStore keeps households, residence entries, current temporary
// registrations and stay notifications.
type ResidenceStore interface {
	// InsertHousehold stores a new household. Conflict if the ID exists.
	InsertHousehold(ctx context.Context, h *Household) error
	// UpdateHousehold replaces h if its stored version is still prev
	// (h.Version is the new one). Conflict "stale_version" otherwise;
	// NotFound if the ID is unknown.
	UpdateHousehold(ctx context.Context, h *Household, prev int64) error
	// Household returns a household with all its members. NotFound if none.
	Household(ctx context.Context, id string) (*Household, error)
	// AppendResidence stores an entry. Conflict if its ID exists.
	AppendResidence(ctx context.Context, e *ResidenceEntry) error
	// ResidenceHistory lists a person's entries, oldest first. Empty if none.
	ResidenceHistory(ctx context.Context, pin PIN) ([]*ResidenceEntry, error)
	// PutTemporary stores a person's current temporary registration,
	// replacing any previous one.
	PutTemporary(ctx context.Context, t *TemporaryRegistration) error
	// Temporary returns a person's current temporary registration.
	// NotFound if none.
	Temporary(ctx context.Context, pin PIN) (*TemporaryRegistration, error)
	// DeleteTemporary removes a person's current temporary registration;
	// nothing happens if there is none.
	DeleteTemporary(ctx context.Context, pin PIN) error
	// TemporaryEnding lists current registrations matching q.
	TemporaryEnding(ctx context.Context, q TemporaryQuery) ([]*TemporaryRegistration, error)
	// InsertStay stores a stay notification. Conflict "duplicate" when the
	// reporter already sent one with the same non-empty Reference.
	InsertStay(ctx context.Context, s *StayNotification) error
	// StayByReference returns a reporter's notification by its reference.
	// NotFound if none.
	StayByReference(ctx context.Context, reporter, reference string) (*StayNotification, error)
	// Stays lists notifications matching q.
	Stays(ctx context.Context, q StayQuery) ([]*StayNotification, error)
}
