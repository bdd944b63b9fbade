package cancuoc

import (
	"context"
	"time"
)

// MatchScanner streams the registry's match columns, for reconciliation's
// in-memory index (package reconcile): one scan per job instead of one
// query per chunk.
type MatchScanner interface {
	// ScanMatchRecords calls fn with every registry record's match
	// columns (as MatchRecords returns them, without card numbers), in
	// batches of up to batch records, in no particular order, all read
	// from one consistent snapshot of the registry. It returns the time of
	// that snapshot: changes committed after it are not seen. The batch
	// slice is reused after fn returns; fn copies what it keeps. An error
	// of fn stops the scan and is returned as is.
	ScanMatchRecords(ctx context.Context, batch int, fn func([]MatchRecord) error) (time.Time, error)
}

// CitizenDocScanner streams every current record's document, for the
// partner match projection (package partner), which keeps in memory the
// few fields a match check compares.
type CitizenDocScanner interface {
	// ScanCitizenDocs calls fn with every current record (PIN, version,
	// home unit, JSON document as CitizenDoc returns it), in batches of up
	// to batch, in no particular order, all read from one consistent
	// snapshot of the registry. It returns the highest outbox Seq visible
	// in that snapshot: the change of every event up to it is in the scan,
	// so a consumer that re-reads the citizens of later events misses
	// nothing. The batch slice and the documents' bytes are reused after fn
	// returns; fn copies what it keeps. An error of fn stops the scan and
	// is returned as is.
	ScanCitizenDocs(ctx context.Context, batch int, fn func([]CitizenDoc) error) (int64, error)
}
