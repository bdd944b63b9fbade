package cancuoc

import (
	"context"
	"encoding/json"
	"time"
)

// ProcedureKind is a group of interlinked procedures (Decree 63/2024).
type ProcedureKind string

// Procedure kinds.
const (
	ProcedureBirth ProcedureKind = "birth"
	ProcedureDeath ProcedureKind = "death"
)

// ProcedureStatus is where a file stands as a whole.
type ProcedureStatus string

// Procedure statuses. A file is open until every step is done (completed)
// or, after a step was sent back to the applicant, the 7 working days to
// supply what is missing pass without a resubmission (refused).
const (
	ProcedureOpen      ProcedureStatus = "open"
	ProcedureCompleted ProcedureStatus = "completed"
	ProcedureRefused   ProcedureStatus = "refused"
)

// StepStatus is where one step (an agency's task) stands.
type StepStatus string

// Step statuses: a task waits in its agency's queue (pending), is taken by
// one agency client (claimed), and ends done (completed); rejected sends it
// back to the applicant for a missing document, and resubmitting puts it
// back in the queue. A step of a refused file is cancelled.
const (
	StepPending   StepStatus = "pending"
	StepClaimed   StepStatus = "claimed"
	StepCompleted StepStatus = "completed"
	StepRejected  StepStatus = "rejected"
	StepCancelled StepStatus = "cancelled"
)

// Procedure is one file: a kind, its applicant, the application as
// submitted and where it stands. Its steps are kept apart (ProcedureStep),
// so that agencies claim and complete them without contending on the file.
type Procedure struct {
	ID     string          `json:"id"`
	Kind   ProcedureKind   `json:"kind"`
	Status ProcedureStatus `json:"status"`
	// Applicant is who submitted (a parent, a relative of the deceased).
	Applicant PIN `json:"applicant"`
	// Subject is the citizen the file is about: the child once the birth
	// is registered, the deceased.
	Subject PIN `json:"subject,omitempty"`
	// Province and Commune are where the file is handled, in today's
	// units: they decide which officers see it and the statistics.
	Province string `json:"province"`
	Commune  string `json:"commune"`
	// Online is true when the applicant submitted through the portal, false
	// when an officer entered it at the counter.
	Online      bool            `json:"online"`
	SubmittedBy string          `json:"submitted_by"`
	Application json.RawMessage `json:"application"`
	SubmittedAt time.Time       `json:"submitted_at"`
	// Deadline is when the whole chain is due: set at receipt, as the
	// chain's limit in working days (the law's for the kind, e.g. 3 for a
	// birth) with the 15:00 rule, and set again only on a resubmission,
	// from it, over the steps left. It tells the applicant when to expect
	// the outcome; passing it refuses nothing (agencies' delays are
	// flagged as overdue).
	Deadline time.Time `json:"deadline"`
	// ResubmitBy, while a step is sent back to the applicant, is when the
	// file is refused unless it is resubmitted: 7 working days after the
	// rejection (Decree 63/2024). Cleared on resubmission.
	ResubmitBy *time.Time `json:"resubmit_by,omitempty"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	// Outcome says why a refused file was refused.
	Outcome string `json:"outcome,omitempty"`
	Version int64  `json:"version"`
}

// ProcedureStep is one agency's task in a file.
type ProcedureStep struct {
	ProcedureID string        `json:"procedure_id"`
	No          int           `json:"no"` // 1, 2, 3… in the order of the chain
	Name        string        `json:"name"`
	Agency      string        `json:"agency"`
	Status      StepStatus    `json:"status"`
	Kind        ProcedureKind `json:"kind"` // the file's, for queues and statistics
	// Province and Commune are where the step's agency acts: the file's
	// place, but for a newborn's residence the commune of the parent's
	// household, whose police register it.
	Province    string    `json:"province"`
	Commune     string    `json:"commune"`
	SubmittedAt time.Time `json:"submitted_at"` // the file's
	CreatedAt   time.Time `json:"created_at"`   // when the task entered the queue
	// Due is when the agency must have acted: its limit in working days
	// from entering the queue, or from the last resubmission.
	Due         time.Time  `json:"due"`
	ClaimedBy   string     `json:"claimed_by,omitempty"`
	ClaimedAt   *time.Time `json:"claimed_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// RejectedAt is when the step was sent back to the applicant, while it
	// waits for them (cleared on resubmission).
	RejectedAt *time.Time `json:"rejected_at,omitempty"`
	// ResubmittedAt is the last resubmission: the step's duration and its
	// Due count from it, so the applicant's time is not the agency's.
	ResubmittedAt *time.Time `json:"resubmitted_at,omitempty"`
	// CancelledAt is when the step was cancelled (its file refused).
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	// Late records that the agency once settled the step (completed or
	// sent it back) after its Due: kept through a resubmission, which
	// gives the step a new Due, so that the agency's delay stays counted.
	Late bool `json:"late,omitempty"`
	// Rejection tells the applicant what to supply; kept after a
	// resubmission for the record.
	Rejection string `json:"rejection,omitempty"`
	// Rejections counts how often the step went back to the applicant.
	Rejections int `json:"rejections,omitempty"`
	// Result is what the step produced (a PIN, a certificate or card number).
	Result  json.RawMessage `json:"result,omitempty"`
	Version int64           `json:"version"`
}

// IssuedDocument is a document a procedure issued: an electronic birth
// certificate, a health-insurance card, an allowance decision. One of each
// kind per citizen, and numbers unique per kind: the database enforces it,
// so a retried step can never issue a second one.
type IssuedDocument struct {
	Kind        string    `json:"kind"`
	Number      string    `json:"number"`
	PIN         PIN       `json:"pin"`
	ProcedureID string    `json:"procedure_id"`
	IssuedAt    time.Time `json:"issued_at"`
}

// IdempotentRequest is the answer given to a request carrying an
// Idempotency-Key, kept so that a retry gets the same answer and does not
// repeat the effect. It is written in the transaction of the effect.
type IdempotentRequest struct {
	Principal string    `json:"principal"`
	Key       string    `json:"key"`
	Hash      []byte    `json:"hash"` // of the request, to refuse a key reused for another request
	Status    int       `json:"status"`
	Body      []byte    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// ProcedureQuery selects files; every set field must match. Results are by
// ID (IDs grow with submission time), after AfterID.
type ProcedureQuery struct {
	Applicant     PIN
	Kind          ProcedureKind
	Statuses      []ProcedureStatus
	Province      string
	SubmittedFrom time.Time // inclusive
	SubmittedTo   time.Time // exclusive
	// ResubmitByBefore keeps the files whose ResubmitBy is set and before it.
	ResubmitByBefore time.Time
	AfterID          string
	Limit            int
}

// StepQuery selects steps; every set field must match. Results are by
// (ProcedureID, No), after (AfterProcedure, AfterNo).
type StepQuery struct {
	ProcedureID    string
	Agency         string
	Kind           ProcedureKind
	Statuses       []StepStatus
	Province       string
	Commune        string
	SubmittedFrom  time.Time
	SubmittedTo    time.Time
	AfterProcedure string
	AfterNo        int
	Limit          int
	// ReclaimableBy keeps, of the steps selected, those a claim by this
	// principal may take although claimed: claimed by it, without a claim
	// time, or claimed at or before ClaimedBefore (the lease has ended).
	// The store may keep some claimed up to a millisecond after
	// ClaimedBefore (it compares times as SQL sees them); the caller checks
	// the lease again. A claim filtered them after reading every claimed
	// task of the queue, decoding each.
	ReclaimableBy string
	ClaimedBefore time.Time
	// ForClaim, inside a transaction, locks the steps returned until the
	// transaction ends and passes over steps another transaction has
	// locked (PostgreSQL's FOR UPDATE SKIP LOCKED), so that clients
	// claiming from the same queue at once take different steps instead of
	// waiting for each other and losing on the version. A store with one
	// writer at a time (SQLite) needs nothing for it.
	ForClaim bool
}

// ProcedureStore keeps interlinked procedures, their steps, the documents
// they issue and the answers to idempotent requests.
type ProcedureStore interface {
	// InsertProcedure stores a new file at its Version. Conflict
	// ("duplicate") if the ID exists.
	InsertProcedure(ctx context.Context, p *Procedure) error
	// Procedure returns one file. NotFound if absent.
	Procedure(ctx context.Context, id string) (*Procedure, error)
	// UpdateProcedure replaces the file if its stored version is still prev.
	// Conflict ("stale_version") otherwise; NotFound if absent.
	UpdateProcedure(ctx context.Context, p *Procedure, prev int64) error
	// Procedures lists files matching q (Limit 0 means 100).
	Procedures(ctx context.Context, q ProcedureQuery) ([]*Procedure, error)
	// InsertStep stores a new step. Conflict ("step_exists") when the file
	// has a step with that number; the transaction stays usable, so an
	// event handler delivered twice can treat it as done.
	InsertStep(ctx context.Context, s *ProcedureStep) error
	// Step returns one step. NotFound if absent.
	Step(ctx context.Context, procedureID string, no int) (*ProcedureStep, error)
	// UpdateStep replaces the step if its stored version is still prev.
	// Conflict ("stale_version") otherwise; NotFound if absent.
	UpdateStep(ctx context.Context, s *ProcedureStep, prev int64) error
	// UpdateSteps replaces each step of ss if its stored version is still
	// the prev of the same index, all or none: Conflict ("stale_version")
	// if one has another version, NotFound if one is absent, and then none
	// is written and the transaction stays usable. A batch claim's tasks
	// are one write (PostgreSQL: one statement) rather than one each.
	UpdateSteps(ctx context.Context, ss []*ProcedureStep, prev []int64) error
	// Steps lists steps matching q (Limit 0 means 100).
	Steps(ctx context.Context, q StepQuery) ([]*ProcedureStep, error)
	// InsertIssuedDocument stores an issued document. Conflict
	// ("document_exists") if the citizen already has one of that kind or the
	// number is taken; the transaction stays usable.
	InsertIssuedDocument(ctx context.Context, d *IssuedDocument) error
	// IssuedDocuments lists the documents issued to a citizen, by kind.
	IssuedDocuments(ctx context.Context, pin PIN) ([]*IssuedDocument, error)
	// SaveRequest stores an idempotent request's answer. Conflict
	// ("duplicate") if (Principal, Key) exists.
	SaveRequest(ctx context.Context, r *IdempotentRequest) error
	// Request returns a stored answer. NotFound if absent.
	Request(ctx context.Context, principal, key string) (*IdempotentRequest, error)
}

// CheckStepVersions is the stores' check of UpdateSteps's arguments: one
// previous version per step. A mismatch is the caller's bug, not the
// data's, hence Internal (answered as the code "internal").
func CheckStepVersions(op string, ss []*ProcedureStep, prev []int64) error {
	if len(ss) != len(prev) {
		return E(Internal, op, "internal", "Lỗi nội bộ: mỗi bước cần đúng một phiên bản trước.",
			"Internal error: UpdateSteps needs one previous version per step.")
	}
	return nil
}
