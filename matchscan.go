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
	// from one consistent snapshot of the registry. It returns that
	// snapshot's time (changes committed after it are not seen) and the
	// highest outbox Seq in it (MatchSnapshot). The batch slice is reused
	// after fn returns; fn copies what it keeps. An error of fn stops the
	// scan and is returned as is.
	ScanMatchRecords(ctx context.Context, batch int, fn func([]MatchRecord) error) (MatchSnapshot, error)
}

// MatchSnapshot is the registry state a scan or a change read saw.
type MatchSnapshot struct {
	// At is the snapshot's time: changes committed after it are not in it.
	At time.Time
	// Seq is the highest outbox Seq visible in the snapshot. Every change
	// of a citizen commits with its event (sequenced after the commit,
	// in commit order), so a change that is not in the snapshot has an
	// event with a higher Seq: reading the citizens named by the events
	// after Seq (and by those not yet sequenced) brings a copy of the
	// snapshot up to date (MatchChangeReader).
	Seq int64
}

// MatchChanges is what changed in the registry's match columns since a
// snapshot (MatchChangeReader.MatchChanges).
type MatchChanges struct {
	MatchSnapshot
	// Records are the current match columns (without card numbers) of the
	// citizens named by the events after the old Seq, sequenced or not.
	Records []MatchRecord
	// Gone are the PINs named by those events that have no record now.
	Gone []PIN
	// Rescan is set when the events cannot say which citizens changed: a
	// bulk import (one event without a PIN for its batch), or more
	// citizens named than the limit asked for. Records and Gone are then
	// empty, and the caller scans the registry again.
	Rescan bool
}

// MatchChangeReader reads the changes since a MatchSnapshot, so that a
// copy of the registry's match columns kept between jobs (reconcile's
// index snapshot) need not scan the whole registry again.
type MatchChangeReader interface {
	// MatchChanges returns, all read from one consistent snapshot of the
	// registry: its MatchSnapshot, and the match records of the citizens
	// named by the outbox events with Seq > after or not yet sequenced
	// (up to limit distinct PINs; more sets Rescan). Applying them to a
	// copy taken at Seq after gives the registry as of the returned At.
	MatchChanges(ctx context.Context, after int64, limit int) (MatchChanges, error)
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

// MissingPINs lists the PINs that have no record among recs (for
// MatchChanges.Gone).
func MissingPINs(pins []PIN, recs []MatchRecord) []PIN {
	if len(recs) == len(pins) {
		return nil
	}
	have := make(map[PIN]bool, len(recs))
	for _, r := range recs {
		have[r.PIN] = true
	}
	var gone []PIN
	for _, p := range pins {
		if !have[p] {
			gone = append(gone, p)
		}
	}
	return gone
}
