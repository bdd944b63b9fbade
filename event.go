package cancuoc

import (
	"encoding/json"
	"slices"
	"time"
)

// Event types written to the outbox by the registry.
const (
	EventCitizenBorn     = "citizen.born"
	EventCitizenUpdated  = "citizen.updated"
	EventCitizenDied     = "citizen.died"
	EventCitizenMissing  = "citizen.missing"
	EventCitizensLoaded  = "citizens.loaded" // a bulk import; one event for the batch
	EventPrincipalCreate = "principal.created"
)

// Event is an outbox entry, committed in the same transaction as the change
// it reports. Seq is assigned by the store and orders all events; consumers
// read them in Seq order and remember the last one they handled. Data holds
// no more personal data than the consumers need (usually the changed field
// names, never their values).
type Event struct {
	Seq     int64           `json:"seq"`
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	PIN     PIN             `json:"pin,omitempty"`
	Version int64           `json:"version,omitempty"`
	Actor   string          `json:"actor"`
	At      time.Time       `json:"at"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// AuditEntry records one access to or change of a citizen's data: who, when,
// what action, which fields, why. It holds the PIN and field names but no
// field values. ID is the entry's place in the log (1, 2, 3… without gaps)
// and Hash its chain hash (see AuditChainHash), both set by AppendAudit.
type AuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"` // "citizen.read", "citizen.update", …
	PIN     PIN       `json:"pin,omitempty"`
	Fields  []string  `json:"fields,omitempty"`
	Purpose string    `json:"purpose,omitempty"`
	Outcome string    `json:"outcome"` // "ok" or an error code
	Hash    []byte    `json:"hash,omitempty"`
}

// MayHaveChanged tells whether the registry event e may have changed the
// record's field (its JSON name, "life_status"). The registry's events
// name the fields a version changed ({"fields": ["household", …]}; "*"
// for a new record), so a handler that cares about one field can pass over
// the others without reading the record. An event that lists no fields
// (another producer, an older form) may have changed anything.
func (e *Event) MayHaveChanged(field string) bool { return e.MayHaveChangedAny(field) }

// MayHaveChangedAny is MayHaveChanged for several fields at once: whether
// e may have changed any of them (the event's data decoded once).
func (e *Event) MayHaveChangedAny(fields ...string) bool {
	var d struct {
		Fields []string `json:"fields"`
	}
	if len(e.Data) == 0 || json.Unmarshal(e.Data, &d) != nil || len(d.Fields) == 0 {
		return true
	}
	for _, f := range d.Fields {
		if f == "*" || slices.Contains(fields, f) {
			return true
		}
	}
	return false
}
