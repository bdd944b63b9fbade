package cancuoc

import (
	"encoding/json"
	"slices"
	"sync"
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
	if len(e.Data) == 0 {
		return true
	}
	changed, ok := changedFields(e.Data)
	if !ok || len(changed) == 0 {
		return true
	}
	for _, f := range changed {
		if f == "*" || slices.Contains(fields, f) {
			return true
		}
	}
	return false
}

// changedFields decodes the field list of a registry event's data (false:
// it does not decode). The decoded lists are kept by their data's bytes:
// the registry's events repeat a few forms ({"fields":["children"]},
// {"fields":["household","permanent_residence"]}…), and each event was
// decoded again by every consumer that tests it (the match projection,
// the eID accounts, the wallet). A kept list is shared read-only.
func changedFields(data []byte) ([]string, bool) {
	c := &changedCache
	c.mu.RLock()
	f, ok := c.m[string(data)]
	c.mu.RUnlock()
	if ok {
		return f, true
	}
	var d struct {
		Fields []string `json:"fields"`
	}
	if json.Unmarshal(data, &d) != nil {
		return nil, false
	}
	if len(data) <= changedKeepBytes {
		c.mu.Lock()
		if len(c.m) >= changedKeep {
			c.m = nil // some other producer's forms: start again
		}
		if c.m == nil {
			c.m = make(map[string][]string)
		}
		c.m[string(data)] = d.Fields
		c.mu.Unlock()
	}
	return d.Fields, true
}

// changedCache holds the field lists changedFields decoded, at most
// changedKeep of them, each from data of at most changedKeepBytes.
var changedCache struct {
	mu sync.RWMutex
	m  map[string][]string
}

const (
	changedKeep      = 256
	changedKeepBytes = 512
)
