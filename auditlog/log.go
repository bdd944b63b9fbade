package auditlog

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Store is what the log needs of a store: the archive of entries, tree
// nodes and heads, and the citizens' home units for jurisdiction checks.
type Store interface {
	cancuoc.AuditArchive
	// TouchedBlock returns the block a bulk job's entry names (export).
	TouchedBlock(ctx context.Context, job string, chunk int64) (*cancuoc.TouchedBlock, error)
	CitizenDoc(ctx context.Context, pin cancuoc.PIN) (*cancuoc.CitizenDoc, error)
}

// Recorder makes an access durable in the log before the answer leaves
// (audit.Writer): reading the log about a citizen is itself an access.
type Recorder interface {
	Record(ctx context.Context, entries ...*cancuoc.AuditEntry) error
}

// Log is the tamper-evident access log's service: checkpoints (signed tree
// heads), proofs, and the reading rules.
type Log struct {
	st      Store
	key     ed25519.PrivateKey
	pub     ed25519.PublicKey
	rec     Recorder
	now     func() time.Time
	citizen func(*cancuoc.Principal) (cancuoc.PIN, bool)
	mu      sync.Mutex // one checkpoint at a time in this process
}

// Option configures a Log.
type Option func(*Log)

// WithClock replaces the wall clock (tests).
func WithClock(now func() time.Time) Option { return func(l *Log) { l.now = now } }

// WithCitizenPrincipal tells the log how to recognise a citizen signed in
// as themself: f returns the citizen's PIN and true for such a principal.
// A citizen may then read their own access log and nobody else's. The eID
// login plugs in here; until then only officers and auditors read logs.
func WithCitizenPrincipal(f func(*cancuoc.Principal) (cancuoc.PIN, bool)) Option {
	return func(l *Log) { l.citizen = f }
}

// New returns the log over st. key signs tree heads; it may be nil for a
// log that only reads (its Checkpoint then fails). rec records reads of the
// log; nil records nothing (tools).
func New(st Store, key ed25519.PrivateKey, rec Recorder, opts ...Option) *Log {
	l := &Log{st: st, key: key, rec: rec, now: time.Now}
	if key != nil {
		l.pub = key.Public().(ed25519.PublicKey)
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// PublicKey is the key that verifies the log's tree heads.
func (l *Log) PublicKey() ed25519.PublicKey { return l.pub }

// headPrefix starts every signed tree head message, so that a signature
// made for anything else cannot pass for a tree head.
const headPrefix = "cancuoc.audit.tree-head.v1\n"

// HeadMessage is the message a tree head's signature covers: the prefix
// line, the size, the base64 root hash and the time (RFC 3339, UTC,
// microseconds), one per line.
func HeadMessage(h *cancuoc.TreeHead) []byte {
	return fmt.Appendf(nil, "%s%d\n%s\n%s\n", headPrefix, h.Size, base64.StdEncoding.EncodeToString(h.Root),
		h.At.UTC().Format("2006-01-02T15:04:05.000000Z"))
}

// VerifyHead checks a tree head's signature.
func VerifyHead(pub ed25519.PublicKey, h *cancuoc.TreeHead) error {
	if len(pub) != ed25519.PublicKeySize || len(h.Root) != cancuoc.AuditHashSize || !ed25519.Verify(pub, HeadMessage(h), h.Signature) {
		return cancuoc.E(cancuoc.Invalid, "auditlog.VerifyHead", "tree_head_signature",
			"Chữ ký điểm kiểm tra của nhật ký không hợp lệ.", "The tree head's signature does not verify.")
	}
	return nil
}

// Checkpoint makes a signed tree head over every entry committed so far
// and stores it, after bringing the stored tree up to date and checking the
// hash chain of the entries it had not covered. If nothing was appended
// since the latest head, that head is returned. Several nodes may
// checkpoint at once: nodes are deterministic and a head of an existing
// size is kept as first stored.
func (l *Log) Checkpoint(ctx context.Context) (*cancuoc.TreeHead, error) {
	const op = "auditlog.Checkpoint"
	if l.key == nil {
		return nil, cancuoc.E(cancuoc.Unavailable, op, "log_key_missing",
			"Chưa cấu hình khoá ký nhật ký.", "No log signing key is configured.")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	latest, err := l.st.LatestTreeHead(ctx)
	if err != nil && !errors.Is(err, cancuoc.ErrNotFound) {
		return nil, cancuoc.WithOp(op, err)
	}
	var built int64
	if latest != nil {
		built = latest.Size
	}
	size, err := l.st.AuditSize(ctx)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if latest != nil && size == built {
		return latest, nil
	}
	t := newTree(ctx, l.st)
	if _, err := t.extend(built, size); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	root, err := t.mth(0, size)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	h := &cancuoc.TreeHead{Size: size, Root: root, At: l.now().UTC().Truncate(time.Microsecond)}
	h.Signature = ed25519.Sign(l.key, HeadMessage(h))
	if err := l.st.AppendTreeHead(ctx, h); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	hs, err := l.st.TreeHeads(ctx, size, size)
	if err != nil || len(hs) != 1 {
		return h, cancuoc.WithOp(op, err)
	}
	return hs[0], nil
}

// Run makes a checkpoint every interval until ctx ends. Failures are
// logged (they hold no personal data) and retried at the next tick; a
// broken chain keeps failing loudly, which is the point.
func (l *Log) Run(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if h, err := l.Checkpoint(ctx); err != nil {
				if ctx.Err() == nil {
					log.Error("audit checkpoint failed", "err", err)
				}
			} else {
				log.Debug("audit checkpoint", "size", h.Size)
			}
		}
	}
}

// Latest returns the newest signed tree head. NotFound if none.
func (l *Log) Latest(ctx context.Context) (*cancuoc.TreeHead, error) {
	h, err := l.st.LatestTreeHead(ctx)
	return h, cancuoc.WithOp("auditlog.Latest", err)
}

// Head returns the stored head of a size. NotFound if none.
func (l *Log) Head(ctx context.Context, size int64) (*cancuoc.TreeHead, error) {
	return l.head(ctx, "auditlog.Head", size)
}

func (l *Log) head(ctx context.Context, op string, size int64) (*cancuoc.TreeHead, error) {
	hs, err := l.st.TreeHeads(ctx, size, size)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if len(hs) == 0 {
		return nil, cancuoc.E(cancuoc.NotFound, op, "tree_head_unknown",
			"Không có điểm kiểm tra với kích thước này.", "There is no tree head of size "+strconv.FormatInt(size, 10)+".")
	}
	return hs[0], nil
}

// Proof is an inclusion proof of one entry in the tree of a signed head.
type Proof struct {
	LeafIndex int64    `json:"leaf_index"`
	TreeSize  int64    `json:"tree_size"`
	Hashes    [][]byte `json:"hashes"`
}

// InclusionProof proves that entry id is in the tree of the stored head of
// size. Invalid when the entry is not covered by that head.
func (l *Log) InclusionProof(ctx context.Context, id, size int64) (*Proof, error) {
	const op = "auditlog.InclusionProof"
	if id < 1 || id > size {
		return nil, cancuoc.InvalidField(op, "id", "entry_not_in_tree",
			"Mục nhật ký không thuộc cây của điểm kiểm tra này.", "The entry is not covered by this tree head.")
	}
	if _, err := l.head(ctx, op, size); err != nil {
		return nil, err
	}
	t := newTree(ctx, l.st)
	path, err := inclusionPath(id-1, 0, size, t.mth)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return &Proof{LeafIndex: id - 1, TreeSize: size, Hashes: nonNil(path)}, nil
}

// ConsistencyProof proves that the head of size2 extends the head of size1
// (both stored heads; RFC 9162, 2.1.4).
func (l *Log) ConsistencyProof(ctx context.Context, size1, size2 int64) ([][]byte, error) {
	const op = "auditlog.ConsistencyProof"
	if size1 < 0 || size2 < size1 {
		return nil, cancuoc.InvalidField(op, "first", "sizes_invalid",
			"Kích thước thứ nhất phải không âm và không lớn hơn kích thước thứ hai.",
			"The first size must be at least 0 and at most the second.")
	}
	if _, err := l.head(ctx, op, size2); err != nil {
		return nil, err
	}
	if size1 > 0 {
		if _, err := l.head(ctx, op, size1); err != nil {
			return nil, err
		}
	}
	if size1 == 0 || size1 == size2 {
		return [][]byte{}, nil
	}
	t := newTree(ctx, l.st)
	p, err := subproof(size1, 0, size2, true, t.mth)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return nonNil(p), nil
}

func nonNil(p [][]byte) [][]byte {
	if p == nil {
		return [][]byte{}
	}
	return p
}
