package workflow_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/workday"
	"github.com/cancuoc/cancuoc/workflow"
	"github.com/cancuoc/cancuoc/workflow/wftest"
)

func stepIDs(sts []*cancuoc.ProcedureStep) []string {
	out := []string{}
	for _, st := range sts {
		out = append(out, st.ProcedureID)
	}
	return out
}

func sameIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestClaimNext: an agency's clients claim tasks of their queue in
// batches, oldest first, each task by one client; a client gets its own
// claims back, and another takes over tasks whose lease ended.
func TestClaimNext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		var ids []string
		for range 3 {
			ids = append(ids, w.submitBirth(t).ID)
			w.clock.set(w.clock.now().Add(time.Millisecond))
		}
		_, err := w.wf.ClaimNext(ctx, w.civil, workflow.ClaimQuery{Max: 0})
		wantKind(t, err, cancuoc.Invalid, "max_invalid")
		_, err = w.wf.ClaimNext(ctx, w.civil, workflow.ClaimQuery{Max: workflow.MaxBatch + 1})
		wantKind(t, err, cancuoc.Invalid, "max_invalid")
		_, err = w.wf.ClaimNext(ctx, w.admin, workflow.ClaimQuery{Max: 5})
		wantKind(t, err, cancuoc.Forbidden, "no_agency")

		got, err := w.wf.ClaimNext(ctx, w.civil, workflow.ClaimQuery{Max: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(stepIDs(got), ids[:2]) {
			t.Fatalf("first claim = %v, want %v", stepIDs(got), ids[:2])
		}
		for _, st := range got {
			if st.Status != cancuoc.StepClaimed || st.ClaimedBy != w.civil.ID {
				t.Errorf("claimed step %s: %s by %s", st.ProcedureID, st.Status, st.ClaimedBy)
			}
		}
		got, err = w.wf.ClaimNext(ctx, w.civil2, workflow.ClaimQuery{Max: 5})
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(stepIDs(got), ids[2:]) {
			t.Fatalf("second client's claim = %v, want %v", stepIDs(got), ids[2:])
		}
		// Police has nothing yet; the social insurance of another
		// jurisdiction never sees Ba Đình's tasks.
		if got, err := w.wf.ClaimNext(ctx, w.police, workflow.ClaimQuery{Max: 5}); err != nil || len(got) != 0 {
			t.Fatalf("police claim before its step = %v, %v; want none", stepIDs(got), err)
		}
		// The holder gets its claims back (a restarted client).
		got, err = w.wf.ClaimNext(ctx, w.civil, workflow.ClaimQuery{Max: 5})
		if err != nil || !sameIDs(stepIDs(got), ids[:2]) {
			t.Fatalf("claim again by the holder = %v, %v; want %v", stepIDs(got), err, ids[:2])
		}
		// After the lease, civil2 takes over civil's tasks as well.
		w.clock.set(w.clock.now().Add(16 * time.Minute))
		got, err = w.wf.ClaimNext(ctx, w.civil2, workflow.ClaimQuery{Max: 5})
		if err != nil || len(got) != 3 {
			t.Fatalf("claim after the lease = %v, %v; want all three", stepIDs(got), err)
		}
		for _, st := range got {
			if st.ClaimedBy != w.civil2.ID {
				t.Errorf("step %s claimed by %s after the lease, want civil2", st.ProcedureID, st.ClaimedBy)
			}
		}
	})
}

// TestSettleBatch: one batch completes and rejects steps; the items
// refused (another client's claim, another agency's step, a rejection
// without reason, a missing file) fail alone with their reason, the others
// commit with their effects and events.
func TestSettleBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		f1, f2, f3, f4 := w.submitBirth(t), w.submitBirth(t), w.submitBirth(t), w.submitBirth(t)
		if _, err := w.wf.Claim(ctx, w.civil2, f3.ID, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := w.wf.Claim(ctx, w.civil, f1.ID, 1); err != nil {
			t.Fatal(err)
		}
		if err := workflow.CheckBatch(nil); cancuoc.KindOf(err) != cancuoc.Invalid {
			t.Errorf("empty batch: %v, want Invalid", err)
		}
		_, err := w.wf.SettleBatch(ctx, w.civil, []workflow.BatchItem{{ProcedureID: f1.ID, No: 1, Action: "approve"}})
		wantKind(t, err, cancuoc.Invalid, "action_invalid")

		res, err := w.wf.SettleBatch(ctx, w.civil, []workflow.BatchItem{
			{ProcedureID: f1.ID, No: 1, Note: "đủ giấy tờ"},            // claimed by civil: done
			{ProcedureID: f3.ID, No: 1},                                // civil2's claim
			{ProcedureID: f2.ID, No: 1, Action: workflow.ActionReject}, // no reason
			{ProcedureID: f2.ID, No: 1, Action: workflow.ActionComplete},
			{ProcedureID: f3.ID, No: 2}, // not created: f3's first step is not done
			{ProcedureID: f4.ID, No: 1, Action: workflow.ActionReject, Reason: "Thiếu giấy chứng sinh"},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			ok   bool
			kind cancuoc.Kind
			code string
		}{{ok: true}, {kind: cancuoc.Conflict, code: "claimed_by_other"}, {kind: cancuoc.Invalid, code: "reason_required"},
			{ok: true}, {kind: cancuoc.NotFound}, {ok: true}}
		for i, r := range res {
			if want[i].ok {
				if r.Err != nil || r.Step == nil {
					t.Errorf("item %d: %v, want done", i, r.Err)
				}
				continue
			}
			var e *cancuoc.Error
			if cancuoc.KindOf(r.Err) != want[i].kind || (want[i].code != "" && (!asErr(r.Err, &e) || e.Code != want[i].code)) || r.Step != nil {
				t.Errorf("item %d: %v, want %v %s", i, r.Err, want[i].kind, want[i].code)
			}
		}
		evs, err := w.store.EventsAfter(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		completions := 0
		for _, e := range evs {
			if e.Type == workflow.EventStepCompleted {
				completions++
				if !strings.Contains(string(e.Data), `"advanced":true`) {
					t.Errorf("completion event %s does not say its file was advanced", e.Data)
				}
				// It names the newborn and the certificate, for the wallet.
				var ref struct {
					Procedure string      `json:"procedure"`
					Subject   cancuoc.PIN `json:"subject"`
					Document  string      `json:"document"`
				}
				if err := json.Unmarshal(e.Data, &ref); err != nil || ref.Subject == "" || ref.Subject != w.file(t, ref.Procedure).Subject ||
					ref.Document != workflow.DocBirthCertificate {
					t.Errorf("completion event %s: subject and document %q %q, %v", e.Data, ref.Subject, ref.Document, err)
				}
			}
		}
		if completions != 2 {
			t.Errorf("%d completion events, want 2", completions)
		}
		for id, status := range map[string]cancuoc.StepStatus{f1.ID: cancuoc.StepCompleted, f2.ID: cancuoc.StepCompleted,
			f3.ID: cancuoc.StepClaimed, f4.ID: cancuoc.StepRejected} {
			if got := w.file(t, id).Steps[0].Status; got != status {
				t.Errorf("file %s step 1 = %s, want %s", id, got, status)
			}
		}
		// The completions' effects committed (the child's PIN) and, in
		// the same transaction, the police steps of f1 and f2 only: no
		// event handler has run yet. Running it afterwards (twice each)
		// changes nothing.
		if w.file(t, f1.ID).Subject == "" || w.file(t, f2.ID).Subject == "" || w.file(t, f3.ID).Subject != "" {
			t.Errorf("subjects after the batch: %q %q %q", w.file(t, f1.ID).Subject, w.file(t, f2.ID).Subject, w.file(t, f3.ID).Subject)
		}
		got, err := w.wf.ClaimNext(ctx, w.police, workflow.ClaimQuery{Max: 10})
		if err != nil || len(got) != 2 {
			t.Fatalf("police tasks after the batch = %v, %v; want f1 and f2", stepIDs(got), err)
		}
		w.drain(t)
		if got, err := w.wf.ClaimNext(ctx, w.police, workflow.ClaimQuery{Max: 10}); err != nil || len(got) != 2 {
			t.Fatalf("police tasks after the handler = %v, %v; want f1 and f2", stepIDs(got), err)
		}
		// Authorization is per item: the social insurance may not settle a
		// police step, and police of Cà Mau not one in Hà Nội.
		for _, p := range []*cancuoc.Principal{w.insurance, w.policeCaMau} {
			res, err := w.wf.SettleBatch(ctx, p, []workflow.BatchItem{{ProcedureID: f1.ID, No: 2}})
			if err != nil || cancuoc.KindOf(res[0].Err) != cancuoc.Forbidden {
				t.Errorf("%s settling a police step of Hà Nội: %v / %v, want Forbidden", p.Agency, err, res)
			}
		}
		res, err = w.wf.SettleBatch(ctx, w.police, []workflow.BatchItem{{ProcedureID: f1.ID, No: 2}, {ProcedureID: f2.ID, No: 2}})
		if err != nil || res[0].Err != nil || res[1].Err != nil {
			t.Fatalf("police batch: %v %v", err, res)
		}
		// Settling a completed step again answers it without doing it again.
		res, err = w.wf.SettleBatch(ctx, w.police, []workflow.BatchItem{{ProcedureID: f1.ID, No: 2}})
		if err != nil || res[0].Err != nil || res[0].Step.Status != cancuoc.StepCompleted {
			t.Fatalf("settling again: %v %v", err, res)
		}
	})
}

// TestHandleEventsTogether: step events handled at the same time share
// transactions; every file advances, and an event whose file is missing
// fails alone, to be delivered again, without holding back the others.
func TestHandleEventsTogether(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		var files []string
		for range 12 {
			f := w.submitBirth(t)
			files = append(files, f.ID)
		}
		w.drain(t)
		// Files left behind: their first step completed, as by a version
		// that left the next step to the handler, without the second.
		var done []cancuoc.Event
		for _, id := range files {
			st, err := w.store.Step(ctx, id, 1)
			if err != nil {
				t.Fatal(err)
			}
			n := *st
			n.Status, n.Version = cancuoc.StepCompleted, st.Version+1
			if err := w.store.UpdateStep(ctx, &n, st.Version); err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(map[string]any{"procedure": id, "kind": "birth", "step": 1, "province": hanoi})
			done = append(done, cancuoc.Event{ID: "legacy-" + id, Type: workflow.EventStepCompleted, PIN: w.mother.PIN, Data: data})
		}
		bad := done[0]
		bad.ID, bad.Data = "bad", []byte(`{"procedure":"no-such-file","kind":"birth","step":1,"province":"01"}`)
		done = append(done, bad)
		errs := make([]error, len(done))
		var wg sync.WaitGroup
		for round := range 2 { // twice: delivery is at least once
			for i, e := range done {
				wg.Go(func() { errs[i] = w.wf.HandleEvent(ctx, e) })
			}
			wg.Wait()
			for i, err := range errs {
				if i == len(done)-1 {
					if cancuoc.KindOf(err) != cancuoc.NotFound {
						t.Errorf("round %d: the event of a missing file: %v, want NotFound", round, err)
					}
				} else if err != nil {
					t.Errorf("round %d: event %d: %v", round, i, err)
				}
			}
		}
		got, err := w.wf.ClaimNext(ctx, w.police, workflow.ClaimQuery{Max: 100})
		if err != nil || len(got) != len(files) {
			t.Fatalf("police tasks = %d, %v; want %d", len(got), err, len(files))
		}
		// A completion that advanced its file in its own transaction says
		// so, and the handler then does nothing, not even a read.
		gone := bad
		gone.Data = []byte(`{"procedure":"no-such-file","kind":"birth","step":1,"province":"01","advanced":true}`)
		if err := w.wf.HandleEvent(ctx, gone); err != nil {
			t.Errorf("an advanced completion's event: %v, want nil without a read", err)
		}
	})
}

// TestIdleClaim: a claim that would take nothing is told from reads alone,
// without a transaction; pending tasks, tasks the caller holds or whose
// lease ended, a key whose answer is stored, and an invalid claim (whose
// error the claim itself reports) are not idle.
func TestIdleClaim(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		counted := &storetest.TxCounter{Store: w.store}
		wf := workflow.New(counted, w.reg, wftest.Residence{}, workday.Default(), workflow.WithClock(w.clock.now))
		q := workflow.ClaimQuery{Max: 5}
		if !wf.IdleClaim(ctx, w.police, q, w.police.ID, "k-police") {
			t.Error("police without a task: not idle")
		}
		if wf.IdleClaim(ctx, w.admin, q, w.admin.ID, "") || wf.IdleClaim(ctx, w.police, workflow.ClaimQuery{Max: 0}, w.police.ID, "") {
			t.Error("an invalid claim is idle; its error must come from the claim")
		}
		if n := counted.Count(); n != 0 {
			t.Errorf("%d transactions to find nothing to claim, want 0", n)
		}

		w.submitBirth(t)
		if wf.IdleClaim(ctx, w.civil, q, w.civil.ID, "k1") {
			t.Error("a pending task: idle")
		}
		claim := func(p *cancuoc.Principal, key string) []byte {
			t.Helper()
			ans, err := wf.Do(ctx, p.ID, key, []byte("claim"), 200, func(tx cancuoc.Tx) (any, error) { return wf.ClaimNextTx(ctx, tx, p, q) })
			if err != nil {
				t.Fatal(err)
			}
			return ans.Body
		}
		claim(w.civil, "k1")
		if wf.IdleClaim(ctx, w.civil, q, w.civil.ID, "k-new") {
			t.Error("the holder of a claimed task: idle (a restarted client gets its work back)")
		}
		if !wf.IdleClaim(ctx, w.civil2, q, w.civil2.ID, "k2") {
			t.Error("another client, within the holder's lease: not idle")
		}
		if body := claim(w.civil2, "k2"); string(body) != `[]` {
			t.Fatalf("civil2's claim answered %s", body)
		}
		if wf.IdleClaim(ctx, w.civil2, q, w.civil2.ID, "k2") {
			t.Error("a key whose answer is stored: idle (the retry must replay it)")
		}
		w.clock.set(w.clock.now().Add(16 * time.Minute))
		if wf.IdleClaim(ctx, w.civil2, q, w.civil2.ID, "k3") {
			t.Error("a task whose lease ended: idle")
		}
	})
}

// TestIdleClaimWhileKeyRuns: a request under the same key running
// meanwhile (its answer not stored yet) makes the claim not idle, so that
// the caller waits for the stored answer. On a SQLite file (WAL: reads do
// not wait for the writer; the in-memory store's do) and on PostgreSQL.
func TestIdleClaimWhileKeyRuns(t *testing.T) {
	file := func(t *testing.T) cancuoc.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "wf.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	for _, b := range []backend{{"sqlite-file", file}, backends[1]} {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.open(t))
			ctx := t.Context()
			wf := w.wf
			q := workflow.ClaimQuery{Max: 5}
			// A request under the same key running meanwhile (its answer not
			// stored yet) makes the claim not idle: the caller must wait for
			// the stored answer.
			started, release, finished := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() {
				_, err := wf.Do(ctx, w.police.ID, "k-police", []byte("claim"), 200, func(tx cancuoc.Tx) (any, error) {
					close(started)
					<-release
					return wf.ClaimNextTx(ctx, tx, w.police, q)
				})
				finished <- err
			}()
			<-started
			if wf.IdleClaim(ctx, w.police, q, w.police.ID, "k-police") {
				t.Error("a key whose request is running: idle")
			}
			if !wf.IdleClaim(ctx, w.police, q, w.police.ID, "k-other") {
				t.Error("another key, while one runs: not idle")
			}
			close(release)
			if err := <-finished; err != nil {
				t.Fatal(err)
			}
			if wf.IdleClaim(ctx, w.police, q, w.police.ID, "k-police") {
				t.Error("a key whose (empty) answer is stored: idle")
			}
		})
	}
}

// TestSettleBatchPINTaken: two births of one batch draw the same PIN. On
// PostgreSQL the second's insert is refused late (the batch's savepoint
// defers refusals), the savepoint is rolled back and the items are settled
// again each in its own; the outcome is the one of a refusal at once: both
// children registered, with different PINs, and each file's and child's
// writes, events and certificate once.
func TestSettleBatchPINTaken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		f1, f2 := w.submitBirth(t), w.submitBirth(t)
		aw := audit.NewWriter(w.store, 0)
		t.Cleanup(func() { aw.Close() })
		same := []byte{0, 0, 0, 7, 0, 0, 0, 7} // the first two serials drawn
		reg := registry.New(w.store, aw, registry.WithSerialSource(io.MultiReader(bytes.NewReader(same), rand.Reader)))
		wf := workflow.New(w.store, reg, wftest.Residence{}, workday.Default(), workflow.WithClock(w.clock.now), workflow.WithAuditWriter(aw))
		res, err := wf.SettleBatch(ctx, w.civil, []workflow.BatchItem{{ProcedureID: f1.ID, No: 1}, {ProcedureID: f2.ID, No: 1}})
		if err != nil || res[0].Err != nil || res[1].Err != nil {
			t.Fatalf("batch: %v, %+v", err, res)
		}
		s1, s2 := w.file(t, f1.ID).Subject, w.file(t, f2.ID).Subject
		if s1 == "" || s2 == "" || s1 == s2 {
			t.Fatalf("children's PINs %q and %q, want two", s1, s2)
		}
		evs, err := w.store.EventsAfter(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		born, completed, created := map[cancuoc.PIN]int{}, 0, 0
		for _, e := range evs {
			switch e.Type {
			case cancuoc.EventCitizenBorn:
				born[e.PIN]++
			case workflow.EventStepCompleted:
				completed++
			case workflow.EventTaskCreated:
				created++
			}
		}
		if len(born) != 4 || born[s1] != 1 || born[s2] != 1 || completed != 2 || created != 4 {
			t.Errorf("events: born %v, %d completions, %d tasks created; want the parents and each child born once, 2, 4 (2 submitted, 2 next)",
				born, completed, created)
		}
		for _, pin := range []cancuoc.PIN{s1, s2} {
			if vs, err := w.store.Versions(ctx, pin); err != nil || len(vs) != 1 {
				t.Errorf("versions of %s: %d, %v; want 1", pin, len(vs), err)
			}
			if docs, err := w.store.IssuedDocuments(ctx, pin); err != nil || len(docs) != 1 {
				t.Errorf("documents of %s: %d, %v; want the birth certificate", pin, len(docs), err)
			}
		}
		if m, err := w.store.Citizen(ctx, w.mother.PIN); err != nil || len(m.Children) != 2 {
			t.Errorf("the mother's children: %v, %v; want 2", m, err)
		}
	})
}

// TestSettleBatchRejects: rejections settled together (one savepoint,
// their files' writes grouped on PostgreSQL) each give their file the
// date to resubmit by.
func TestSettleBatchRejects(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		f1, f2 := w.submitBirth(t), w.submitBirth(t)
		res, err := w.wf.SettleBatch(ctx, w.civil, []workflow.BatchItem{
			{ProcedureID: f1.ID, No: 1, Action: workflow.ActionReject, Reason: "Thiếu giấy chứng sinh"},
			{ProcedureID: f2.ID, No: 1, Action: workflow.ActionReject, Reason: "Thiếu giấy chứng sinh"},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := vn(2026, 3, 11, 23, 59).Add(59 * time.Second)
		for i, id := range []string{f1.ID, f2.ID} {
			if res[i].Err != nil {
				t.Fatalf("item %d: %v", i, res[i].Err)
			}
			if f := w.file(t, id); f.ResubmitBy == nil || !f.ResubmitBy.Equal(want) || f.Steps[0].Status != cancuoc.StepRejected {
				t.Errorf("file %d: resubmit by %v, step %s; want %v, rejected", i, f.ResubmitBy, f.Steps[0].Status, want)
			}
		}
		// The sweep finds both (it selects by the stored column).
		w.clock.set(want.Add(time.Minute))
		if n, err := w.wf.Sweep(ctx); err != nil || n != 2 {
			t.Errorf("Sweep = %d, %v; want both refused", n, err)
		}
	})
}
