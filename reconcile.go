package cancuoc

import (
	"context"
	"time"
)

// ReconcileStore is what bulk reconciliation of a partner's records needs
// from the store: the identity columns of many records at once, candidates
// by blocking keys, and durable jobs with their checkpoints.
type ReconcileStore interface {
	// MatchRecords returns the records of the given PINs that exist, in one
	// query, in no particular order; unknown PINs are simply absent. Card
	// numbers are read (from the document) only when cards is set.
	MatchRecords(ctx context.Context, pins []PIN, cards bool) ([]MatchRecord, error)
	// MatchCandidates returns, for each probe, the records whose stored
	// birth year, month and day equal the probe's (0 meaning unknown on both
	// sides: the caller expands a date into the stored forms it may match)
	// and whose name key has the probe's token as its last word (ByFirst
	// false) or first word (ByFirst true). Rows carry the probe's Ref; a
	// record found by several probes appears once per probe. At most limit
	// rows per probe (0: no bound). Card numbers and FullName are not read.
	MatchCandidates(ctx context.Context, probes []MatchProbe, limit int) ([]MatchCandidate, error)

	// CreateReconciliation stores a new job. Conflict if the ID exists.
	CreateReconciliation(ctx context.Context, r *Reconciliation) error
	// Reconciliation returns one job. NotFound if absent.
	Reconciliation(ctx context.Context, id string) (*Reconciliation, error)
	// RunningReconciliations lists the jobs whose status is running (and so
	// were stopped, or are being run), oldest first, for a server to resume
	// them when it starts.
	RunningReconciliations(ctx context.Context) ([]*Reconciliation, error)
	// CheckpointReconciliation stores the job's progress (status, offsets,
	// line, counts, error, updated time). NotFound if the job is absent.
	CheckpointReconciliation(ctx context.Context, r *Reconciliation) error
	// MarkSeen records the keys (hashes of record IDs and PINs) a job has
	// read, and returns those it had recorded before, with the line where
	// each was first seen: the duplicates. Keys repeated inside one call are
	// returned too (the first occurrence in the call wins).
	MarkSeen(ctx context.Context, job string, keys []SeenKey) ([]SeenKey, error)
}

// MatchRecord is what reconciliation compares of a registry record: the
// identity and the indexed columns, never the whole document.
type MatchRecord struct {
	PIN        PIN
	FullName   string // empty from MatchCandidates
	NameKey    string
	BirthDate  Date
	Sex        Sex
	LifeStatus LifeStatus
	Home       UnitRef
	Cards      []string // card numbers and the old ID number, when asked
}

// MatchProbe is one blocking probe of MatchCandidates.
type MatchProbe struct {
	Ref     int // the caller's reference (the input record's index)
	Date    Date
	Token   string
	ByFirst bool
}

// MatchCandidate is a record found by a probe.
type MatchCandidate struct {
	Ref int
	MatchRecord
}

// SeenKey is a key a reconciliation job has read: a 64-bit hash of a record
// ID or a PIN, and the input line where it was (first) seen.
type SeenKey struct {
	Hash int64
	Line int64
}

// Reconciliation job statuses.
const (
	ReconRunning = "running"
	ReconDone    = "done"
	ReconFailed  = "failed"
)

// Reconciliation is a bulk reconciliation job: a partner's (or an
// operator's) input file matched against the registry in chunks, with its
// report written as it goes. Offset, Line and ReportSize are the checkpoint:
// the input up to Offset (line Line) is fully reported in the first
// ReportSize bytes of the report, and a resumed job starts there.
type Reconciliation struct {
	ID         string           `json:"id"`
	Owner      string           `json:"owner"` // principal (or partner) ID; "console" for the CLI
	Input      string           `json:"-"`     // path of the input file (server-side)
	Report     string           `json:"-"`     // path of the report file (server-side)
	InputHash  string           `json:"input_sha256"`
	InputSize  int64            `json:"input_size"`
	Format     string           `json:"format"`        // "csv" or "jsonl"
	ReportFmt  string           `json:"report_format"` // "csv" or "jsonl"
	Reveal     []string         `json:"reveal,omitempty"`
	Status     string           `json:"status"`
	Offset     int64            `json:"offset"`
	Line       int64            `json:"line"`
	ReportSize int64            `json:"report_size"`
	Counts     map[string]int64 `json:"counts"`
	Error      string           `json:"error,omitempty"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
}
