package reconcile

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"strings"

	"github.com/cancuoc/cancuoc"
)

// seenSet is a job's duplicate keys in memory: the 64-bit hash of each
// record ID and PIN read so far, with the line where it was first seen.
// An open-addressing table of 12 bytes a slot (the hash, and the line in
// 32 bits) at most 3/4 full: about 20 bytes a key, 400 MB for the 20
// million keys of a 10-million-record job, where a Go map takes twice that
// and the store's reconcile_seen rows cost the commit most of its time.
//
// Past limit keys the set is full: a key not in it is then the store's
// (MarkSeen), and spilled holds what the store answered for the chunk in
// hand, so that memory stays bounded however large the input.
type seenSet struct {
	limit   int
	spilled map[int64]int64
	hashes  []uint64
	lines   []uint32 // 0: empty slot (input lines start at 1)
	n       int
}

func newSeenSet(limit int) *seenSet {
	return &seenSet{limit: limit, hashes: make([]uint64, 1<<16), lines: make([]uint32, 1<<16)}
}

// slot is where h is or would go.
func (s *seenSet) slot(h uint64) int {
	mask := uint64(len(s.hashes) - 1)
	// The keys are FNV-1a hashes already; mixing the high bits in spreads
	// hashes that differ only there.
	i := (h ^ h>>29) & mask
	for s.lines[i] != 0 && s.hashes[i] != h {
		i = (i + 1) & mask
	}
	return int(i)
}

// add records that h was read at line and returns the line where it was
// first seen (line itself when new), or 0 when the set is full and h is
// not in it.
func (s *seenSet) add(h int64, line int64) (int64, error) {
	if line <= 0 || line > math.MaxUint32 {
		return 0, cancuoc.WithOp("reconcile.seen", errors.New("an input line number is out of the duplicate keys' range"))
	}
	i := s.slot(uint64(h))
	if s.lines[i] != 0 {
		return int64(s.lines[i]), nil
	}
	if s.limit > 0 && s.n >= s.limit {
		return 0, nil
	}
	s.hashes[i], s.lines[i] = uint64(h), uint32(line)
	if s.n++; s.n*4 > len(s.hashes)*3 {
		s.grow()
	}
	return line, nil
}

// first returns the line where h was first seen (0 if never).
func (s *seenSet) first(h int64) int64 {
	if l := s.lines[s.slot(uint64(h))]; l != 0 {
		return int64(l)
	}
	return s.spilled[h]
}

// reserve sizes the table for n keys (at most the bound) at once, so that
// a large job's set does not grow by doubling: each doubling moves every
// key to a random slot of a new table (a cache miss or two a key, some 25
// million moves on the way to 2^25 slots), in the one goroutine that
// commits, and holds the old table beside the new one.
func (s *seenSet) reserve(n int) {
	if s.limit > 0 {
		n = min(n, s.limit)
	}
	size := len(s.hashes)
	for n*4 > size*3 {
		size *= 2
	}
	if size > len(s.hashes) {
		s.resize(size)
	}
}

func (s *seenSet) grow() { s.resize(2 * len(s.hashes)) }

// resize moves the keys to a table of size slots (a power of two).
func (s *seenSet) resize(size int) {
	old, oldLines := s.hashes, s.lines
	s.hashes, s.lines = make([]uint64, size), make([]uint32, size)
	for i, l := range oldLines {
		if l != 0 {
			j := s.slot(old[i])
			s.hashes[j], s.lines[j] = old[i], l
		}
	}
}

// recordKeys are the duplicate keys of a parsed record: its ID when the
// input has IDs and the record one, and its PIN when valid.
func recordKeys(keys []cancuoc.SeenKey, rec *Record, in *Input, hasID bool) []cancuoc.SeenKey {
	if hasID && strings.TrimSpace(rec.Fields[0]) != "" {
		keys = append(keys, cancuoc.SeenKey{Hash: keyHash("id", in.ID), Line: in.Line})
	}
	if in.PIN != "" {
		keys = append(keys, cancuoc.SeenKey{Hash: keyHash("pin", string(in.PIN)), Line: in.Line})
	}
	return keys
}

// rebuildSeen reads the keys of the records before a resumed job's
// checkpoint again from its input (the input is unchanged: its hash was
// checked), so that duplicates across the checkpoint are still flagged
// with the line first seen, exactly as in an uninterrupted run.
func (r *Runner) rebuildSeen(ctx context.Context, job *cancuoc.Reconciliation, hasID bool, limit int) (*seenSet, error) {
	seen := newSeenSet(limit)
	if job.Offset == 0 {
		return seen, nil
	}
	f, err := os.Open(job.Input)
	if err != nil {
		return nil, cancuoc.WithOp("reconcile.Run", err)
	}
	defer f.Close()
	var rd Reader
	if job.Format == FormatJSONL {
		rd = NewJSONLReader(f, 0, 0)
	} else if rd, err = NewCSVReader(f); err != nil {
		return nil, err
	}
	year := r.now().Year()
	var keys []cancuoc.SeenKey
	for n := 0; rd.Offset() < job.Offset; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, cancuoc.WithOp("reconcile.Run", err)
		}
		if rec.Malformed != "" {
			continue
		}
		in, reason := Parse(rec, year)
		if reason != "" {
			continue
		}
		for _, k := range recordKeys(keys[:0], rec, in, hasID) {
			if _, err := seen.add(k.Hash, k.Line); err != nil {
				return nil, err
			}
		}
	}
	if rd.Offset() != job.Offset {
		return nil, cancuoc.WithOp("reconcile.Run", errors.New("the checkpoint is not at a record boundary of the input"))
	}
	return seen, nil
}
