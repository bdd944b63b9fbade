package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"strconv"
	"time"

	"github.com/cancuoc/cancuoc"
)

// IndexFile keeps the registry's index between jobs in a file and brings
// it up to date when a job starts: the file's snapshot (outbox Seq n) plus
// the citizens named by the events after n, read from the registry in one
// snapshot (cancuoc.MatchChangeReader), is the registry as of that read.
// Every change of a citizen commits with its event, so a person changed
// after the file was written is seen by the next job. A bulk import (one
// event for its batch, naming nobody), more changes than MaxChanges, a
// file older than MaxAge (a backstop for writes that bypass the events)
// or a file that cannot be used all make the job scan the registry and
// write the file anew.
type IndexFile struct {
	// Path is the file (written 0600: it copies personal data).
	Path string
	// Key names the registry (e.g. its database); a file written for
	// another key is not used.
	Key string
	// MaxAge is the age of a file's snapshot past which it is rebuilt
	// (DefaultIndexMaxAge when 0).
	MaxAge time.Duration
	// MaxChanges is the number of changed citizens past which the file
	// is rebuilt rather than patched in memory (when 0: 1% of the
	// people, at least 10,000).
	MaxChanges int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// DefaultIndexMaxAge: a day, so that even a change that left no event is
// seen within a day. None is known: every change of a citizen commits with
// its event, and a bulk import with its one event (cancuoc.Store's
// BulkInsert); the limit is a backstop for writes made outside cancuoc.
const DefaultIndexMaxAge = 24 * time.Hour

// indexStore is what IndexFile needs of the store.
type indexStore interface {
	cancuoc.MatchScanner
	cancuoc.MatchChangeReader
}

// Open returns the registry's current index and says where it came from
// (for the operator): the file with the changes since applied, or a scan,
// then saved. A file that cannot be saved leaves the scan's index in use
// and is reported in the origin, not as an error.
func (f *IndexFile) Open(ctx context.Context, s indexStore) (*Index, error) {
	ix, why := f.load()
	if ix != nil {
		ch, err := s.MatchChanges(ctx, ix.Seq, f.maxChanges(ix.Len()))
		if err != nil {
			return nil, err
		}
		if !ch.Rescan {
			out, err := ix.withChanges(ch)
			if err != nil {
				return nil, err
			}
			out.Origin = fmt.Sprintf("index file %s of %s, %d changed citizens applied", f.Path,
				ix.At.UTC().Format(time.RFC3339), len(ch.Records)+len(ch.Gone))
			return out, nil
		}
		why = "the registry changed too much since it was written (bulk import or more than the limit)"
	}
	ix, err := BuildIndex(ctx, s)
	if err != nil {
		return nil, err
	}
	ix.Origin = "scan of the registry (" + why + "); saved to " + f.Path
	if err := SaveIndex(f.Path, f.Key, ix); err != nil {
		ix.Origin = "scan of the registry (" + why + "); not saved: " + err.Error()
	}
	return ix, nil
}

// load reads the file, or says why it is not used.
func (f *IndexFile) load() (*Index, string) {
	ix, err := LoadIndex(f.Path, f.Key)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, "no index file yet"
	case err != nil:
		return nil, err.Error()
	}
	now, maxAge := time.Now, f.MaxAge
	if f.Now != nil {
		now = f.Now
	}
	if maxAge <= 0 {
		maxAge = DefaultIndexMaxAge
	}
	if age := now().Sub(ix.At); age > maxAge {
		return nil, "the index file is " + age.Round(time.Second).String() + " old"
	}
	return ix, ""
}

func (f *IndexFile) maxChanges(people int) int {
	if f.MaxChanges > 0 {
		return f.MaxChanges
	}
	return max(10000, people/100)
}

// withChanges returns ix brought up to date by ch: the changed citizens'
// records in a small index on top (sharing nothing with ix, which stays
// as it was), and their old entries in ix marked gone.
func (ix *Index) withChanges(ch cancuoc.MatchChanges) (*Index, error) {
	out := *ix
	out.At, out.Seq = ch.At, ch.Seq
	if len(ch.Records)+len(ch.Gone) == 0 {
		return &out, nil
	}
	b := newBuilder()
	if err := b.add(ch.Records); err != nil {
		return nil, err
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	out.top = b.ix
	out.gone = make([]uint64, (len(ix.people)+63)/64)
	mark := func(p cancuoc.PIN) {
		if n, err := strconv.ParseUint(string(p), 10, 64); err == nil && len(p) == 12 {
			if i := ix.find(n); i >= 0 {
				out.gone[i>>6] |= 1 << (i & 63)
			}
		}
	}
	for _, r := range ch.Records {
		mark(r.PIN)
	}
	for _, p := range ch.Gone {
		mark(p)
	}
	return &out, nil
}

// goneCount is the number of people of ix replaced or removed by the
// changes on top.
func (ix *Index) goneCount() int {
	n := 0
	for _, w := range ix.gone {
		n += bits.OnesCount64(w)
	}
	return n
}
