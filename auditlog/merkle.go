// Package auditlog makes the access log tamper-evident and readable: a
// Merkle tree over the entries with signed tree heads, as Certificate
// Transparency does (RFC 9162), inclusion and consistency proofs with their
// verification, export and verification of the log as JSON Lines, and the
// reading rules (a citizen's "who looked at my data", auditors' queries).
//
// The stores chain every entry's hash to the one before as they append it
// (cancuoc.AuditStamp); this package builds the tree from the same
// canonical encoding and signs its heads.
package auditlog

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/bits"

	"github.com/cancuoc/cancuoc"
)

// HashLeaf is the RFC 9162 hash of a leaf: SHA-256(0x00 ‖ data).
func HashLeaf(data []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	return h.Sum(nil)
}

// HashChildren is the RFC 9162 hash of an interior node: SHA-256(0x01 ‖ l ‖ r).
func HashChildren(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

// LeafHash is the tree's leaf hash of an entry.
func LeafHash(e *cancuoc.AuditEntry) []byte { return HashLeaf(cancuoc.AuditCanonical(e)) }

// EmptyRoot is the tree hash of the empty log: SHA-256 of nothing.
func EmptyRoot() []byte { s := sha256.Sum256(nil); return s[:] }

// splitPoint is the largest power of two smaller than n (n > 1): where
// RFC 9162 splits a tree of n leaves.
func splitPoint(n int64) int64 { return int64(1) << (bits.Len64(uint64(n-1)) - 1) }

// RootFromLeaves computes the tree hash of leaf hashes directly, by the
// recursive definition. It is the reference the stored tree is checked
// against, and serves small trees.
func RootFromLeaves(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		return EmptyRoot()
	case 1:
		return leaves[0]
	}
	k := splitPoint(int64(len(leaves)))
	return HashChildren(RootFromLeaves(leaves[:k]), RootFromLeaves(leaves[k:]))
}

// rangeFunc returns the tree hash of leaves [lo, hi).
type rangeFunc func(lo, hi int64) ([]byte, error)

// inclusionPath is RFC 9162's PATH(m, D[lo:hi]) with m relative to lo.
func inclusionPath(m, lo, hi int64, mth rangeFunc) ([][]byte, error) {
	n := hi - lo
	if n <= 1 {
		return nil, nil
	}
	k := splitPoint(n)
	var (
		path [][]byte
		sib  []byte
		err  error
	)
	if m < k {
		if path, err = inclusionPath(m, lo, lo+k, mth); err != nil {
			return nil, err
		}
		sib, err = mth(lo+k, hi)
	} else {
		if path, err = inclusionPath(m-k, lo+k, hi, mth); err != nil {
			return nil, err
		}
		sib, err = mth(lo, lo+k)
	}
	if err != nil {
		return nil, err
	}
	return append(path, sib), nil
}

// subproof is RFC 9162's SUBPROOF(m, D[lo:hi], b).
func subproof(m, lo, hi int64, b bool, mth rangeFunc) ([][]byte, error) {
	n := hi - lo
	if m == n {
		if b {
			return nil, nil
		}
		h, err := mth(lo, hi)
		if err != nil {
			return nil, err
		}
		return [][]byte{h}, nil
	}
	k := splitPoint(n)
	var (
		proof [][]byte
		sib   []byte
		err   error
	)
	if m <= k {
		if proof, err = subproof(m, lo, lo+k, b, mth); err != nil {
			return nil, err
		}
		sib, err = mth(lo+k, hi)
	} else {
		if proof, err = subproof(m-k, lo+k, hi, false, mth); err != nil {
			return nil, err
		}
		sib, err = mth(lo, lo+k)
	}
	if err != nil {
		return nil, err
	}
	return append(proof, sib), nil
}

// ErrProof is returned (wrapped) when a proof does not verify.
var ErrProof = errors.New("auditlog: proof does not verify")

// VerifyInclusion checks that leaf is the leaf hash at index (0-based) of
// the tree of size leaves whose hash is root, following RFC 9162, 2.1.3.2.
func VerifyInclusion(leaf []byte, index, size int64, proof [][]byte, root []byte) error {
	if index < 0 || index >= size {
		return ErrProof
	}
	fn, sn := index, size-1
	r := leaf
	for _, p := range proof {
		if sn == 0 {
			return ErrProof
		}
		if fn&1 == 1 || fn == sn {
			r = HashChildren(p, r)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			r = HashChildren(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || !bytes.Equal(r, root) {
		return ErrProof
	}
	return nil
}

// VerifyConsistency checks that the tree of size2 with hash root2 extends
// the tree of size1 with hash root1, following RFC 9162, 2.1.4.2.
func VerifyConsistency(size1, size2 int64, root1, root2 []byte, proof [][]byte) error {
	switch {
	case size1 < 0 || size2 < size1:
		return ErrProof
	case size1 == size2:
		if len(proof) == 0 && bytes.Equal(root1, root2) {
			return nil
		}
		return ErrProof
	case size1 == 0:
		// Every tree extends the empty one; RFC 9162 gives no proof for it.
		if len(proof) == 0 {
			return nil
		}
		return ErrProof
	}
	if len(proof) == 0 {
		return ErrProof
	}
	if size1&(size1-1) == 0 { // a power of two: the first tree is a node of the second
		proof = append([][]byte{root1}, proof...)
	}
	fn, sn := size1-1, size2-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := proof[0], proof[0]
	for _, c := range proof[1:] {
		if sn == 0 {
			return ErrProof
		}
		if fn&1 == 1 || fn == sn {
			fr = HashChildren(c, fr)
			sr = HashChildren(c, sr)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			sr = HashChildren(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || !bytes.Equal(fr, root1) || !bytes.Equal(sr, root2) {
		return ErrProof
	}
	return nil
}

// Frontier is a tree under construction, held as the hashes of the perfect
// subtrees that the binary digits of its size give, largest first: a tree
// of 6 leaves is the subtrees of leaves 0–3 and 4–5. Appending a leaf and
// computing the root cost O(log n) and it needs no more memory, so a
// verifier streams an export of any length through it.
type Frontier struct {
	size   int64
	hashes [][]byte
}

// NewFrontier starts from the perfect subtrees of a tree of size leaves
// (as FrontierOf returns them), to continue a tree whose start is not at
// hand.
func NewFrontier(size int64, hashes [][]byte) (*Frontier, error) {
	if size < 0 || bits.OnesCount64(uint64(size)) != len(hashes) {
		return nil, errors.New("auditlog: frontier does not match its size")
	}
	return &Frontier{size: size, hashes: append([][]byte(nil), hashes...)}, nil
}

// Size is the number of leaves appended so far.
func (f *Frontier) Size() int64 { return f.size }

// Hashes returns the perfect subtrees' hashes, largest first.
func (f *Frontier) Hashes() [][]byte { return append([][]byte(nil), f.hashes...) }

// Append adds a leaf hash: equal subtrees merge like a binary carry.
func (f *Frontier) Append(leaf []byte) {
	h := leaf
	for s := f.size; s&1 == 1; s >>= 1 {
		last := len(f.hashes) - 1
		h = HashChildren(f.hashes[last], h)
		f.hashes = f.hashes[:last]
	}
	f.hashes = append(f.hashes, h)
	f.size++
}

// Root is the tree hash: the subtrees folded from the right.
func (f *Frontier) Root() []byte {
	if len(f.hashes) == 0 {
		return EmptyRoot()
	}
	r := f.hashes[len(f.hashes)-1]
	for i := len(f.hashes) - 2; i >= 0; i-- {
		r = HashChildren(f.hashes[i], r)
	}
	return r
}

// frontierRanges lists the perfect subtrees [lo, hi) of a tree of size
// leaves, largest first.
func frontierRanges(size int64) [][2]int64 {
	var out [][2]int64
	var lo int64
	for b := 62; b >= 0; b-- {
		if size&(1<<b) != 0 {
			out = append(out, [2]int64{lo, lo + 1<<b})
			lo += 1 << b
		}
	}
	return out
}
