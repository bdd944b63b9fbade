package workflow

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/cancuoc/cancuoc"
)

// MaxBatch is the most tasks one batch call claims or settles: enough for
// an agency's system to amortise its round trips and commits, small enough
// that one transaction holds the writer (SQLite) or its row locks
// (PostgreSQL) only briefly.
const MaxBatch = 100

// ClaimQuery says which tasks of the caller's queue to claim at once.
type ClaimQuery struct {
	Max  int                   // 1…MaxBatch
	Kind cancuoc.ProcedureKind // optional: only files of this kind
}

// ClaimNextTx claims up to q.Max tasks of actor's queue (its agency, in
// its jurisdiction), oldest files first, in tx: all of them or, if tx
// fails, none. It takes pending tasks, then tasks whose claim's lease has
// ended (a client that crashed) and those actor holds already, so a client
// that restarts gets its work back. On PostgreSQL the selection passes
// over tasks another claimer's transaction is taking at the same moment
// (StepQuery.ForClaim), so concurrent clients of one agency get different
// tasks. An empty queue is an empty answer, not an error.
func (s *Service) ClaimNextTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, q ClaimQuery) ([]*cancuoc.ProcedureStep, error) {
	const op = "workflow.ClaimNext"
	if err := checkClaim(op, actor, q); err != nil {
		return nil, err
	}
	cands, err := s.candidates(ctx, tx, actor, q, true)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	files := make([]*cancuoc.Procedure, len(cands))
	for i, st := range cands {
		if files[i], err = tx.Procedure(ctx, st.ProcedureID); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
	}
	out, refused, err := s.claimAll(ctx, tx, op, actor, files, cands)
	if !refused {
		return out, err
	}
	// A task was taken meanwhile (or its file changed), and nothing was
	// written: each is claimed on its own, and those taken are passed over.
	out = make([]*cancuoc.ProcedureStep, 0, len(cands))
	for i, st := range cands {
		p := files[i]
		n, err := s.claim(ctx, tx, op, actor, p, st)
		switch {
		case err == nil:
			out = append(out, n)
		case claimRefused(err):
			// Taken meanwhile, or a file closed since it was listed: not
			// claimable, and nothing was written for it.
		default:
			return nil, err
		}
	}
	return out, nil
}

// claimAll claims the tasks cands (of files) for actor with one write of
// all their steps (cancuoc.ProcedureStore.UpdateSteps: one statement on
// PostgreSQL, where a statement per task was most of a claim's cost),
// passing over those claimed checks refuse, as the claim of each alone
// would. refused reports a refusal of the write itself (claimRefused: a
// task taken meanwhile), which has written nothing; any other error,
// a failure after the write included, is the claim's.
func (s *Service) claimAll(ctx context.Context, tx cancuoc.Tx, op string, actor *cancuoc.Principal, files []*cancuoc.Procedure, cands []*cancuoc.ProcedureStep) (out []*cancuoc.ProcedureStep, refused bool, err error) {
	out = make([]*cancuoc.ProcedureStep, 0, len(cands))
	var (
		writes []*cancuoc.ProcedureStep
		prev   []int64
		of     []*cancuoc.Procedure
	)
	for i, st := range cands {
		n, write, err := s.claimed(op, actor, files[i], st)
		switch {
		case err == nil:
			out = append(out, n)
		case claimRefused(err):
			continue
		default:
			return nil, false, err
		}
		if write {
			writes, prev, of = append(writes, n), append(prev, st.Version), append(of, files[i])
		}
	}
	if err := tx.UpdateSteps(ctx, writes, prev); err != nil {
		return nil, claimRefused(err), err
	}
	for i, n := range writes {
		if err := recordClaim(ctx, tx, actor, of[i], n); err != nil {
			return nil, false, err
		}
	}
	return out, false, nil
}

// claimRefused tells the refusal of one task's claim (taken meanwhile, a
// file closed since it was listed) from a failure of the claim.
func claimRefused(err error) bool {
	k := cancuoc.KindOf(err)
	return k == cancuoc.Conflict || k == cancuoc.Forbidden
}

// checkClaim checks a claim's caller and shape.
func checkClaim(op string, actor *cancuoc.Principal, q ClaimQuery) error {
	if err := queueRight(op, actor); err != nil {
		return err
	}
	if q.Max < 1 || q.Max > MaxBatch {
		return cancuoc.InvalidField(op, "max", "max_invalid",
			"max phải từ 1 đến 100.", "max must be from 1 to 100.")
	}
	if q.Kind != "" && q.Kind != cancuoc.ProcedureBirth && q.Kind != cancuoc.ProcedureDeath {
		return cancuoc.InvalidField(op, "kind", "kind_unknown",
			"Loại thủ tục phải là birth (khai sinh) hoặc death (khai tử).", "The kind must be birth or death.")
	}
	return nil
}

// stepLister is where candidates reads: a transaction, or the store.
type stepLister interface {
	Steps(ctx context.Context, q cancuoc.StepQuery) ([]*cancuoc.ProcedureStep, error)
}

// queueQuery selects actor's queue (pending tasks), up to q.Max.
func queueQuery(actor *cancuoc.Principal, q ClaimQuery, forClaim bool) cancuoc.StepQuery {
	return cancuoc.StepQuery{Agency: actor.Agency, Kind: q.Kind, Province: actor.Jurisdiction.Province,
		Commune: actor.Jurisdiction.Commune, Statuses: []cancuoc.StepStatus{cancuoc.StepPending}, Limit: q.Max, ForClaim: forClaim}
}

// candidates lists the tasks a claim by actor would take: pending tasks of
// its queue, then tasks whose claim's lease has ended and those actor
// holds already. forClaim locks them (inside a transaction, see
// cancuoc.StepQuery.ForClaim).
func (s *Service) candidates(ctx context.Context, r stepLister, actor *cancuoc.Principal, q ClaimQuery, forClaim bool) ([]*cancuoc.ProcedureStep, error) {
	sq := queueQuery(actor, q, forClaim)
	cands, err := r.Steps(ctx, sq)
	if err != nil || len(cands) >= q.Max {
		return cands, err
	}
	held, err := s.reclaimable(ctx, r, actor, sq, q.Max-len(cands))
	return append(cands, held...), err
}

// reclaimable lists up to n claimed tasks of the queue sq selects that
// actor may take: its own (a client that restarted), and those whose
// claim's lease has ended (a client that crashed).
func (s *Service) reclaimable(ctx context.Context, r stepLister, actor *cancuoc.Principal, sq cancuoc.StepQuery, n int) ([]*cancuoc.ProcedureStep, error) {
	now := s.clock()
	// The store leaves out the tasks other clients hold under a running
	// lease (most claimed tasks of a busy queue), so they are neither read
	// nor, on PostgreSQL, locked; the check below stays the rule.
	sq.Statuses, sq.Limit = []cancuoc.StepStatus{cancuoc.StepClaimed}, n
	sq.ReclaimableBy, sq.ClaimedBefore = actor.ID, now.Add(-s.lease)
	held, err := r.Steps(ctx, sq)
	if err != nil {
		return nil, err
	}
	var out []*cancuoc.ProcedureStep
	for _, st := range held {
		if len(out) == n {
			break
		}
		if st.ClaimedBy == actor.ID || st.ClaimedAt == nil || now.Sub(*st.ClaimedAt) >= s.lease {
			out = append(out, st)
		}
	}
	return out, nil
}

// IdleClaim reports, from reads outside any transaction, that a claim by
// actor with q would take nothing now and that no answer is stored under
// the Idempotency-Key (principal, key): the caller may then answer an
// empty claim without a transaction. An agency's system polls its queue,
// and each empty poll was a write transaction (on SQLite queued behind the
// single writer) that stored an empty answer and woke every event
// consumer. An empty claim has no effect, so a retry under the same key
// that finds tasks later claims them without repeating anything. A key
// whose transaction runs in this process at the same time, or has stored
// its answer, makes the claim not idle, and the caller's transaction then
// replays the stored answer. (Across nodes on PostgreSQL, a duplicate
// that arrives on another node while the first is claiming may be
// answered empty; the tasks claimed stay the caller's and come back with
// its next claim.) Any doubt (an
// invalid claim, a failed read) answers false, and the caller takes the
// usual way. The reads are as small as the answer needs: one pending task
// is enough to say no.
func (s *Service) IdleClaim(ctx context.Context, actor *cancuoc.Principal, q ClaimQuery, principal, key string) bool {
	if checkClaim("workflow.ClaimNext", actor, q) != nil {
		return false
	}
	sq := queueQuery(actor, q, false)
	sq.Limit = 1
	if pending, err := s.store.Steps(ctx, sq); err != nil || len(pending) > 0 {
		return false
	}
	if held, err := s.reclaimable(ctx, s.store, actor, sq, 1); err != nil || len(held) > 0 {
		return false
	}
	if key != "" {
		// In this order: a request under the same key that overlapped the
		// reads above is either still running here (its transaction is
		// counted until it has committed) or has stored its answer.
		if s.keys.running(principal, key) {
			return false
		}
		if _, err := s.store.Request(ctx, principal, key); cancuoc.KindOf(err) != cancuoc.NotFound {
			return false
		}
	}
	return true
}

// runningKeys counts the idempotent transactions (Do) running in this
// process per Idempotency-Key, for IdleClaim.
type runningKeys struct {
	mu sync.Mutex
	n  map[string]int
}

func keyOf(principal, key string) string { return principal + "\x00" + key }

func (k *runningKeys) add(principal, key string, d int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n == nil {
		k.n = map[string]int{}
	}
	id := keyOf(principal, key)
	if k.n[id] += d; k.n[id] <= 0 {
		delete(k.n, id)
	}
}

func (k *runningKeys) running(principal, key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n[keyOf(principal, key)] > 0
}

// Batch actions.
const (
	ActionComplete = "complete"
	ActionReject   = "reject"
)

// BatchItem is one step to settle in a batch: completed (with an optional
// note) or rejected (with the reason, required).
type BatchItem struct {
	ProcedureID string `json:"procedure_id"`
	No          int    `json:"no"`
	Action      string `json:"action,omitempty"` // "complete" (the default) or "reject"
	Note        string `json:"note,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// BatchResult is the outcome of one item: the step as it is now, or the
// error that refused this item alone.
type BatchResult struct {
	Item BatchItem
	Step *cancuoc.ProcedureStep
	Err  error
}

// CheckBatch validates a batch's shape before any of it runs: 1 to
// MaxBatch items, each naming a step (the file's ID and a step number
// 1…20) and a known action. The field of an error is the item's path
// ("items[3].no").
func CheckBatch(items []BatchItem) error {
	const op = "workflow.Batch"
	if len(items) == 0 || len(items) > MaxBatch {
		return cancuoc.InvalidField(op, "items", "batch_size",
			"Lô phải có từ 1 đến 100 mục.", "A batch has from 1 to 100 items.")
	}
	for i, it := range items {
		at := "items[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(it.ProcedureID) == "" || len(it.ProcedureID) > 64 {
			return cancuoc.InvalidField(op, at+".procedure_id", "procedure_id_invalid",
				"Cần mã hồ sơ (procedure_id).", "The file's ID (procedure_id) is required.")
		}
		if it.No < 1 || it.No > 20 {
			return cancuoc.InvalidField(op, at+".no", "step_number_invalid",
				"Số thứ tự bước phải là số nguyên từ 1.", "The step number must be a whole number from 1.")
		}
		switch it.Action {
		case "", ActionComplete, ActionReject:
		default:
			return cancuoc.InvalidField(op, at+".action", "action_invalid",
				"action phải là complete hoặc reject.", "action must be complete or reject.")
		}
	}
	return nil
}

// SettleBatchTx completes or rejects many steps in tx, each as
// CompleteTx or RejectTx does alone (its effect, audit entries and outbox
// event, the rights of actor on that step's agency and place), each as if
// in its own savepoint: an item refused (another agency's step, outside
// actor's jurisdiction, not claimed by actor, a missing reason…) is rolled
// back alone and its result says why, while the others commit together. A
// failure of the store itself (Internal, Unavailable) fails the whole
// batch, since the transaction may not be sound.
//
// The items are first settled together in one savepoint, and only when
// one is refused is that rolled back and each item settled again in its
// own. A savepoint per item costs PostgreSQL two statements and a round
// trip (its RELEASE waits for the item's writes, and sends its log
// entries alone), three per birth procedure; agencies' batches are
// nearly always whole, and a refused one costs its work twice.
func (s *Service) SettleBatchTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, items []BatchItem) ([]BatchResult, error) {
	if err := CheckBatch(items); err != nil {
		return nil, err
	}
	out := make([]BatchResult, len(items))
	if len(items) > 1 {
		err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			if ra, ok := tx.(filesReader); ok {
				ids := make([]string, len(items))
				for i, it := range items {
					ids[i] = it.ProcedureID
				}
				if err := ra.ReadAheadFiles(ctx, ids); err != nil {
					return err
				}
			}
			// Any refusal fails this savepoint, and the items are then
			// settled again each in its own, where refusals come at once:
			// so they may come late here (deferRefusals), and the items'
			// writes cost no round trip each.
			defer deferRefusals(tx)()
			for i, it := range items {
				out[i].Item = it
				var err error
				if out[i].Step, err = s.settle(ctx, tx, actor, it); err != nil {
					return err
				}
			}
			return nil
		})
		switch {
		case err == nil:
			return out, nil
		case !itemRefused(err):
			return nil, err
		}
		clear(out) // one was refused: rolled back, each again on its own
	}
	for i, it := range items {
		out[i].Item = it
		err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			var err error
			out[i].Step, err = s.settle(ctx, tx, actor, it)
			return err
		})
		if err == nil {
			continue
		}
		if !itemRefused(err) {
			return nil, err
		}
		out[i].Step, out[i].Err = nil, err
	}
	return out, nil
}

// refusalDeferrer is a transaction that can report the refusal of a write
// (a stale version, a taken key) at a later call or at the end of the
// savepoint or transaction it runs in, which then fails, rather than at
// the write (PostgreSQL: the write then goes with the next round trip).
type refusalDeferrer interface {
	DeferRefusals(on bool) (was bool)
}

// deferRefusals asks tx, if it can, to report refusals late, until the
// savepoint it runs in ends or the returned func is called. Only code
// that lets the savepoint or transaction fail on any error may ask it:
// a refusal it would have handled at the call (a step created already)
// comes as that failure instead.
func deferRefusals(tx cancuoc.Tx) (undo func()) {
	d, ok := tx.(refusalDeferrer)
	if !ok {
		return func() {}
	}
	was := d.DeferRefusals(true)
	return func() { d.DeferRefusals(was) }
}

// filesReader is a transaction that can read many files with their
// steps at once, kept for its next reads of each (PostgreSQL: one round
// trip for the batch rather than one per item).
type filesReader interface {
	ReadAheadFiles(ctx context.Context, ids []string) error
}

// settle completes or rejects one item in tx.
func (s *Service) settle(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, it BatchItem) (*cancuoc.ProcedureStep, error) {
	if it.Action == ActionReject {
		return s.RejectTx(ctx, tx, actor, it.ProcedureID, it.No, Rejection{Reason: it.Reason})
	}
	return s.CompleteTx(ctx, tx, actor, it.ProcedureID, it.No, Completion{Note: it.Note})
}

// itemRefused tells an error that refuses one item of a batch (its result
// says why) from one that fails the batch.
func itemRefused(err error) bool {
	switch cancuoc.KindOf(err) {
	case cancuoc.Invalid, cancuoc.NotFound, cancuoc.Conflict, cancuoc.Forbidden, cancuoc.Unauthenticated:
		return true
	}
	return false
}

// ClaimNext is ClaimNextTx in its own transaction.
func (s *Service) ClaimNext(ctx context.Context, actor *cancuoc.Principal, q ClaimQuery) ([]*cancuoc.ProcedureStep, error) {
	var out []*cancuoc.ProcedureStep
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) (err error) { out, err = s.ClaimNextTx(ctx, tx, actor, q); return err })
	if err == nil && len(out) > 0 {
		s.notify()
	}
	return out, err
}

// SettleBatch is SettleBatchTx in its own transaction.
func (s *Service) SettleBatch(ctx context.Context, actor *cancuoc.Principal, items []BatchItem) ([]BatchResult, error) {
	var out []BatchResult
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) (err error) { out, err = s.SettleBatchTx(ctx, tx, actor, items); return err })
	if err == nil {
		s.notify()
	}
	return out, err
}
