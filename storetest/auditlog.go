package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/auditlog"
)

// Exec runs one SQL statement on a store's database behind its back, the
// way someone with access to the database could tamper with the log.
type Exec func(ctx context.Context, sql string) error

// RunAuditLog checks the tamper-evident access log on a store: the chain's
// single order under concurrent writers, the stored Merkle tree, signed
// heads and proofs, queries, and that export and verify name an entry
// changed, removed or reordered in the database.
func RunAuditLog(t *testing.T, open func(t *testing.T) (cancuoc.Store, Exec)) {
	tests := []struct {
		name string
		fn   func(*testing.T, cancuoc.Store, Exec)
	}{
		{"Chain", testAuditChain},
		{"ConcurrentOrder", testAuditConcurrent},
		{"TreeAndProofs", testAuditTree},
		{"Search", testAuditSearch},
		{"VerifyIntact", testAuditVerifyIntact},
		{"TamperChanged", testAuditTamperChanged},
		{"TamperRemoved", testAuditTamperRemoved},
		{"TamperReordered", testAuditTamperReordered},
		{"BulkAppend", testAuditBulkAppend},
		{"ChainAcrossSavepoints", testAuditSavepoints},
		{"TouchedBlocks", testTouchedBlocks},
		{"TouchedTamperChanged", testTouchedTamperChanged},
		{"TouchedTamperRemoved", testTouchedTamperRemoved},
		{"TouchedTamperSwapped", testTouchedTamperSwapped},
		{"TouchedTamperSegment", testTouchedTamperSegment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, exec := open(t)
			tt.fn(t, s, exec)
		})
	}
}

func auditEntry(i int) *cancuoc.AuditEntry {
	e := &cancuoc.AuditEntry{At: T0.Add(time.Duration(i) * time.Second).Add(123 * time.Nanosecond),
		Actor: fmt.Sprintf("officer-%02d", i%5), Action: "citizen.read", PIN: PIN(i % 7),
		Fields: []string{"full_name", "birth_date"}, Purpose: "xác minh hồ sơ", Outcome: "ok"}
	switch i % 4 {
	case 1:
		e.Action, e.Purpose = "citizen.update", "cập nhật nơi thường trú"
	case 2:
		e.Fields = nil
	case 3:
		e.PIN = ""
	}
	return e
}

// appendN appends n entries numbered from first, in batches of 500.
func appendN(t *testing.T, s cancuoc.Store, first, n int) {
	t.Helper()
	for lo := first; lo < first+n; lo += 500 {
		var es []*cancuoc.AuditEntry
		for i := lo; i < min(lo+500, first+n); i++ {
			es = append(es, auditEntry(i))
		}
		if err := s.AppendAudit(t.Context(), es...); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, s)
}

// checkChain reads the whole log and checks IDs 1…n and every chain hash.
func checkChain(t *testing.T, s cancuoc.Store) []*cancuoc.AuditEntry {
	t.Helper()
	settle(t, s)
	n, err := s.AuditSize(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.AuditRange(t.Context(), 1, n)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(es)) != n {
		t.Fatalf("AuditRange(1, %d) returned %d entries", n, len(es))
	}
	var prev []byte
	for i, e := range es {
		if e.ID != int64(i+1) {
			t.Fatalf("entry %d has ID %d: the log has a gap or repeats", i+1, e.ID)
		}
		if !bytes.Equal(cancuoc.AuditChainHash(prev, e), e.Hash) {
			t.Fatalf("entry %d: chain hash does not follow", e.ID)
		}
		prev = e.Hash
	}
	return es
}

func testAuditChain(t *testing.T, s cancuoc.Store, _ Exec) {
	ctx := t.Context()
	a, b := auditEntry(0), auditEntry(1)
	if err := s.AppendAudit(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	// A store that sequences later (cancuoc.LogSequencer) leaves ID and
	// hash unset; read back, the entries have them.
	if a.ID != 0 && (a.ID != 1 || b.ID != 2 || len(a.Hash) != cancuoc.AuditHashSize || !bytes.Equal(b.Hash, cancuoc.AuditChainHash(a.Hash, b))) {
		t.Errorf("stamped entries: %d %x, %d %x", a.ID, a.Hash, b.ID, b.Hash)
	}
	settle(t, s)
	if es, err := s.AuditRange(ctx, 1, 2); err != nil || len(es) != 2 || es[0].ID != 1 || es[1].ID != 2 ||
		len(es[0].Hash) != cancuoc.AuditHashSize || !bytes.Equal(es[1].Hash, cancuoc.AuditChainHash(es[0].Hash, es[1])) {
		t.Errorf("entries 1 and 2 read back: %v, %v", es, err)
	}
	if a.At.Nanosecond()%1000 != 0 {
		t.Errorf("At not cut to microseconds: %v", a.At)
	}
	// Inside a transaction that commits, and one that rolls back: the
	// rolled-back entry leaves no gap and the caller's entry is untouched.
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error { return tx.AppendAudit(ctx, auditEntry(2)) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AppendAudit(ctx, auditEntry(3)); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	appendN(t, s, 4, 1203) // several statements in one append
	es := checkChain(t, s)
	if len(es) != 1206 {
		t.Fatalf("log has %d entries, want 1206", len(es))
	}
	// Every entry reads back as appended, in order: no fields (nil) stays
	// apart from fields, and a batch keeps its order.
	for i, got := range es {
		want := auditEntry(i)
		if i >= 3 {
			want = auditEntry(i + 1) // 3 was rolled back
		}
		if !got.At.Equal(want.At.Truncate(time.Microsecond)) || got.Actor != want.Actor || got.Action != want.Action ||
			got.PIN != want.PIN || !slices.Equal(got.Fields, want.Fields) || (got.Fields == nil) != (want.Fields == nil) ||
			got.Purpose != want.Purpose || got.Outcome != want.Outcome {
			t.Fatalf("entry %d read back as %+v, want %+v", i+1, got, want)
		}
	}
}

// testAuditConcurrent appends from many goroutines at once, on the store
// and inside transactions that stay open a while after appending (when a
// number taken at insert would commit out of order) or roll back, and
// checks that the log is one chain 1…n with every committed entry in it.
func testAuditConcurrent(t *testing.T, s cancuoc.Store, _ Exec) {
	ctx := t.Context()
	const writers, each = 8, 15
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		committed = map[string]bool{}
		errs      = make(chan error, writers*each)
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := auditEntry(w*100 + i)
				e.Purpose = fmt.Sprintf("w%d-%d", w, i)
				var err error
				switch i % 3 {
				case 0:
					err = s.AppendAudit(ctx, e)
				case 1:
					err = s.InTx(ctx, func(tx cancuoc.Tx) error {
						if err := tx.AppendAudit(ctx, e); err != nil {
							return err
						}
						time.Sleep(2 * time.Millisecond)
						return nil
					})
				case 2:
					err = s.InTx(ctx, func(tx cancuoc.Tx) error {
						if err := tx.AppendAudit(ctx, e); err != nil {
							return err
						}
						return errRollback
					})
					if errors.Is(err, errRollback) {
						continue
					}
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				committed[e.Purpose] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	es := checkChain(t, s)
	if len(es) != len(committed) {
		t.Fatalf("log has %d entries, %d were committed", len(es), len(committed))
	}
	for _, e := range es {
		if !committed[e.Purpose] {
			t.Errorf("entry %d (%s) was rolled back but is in the log", e.ID, e.Purpose)
		}
	}
}

var errRollback = errors.New("roll back")

// testAuditSavepoints appends inside one transaction around savepoints
// that roll back (alone, nested, after several entries): the log keeps
// only the entries that stay, as one chain without a gap, so no entry
// chains to one that was rolled back (a store that remembers the chain's
// head within a transaction must forget what a savepoint takes back).
func testAuditSavepoints(t *testing.T, s cancuoc.Store, _ Exec) {
	ctx := t.Context()
	entry := func(i int) *cancuoc.AuditEntry {
		e := auditEntry(i)
		e.Purpose = fmt.Sprintf("e%d", i)
		return e
	}
	failing := func(tx cancuoc.Tx, is ...int) error {
		return tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			for _, i := range is {
				if err := tx.AppendAudit(ctx, entry(i)); err != nil {
					return err
				}
			}
			return errRollback
		})
	}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AppendAudit(ctx, entry(0)); err != nil {
			return err
		}
		if err := failing(tx, 1); !errors.Is(err, errRollback) {
			return fmt.Errorf("failing savepoint: %v", err)
		}
		if err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			if err := tx.AppendAudit(ctx, entry(2)); err != nil {
				return err
			}
			if err := failing(tx, 3); !errors.Is(err, errRollback) {
				return fmt.Errorf("nested failing savepoint: %v", err)
			}
			return tx.AppendAudit(ctx, entry(4))
		}); err != nil {
			return err
		}
		if err := failing(tx, 5, 6); !errors.Is(err, errRollback) {
			return fmt.Errorf("failing savepoint of two entries: %v", err)
		}
		return tx.AppendAudit(ctx, entry(7), entry(8))
	})
	if err != nil {
		t.Fatal(err)
	}
	es := checkChain(t, s)
	var got []string
	for _, e := range es {
		got = append(got, e.Purpose)
	}
	if want := []string{"e0", "e2", "e4", "e7", "e8"}; !slices.Equal(got, want) {
		t.Fatalf("log holds %v, want %v", got, want)
	}
}

func newLog(t *testing.T, s cancuoc.Store) (*auditlog.Log, ed25519.PublicKey) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return auditlog.New(s, key, nil), pub
}

// testAuditTree checkpoints at sizes around the stored levels' block
// boundaries and checks each root against the direct computation, every
// few entries' inclusion proofs, and consistency between the heads.
func testAuditTree(t *testing.T, s cancuoc.Store, _ Exec) {
	ctx := t.Context()
	l, pub := newLog(t, s)
	if _, err := l.Latest(ctx); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("Latest on an empty log: %v, want NotFound", err)
	}
	sizes := []int{1, 2, 255, 256, 257, 600, 1000}
	if !testing.Short() {
		sizes = append(sizes, 65536+300) // the second stored level (2^16 entries)
	}
	var heads []*cancuoc.TreeHead
	var leaves [][]byte
	done := 0
	for _, size := range sizes {
		appendN(t, s, done, size-done)
		es, err := s.AuditRange(ctx, int64(done)+1, int64(size))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			leaves = append(leaves, auditlog.LeafHash(e))
		}
		done = size
		h, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatalf("Checkpoint at %d: %v", size, err)
		}
		if h.Size != int64(size) || !bytes.Equal(h.Root, auditlog.RootFromLeaves(leaves)) {
			t.Fatalf("head at %d: size %d, root differs from the direct computation", size, h.Size)
		}
		if err := auditlog.VerifyHead(pub, h); err != nil {
			t.Fatalf("head at %d: %v", size, err)
		}
		again, err := l.Checkpoint(ctx)
		if err != nil || again.Size != h.Size || !bytes.Equal(again.Signature, h.Signature) {
			t.Fatalf("a checkpoint with nothing new should return the latest head: %v", err)
		}
		heads = append(heads, h)
		for _, id := range []int64{1, int64(size) / 2, int64(size) - 1, int64(size)} {
			if id < 1 {
				continue
			}
			p, err := l.InclusionProof(ctx, id, h.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := auditlog.VerifyInclusion(leaves[id-1], id-1, h.Size, p.Hashes, h.Root); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", id, h.Size, err)
			}
		}
	}
	for i := range heads {
		for j := i; j < len(heads); j++ {
			p, err := l.ConsistencyProof(ctx, heads[i].Size, heads[j].Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := auditlog.VerifyConsistency(heads[i].Size, heads[j].Size, heads[i].Root, heads[j].Root, p); err != nil {
				t.Fatalf("consistency %d→%d: %v", heads[i].Size, heads[j].Size, err)
			}
		}
	}
	if _, err := l.InclusionProof(ctx, 5, 3); cancuoc.KindOf(err) != cancuoc.Invalid {
		t.Errorf("proof of an entry past the head: %v, want Invalid", err)
	}
	if _, err := l.ConsistencyProof(ctx, 1, 3); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("consistency with no head of size 3: %v, want NotFound", err)
	}
	got, err := s.TreeHeads(ctx, 0, 1<<40)
	if err != nil || len(got) != len(heads) {
		t.Fatalf("TreeHeads: %d, %v", len(got), err)
	}
}

func testAuditSearch(t *testing.T, s cancuoc.Store, _ Exec) {
	ctx := t.Context()
	appendN(t, s, 0, 40)
	all, err := s.AuditSearch(ctx, cancuoc.AuditQuery{Limit: 1000})
	if err != nil || len(all) != 40 || all[0].ID != 40 {
		t.Fatalf("AuditSearch all: %d, %v", len(all), err)
	}
	count := func(q cancuoc.AuditQuery, keep func(*cancuoc.AuditEntry) bool) {
		t.Helper()
		var want []int64
		for _, e := range all {
			if keep(e) {
				want = append(want, e.ID)
			}
		}
		// Page by 3 to exercise the cursor.
		var got []int64
		q.Limit = 3
		for {
			page, err := s.AuditSearch(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				got = append(got, e.ID)
			}
			if len(page) < 3 {
				break
			}
			q.Before = page[len(page)-1].ID
		}
		if !slices.Equal(got, want) {
			t.Errorf("AuditSearch(%+v) = %v, want %v", q, got, want)
		}
	}
	count(cancuoc.AuditQuery{PIN: PIN(3)}, func(e *cancuoc.AuditEntry) bool { return e.PIN == PIN(3) })
	count(cancuoc.AuditQuery{Actor: "officer-02"}, func(e *cancuoc.AuditEntry) bool { return e.Actor == "officer-02" })
	count(cancuoc.AuditQuery{Action: "citizen.update", Purpose: "cập nhật nơi thường trú"},
		func(e *cancuoc.AuditEntry) bool { return e.Action == "citizen.update" })
	from, to := T0.Add(10*time.Second), T0.Add(20*time.Second)
	count(cancuoc.AuditQuery{From: from, To: to}, func(e *cancuoc.AuditEntry) bool {
		return !e.At.Before(from) && e.At.Before(to)
	})
	count(cancuoc.AuditQuery{Actor: "officer-01", From: from}, func(e *cancuoc.AuditEntry) bool {
		return e.Actor == "officer-01" && !e.At.Before(from)
	})
	if got, err := s.AuditFor(ctx, PIN(3), 2); err != nil || len(got) != 2 || got[0].PIN != PIN(3) {
		t.Errorf("AuditFor: %v, %v", got, err)
	}
}

// exportAndVerify checkpoints, exports from…to and verifies the export.
func exportAndVerify(t *testing.T, l *auditlog.Log, pub ed25519.PublicKey, from, to int64) *auditlog.Report {
	t.Helper()
	var buf bytes.Buffer
	if err := l.Export(t.Context(), &buf, from, to); err != nil {
		t.Fatal(err)
	}
	rep, err := auditlog.Verify(&buf, pub)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func testAuditVerifyIntact(t *testing.T, s cancuoc.Store, _ Exec) {
	ctx := t.Context()
	l, pub := newLog(t, s)
	appendN(t, s, 0, 300)
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 300, 50)
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 350, 5) // not covered by a head
	for _, r := range [][2]int64{{1, 0}, {1, 300}, {120, 340}, {301, 355}, {290, 310}} {
		rep := exportAndVerify(t, l, pub, r[0], r[1])
		if rep.Problem != nil {
			t.Errorf("export %v: %v", r, rep.Problem)
		}
	}
	rep := exportAndVerify(t, l, pub, 1, 0)
	if rep.Entries != 355 || rep.Heads != 2 || rep.Unsigned != 5 {
		t.Errorf("report %+v, want 355 entries, 2 heads, 5 unsigned", rep)
	}
	rep = exportAndVerify(t, l, pub, 120, 340)
	if rep.Heads != 1 {
		t.Errorf("export 120…340 verified %d heads, want 1 (size 300)", rep.Heads)
	}
	// Another key's signature does not pass.
	other, _, _ := ed25519.GenerateKey(nil)
	var buf bytes.Buffer
	if err := l.Export(ctx, &buf, 1, 0); err != nil {
		t.Fatal(err)
	}
	if rep, _ := auditlog.Verify(&buf, other); rep.Problem == nil || rep.Problem.Kind != auditlog.ProblemHead {
		t.Errorf("verify with another key: %+v", rep.Problem)
	}
}

// tamper builds a log of 40 entries with a head, runs sql on the database,
// and returns what verify says about an export of the whole log.
func tamper(t *testing.T, s cancuoc.Store, exec Exec, sql ...string) *auditlog.Problem {
	t.Helper()
	ctx := t.Context()
	l, pub := newLog(t, s)
	appendN(t, s, 0, 40)
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if rep := exportAndVerify(t, l, pub, 1, 0); rep.Problem != nil {
		t.Fatalf("before tampering: %v", rep.Problem)
	}
	for _, q := range sql {
		if err := exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rep := exportAndVerify(t, l, pub, 1, 0)
	if rep.Problem == nil {
		t.Fatal("verify found nothing wrong after tampering")
	}
	return rep.Problem
}

func testAuditTamperChanged(t *testing.T, s cancuoc.Store, exec Exec) {
	p := tamper(t, s, exec, `UPDATE audit SET purpose = 'không có gì' WHERE seq = 17`)
	if p.Kind != auditlog.ProblemChanged || p.Entry != 17 {
		t.Errorf("verify said %+v, want entry 17 changed", p)
	}
}

func testAuditTamperRemoved(t *testing.T, s cancuoc.Store, exec Exec) {
	p := tamper(t, s, exec, `DELETE FROM audit WHERE seq = 23`)
	if p.Kind != auditlog.ProblemRemoved || p.Entry != 23 {
		t.Errorf("verify said %+v, want entry 23 removed", p)
	}
}

func testAuditTamperReordered(t *testing.T, s cancuoc.Store, exec Exec) {
	p := tamper(t, s, exec,
		`UPDATE audit SET seq = -9 WHERE seq = 9`,
		`UPDATE audit SET seq = 9 WHERE seq = 10`,
		`UPDATE audit SET seq = 10 WHERE seq = -9`)
	if p.Kind != auditlog.ProblemReordered || p.Entry != 9 {
		t.Errorf("verify said %+v, want entry 9 reordered", p)
	}
}

// testAuditBulkAppend appends batches as large as a bulk reconciliation's
// chunk (the stores may take another path for them: COPY), on the store
// and inside a transaction, one of them rolled back, and checks the chain,
// a citizen's view of their entries and that verify still catches a
// change inside such a batch.
func testAuditBulkAppend(t *testing.T, s cancuoc.Store, exec Exec) {
	ctx := t.Context()
	batch := func(first, n int) []*cancuoc.AuditEntry {
		es := make([]*cancuoc.AuditEntry, n)
		for i := range es {
			es[i] = auditEntry(first + i)
		}
		return es
	}
	appendN(t, s, 0, 3)
	if err := s.AppendAudit(ctx, batch(3, 5000)...); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.AppendAudit(ctx, batch(5003, 3000)...); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	in := batch(5003, 4000)
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error { return tx.AppendAudit(ctx, in...) }); err != nil {
		t.Fatal(err)
	}
	// A store that sequences later (cancuoc.LogSequencer) leaves the IDs to
	// its sequencer; the chain read back below has them.
	if _, later := s.(cancuoc.LogSequencer); !later && (in[0].ID != 5004 || in[3999].ID != 9003) {
		t.Errorf("bulk entries stamped %d…%d, want 5004…9003", in[0].ID, in[3999].ID)
	}
	settle(t, s)
	es := checkChain(t, s)
	if len(es) != 9003 {
		t.Fatalf("log has %d entries, want 9003 (the rolled-back batch leaves nothing)", len(es))
	}
	for _, i := range []int{3, 4, 6, 5002, 9002} {
		got, want := es[i], auditEntry(i)
		if got.PIN != want.PIN || got.Action != want.Action || !slices.Equal(got.Fields, want.Fields) ||
			!got.At.Equal(want.At.Truncate(time.Microsecond)) || got.Purpose != want.Purpose {
			t.Errorf("entry %d read back as %+v, want %+v", i+1, got, want)
		}
	}
	// The citizen's view: PIN(5) is every 7th entry without the ones
	// whose PIN auditEntry clears (i%4 == 3).
	want := 0
	for i := range 9003 {
		if i%7 == 5 && i%4 != 3 {
			want++
		}
	}
	mine, err := s.AuditSearch(ctx, cancuoc.AuditQuery{PIN: PIN(5), Limit: 10000})
	if err != nil || len(mine) != want {
		t.Fatalf("AuditSearch(PIN 5) = %d entries, %v; want %d", len(mine), err, want)
	}
	l, pub := newLog(t, s)
	if _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if err := exec(ctx, `UPDATE audit SET pin = '`+string(PIN(6))+`' WHERE seq = 4444`); err != nil {
		t.Fatal(err)
	}
	rep := exportAndVerify(t, l, pub, 1, 0)
	if rep.Problem == nil || rep.Problem.Kind != auditlog.ProblemChanged || rep.Problem.Entry != 4444 {
		t.Errorf("verify after changing the PIN of entry 4444: %+v", rep.Problem)
	}
}
