package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// RunStepBatch runs the conformance tests of ProcedureStore.UpdateSteps.
// open is as for Run.
func RunStepBatch(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"UpdateStepsAllOrNone", testUpdateStepsAllOrNone},
		{"UpdateStepsClaimed", testUpdateStepsClaimed},
		{"DeferredWritesOfManyFiles", testDeferredWritesOfManyFiles},
		{"DeferredNewRowsOfManyItems", testDeferredNewRowsOfManyItems},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// claimedBy returns each step of ss as claimed by by, one version later,
// and the versions they were at.
func claimedBy(ss []*cancuoc.ProcedureStep, by string) ([]*cancuoc.ProcedureStep, []int64) {
	out, prev := make([]*cancuoc.ProcedureStep, len(ss)), make([]int64, len(ss))
	for i, st := range ss {
		n := *st
		n.Status, n.ClaimedBy, n.Version = cancuoc.StepClaimed, by, st.Version+1
		out[i], prev[i] = &n, st.Version
	}
	return out, prev
}

// wantSteps checks the stored steps of the files ids (step no of each):
// each at version, claimed by by ("" for pending).
func wantSteps(ctx context.Context, t *testing.T, r cancuoc.Tx, no int, version int64, by string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		st, err := r.Step(ctx, id, no)
		if err != nil {
			t.Fatalf("Step %s/%d: %v", id, no, err)
		}
		status := cancuoc.StepPending
		if by != "" {
			status = cancuoc.StepClaimed
		}
		if st.Version != version || st.ClaimedBy != by || st.Status != status {
			t.Errorf("step %s/%d: version %d, %s by %q; want version %d, %s by %q",
				id, no, st.Version, st.Status, st.ClaimedBy, version, status, by)
		}
	}
	// The queue, which reads the columns beside the document, agrees.
	q := cancuoc.StepQuery{Agency: "police", Statuses: []cancuoc.StepStatus{cancuoc.StepClaimed}}
	claimed, err := r.Steps(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, st := range claimed {
		if st.No == no && st.ClaimedBy == by && slices.Contains(ids, st.ProcedureID) {
			n++
		}
	}
	if by != "" && n != len(ids) {
		t.Errorf("claimed by %q in the queue: %d, want %d", by, n, len(ids))
	}
}

// testUpdateStepsAllOrNone: UpdateSteps writes every step at its version,
// or, when one has another version or does not exist, none (Conflict or
// NotFound), and the transaction goes on.
func testUpdateStepsAllOrNone(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	insertFiles(t, s, "p1", "p2", "p3")
	read := func(r cancuoc.Tx, ids ...string) []*cancuoc.ProcedureStep {
		var out []*cancuoc.ProcedureStep
		for _, id := range ids {
			st, err := r.Step(ctx, id, 1)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, st)
		}
		return out
	}
	if err := s.UpdateSteps(ctx, nil, nil); err != nil {
		t.Fatalf("no steps: %v", err)
	}
	// On the store, all at their versions.
	ss, prev := claimedBy(read(s, "p1", "p2"), "a")
	if err := s.UpdateSteps(ctx, ss, prev); err != nil {
		t.Fatalf("UpdateSteps: %v", err)
	}
	wantSteps(ctx, t, s, 1, 2, "a", "p1", "p2")
	// One stale (p1 is at version 2 now): none written.
	stale := read(s, "p3", "p1")
	stale[1].Version = 1
	ss, prev = claimedBy(stale, "b")
	if err := s.UpdateSteps(ctx, ss, prev); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Fatalf("a stale step: %v, want Conflict", err)
	}
	wantSteps(ctx, t, s, 1, 1, "", "p3")
	wantSteps(ctx, t, s, 1, 2, "a", "p1")
	// One absent: none written.
	missing := read(s, "p3")
	ghost := *missing[0]
	ghost.ProcedureID = "p9"
	ss, prev = claimedBy(append(missing, &ghost), "c")
	if err := s.UpdateSteps(ctx, ss, prev); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Fatalf("an absent step: %v, want NotFound", err)
	}
	wantSteps(ctx, t, s, 1, 1, "", "p3")
	// In a transaction, a refusal leaves it usable: its other writes
	// commit, the refused set's do not.
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		stale := read(tx, "p3", "p2")
		stale[1].Version = 1
		ss, prev := claimedBy(stale, "d")
		if err := tx.UpdateSteps(ctx, ss, prev); cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("a stale step in a transaction: %v, want Conflict", err)
		}
		wantSteps(ctx, t, tx, 1, 1, "", "p3")
		ss, prev = claimedBy(read(tx, "p3", "p2"), "e")
		return tx.UpdateSteps(ctx, ss, prev)
	})
	if err != nil {
		t.Fatalf("transaction after a refusal: %v", err)
	}
	wantSteps(ctx, t, s, 1, 2, "e", "p3")
	wantSteps(ctx, t, s, 1, 3, "e", "p2")
	wantSteps(ctx, t, s, 2, 1, "", "p1", "p2", "p3")
}

// testUpdateStepsClaimed: the steps of a claim's selection (ForClaim,
// locked on PostgreSQL) written together are read back so in the
// transaction, again from the versions written, commit, and roll back
// with the transaction.
func testUpdateStepsClaimed(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	insertFiles(t, s, "p1", "p2", "p3")
	q := cancuoc.StepQuery{Agency: "police", Statuses: []cancuoc.StepStatus{cancuoc.StepPending}, Limit: 10, ForClaim: true}
	errAbort := cancuoc.E(cancuoc.Conflict, "test", "abort", "x", "x")
	claimAll := func(by string) error {
		return s.InTx(ctx, func(tx cancuoc.Tx) error {
			got, err := tx.Steps(ctx, q)
			if err != nil || len(got) != 6 {
				t.Fatalf("selection: %d, %v", len(got), err)
			}
			ss, prev := claimedBy(got, by)
			if err := tx.UpdateSteps(ctx, ss, prev); err != nil {
				return err
			}
			// Again from the versions just written, still under the locks.
			again, prev := claimedBy(ss, by)
			if err := tx.UpdateSteps(ctx, again, prev); err != nil {
				return err
			}
			// From the versions read: stale now, and nothing written.
			ss, prev = claimedBy(got, "stale")
			if err := tx.UpdateSteps(ctx, ss, prev); cancuoc.KindOf(err) != cancuoc.Conflict {
				t.Errorf("stale versions: %v, want Conflict", err)
			}
			// The file with all its steps, as the transaction reads it.
			all, err := tx.Steps(ctx, cancuoc.StepQuery{ProcedureID: "p2"})
			if err != nil || len(all) != 2 {
				t.Fatalf("steps of p2: %d, %v", len(all), err)
			}
			for _, st := range all {
				if st.Version != 3 || st.ClaimedBy != by {
					t.Errorf("read in the transaction: %+v; want version 3 by %s", st, by)
				}
			}
			wantSteps(ctx, t, tx, 1, 3, by, "p1", "p2", "p3")
			wantSteps(ctx, t, tx, 2, 3, by, "p1", "p2", "p3")
			if by == "rolled-back" {
				return errAbort
			}
			return nil
		})
	}
	if err := claimAll("rolled-back"); err != errAbort {
		t.Fatalf("rolled-back claim: %v", err)
	}
	wantSteps(ctx, t, s, 1, 1, "", "p1", "p2", "p3")
	wantSteps(ctx, t, s, 2, 1, "", "p1", "p2", "p3")
	if err := claimAll("a"); err != nil {
		t.Fatal(err)
	}
	wantSteps(ctx, t, s, 1, 3, "a", "p1", "p2", "p3")
	wantSteps(ctx, t, s, 2, 3, "a", "p1", "p2", "p3")
}

// testDeferredWritesOfManyFiles: a transaction that defers refusals and
// writes the steps, files and documents of many files (a batch settle;
// PostgreSQL gathers them into a statement per kind) stores each write,
// the first file's step written twice, and its reads see them; one stale write
// among them fails the transaction with its refusal's code, and nothing
// of it commits.
func testDeferredWritesOfManyFiles(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	ids := []string{"g1", "g2", "g3", "g4"}
	for i, id := range ids {
		p := Procedure(id, i)
		if err := s.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertStep(ctx, Step(p, 1, "police")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		mustInsert(t, s, Citizen(PIN(80+i)))
	}
	// The records of the files, read before the writes (as a batch
	// settle reads them ahead with the files).
	records := map[cancuoc.PIN]*cancuoc.Citizen{}
	readRecords := func(tx cancuoc.Tx, from, n int) error {
		for i := from; i < from+n; i++ {
			r, err := tx.Citizen(ctx, PIN(80+i))
			if err != nil {
				return err
			}
			records[r.PIN] = r
		}
		return nil
	}
	settle := func(tx cancuoc.Tx, id string, i int, stale bool) error {
		// The file's record changes, with its history row.
		r := records[PIN(80+i)].Clone()
		r.Version, r.FullName = r.Version+1, fmt.Sprintf("Nguyễn Văn %d", i)
		if err := tx.UpdateCitizen(ctx, r, r.Version-1); err != nil {
			return err
		}
		v := &cancuoc.CitizenVersion{PIN: r.PIN, Version: r.Version, At: T0.UTC(), Actor: "a", Reason: "test", Citizen: r}
		if i%2 == 0 { // changes or none (NULL)
			v.Changes = []cancuoc.FieldChange{{Field: "full_name", Old: json.RawMessage(`"x"`), New: json.RawMessage(`"y"`)}}
		}
		if err := tx.AppendVersion(ctx, v); err != nil {
			return err
		}
		f, err := tx.Procedure(ctx, id)
		if err != nil {
			return err
		}
		st, err := tx.Step(ctx, id, 1)
		if err != nil {
			return err
		}
		// In a completion's order: the document, the step, the file, the
		// next step.
		err = tx.InsertIssuedDocument(ctx, &cancuoc.IssuedDocument{Kind: "birth_certificate", Number: id,
			PIN: PIN(80 + i), ProcedureID: id, IssuedAt: T0.UTC()})
		if err != nil {
			return err
		}
		prev := st.Version
		if stale {
			prev--
		}
		if i == 0 { // the first file's step written twice
			claimed := *st
			claimed.Status, claimed.ClaimedBy, claimed.Version = cancuoc.StepClaimed, "a", st.Version+1
			if err := tx.UpdateStep(ctx, &claimed, prev); err != nil {
				return err
			}
			st, prev = &claimed, claimed.Version
		}
		done := *st
		done.Status, done.Version = cancuoc.StepCompleted, st.Version+1
		if err := tx.UpdateStep(ctx, &done, prev); err != nil {
			return err
		}
		f.Subject, f.Version = PIN(80+i), f.Version+1
		if err := tx.UpdateProcedure(ctx, f, f.Version-1); err != nil {
			return err
		}
		return tx.InsertStep(ctx, Step(f, 2, "insurance"))
	}
	// As a batch settle does, the files are read ahead where the store
	// can, so that the writes of all of them go in one round trip.
	readAhead := func(tx cancuoc.Tx, ids []string) error {
		if ra, ok := tx.(filesReader); ok {
			return ra.ReadAheadFiles(ctx, ids)
		}
		return nil
	}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		deferring(tx)
		if err := readAhead(tx, ids); err != nil {
			return err
		}
		if err := readRecords(tx, 0, len(ids)); err != nil {
			return err
		}
		for i, id := range ids {
			if err := settle(tx, id, i, false); err != nil {
				return err
			}
		}
		// A read of the queue sees the transaction's writes.
		next, err := tx.Steps(ctx, cancuoc.StepQuery{Agency: "insurance"})
		if err != nil {
			return err
		}
		if len(next) != len(ids) {
			t.Errorf("new steps read in the transaction: %d, want %d", len(next), len(ids))
		}
		done, err := tx.Steps(ctx, cancuoc.StepQuery{Agency: "police", Statuses: []cancuoc.StepStatus{cancuoc.StepCompleted}})
		if err != nil {
			return err
		}
		if len(done) != len(ids) {
			t.Errorf("completed steps read in the transaction: %d, want %d", len(done), len(ids))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("deferred writes of many files: %v", err)
	}
	for i, id := range ids {
		want := int64(2)
		if i == 0 {
			want = 3
		}
		st, err := s.Step(ctx, id, 1)
		if err != nil || st.Version != want || st.Status != cancuoc.StepCompleted {
			t.Errorf("%s step 1: %+v, %v; want completed at version %d", id, st, err, want)
		}
		if _, err := s.Step(ctx, id, 2); err != nil {
			t.Errorf("%s step 2: %v", id, err)
		}
		f, err := s.Procedure(ctx, id)
		if err != nil || f.Version != 2 || f.Subject != PIN(80+i) {
			t.Errorf("file %s: %+v, %v; want version 2", id, f, err)
		}
		if docs, err := s.IssuedDocuments(ctx, PIN(80+i)); err != nil || len(docs) != 1 {
			t.Errorf("documents of %s: %d, %v; want 1", id, len(docs), err)
		}
		r, err := s.Citizen(ctx, PIN(80+i))
		if err != nil || r.Version != 2 || r.FullName != fmt.Sprintf("Nguyễn Văn %d", i) {
			t.Errorf("record of %s: %+v, %v; want version 2", id, r, err)
		}
		hist, err := s.Versions(ctx, PIN(80+i))
		if err != nil || len(hist) != 1 || hist[0].Version != 2 || hist[0].Citizen.FullName != r.FullName || (len(hist[0].Changes) == 1) != (i%2 == 0) {
			t.Errorf("history of %s: %+v, %v; want version 2", id, hist, err)
		}
	}
	// The same on other files, one of them stale: refused, nothing stored.
	more := []string{"g5", "g6", "g7"}
	for i, id := range more {
		p := Procedure(id, 10+i)
		if err := s.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertStep(ctx, Step(p, 1, "police")); err != nil {
			t.Fatal(err)
		}
	}
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		deferring(tx)
		if err := readAhead(tx, more); err != nil {
			return err
		}
		if err := readRecords(tx, 10, len(more)); err != nil {
			return err
		}
		for i, id := range more {
			if err := settle(tx, id, 10+i, id == "g6"); err != nil {
				return err
			}
		}
		return nil
	})
	var ce *cancuoc.Error
	if !errors.As(err, &ce) || ce.Kind != cancuoc.Conflict || ce.Code != "stale_version" {
		t.Fatalf("a stale write among many: %v, want a conflict stale_version", err)
	}
	for i, id := range more {
		if st, err := s.Step(ctx, id, 1); err != nil || st.Version != 1 {
			t.Errorf("%s step 1 after a refusal: %+v, %v; want version 1", id, st, err)
		}
		if _, err := s.Step(ctx, id, 2); cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Errorf("%s step 2 after a refusal: %v, want NotFound", id, err)
		}
		if docs, err := s.IssuedDocuments(ctx, PIN(90+i)); err != nil || len(docs) != 0 {
			t.Errorf("documents of %s after a refusal: %d, %v; want none", id, len(docs), err)
		}
		if r, err := s.Citizen(ctx, PIN(90+i)); err != nil || r.Version != 1 {
			t.Errorf("record of %s after a refusal: %+v, %v; want version 1", id, r, err)
		}
		if hist, err := s.Versions(ctx, PIN(90+i)); err != nil || len(hist) != 0 {
			t.Errorf("history of %s after a refusal: %d, %v; want none", id, len(hist), err)
		}
	}
}

// testDeferredNewRowsOfManyItems: a transaction that defers refusals and
// stores the new rows of many items (a batch settle of births: the
// newborns' records, households and residence entries; PostgreSQL gathers
// them into a statement per kind) stores each as written, two entries of
// one person at one instant in the order written; one write among them
// refused (a taken PIN, household ID or entry ID) fails the transaction
// with its refusal's code, and nothing of it commits.
func testDeferredNewRowsOfManyItems(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	mustInsert(t, s, Citizen(PIN(200)))
	household := func(id string, head cancuoc.PIN) *cancuoc.Household {
		return &cancuoc.Household{ID: id, Version: 1, Address: cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: "00004"},
			HeadPIN: head, Members: []cancuoc.HouseholdMember{{PIN: head, Relation: cancuoc.RelationHead, Since: T0.UTC()}},
			CreatedAt: T0.UTC(), UpdatedAt: T0.UTC()}
	}
	entry := func(id string, pin cancuoc.PIN) *cancuoc.ResidenceEntry {
		return &cancuoc.ResidenceEntry{ID: id, PIN: pin, Kind: cancuoc.ResidencePermanent, HouseholdID: "n-h-" + string(pin), At: T0.UTC()}
	}
	records := func(from, n int) []*cancuoc.Citizen {
		var out []*cancuoc.Citizen
		for i := from; i < from+n; i++ {
			r := Citizen(PIN(i))
			if i%2 == 0 { // with a household or none (NULL), a partial date or not
				r.Household, r.BirthDate.Day = nil, 0
			}
			out = append(out, r)
		}
		return out
	}
	store := func(tx cancuoc.Tx, rs []*cancuoc.Citizen) error {
		for _, r := range rs {
			h := household("n-h-"+string(r.PIN), r.PIN)
			err := errors.Join(tx.InsertHousehold(ctx, h), tx.AppendResidence(ctx, entry("n-e-"+string(r.PIN), r.PIN)),
				tx.InsertCitizen(ctx, r), tx.AppendResidence(ctx, entry("n-f-"+string(r.PIN), r.PIN)))
			if err != nil {
				return err
			}
		}
		return nil
	}
	written := records(210, 5)
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		deferring(tx)
		return store(tx, written)
	})
	if err != nil {
		t.Fatalf("deferred new rows nobody refused: %v", err)
	}
	for _, r := range written {
		sameCitizen(t, "a record stored with others", mustGet(t, s, r.PIN), r)
		if h, err := s.Household(ctx, "n-h-"+string(r.PIN)); err != nil || !reflect.DeepEqual(h, household(h.ID, r.PIN)) {
			t.Errorf("household of %s: %+v, %v", r.PIN, h, err)
		}
		hist, err := s.ResidenceHistory(ctx, r.PIN)
		if err != nil || len(hist) != 2 || hist[0].ID != "n-e-"+string(r.PIN) || hist[1].ID != "n-f-"+string(r.PIN) {
			t.Errorf("residence history of %s: %+v, %v; want its two entries in the order written", r.PIN, hist, err)
		}
	}

	// The households updated together, as a batch of births whose
	// parents' households the register holds: each from the version read,
	// or one stale among them, which refuses them all.
	update := func(staleAt int) error {
		return s.InTx(ctx, func(tx cancuoc.Tx) error {
			deferring(tx)
			// All read first (as read ahead with the files), then all
			// updated: PostgreSQL's updates then go as one statement.
			var hs []*cancuoc.Household
			for _, r := range written {
				h, err := tx.Household(ctx, "n-h-"+string(r.PIN))
				if err != nil {
					return err
				}
				hs = append(hs, h)
			}
			for i, h := range hs {
				prev := h.Version
				if i == staleAt {
					prev--
				}
				h.Version, h.Members = h.Version+1, append(h.Members, cancuoc.HouseholdMember{PIN: PIN(300 + i), Relation: "con", Since: T0.UTC()})
				if err := tx.UpdateHousehold(ctx, h, prev); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := update(-1); err != nil {
		t.Fatalf("deferred household updates nobody refused: %v", err)
	}
	var ce *cancuoc.Error
	if err := update(2); !errors.As(err, &ce) || ce.Kind != cancuoc.Conflict || ce.Code != "stale_version" {
		t.Errorf("a stale household update among others: %v, want a conflict stale_version", err)
	}
	for i, r := range written {
		h, err := s.Household(ctx, "n-h-"+string(r.PIN))
		if err != nil || h.Version != 2 || len(h.Members) != 2 || h.Members[1].PIN != PIN(300+i) {
			t.Errorf("household of %s after the updates: %+v, %v; want version 2 with the first update's member", r.PIN, h, err)
		}
	}

	// One refused write among the others: the transaction fails with its
	// code, and none of the others commits.
	refused := func(what, code string, from int, taken func(tx cancuoc.Tx) error) {
		t.Helper()
		rs := records(from, 4)
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			deferring(tx)
			return errors.Join(store(tx, rs[:2]), taken(tx), store(tx, rs[2:]))
		})
		if !errors.As(err, &ce) || ce.Kind != cancuoc.Conflict || ce.Code != code {
			t.Errorf("%s: %v, want a conflict %q", what, err, code)
		}
		for _, r := range rs {
			if _, err := s.Citizen(ctx, r.PIN); !errors.Is(err, cancuoc.ErrNotFound) {
				t.Errorf("%s: record %s after the refused transaction: %v, want not found", what, r.PIN, err)
			}
			if _, err := s.Household(ctx, "n-h-"+string(r.PIN)); !errors.Is(err, cancuoc.ErrNotFound) {
				t.Errorf("%s: household of %s after the refused transaction: %v, want not found", what, r.PIN, err)
			}
		}
	}
	refused("taken PIN", "pin_taken", 220, func(tx cancuoc.Tx) error { return tx.InsertCitizen(ctx, Citizen(PIN(200))) })
	refused("taken household ID", "household_exists", 230, func(tx cancuoc.Tx) error {
		return tx.InsertHousehold(ctx, household("n-h-"+string(PIN(210)), PIN(210)))
	})
	refused("taken entry ID", "duplicate", 240, func(tx cancuoc.Tx) error {
		return tx.AppendResidence(ctx, entry("n-e-"+string(PIN(210)), PIN(210)))
	})
}
