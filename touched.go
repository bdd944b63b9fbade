package cancuoc

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// Compact access-log entries of bulk jobs.
//
// A bulk reconciliation touches millions of citizens. Instead of one
// chained entry per citizen, each chunk of a job appends ONE chained entry
// (actor, action, fields, purpose and period as usual, no PIN) whose
// outcome names the chunk's touched block: the job, the chunk number, the
// number of citizens and the SHA-256 of the block, the sorted list of their
// PINs packed in 5 bytes each (12 digits < 2^40). The block itself is kept
// beside the log (reconcile_touched), split by PIN prefix so that a
// citizen's query finds the few segments that may hold their PIN by one
// index lookup and a binary search in each, not by a scan. The entry's hash
// covers the block's hash, so an altered, removed or swapped block breaks
// the entry's block check in `cancuoc audit verify` like an altered entry.
// A citizen's access log (AuditSearch/AuditFor by PIN) lists the block
// entries whose block holds their PIN, as they are stored (so that their
// chain hash and inclusion proof verify).

// TouchedPrefix starts the outcome of a block entry.
const TouchedPrefix = "touched:"

// TouchedAction is the action of a block entry: the one of a
// reconciliation touching a citizen.
const TouchedAction = "citizen.reconcile"

// TouchedPINSize is the packed size of a PIN in a block.
const TouchedPINSize = 5

// touchedBucketDiv splits a block into segments by the PIN's first four
// digits (region and century/sex): some 250 segments for a national chunk,
// a few hundred PINs each.
const touchedBucketDiv = 100_000_000

// TouchedBlock is the sorted, packed PIN list of one chunk of a bulk job.
type TouchedBlock struct {
	Job   string `json:"job"`
	Chunk int64  `json:"chunk"`
	Pins  []byte `json:"pins"` // sorted, distinct, TouchedPINSize bytes each (big endian)
}

// PINNumber is a well-formed PIN as a number (ok false otherwise).
func PINNumber(p PIN) (uint64, bool) {
	if len(p) != 12 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p), 10, 64)
	return n, err == nil
}

// NewTouchedBlock packs pins (any order, repeats allowed; malformed ones
// are skipped: they name nobody).
func NewTouchedBlock(job string, chunk int64, pins []PIN) *TouchedBlock {
	ns := make([]uint64, 0, len(pins))
	for _, p := range pins {
		if n, ok := PINNumber(p); ok {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	ns = slices.Compact(ns)
	b := make([]byte, len(ns)*TouchedPINSize)
	for i, n := range ns {
		putPIN(b[i*TouchedPINSize:], n)
	}
	return &TouchedBlock{Job: job, Chunk: chunk, Pins: b}
}

func putPIN(b []byte, n uint64) {
	var x [8]byte
	binary.BigEndian.PutUint64(x[:], n)
	copy(b, x[3:])
}

func getPIN(b []byte) uint64 {
	var x [8]byte
	copy(x[3:], b[:TouchedPINSize])
	return binary.BigEndian.Uint64(x[:])
}

// Len is the number of PINs in the block.
func (b *TouchedBlock) Len() int { return len(b.Pins) / TouchedPINSize }

// Sum is the SHA-256 of the packed block.
func (b *TouchedBlock) Sum() []byte { s := sha256.Sum256(b.Pins); return s[:] }

// Outcome is the outcome of the block's access-log entry:
// "touched:JOB:CHUNK:COUNT:SHA256HEX".
func (b *TouchedBlock) Outcome() string {
	return TouchedPrefix + b.Job + ":" + strconv.FormatInt(b.Chunk, 10) + ":" + strconv.Itoa(b.Len()) + ":" +
		hex.EncodeToString(b.Sum())
}

// TouchedRef is what a block entry's outcome says of its block.
type TouchedRef struct {
	Job   string
	Chunk int64
	Count int
	Sum   []byte
}

// ParseTouched reads a block entry's reference (ok false when e is not a
// block entry).
func ParseTouched(e *AuditEntry) (TouchedRef, bool) {
	if e.PIN != "" || e.Action != TouchedAction || !strings.HasPrefix(e.Outcome, TouchedPrefix) {
		return TouchedRef{}, false
	}
	parts := strings.Split(strings.TrimPrefix(e.Outcome, TouchedPrefix), ":")
	if len(parts) != 4 || parts[0] == "" {
		return TouchedRef{}, false
	}
	chunk, err1 := strconv.ParseInt(parts[1], 10, 64)
	count, err2 := strconv.Atoi(parts[2])
	sum, err3 := hex.DecodeString(parts[3])
	if err1 != nil || err2 != nil || err3 != nil || len(sum) != sha256.Size || count < 0 {
		return TouchedRef{}, false
	}
	return TouchedRef{Job: parts[0], Chunk: chunk, Count: count, Sum: sum}, true
}

// Matches tells whether b is the block ref names.
func (ref TouchedRef) Matches(b *TouchedBlock) bool {
	if b == nil || b.Job != ref.Job || b.Chunk != ref.Chunk || len(b.Pins)%TouchedPINSize != 0 || b.Len() != ref.Count {
		return false
	}
	s := sha256.Sum256(b.Pins)
	return string(s[:]) == string(ref.Sum)
}

// TouchedSegment is a part of a block: the PINs of one prefix bucket.
type TouchedSegment struct {
	Bucket         int64
	PinMin, PinMax int64
	Pins           []byte
}

// TouchedBucket is the segment bucket of a PIN number.
func TouchedBucket(n uint64) int64 { return int64(n / touchedBucketDiv) }

// Segments splits the block by bucket, in PIN order; concatenated they
// are the block again.
func (b *TouchedBlock) Segments() []TouchedSegment {
	var out []TouchedSegment
	for i := 0; i < len(b.Pins); i += TouchedPINSize {
		n := getPIN(b.Pins[i:])
		bk := TouchedBucket(n)
		if len(out) == 0 || out[len(out)-1].Bucket != bk {
			out = append(out, TouchedSegment{Bucket: bk, PinMin: int64(n), Pins: b.Pins[i : i+TouchedPINSize]})
		} else {
			s := &out[len(out)-1]
			s.Pins = s.Pins[:len(s.Pins)+TouchedPINSize]
		}
		out[len(out)-1].PinMax = int64(n)
	}
	return out
}

// TouchedHas tells whether a packed, sorted PIN list holds n (binary
// search).
func TouchedHas(pins []byte, n uint64) bool {
	k := len(pins) / TouchedPINSize
	i, j := 0, k
	for i < j {
		h := int(uint(i+j) >> 1)
		if getPIN(pins[h*TouchedPINSize:]) < n {
			i = h + 1
		} else {
			j = h
		}
	}
	return i < k && getPIN(pins[i*TouchedPINSize:]) == n
}

// TouchedStore keeps the touched blocks that compact access-log entries
// name. Blocks are part of the access log: they are never deleted.
type TouchedStore interface {
	// AppendTouched stores a block (with the entry naming it, in the same
	// transaction). Conflict if the job's chunk has one.
	AppendTouched(ctx context.Context, b *TouchedBlock) error
	// TouchedBlock returns the stored block of a job's chunk, its segments
	// concatenated in PIN order. NotFound if it has none.
	TouchedBlock(ctx context.Context, job string, chunk int64) (*TouchedBlock, error)
}
