package auditlog

import (
	"bytes"
	"context"
	"fmt"

	"github.com/cancuoc/cancuoc"
)

// stride is the distance between stored levels of the tree. Only the nodes
// of complete subtrees at levels 8, 16, 24… are stored (level 8 covers 256
// entries), so any node is computed from at most 256 stored hashes, or 256
// entries at the bottom; storing every level would cost twice the entries'
// count in rows. At 100M entries that is 390,625 + 1,525 + 5 stored nodes
// (about 20 MB with their keys), and a proof or a root reads at most
// 256 × (log₂ n / 8 + 1) hashes, a handful of index range scans.
const stride = 8

// tree computes tree hashes from the store, caching the nodes it reads for
// the life of one request (a proof asks for overlapping ranges).
type tree struct {
	st    cancuoc.AuditArchive
	ctx   context.Context
	cache map[[2]int64][]byte
}

func newTree(ctx context.Context, st cancuoc.AuditArchive) *tree {
	return &tree{st: st, ctx: ctx, cache: map[[2]int64][]byte{}}
}

// leaves returns the leaf hashes of entries [lo, hi) (0-based indices; the
// entries' IDs are one more).
func (t *tree) leaves(lo, hi int64) ([][]byte, error) {
	es, err := t.st.AuditRange(t.ctx, lo+1, hi)
	if err != nil {
		return nil, err
	}
	if int64(len(es)) != hi-lo {
		return nil, cancuoc.E(cancuoc.Internal, "auditlog.tree", "log_gap",
			"Nhật ký truy cập thiếu mục.", fmt.Sprintf("the access log lacks entries between %d and %d", lo+1, hi))
	}
	out := make([][]byte, len(es))
	for i, e := range es {
		out[i] = LeafHash(e)
	}
	return out, nil
}

// node returns the hash of the perfect subtree at level (height) with
// index idx, i.e. of leaves [idx·2^level, (idx+1)·2^level).
func (t *tree) node(level int, idx int64) ([]byte, error) {
	key := [2]int64{int64(level), idx}
	if h, ok := t.cache[key]; ok {
		return h, nil
	}
	base := level - level%stride
	var h []byte
	if base == level && level > 0 {
		hs, err := t.st.AuditNodes(t.ctx, level, idx, idx+1)
		if err != nil {
			return nil, err
		}
		h = hs[0]
	} else {
		span := int64(1) << (level - base)
		var (
			hs  [][]byte
			err error
		)
		if base == 0 {
			hs, err = t.leaves(idx<<level, (idx+1)<<level)
		} else {
			hs, err = t.st.AuditNodes(t.ctx, base, idx*span, (idx+1)*span)
		}
		if err != nil {
			return nil, err
		}
		h = RootFromLeaves(hs)
	}
	t.cache[key] = h
	return h, nil
}

// mth is the tree hash of leaves [lo, hi), from perfect aligned subtrees.
func (t *tree) mth(lo, hi int64) ([]byte, error) {
	n := hi - lo
	if n == 0 {
		return EmptyRoot(), nil
	}
	if n&(n-1) == 0 && lo%n == 0 {
		level := 0
		for int64(1)<<level < n {
			level++
		}
		return t.node(level, lo>>level)
	}
	k := splitPoint(n)
	l, err := t.mth(lo, lo+k)
	if err != nil {
		return nil, err
	}
	r, err := t.mth(lo+k, hi)
	if err != nil {
		return nil, err
	}
	return HashChildren(l, r), nil
}

// frontier returns the perfect subtrees of the first size leaves.
func (t *tree) frontier(size int64) ([][]byte, error) {
	var out [][]byte
	for _, r := range frontierRanges(size) {
		h, err := t.mth(r[0], r[1])
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// batch is how many level-8 blocks one pass of extend reads at once.
const batch = 64

// extend stores the nodes of the complete subtrees among the first size
// leaves that a tree of built leaves lacked, and checks the hash chain of
// the entries it reads on the way (from built on): a checkpoint must never
// sign a log whose chain is broken. It returns the chain hash of entry
// size.
func (t *tree) extend(built, size int64) ([]byte, error) {
	const op = "auditlog.Checkpoint"
	block := int64(1) << stride
	// Chain: start from the stored hash of the last entry already covered.
	var prev []byte
	if built > 0 {
		es, err := t.st.AuditRange(t.ctx, built, built)
		if err != nil {
			return nil, err
		}
		if len(es) != 1 {
			return nil, cancuoc.E(cancuoc.Internal, op, "log_gap", "Nhật ký truy cập thiếu mục.", "the access log lacks an entry")
		}
		prev = es[0].Hash
	}
	// Bottom stored level from the entries, in batches of blocks.
	for lo := built / block * block; lo < size; lo += batch * block {
		hi := min(lo+batch*block, size)
		es, err := t.st.AuditRange(t.ctx, lo+1, hi)
		if err != nil {
			return nil, err
		}
		if int64(len(es)) != hi-lo {
			return nil, cancuoc.E(cancuoc.Internal, op, "log_gap", "Nhật ký truy cập thiếu mục.", "the access log lacks entries")
		}
		leaves := make([][]byte, len(es))
		for i, e := range es {
			if e.ID > built {
				if want := cancuoc.AuditChainHash(prev, e); !bytes.Equal(want, e.Hash) {
					return nil, cancuoc.E(cancuoc.Internal, op, "chain_broken", "Chuỗi băm của nhật ký truy cập bị phá vỡ.",
						fmt.Sprintf("the access log's hash chain is broken at entry %d", e.ID))
				}
				prev = e.Hash
			}
			leaves[i] = LeafHash(e)
		}
		var nodes [][]byte
		for i := 0; (i+1)*int(block) <= len(leaves); i++ {
			nodes = append(nodes, RootFromLeaves(leaves[i*int(block):(i+1)*int(block)]))
		}
		if err := t.st.PutAuditNodes(t.ctx, stride, lo/block, nodes); err != nil {
			return nil, err
		}
	}
	// Higher stored levels from the level below.
	for level := 2 * stride; int64(1)<<level <= size; level += stride {
		for i := (built >> level); (i+1)<<level <= size; i++ {
			below, err := t.st.AuditNodes(t.ctx, level-stride, i<<stride, (i+1)<<stride)
			if err != nil {
				return nil, err
			}
			if err := t.st.PutAuditNodes(t.ctx, level, i, [][]byte{RootFromLeaves(below)}); err != nil {
				return nil, err
			}
		}
	}
	return prev, nil
}
