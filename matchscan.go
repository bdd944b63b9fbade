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
