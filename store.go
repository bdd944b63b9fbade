package cancuoc

import (
	"context"
	"time"
)

// CitizenStore keeps the current version of each citizen.
type CitizenStore interface {
	// Citizen returns the current record. NotFound if none.
	Citizen(ctx context.Context, pin PIN) (*Citizen, error)
	// CitizenDoc returns the current record's JSON document as stored,
	// undecoded, with what is needed to authorize reading it. The API's
	// read path serves it as is, which saves decoding and re-encoding the
	// record on the busiest request. NotFound if none.
	CitizenDoc(ctx context.Context, pin PIN) (*CitizenDoc, error)
	// CitizenDocs is CitizenDoc for several PINs in one read: the
	// documents of those that exist, each once (a PIN given twice
	// included), in no particular order (a batch of events asks about its
	// citizens together).
	CitizenDocs(ctx context.Context, pins []PIN) ([]*CitizenDoc, error)
	// InsertCitizen stores a new record. Conflict (code "pin_taken") when the
	// PIN exists; the transaction stays usable so the caller can retry with
	// another PIN.
	InsertCitizen(ctx context.Context, c *Citizen) error
	// UpdateCitizen replaces the record if its stored version is still prev
	// (c.Version is the new one). Conflict (code "stale_version") otherwise;
	// NotFound if the PIN is unknown.
	UpdateCitizen(ctx context.Context, c *Citizen, prev int64) error
	// SearchCitizens pages through records matching q, ordered by NameKey
	// then PIN. Invalid for a query with no criterion.
	SearchCitizens(ctx context.Context, q CitizenQuery) ([]*Citizen, error)
	// HouseholdMembers lists the citizens linked to a household, by PIN.
	HouseholdMembers(ctx context.Context, householdID string) ([]*Citizen, error)
	// CountPopulation counts citizens by life status, grouped by province
	// of Home, or by commune within one province when province is set.
	CountPopulation(ctx context.Context, province string) ([]PopulationCount, error)
}

// CitizenDoc is a record as stored: its JSON (the encoding of Citizen), its
// version and its home unit.
type CitizenDoc struct {
	PIN     PIN
	Version int64
	Home    UnitRef
	JSON    []byte
}

// CitizenQuery selects citizens. Every set field must match:
//   - NameKey: equal to the stored key, or a prefix of it when NamePrefix;
//   - BirthYear; BirthMonth and BirthDay each match the stored value or a
//     stored 0 (unknown), so a partial record is not missed;
//   - Province, Commune: the Home unit.
//
// After resumes after the (NameKey, PIN) of the last row of the previous page.
type CitizenQuery struct {
	NameKey    string
	NamePrefix bool
	BirthYear  int
	BirthMonth int
	BirthDay   int
	Province   string
	Commune    string
	AfterKey   string
	AfterPIN   PIN
	Limit      int
}

// PopulationCount is one row of CountPopulation.
type PopulationCount struct {
	Province string `json:"province"`
	Commune  string `json:"commune,omitempty"`
	Alive    int64  `json:"alive"`
	Dead     int64  `json:"dead"`
	Missing  int64  `json:"missing"`
}

// HistoryStore keeps every version of every citizen.
type HistoryStore interface {
	// AppendVersion stores a version. Conflict if (PIN, Version) exists.
	AppendVersion(ctx context.Context, v *CitizenVersion) error
	// Versions lists a citizen's versions, oldest first. Empty if none.
	Versions(ctx context.Context, pin PIN) ([]*CitizenVersion, error)
	// Version returns one version. NotFound if absent.
	Version(ctx context.Context, pin PIN, version int64) (*CitizenVersion, error)
	// VersionAt returns the latest version recorded at or before t.
	// NotFound if the citizen had no record yet.
	VersionAt(ctx context.Context, pin PIN, t time.Time) (*CitizenVersion, error)
}

// Outbox keeps events for delivery, in commit order.
type Outbox interface {
	// AppendEvent stores e and sets e.Seq, or leaves it 0 on a store that
	// gives events their Seq after commit (LogSequencer); EventsAfter
	// returns only events that have one.
	AppendEvent(ctx context.Context, e *Event) error
	// EventsAfter returns up to limit events with Seq > after, by Seq.
	EventsAfter(ctx context.Context, after int64, limit int) ([]Event, error)
}

// PrincipalStore keeps principals and their API keys.
type PrincipalStore interface {
	// InsertPrincipal stores p. Conflict if the ID exists.
	InsertPrincipal(ctx context.Context, p *Principal) error
	// Principal returns one principal. NotFound if absent.
	Principal(ctx context.Context, id string) (*Principal, error)
	// Principals lists all principals by ID.
	Principals(ctx context.Context) ([]*Principal, error)
	// InsertAPIKey stores k. Conflict if the ID exists.
	InsertAPIKey(ctx context.Context, k *APIKey) error
	// APIKey returns one key by its public ID. NotFound if absent.
	APIKey(ctx context.Context, id string) (*APIKey, error)
}

// AuditLog keeps the record of every access.
type AuditLog interface {
	// AppendAudit stores entries, all or none, as the next ones of the log
	// in one total order, and sets their IDs (places) and chain hashes
	// (AuditStamp) — or, on a store that sequences after commit
	// (LogSequencer), leaves them to the sequencer. Inside a transaction,
	// append after the change the entries record, so that two changes to
	// one record are logged in their order.
	AppendAudit(ctx context.Context, entries ...*AuditEntry) error
	// AuditFor lists entries about one citizen, newest first.
	AuditFor(ctx context.Context, pin PIN, limit int) ([]*AuditEntry, error)
}

// Tx is what a transaction can do. Everything written through one Tx
// commits or rolls back together: a change, its history row, its audit
// entry and its outbox event.
type Tx interface {
	CitizenStore
	HistoryStore
	Outbox
	PrincipalStore
	AuditLog
	OIDCStore
	AccountStore
	ConsumerStore
	ProcedureStore
	ChipChallengeStore
	PartnerStore
	ResidenceStore
	LoginSessionStore
	StatsStore
	DocumentStore
	ReconcileStore
	WebhookStore
	StatusSlotStore
	ReconcileLeaseStore
	QuotaStore
	ApplicationStore
	StepCounter
	ReconcileTotalsStore
	TouchedStore
	Savepointer
}

// Savepointer runs part of a transaction so that it can fail alone.
type Savepointer interface {
	// Savepoint runs fn inside a SAVEPOINT of the transaction: when fn
	// returns an error, what fn wrote is rolled back, the error is returned
	// as is and the transaction stays usable for the rest of its work; when
	// fn returns nil, its writes stay and commit (or roll back) with the
	// transaction. Called on a Store, it runs in its own transaction. fn
	// must use only the Tx it is given.
	Savepoint(ctx context.Context, fn func(Tx) error) error
}

// Store is a storage backend. Its Tx methods, called on the Store itself,
// each run in their own short transaction.
type Store interface {
	Tx
	AuditArchive
	QualityStore
	SnapshotStore
	DocumentStatsStore
	// InTx runs fn in one transaction: committed if fn returns nil, rolled
	// back otherwise (the error is returned as is).
	InTx(ctx context.Context, fn func(Tx) error) error
	// BulkInsert writes many new citizens with their first version in the
	// fastest way the backend has (COPY, large transactions), and loaded,
	// when not nil, to the outbox in the same transaction: the batch and
	// the one event that reports it commit together or not at all, so a
	// consumer that rebuilds on a load (reconciliation's index file) never
	// misses one. No event per record. Conflict if a PIN exists.
	BulkInsert(ctx context.Context, versions []*CitizenVersion, loaded *Event) error
	// Ping checks the database answers (for readiness).
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
	MatchScanner
	CitizenDocScanner
	ReconcileRetentionStore
}
