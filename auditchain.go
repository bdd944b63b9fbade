package cancuoc

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// The access log is tamper-evident in two ways, both computed from the
// canonical encoding below:
//
//   - a hash chain: entry n stores SHA-256(hash of entry n-1 ‖ encoding of
//     entry n), so changing, removing or reordering a stored entry breaks
//     the chain at that entry and a verifier can name it;
//   - a Merkle tree over the same encodings (RFC 9162 hashing, see package
//     auditlog), whose signed tree heads let anyone holding an old head
//     check that the log only grew.
//
// The chain is assigned by the store inside AppendAudit, where the entries'
// total order is decided; the tree is built afterwards by the auditlog
// package from what the stores keep.

// AuditHashSize is the size of every hash of the access log (SHA-256).
const AuditHashSize = sha256.Size

// auditEncodingVersion starts every canonical encoding, so a future change
// of the encoding cannot be confused with this one.
const auditEncodingVersion = 1

// AuditCanonical returns the canonical encoding of e: a version byte, the
// sequence number (ID) and time (Unix microseconds, the precision both
// databases keep) as 8 big-endian bytes each, then actor, action, PIN, the
// field names and purpose and outcome, each string prefixed by its length as
// an unsigned varint. Length prefixes make it unambiguous, which a text
// format with separators is not when the strings may hold the separator. A
// nil and an empty field list encode alike, since the databases do not keep
// the difference.
func AuditCanonical(e *AuditEntry) []byte {
	n := 1 + 16 + 6*binary.MaxVarintLen64 + len(e.Actor) + len(e.Action) + len(e.PIN) + len(e.Purpose) + len(e.Outcome)
	for _, f := range e.Fields {
		n += binary.MaxVarintLen64 + len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, auditEncodingVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(e.ID))
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixMicro()))
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(e.Actor)
	str(e.Action)
	str(string(e.PIN))
	b = binary.AppendUvarint(b, uint64(len(e.Fields)))
	for _, f := range e.Fields {
		str(f)
	}
	str(e.Purpose)
	str(e.Outcome)
	return b
}

// AuditChainHash returns the chain hash of e given the chain hash of the
// entry before it (nil or AuditGenesis for the first entry):
// SHA-256(prev ‖ AuditCanonical(e)).
func AuditChainHash(prev []byte, e *AuditEntry) []byte {
	if prev == nil {
		prev = AuditGenesis[:]
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(AuditCanonical(e))
	return h.Sum(nil)
}

// AuditGenesis is the "previous hash" of the first entry of the log.
var AuditGenesis [AuditHashSize]byte

// AuditStamp prepares entries for AppendAudit: it gives them the sequence
// numbers after last and chains their hashes from lastHash. Their times are
// cut to microseconds first, since the databases keep no more (and
// PostgreSQL would round, not cut), so the hash covers what is stored.
// Stores call it while holding the log's order (a lock or the single
// writer).
func AuditStamp(last int64, lastHash []byte, entries []*AuditEntry) {
	prev := lastHash
	for i, e := range entries {
		e.ID = last + int64(i) + 1
		e.At = e.At.UTC().Truncate(time.Microsecond)
		e.Hash = AuditChainHash(prev, e)
		prev = e.Hash
	}
}

// AuditQuery selects access-log entries for auditors and for a citizen's
// view of who read their data. Every set field must match; the newest
// entries come first. Before resumes a listing: only entries with ID <
// Before are returned.
type AuditQuery struct {
	PIN     PIN
	Actor   string
	Action  string
	Purpose string
	From    time.Time // inclusive
	To      time.Time // exclusive
	Before  int64
	Limit   int
}

// TreeHead is a signed checkpoint of the access log: the Merkle tree hash
// of its first Size entries, when it was made, and the log key's Ed25519
// signature over both (see package auditlog for the signed message).
type TreeHead struct {
	Size      int64     `json:"size"`
	Root      []byte    `json:"root"`
	At        time.Time `json:"at"`
	Signature []byte    `json:"signature"`
}

// AuditArchive is what the access log keeps besides the entries' chain:
// reading entries back in order, the Merkle tree's stored nodes, and the
// signed tree heads. The tree's nodes and heads are derived data, written
// by the auditlog package and checked against the entries by verifiers.
type AuditArchive interface {
	// AuditSize returns the number of entries in the log, which is also the
	// ID of the newest one (IDs run from 1 without gaps).
	AuditSize(ctx context.Context) (int64, error)
	// AuditRange returns the entries with from ≤ ID ≤ to in ID order, with
	// their chain hashes.
	AuditRange(ctx context.Context, from, to int64) ([]*AuditEntry, error)
	// AuditSearch lists the entries matching q, newest first (100 when
	// q.Limit is not positive).
	AuditSearch(ctx context.Context, q AuditQuery) ([]*AuditEntry, error)
	// PutAuditNodes stores the hashes of consecutive tree nodes of one
	// level starting at index start. Storing a node again is harmless.
	PutAuditNodes(ctx context.Context, level int, start int64, hashes [][]byte) error
	// AuditNodes returns the stored nodes of a level with from ≤ index < to,
	// in order. NotFound if any is missing.
	AuditNodes(ctx context.Context, level int, from, to int64) ([][]byte, error)
	// AppendTreeHead stores a signed tree head. Storing a head of an
	// existing size again is harmless and keeps the first.
	AppendTreeHead(ctx context.Context, h *TreeHead) error
	// TreeHeads lists stored heads with from ≤ Size ≤ to, by size.
	TreeHeads(ctx context.Context, from, to int64) ([]*TreeHead, error)
	// LatestTreeHead returns the head of the largest size. NotFound if none.
	LatestTreeHead(ctx context.Context) (*TreeHead, error)
}
