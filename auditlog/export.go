package auditlog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/cancuoc/cancuoc"
)

// ExportVersion is the version of the export format, in its header.
const ExportVersion = 1

// Line is one line of an export (JSON Lines). The first line is the
// header; then come the entries in order, each block entry of a bulk job
// followed by the touched block it names (cancuoc.TouchedBlock), and each
// signed tree head right after the entry that completes it.
type Line struct {
	Type     string                `json:"type"` // "header", "entry", "block" or "tree_head"
	Header   *Header               `json:"header,omitempty"`
	Entry    *cancuoc.AuditEntry   `json:"entry,omitempty"`
	Block    *cancuoc.TouchedBlock `json:"block,omitempty"`
	TreeHead *cancuoc.TreeHead     `json:"tree_head,omitempty"`
}

// Header describes an export of entries From…To. An export that does not
// start at the first entry carries what is needed to continue the chain
// and the tree from entry From-1: that entry's chain hash and the hashes
// of the perfect subtrees of the first From-1 entries. Neither is trusted:
// the signed heads in the export check both.
type Header struct {
	Version  int      `json:"version"`
	From     int64    `json:"from"`
	To       int64    `json:"to"`
	PrevHash []byte   `json:"prev_hash,omitempty"`
	Frontier [][]byte `json:"frontier"`
	KeyID    string   `json:"key_id,omitempty"`
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// exportPage is how many entries Export reads at a time.
const exportPage = 5000

// Export writes entries from…to (IDs, inclusive; to 0 or past the end
// means the newest) as JSON Lines with the signed heads whose sizes fall
// in from-1…to. Make a checkpoint first to have the newest entries covered.
func (l *Log) Export(ctx context.Context, w io.Writer, from, to int64) error {
	const op = "auditlog.Export"
	size, err := l.st.AuditSize(ctx)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	if from < 1 {
		from = 1
	}
	if to <= 0 || to > size {
		to = size
	}
	if from > to {
		return cancuoc.InvalidField(op, "from", "range_empty", "Khoảng mục cần xuất trống.", "There are no entries in that range.")
	}
	h := &Header{Version: ExportVersion, From: from, To: to, Frontier: [][]byte{}}
	if l.pub != nil {
		h.KeyID = KeyID(l.pub)
	}
	if from > 1 {
		prev, err := l.st.AuditRange(ctx, from-1, from-1)
		if err != nil {
			return cancuoc.WithOp(op, err)
		}
		if len(prev) == 1 {
			h.PrevHash = prev[0].Hash
		}
		// The frontier needs the stored tree to reach from-1; the newest
		// head tells how far it was built.
		t := newTree(ctx, l.st)
		if h.Frontier, err = t.frontier(from - 1); err != nil {
			return cancuoc.WithOp(op, err)
		}
	}
	heads, err := l.st.TreeHeads(ctx, from-1, to)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(Line{Type: "header", Header: h}); err != nil {
		return cancuoc.WithOp(op, err)
	}
	for len(heads) > 0 && heads[0].Size < from {
		if err := enc.Encode(Line{Type: "tree_head", TreeHead: heads[0]}); err != nil {
			return cancuoc.WithOp(op, err)
		}
		heads = heads[1:]
	}
	for lo := from; lo <= to; lo += exportPage {
		es, err := l.st.AuditRange(ctx, lo, min(lo+exportPage-1, to))
		if err != nil {
			return cancuoc.WithOp(op, err)
		}
		for _, e := range es {
			if err := enc.Encode(Line{Type: "entry", Entry: e}); err != nil {
				return cancuoc.WithOp(op, err)
			}
			if ref, ok := cancuoc.ParseTouched(e); ok {
				// A missing block is left out: verify names the entry.
				b, err := l.st.TouchedBlock(ctx, ref.Job, ref.Chunk)
				if err != nil && !errors.Is(err, cancuoc.ErrNotFound) {
					return cancuoc.WithOp(op, err)
				}
				if b != nil {
					if err := enc.Encode(Line{Type: "block", Block: b}); err != nil {
						return cancuoc.WithOp(op, err)
					}
				}
			}
			for len(heads) > 0 && heads[0].Size <= e.ID {
				if err := enc.Encode(Line{Type: "tree_head", TreeHead: heads[0]}); err != nil {
					return cancuoc.WithOp(op, err)
				}
				heads = heads[1:]
			}
		}
	}
	return cancuoc.WithOp(op, bw.Flush())
}

// Problem kinds reported by Verify.
const (
	ProblemChanged   = "changed"   // an entry's content or hash differs from what was chained
	ProblemRemoved   = "removed"   // an entry is missing
	ProblemReordered = "reordered" // an entry is out of its place
	ProblemHead      = "tree_head" // a signed head does not match the entries, or its signature fails
	ProblemFormat    = "format"    // the file is not a well-formed export
)

// Problem is the first thing wrong with an export.
type Problem struct {
	Kind    string `json:"kind"`
	Entry   int64  `json:"entry,omitempty"` // the entry's ID (for tree heads, their size)
	Line    int    `json:"line"`
	Message string `json:"message"`
}

func (p *Problem) Error() string {
	return fmt.Sprintf("line %d: %s", p.Line, p.Message)
}

// Report is the outcome of Verify.
type Report struct {
	From, To int64
	Entries  int64 // entries checked
	Blocks   int64 // touched blocks checked against their entries
	Heads    int   // signed heads verified
	// Unsigned is how many entries at the end no head in the export covers:
	// only the chain vouches for them.
	Unsigned int64
	Problem  *Problem // nil when the export is intact
}

// maxLine bounds one line of an export; an entry is a few hundred bytes,
// a touched block up to a few hundred thousand PINs (5 bytes each, in
// base64).
const maxLine = 16 << 20

// lookahead is how many following entries Verify reads to tell a
// reordering from a change.
const lookahead = 16

// Verify reads an export and checks it: the entries are contiguous and in
// order, each one's chain hash follows from the one before, every tree head
// is signed by pub and its root is the tree of the entries up to its size.
// It stops at the first problem and names it in the report. The error is
// for failures to read, not for a tampered export.
func Verify(r io.Reader, pub ed25519.PublicKey) (*Report, error) {
	v := &verifier{sc: bufio.NewScanner(r), pub: pub, rep: &Report{}}
	v.sc.Buffer(make([]byte, 64*1024), maxLine)
	v.run()
	if err := v.sc.Err(); err != nil && v.rep.Problem == nil {
		if errors.Is(err, bufio.ErrTooLong) {
			v.fail(ProblemFormat, 0, "a line is longer than 16 MiB")
			return v.rep, nil
		}
		return nil, err
	}
	return v.rep, nil
}

type verifier struct {
	sc      *bufio.Scanner
	pub     ed25519.PublicKey
	rep     *Report
	line    int
	pending []*cancuoc.AuditEntry // entries read ahead while diagnosing
}

func (v *verifier) fail(kind string, entry int64, format string, args ...any) {
	v.rep.Problem = &Problem{Kind: kind, Entry: entry, Line: v.line, Message: fmt.Sprintf(format, args...)}
}

// next reads the next line. ok is false at the end or on a format problem
// (then reported).
func (v *verifier) next() (Line, bool) {
	if !v.sc.Scan() {
		return Line{}, false
	}
	v.line++
	var l Line
	dec := json.NewDecoder(bytes.NewReader(v.sc.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		v.fail(ProblemFormat, 0, "not a valid export line: %v", err)
		return Line{}, false
	}
	ok := false
	switch l.Type {
	case "header":
		ok = l.Header != nil && l.Entry == nil && l.TreeHead == nil && l.Block == nil
	case "entry":
		ok = l.Entry != nil && l.Header == nil && l.TreeHead == nil && l.Block == nil
	case "block":
		ok = l.Block != nil && l.Header == nil && l.TreeHead == nil && l.Entry == nil
	case "tree_head":
		ok = l.TreeHead != nil && l.Header == nil && l.Entry == nil && l.Block == nil
	}
	if !ok {
		v.fail(ProblemFormat, 0, "a line must be a header, an entry, a block or a tree_head with its object")
		return Line{}, false
	}
	return l, true
}

func (v *verifier) run() {
	first, ok := v.next()
	if !ok {
		if v.rep.Problem == nil {
			v.fail(ProblemFormat, 0, "the export is empty")
		}
		return
	}
	h := first.Header
	if h == nil || h.Version != ExportVersion || h.From < 1 || h.To < h.From {
		v.fail(ProblemFormat, 0, "the first line must be a header of version %d with 1 ≤ from ≤ to", ExportVersion)
		return
	}
	v.rep.From, v.rep.To = h.From, h.To
	fr, err := NewFrontier(h.From-1, h.Frontier)
	if err != nil {
		v.fail(ProblemFormat, 0, "the header's frontier does not fit entry %d", h.From-1)
		return
	}
	for _, x := range h.Frontier {
		if len(x) != cancuoc.AuditHashSize {
			v.fail(ProblemFormat, 0, "the header's frontier holds a hash of the wrong size")
			return
		}
	}
	prev := h.PrevHash
	if h.From == 1 {
		prev = nil
	}
	expected := h.From
	lastHead := int64(-1)
	signedUpTo := h.From - 1
	// The block entry whose touched block must come next, if any.
	var (
		wantBlock *cancuoc.TouchedRef
		blockOf   int64
	)
	for {
		l, ok := v.next()
		if !ok {
			break
		}
		if wantBlock != nil && l.Type != "block" {
			v.fail(ProblemChanged, blockOf, "entry %d names touched block %d of job %s, which was removed", blockOf, wantBlock.Chunk, wantBlock.Job)
			return
		}
		switch l.Type {
		case "block":
			if wantBlock == nil {
				v.fail(ProblemFormat, 0, "a touched block that no entry right before it names")
				return
			}
			if !wantBlock.Matches(l.Block) {
				v.fail(ProblemChanged, blockOf, "the touched block named by entry %d was changed or swapped: it does not match the entry's count and SHA-256", blockOf)
				return
			}
			wantBlock = nil
		case "header":
			v.fail(ProblemFormat, 0, "a second header")
			return
		case "tree_head":
			th := l.TreeHead
			if th.Size <= lastHead {
				v.fail(ProblemHead, th.Size, "tree head of size %d comes after one of size %d", th.Size, lastHead)
				return
			}
			lastHead = th.Size
			if err := VerifyHead(v.pub, th); err != nil {
				v.fail(ProblemHead, th.Size, "the signature of the tree head of size %d does not verify with the given public key", th.Size)
				return
			}
			if th.Size != fr.Size() {
				v.fail(ProblemHead, th.Size, "tree head of size %d is out of place (after entry %d)", th.Size, fr.Size())
				return
			}
			if !bytes.Equal(th.Root, fr.Root()) {
				v.fail(ProblemHead, th.Size, "the entries up to %d do not match the signed tree head of that size: an entry after %d was changed and the chain rewritten, or the header's frontier is false",
					th.Size, signedUpTo)
				return
			}
			v.rep.Heads++
			signedUpTo = th.Size
		case "entry":
			e := l.Entry
			switch {
			case e.ID > expected:
				v.fail(ProblemRemoved, expected, "entry %d was removed (the next entry is %d)", expected, e.ID)
				return
			case e.ID < expected:
				v.fail(ProblemReordered, e.ID, "entry %d is out of order (it comes after entry %d)", e.ID, expected-1)
				return
			}
			if !bytes.Equal(cancuoc.AuditChainHash(prev, e), e.Hash) {
				v.diagnose(e, prev)
				return
			}
			fr.Append(LeafHash(e))
			prev = e.Hash
			expected++
			v.rep.Entries++
			if ref, ok := cancuoc.ParseTouched(e); ok {
				wantBlock, blockOf = &ref, e.ID
				v.rep.Blocks++
			}
		}
	}
	if v.rep.Problem != nil {
		return
	}
	if wantBlock != nil {
		v.fail(ProblemChanged, blockOf, "entry %d names touched block %d of job %s, which was removed", blockOf, wantBlock.Chunk, wantBlock.Job)
		return
	}
	if expected <= h.To {
		v.fail(ProblemRemoved, expected, "entry %d was removed (the export ends at entry %d, its header says %d)", expected, expected-1, h.To)
		return
	}
	v.rep.Unsigned = h.To - signedUpTo
}

// diagnose names what happened to entry e, whose chain hash fails after
// prev: it reads a few entries ahead and tells a reordering (an entry
// further on chains at e's place), a change (e's content differs from what
// its stored hash was made from, and the next entry still chains from that
// hash), and a removal followed by renumbering (the next entry chains from
// e's hash only with its old number).
func (v *verifier) diagnose(e *cancuoc.AuditEntry, prev []byte) {
	var ahead []*cancuoc.AuditEntry
	for len(ahead) < lookahead {
		l, ok := v.next()
		if !ok {
			v.rep.Problem = nil // a format problem after the first one does not matter
			break
		}
		if l.Entry != nil {
			ahead = append(ahead, l.Entry)
		}
	}
	for _, a := range ahead {
		moved := *a
		moved.ID = e.ID
		if bytes.Equal(cancuoc.AuditChainHash(prev, &moved), a.Hash) {
			v.fail(ProblemReordered, e.ID, "entry %d was reordered: the entry now numbered %d belongs at %d", e.ID, a.ID, e.ID)
			return
		}
	}
	if len(ahead) > 0 {
		n := ahead[0]
		if bytes.Equal(cancuoc.AuditChainHash(e.Hash, n), n.Hash) {
			v.fail(ProblemChanged, e.ID, "entry %d was changed: its content does not match its hash", e.ID)
			return
		}
		renum := *n
		renum.ID = n.ID + 1
		if bytes.Equal(cancuoc.AuditChainHash(e.Hash, &renum), n.Hash) {
			v.fail(ProblemRemoved, e.ID, "entry %d was removed and the later entries renumbered", e.ID)
			return
		}
	}
	v.fail(ProblemChanged, e.ID, "entry %d was changed: its hash does not follow from the entry before it", e.ID)
}
