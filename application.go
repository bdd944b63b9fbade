package cancuoc

import (
	"context"
	"encoding/json"
	"time"
)

// ApplicationKind is what a citizen applies for online.
type ApplicationKind string

// The kinds of application. Each is decided by the officers of one place
// and, once approved, carried out by its own capability (residence, eid,
// registry).
const (
	AppTemporaryResidence ApplicationKind = "temporary_residence" // Law on Residence art. 27–28
	AppPermanentResidence ApplicationKind = "permanent_residence" // a new household, or joining one (art. 20–22)
	AppEIDLevel2          ApplicationKind = "eid_level2"          // Decree 69/2024: level 2 after an in-person check
	AppCorrection         ApplicationKind = "correction"          // a correction of the citizen's record, with a reason
)

// ApplicationKinds lists the kinds, in the order pages show them.
var ApplicationKinds = []ApplicationKind{AppTemporaryResidence, AppPermanentResidence, AppEIDLevel2, AppCorrection}

// ApplicationStatus is where an application stands. Submitted is the only
// open status; the others are final.
type ApplicationStatus string

// Application statuses.
const (
	AppSubmitted ApplicationStatus = "submitted"
	AppApproved  ApplicationStatus = "approved"
	AppRejected  ApplicationStatus = "rejected"
	AppWithdrawn ApplicationStatus = "withdrawn"
)

// Application is a request a citizen files online (for themself, or as the
// parent or guardian of a minor) and an officer of the deciding place
// approves or rejects with a reason. Unit is that place, in today's units:
// the destination for residence, the person's home for corrections and
// level 2. Payload is the kind's typed request as JSON (see the
// application package). Due is the legal time limit in working days from
// filing. Version is optimistic: every change names the version it read.
type Application struct {
	ID      string            `json:"id"`
	Version int64             `json:"version"`
	Kind    ApplicationKind   `json:"kind"`
	Status  ApplicationStatus `json:"status"`
	PIN     PIN               `json:"pin"`      // whom it is about
	FiledBy PIN               `json:"filed_by"` // the applicant: PIN itself, or a parent or guardian
	// FiledAccount is the applicant's eID account.
	FiledAccount string          `json:"filed_account"`
	Unit         UnitRef         `json:"unit"`
	Payload      json.RawMessage `json:"payload"`
	FiledAt      time.Time       `json:"filed_at"`
	Due          time.Time       `json:"due"`
	// DecidedBy (a principal ID, or the applicant's eID principal for a
	// withdrawal), DecidedAt and Reason record the decision; Reason says,
	// for a refusal, what the applicant must supply.
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	// Result names what an approval created (a household's ID), if any.
	Result    string    `json:"result,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Open reports whether the application still awaits a decision.
func (a *Application) Open() bool { return a.Status == AppSubmitted }

// Overdue reports whether an open application is past its due time at now.
func (a *Application) Overdue(now time.Time) bool { return a.Open() && now.After(a.Due) }

// ApplicationQuery selects applications for an officer's queue or a
// citizen's list. Empty fields do not filter. Results are ordered by due
// time, then ID; AfterDue/AfterID continue a page.
type ApplicationQuery struct {
	Province, Commune string // the deciding place (today's units)
	// Person lists applications about or filed by this PIN.
	Person   PIN
	Kinds    []ApplicationKind
	Statuses []ApplicationStatus
	// DueBefore keeps applications due strictly before it (overdue ones,
	// with Statuses = submitted and DueBefore = now).
	DueBefore time.Time
	AfterDue  time.Time
	AfterID   string
	Limit     int
}

// ApplicationCount is how many applications of one kind a unit received,
// approved and rejected, and how many are open past their due time.
type ApplicationCount struct {
	Kind                                  ApplicationKind
	Province, Commune                     string
	Received, Approved, Rejected, Overdue int64
}

// ApplicationStore keeps citizens' applications (migration 00016).
type ApplicationStore interface {
	// InsertApplication stores a new application; Conflict "duplicate" if
	// its ID exists.
	InsertApplication(ctx context.Context, a *Application) error
	// Application returns one; NotFound "application_not_found".
	Application(ctx context.Context, id string) (*Application, error)
	// UpdateApplication replaces the application stored at version prev
	// with a (whose Version is the next); Conflict "stale_version" if it
	// moved on, NotFound if absent. Inside a transaction the row stays
	// locked to its end, so a racing decision waits and then fails.
	UpdateApplication(ctx context.Context, a *Application, prev int64) error
	// Applications lists applications matching q, by due time then ID.
	Applications(ctx context.Context, q ApplicationQuery) ([]*Application, error)
	// CountApplications counts applications by kind and deciding unit
	// (by province nationally, by commune in a province); overdue means
	// open with a due time before now.
	CountApplications(ctx context.Context, province string, now time.Time) ([]ApplicationCount, error)
}

// ErrApplicationNotFound is the answer for an unknown application.
func ErrApplicationNotFound(op string) error {
	return E(NotFound, op, "application_not_found", "Không tìm thấy hồ sơ đề nghị.", "No such application.")
}
