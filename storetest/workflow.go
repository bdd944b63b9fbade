package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunWorkflow runs the conformance tests of the ProcedureStore. open is as
// for Run.
func RunWorkflow(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"ProcedureRoundTrip", testProcedureRoundTrip},
		{"ProcedureQuery", testProcedureQuery},
		{"StepRoundTrip", testStepRoundTrip},
		{"StepQueue", testStepQueue},
		{"StepsReclaimable", testStepsReclaimable},
		{"StepExistsKeepsTx", testStepExistsKeepsTx},
		{"SavepointFailsAlone", testSavepointFailsAlone},
		{"StepsForClaim", testStepsForClaim},
		{"ClaimedStepsUpdate", testClaimedStepsUpdate},
		{"TxReadsItsWrites", testTxReadsItsWrites},
		{"FilesReadAhead", testFilesReadAhead},
		{"PeopleReadAhead", testPeopleReadAhead},
		{"HouseholdsReadAhead", testHouseholdsReadAhead},
		{"Documents", testDocuments},
		{"Requests", testRequests},
		{"DeferredRefusals", testDeferredRefusals},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// Procedure returns a fixture file with ID id, submitted at T0 plus n hours.
func Procedure(id string, n int) *cancuoc.Procedure {
	at := T0.Add(time.Duration(n) * time.Hour).UTC()
	return &cancuoc.Procedure{ID: id, Kind: cancuoc.ProcedureBirth, Status: cancuoc.ProcedureOpen,
		Applicant: PINFor("001", cancuoc.Female, 1995, 7), Province: "01", Commune: "00004", Online: true,
		SubmittedBy: "citizen:x", Application: json.RawMessage(`{"full_name":"Nguyễn Văn An"}`),
		SubmittedAt: at, Deadline: at.Add(9 * 24 * time.Hour), Version: 1}
}

// Step returns a fixture step of p.
func Step(p *cancuoc.Procedure, no int, agency string) *cancuoc.ProcedureStep {
	return &cancuoc.ProcedureStep{ProcedureID: p.ID, No: no, Name: fmt.Sprintf("step%d", no), Agency: agency,
		Status: cancuoc.StepPending, Kind: p.Kind, Province: p.Province, Commune: p.Commune, SubmittedAt: p.SubmittedAt,
		CreatedAt: p.SubmittedAt, Due: p.SubmittedAt.Add(48 * time.Hour), Version: 1}
}

func testProcedureRoundTrip(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	p := Procedure("p1", 0)
	if err := s.InsertProcedure(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertProcedure(ctx, Procedure("p1", 1)); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("second insert of p1: %v, want Conflict", err)
	}
	got, err := s.Procedure(ctx, "p1")
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("Procedure = %+v, %v; want %+v", got, err, p)
	}
	n := *got
	n.Status, n.Version, n.Subject = cancuoc.ProcedureCompleted, 2, PIN(5)
	closed := T0.Add(time.Hour).UTC()
	n.ClosedAt, n.ResubmitBy = &closed, &closed
	if err := s.UpdateProcedure(ctx, &n, 1); err != nil {
		t.Fatal(err)
	}
	stale := n
	stale.Version = 3
	if err := s.UpdateProcedure(ctx, &stale, 1); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("update at a stale version: %v, want Conflict", err)
	}
	missing := n
	missing.ID = "nope"
	if err := s.UpdateProcedure(ctx, &missing, 2); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("update of an unknown file: %v, want NotFound", err)
	}
	if got, err := s.Procedure(ctx, "p1"); err != nil || !reflect.DeepEqual(got, &n) {
		t.Errorf("after update = %+v, %v; want %+v", got, err, &n)
	}
	if _, err := s.Procedure(ctx, "nope"); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("unknown file: %v, want NotFound", err)
	}
}

func procedureIDs(ps []*cancuoc.Procedure) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func testProcedureQuery(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	for i := range 5 {
		p := Procedure(fmt.Sprintf("p%d", i), i)
		if i%2 == 1 {
			p.Kind, p.Province, p.Applicant = cancuoc.ProcedureDeath, "79", PIN(9)
		}
		if i == 4 {
			p.Status = cancuoc.ProcedureRefused
		}
		// Files waiting for a resubmission: p0 and p4 (refused) from
		// their insert, p2 and p3 from an update, p3's then cleared.
		by := T0.Add(time.Duration(i) * time.Hour).UTC()
		if i == 0 || i == 4 {
			p.ResubmitBy = &by
		}
		if err := s.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
		if i == 2 || i == 3 {
			n := *p
			n.ResubmitBy, n.Version = &by, 2
			if err := s.UpdateProcedure(ctx, &n, 1); err != nil {
				t.Fatal(err)
			}
			if i == 3 {
				n.ResubmitBy, n.Version = nil, 3
				if err := s.UpdateProcedure(ctx, &n, 2); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, tc := range []struct {
		name string
		q    cancuoc.ProcedureQuery
		want []string
	}{
		{"all", cancuoc.ProcedureQuery{}, []string{"p0", "p1", "p2", "p3", "p4"}},
		{"applicant", cancuoc.ProcedureQuery{Applicant: PIN(9)}, []string{"p1", "p3"}},
		{"kind", cancuoc.ProcedureQuery{Kind: cancuoc.ProcedureBirth}, []string{"p0", "p2", "p4"}},
		{"open", cancuoc.ProcedureQuery{Statuses: []cancuoc.ProcedureStatus{cancuoc.ProcedureOpen}}, []string{"p0", "p1", "p2", "p3"}},
		{"province", cancuoc.ProcedureQuery{Province: "79"}, []string{"p1", "p3"}},
		{"submitted", cancuoc.ProcedureQuery{SubmittedFrom: T0.Add(time.Hour), SubmittedTo: T0.Add(3 * time.Hour)}, []string{"p1", "p2"}},
		{"page", cancuoc.ProcedureQuery{AfterID: "p2", Limit: 1}, []string{"p3"}},
		{"resubmit by", cancuoc.ProcedureQuery{ResubmitByBefore: T0.Add(5 * time.Hour)}, []string{"p0", "p2", "p4"}},
		{"resubmit by, open", cancuoc.ProcedureQuery{Statuses: []cancuoc.ProcedureStatus{cancuoc.ProcedureOpen},
			ResubmitByBefore: T0.Add(2 * time.Hour)}, []string{"p0"}},
	} {
		got, err := s.Procedures(ctx, tc.q)
		if err != nil || !reflect.DeepEqual(procedureIDs(got), tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, procedureIDs(got), err, tc.want)
		}
	}
}

func testStepRoundTrip(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	p := Procedure("p1", 0)
	if err := s.InsertProcedure(ctx, p); err != nil {
		t.Fatal(err)
	}
	st := Step(p, 1, "civil_status")
	if err := s.InsertStep(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertStep(ctx, Step(p, 1, "police")); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("second step 1: %v, want Conflict", err)
	}
	got, err := s.Step(ctx, "p1", 1)
	if err != nil || !reflect.DeepEqual(got, st) {
		t.Fatalf("Step = %+v, %v; want %+v", got, err, st)
	}
	n := *got
	at := T0.Add(time.Minute).UTC()
	n.Status, n.ClaimedBy, n.ClaimedAt, n.Version = cancuoc.StepClaimed, "agency-1", &at, 2
	n.Result = json.RawMessage(`{"pin":"001095000007"}`)
	if err := s.UpdateStep(ctx, &n, 1); err != nil {
		t.Fatal(err)
	}
	// A second client that read version 1 loses: optimistic concurrency.
	other := *st
	other.Status, other.ClaimedBy, other.Version = cancuoc.StepClaimed, "agency-2", 2
	if err := s.UpdateStep(ctx, &other, 1); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("claim at a stale version: %v, want Conflict", err)
	}
	if got, err := s.Step(ctx, "p1", 1); err != nil || !reflect.DeepEqual(got, &n) {
		t.Errorf("after update = %+v, %v; want %+v", got, err, &n)
	}
	if _, err := s.Step(ctx, "p1", 2); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("unknown step: %v, want NotFound", err)
	}
	missing := n
	missing.No = 9
	if err := s.UpdateStep(ctx, &missing, 2); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("update of an unknown step: %v, want NotFound", err)
	}
}

func stepKeys(ss []*cancuoc.ProcedureStep) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, fmt.Sprintf("%s/%d", s.ProcedureID, s.No))
	}
	return out
}

func testStepQueue(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	for i := range 3 {
		p := Procedure(fmt.Sprintf("p%d", i), i)
		if i == 2 {
			p.Province, p.Commune, p.Kind = "79", "26734", cancuoc.ProcedureDeath
		}
		if err := s.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
		for no, agency := range []string{"civil_status", "police"} {
			st := Step(p, no+1, agency)
			if no == 0 {
				st.Status = cancuoc.StepCompleted
			}
			if err := s.InsertStep(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
	}
	pending := []cancuoc.StepStatus{cancuoc.StepPending, cancuoc.StepClaimed}
	for _, tc := range []struct {
		name string
		q    cancuoc.StepQuery
		want []string
	}{
		{"file", cancuoc.StepQuery{ProcedureID: "p1"}, []string{"p1/1", "p1/2"}},
		{"queue", cancuoc.StepQuery{Agency: "police", Statuses: pending}, []string{"p0/2", "p1/2", "p2/2"}},
		{"done", cancuoc.StepQuery{Agency: "police", Statuses: []cancuoc.StepStatus{cancuoc.StepCompleted}}, []string{}},
		{"province", cancuoc.StepQuery{Province: "79"}, []string{"p2/1", "p2/2"}},
		{"commune", cancuoc.StepQuery{Province: "01", Commune: "00004", Agency: "civil_status"}, []string{"p0/1", "p1/1"}},
		{"kind", cancuoc.StepQuery{Kind: cancuoc.ProcedureDeath, Agency: "police"}, []string{"p2/2"}},
		{"submitted", cancuoc.StepQuery{SubmittedFrom: T0.Add(time.Hour), SubmittedTo: T0.Add(2 * time.Hour)}, []string{"p1/1", "p1/2"}},
		{"page", cancuoc.StepQuery{AfterProcedure: "p0", AfterNo: 1, Limit: 2}, []string{"p0/2", "p1/1"}},
	} {
		got, err := s.Steps(ctx, tc.q)
		if err != nil || !reflect.DeepEqual(stepKeys(got), tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, stepKeys(got), err, tc.want)
		}
	}

	// A step's place moves with it (a correction moving a step sent back
	// to the applicant): updated alone, and in a set of steps the
	// transaction has locked (PostgreSQL writes those in one statement).
	moved := func(st *cancuoc.ProcedureStep) *cancuoc.ProcedureStep {
		n := *st
		n.Province, n.Commune, n.Version = "79", "26740", st.Version+1
		return &n
	}
	st, err := s.Step(ctx, "p0", 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateStep(ctx, moved(st), st.Version); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		sts, err := tx.Steps(ctx, cancuoc.StepQuery{Agency: "police", Province: "01", Statuses: pending, ForClaim: true})
		if err != nil {
			return err
		}
		if len(sts) != 1 || sts[0].ProcedureID != "p1" {
			t.Errorf("police steps left in 01: %v", stepKeys(sts))
			return nil
		}
		more, err := tx.Steps(ctx, cancuoc.StepQuery{ProcedureID: "p2", Agency: "police", ForClaim: true})
		if err != nil {
			return err
		}
		sts = append(sts, more...)
		return tx.UpdateSteps(ctx, []*cancuoc.ProcedureStep{moved(sts[0]), moved(sts[1])}, []int64{sts[0].Version, sts[1].Version})
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Steps(ctx, cancuoc.StepQuery{Province: "79", Commune: "26740"})
	if want := []string{"p0/2", "p1/2", "p2/2"}; err != nil || !reflect.DeepEqual(stepKeys(got), want) {
		t.Errorf("steps moved to 79/26740: %v, %v; want %v", stepKeys(got), err, want)
	}
	if got, err := s.Steps(ctx, cancuoc.StepQuery{Province: "01", Agency: "police"}); err != nil || len(got) != 0 {
		t.Errorf("police steps still in 01: %v, %v", stepKeys(got), err)
	}
}

// testStepsReclaimable: StepQuery.ReclaimableBy keeps the claimed tasks a
// claim may take again (the claimer's own, those without a claim time,
// those whose lease ended at or before ClaimedBefore, whatever the zone
// the claim time was written in) and leaves out the others' claims under a
// running lease; without it every claimed task comes.
func testStepsReclaimable(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	p := Procedure("p1", 0)
	if err := s.InsertProcedure(ctx, p); err != nil {
		t.Fatal(err)
	}
	before := T0.Add(time.Hour).UTC()
	at := func(d time.Duration, zone *time.Location) *time.Time { x := before.Add(d).In(zone); return &x }
	hanoi := time.FixedZone("ICT", 7*3600)
	claims := []struct {
		by string
		at *time.Time
	}{
		{"me", at(time.Minute, time.UTC)},           // 1: mine, lease running: kept
		{"other", at(time.Second, time.UTC)},        // 2: running: left out
		{"other", at(0, time.UTC)},                  // 3: ended just now: kept
		{"other", at(-time.Minute, hanoi)},          // 4: ended, written at +07:00: kept
		{"other", at(time.Second, hanoi)},           // 5: running, written at +07:00: left out
		{"other", nil},                              // 6: no claim time: kept
		{"other", at(-time.Microsecond, time.UTC)},  // 7: ended: kept
		{"other", at(1500*time.Microsecond, hanoi)}, // 8: running (1.5 ms): left out
	}
	for i, c := range claims {
		st := Step(p, i+1, "police")
		st.Status, st.ClaimedBy, st.ClaimedAt = cancuoc.StepClaimed, c.by, c.at
		if err := s.InsertStep(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	pending := Step(p, len(claims)+1, "police")
	if err := s.InsertStep(ctx, pending); err != nil {
		t.Fatal(err)
	}
	q := cancuoc.StepQuery{Agency: "police", Statuses: []cancuoc.StepStatus{cancuoc.StepClaimed}, ReclaimableBy: "me", ClaimedBefore: before}
	want := []string{"p1/1", "p1/3", "p1/4", "p1/6", "p1/7"}
	got, err := s.Steps(ctx, q)
	if err != nil || !reflect.DeepEqual(stepKeys(got), want) {
		t.Errorf("reclaimable: %v, %v; want %v", stepKeys(got), err, want)
	}
	q.Limit = 2
	if got, err := s.Steps(ctx, q); err != nil || !reflect.DeepEqual(stepKeys(got), want[:2]) {
		t.Errorf("reclaimable, limit 2: %v, %v; want %v", stepKeys(got), err, want[:2])
	}
	if n, _, err := s.CountSteps(ctx, q, before); err != nil || n != len(want) {
		t.Errorf("CountSteps(reclaimable) = %d, %v; want %d", n, err, len(want))
	}
	q.ReclaimableBy, q.Limit = "", 0
	if got, err := s.Steps(ctx, q); err != nil || len(got) != len(claims) {
		t.Errorf("every claimed task: %v, %v; want %d", stepKeys(got), err, len(claims))
	}
}

// testStepExistsKeepsTx: an event handler delivered twice inserts the same
// step again inside its transaction, sees Conflict and goes on.
func testStepExistsKeepsTx(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	p := Procedure("p1", 0)
	if err := s.InsertProcedure(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertStep(ctx, Step(p, 1, "civil_status")); err != nil {
		t.Fatal(err)
	}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertStep(ctx, Step(p, 1, "civil_status")); cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("repeated step in tx: %v, want Conflict", err)
		}
		if err := tx.InsertIssuedDocument(ctx, &cancuoc.IssuedDocument{Kind: "k", Number: "1", PIN: PIN(1), ProcedureID: "p1", IssuedAt: T0}); err != nil {
			return err
		}
		if err := tx.InsertIssuedDocument(ctx, &cancuoc.IssuedDocument{Kind: "k", Number: "1", PIN: PIN(2), ProcedureID: "p1", IssuedAt: T0}); cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("repeated document in tx: %v, want Conflict", err)
		}
		return tx.InsertStep(ctx, Step(p, 2, "police"))
	})
	if err != nil {
		t.Fatalf("transaction after conflicts: %v", err)
	}
	if _, err := s.Step(ctx, "p1", 2); err != nil {
		t.Errorf("step written after a conflict in the same tx: %v", err)
	}
}

// testSavepointFailsAlone: a savepoint that fails takes back only its own
// writes (including a statement the database refused, which on PostgreSQL
// aborts the transaction up to the savepoint), and the transaction goes on
// and commits the rest.
func testSavepointFailsAlone(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	errItem := cancuoc.E(cancuoc.Conflict, "test", "item_failed", "x", "x")
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertProcedure(ctx, Procedure("a", 0)); err != nil {
			return err
		}
		// Fails after writing: its write goes.
		err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertProcedure(ctx, Procedure("b", 1)); err != nil {
				return err
			}
			return errItem
		})
		if err != errItem {
			t.Errorf("failed savepoint returned %v, want its own error", err)
		}
		// Fails in the database (a duplicate ID), after a write of its own.
		err = tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertProcedure(ctx, Procedure("c", 2)); err != nil {
				return err
			}
			return tx.InsertProcedure(ctx, Procedure("a", 3))
		})
		if cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("savepoint with a duplicate: %v, want Conflict", err)
		}
		// Succeeds, nested in another one that succeeds.
		return tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertProcedure(ctx, Procedure("d", 4)); err != nil {
				return err
			}
			return tx.Savepoint(ctx, func(tx cancuoc.Tx) error { return tx.InsertProcedure(ctx, Procedure("e", 5)) })
		})
	})
	if err != nil {
		t.Fatalf("transaction after failed savepoints: %v", err)
	}
	for id, want := range map[string]bool{"a": true, "b": false, "c": false, "d": true, "e": true} {
		_, err := s.Procedure(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("file %s stored = %v (%v), want %v", id, got, err, want)
		}
	}
	// On the Store, a savepoint is a transaction of its own.
	if err := s.Savepoint(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertProcedure(ctx, Procedure("f", 6)); err != nil {
			return err
		}
		return errItem
	}); err != errItem {
		t.Errorf("Store.Savepoint = %v, want its error", err)
	}
	if _, err := s.Procedure(ctx, "f"); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("file of a failed Store.Savepoint: %v, want NotFound", err)
	}
	if err := s.Savepoint(ctx, func(tx cancuoc.Tx) error { return tx.InsertProcedure(ctx, Procedure("g", 7)) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Procedure(ctx, "g"); err != nil {
		t.Errorf("file of a Store.Savepoint: %v", err)
	}
}

// testStepsForClaim: ForClaim selects the same steps as without it, in a
// transaction and on the Store.
func testStepsForClaim(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	for i, id := range []string{"p1", "p2", "p3"} {
		p := Procedure(id, i)
		if err := s.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertStep(ctx, Step(p, 1, "police")); err != nil {
			t.Fatal(err)
		}
	}
	q := cancuoc.StepQuery{Agency: "police", Statuses: []cancuoc.StepStatus{cancuoc.StepPending}, Limit: 2, ForClaim: true}
	ids := func(sts []*cancuoc.ProcedureStep) string {
		out := ""
		for _, st := range sts {
			out += st.ProcedureID + " "
		}
		return out
	}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		got, err := tx.Steps(ctx, q)
		if err != nil {
			return err
		}
		if ids(got) != "p1 p2 " {
			t.Errorf("ForClaim in a tx = %q, want p1 p2", ids(got))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Steps(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if ids(got) != "p1 p2 " {
		t.Errorf("ForClaim on the store = %q, want p1 p2", ids(got))
	}
}

// testTxReadsItsWrites: inside a transaction a file and its steps read
// again after a write give the written version, after a savepoint rolled
// back the version before it, and every read gives the stored document
// (a store may read rows ahead of being asked: PostgreSQL reads a file's
// steps with it, and the files of a claim's tasks with them).
func testTxReadsItsWrites(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	insertFiles(t, s, "p1", "p2")
	errItem := cancuoc.E(cancuoc.Conflict, "test", "item_failed", "x", "x")
	check := func(tx cancuoc.Tx, id string, no int, procVersion, stepVersion int64, when string) {
		t.Helper()
		// The step first: a file read before may have read it ahead.
		st, err := tx.Step(ctx, id, no)
		if err != nil || st.Version != stepVersion {
			t.Errorf("%s: step %s/%d = %+v, %v; want version %d", when, id, no, st, err, stepVersion)
		}
		p, err := tx.Procedure(ctx, id)
		if err != nil || p.Version != procVersion {
			t.Errorf("%s: file %s = %+v, %v; want version %d", when, id, p, err, procVersion)
		}
		// The file's steps listed (a store may answer from what it read
		// with the file and wrote since).
		all, err := tx.Steps(ctx, cancuoc.StepQuery{ProcedureID: id})
		if err != nil || len(all) != 2 || all[0].No != 1 || all[no-1].Version != stepVersion {
			t.Errorf("%s: steps of %s = %d, %v; want 2, step %d at version %d", when, id, len(all), err, no, stepVersion)
		}
	}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		// A claim's selection, then a write to its first file before the
		// file is read.
		q := cancuoc.StepQuery{Agency: "police", Statuses: []cancuoc.StepStatus{cancuoc.StepPending}, Limit: 10, ForClaim: true}
		if got, err := tx.Steps(ctx, q); err != nil || len(got) != 4 {
			t.Fatalf("claim selection: %d steps, %v", len(got), err)
		}
		p1 := Procedure("p1", 0)
		p1.Version = 2
		if err := tx.UpdateProcedure(ctx, p1, 1); err != nil {
			return err
		}
		check(tx, "p1", 1, 2, 1, "after the file's update")
		// The file read, then its step written, then the step read.
		if _, err := tx.Procedure(ctx, "p2"); err != nil {
			return err
		}
		st := Step(Procedure("p2", 1), 2, "police")
		st.Version, st.Status = 2, cancuoc.StepClaimed
		if err := tx.UpdateStep(ctx, st, 1); err != nil {
			return err
		}
		check(tx, "p2", 2, 1, 2, "after the step's update")
		// A savepoint writes step 2, reads the file (and so may read the
		// step ahead) and step 1, then fails.
		err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			st := Step(Procedure("p2", 1), 2, "police")
			st.Version = 3
			if err := tx.UpdateStep(ctx, st, 2); err != nil {
				return err
			}
			if _, err := tx.Procedure(ctx, "p2"); err != nil {
				return err
			}
			check(tx, "p2", 1, 1, 1, "inside the savepoint")
			return errItem
		})
		if err != errItem {
			t.Errorf("savepoint = %v, want its error", err)
		}
		check(tx, "p2", 2, 1, 2, "after the savepoint's rollback")
		check(tx, "p2", 2, 1, 2, "read twice")
		// A step inserted after its file was read is listed.
		if _, err := tx.Procedure(ctx, "p2"); err != nil {
			return err
		}
		if err := tx.InsertStep(ctx, Step(Procedure("p2", 1), 3, "police")); err != nil {
			return err
		}
		if all, err := tx.Steps(ctx, cancuoc.StepQuery{ProcedureID: "p2"}); err != nil || len(all) != 3 || all[2].No != 3 {
			t.Errorf("steps after an insert: %d, %v; want 3", len(all), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Step(ctx, "p3", 1); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("step of no file: %v, want NotFound", err)
	}
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		if _, err := tx.Procedure(ctx, "p3"); cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Errorf("no file in a tx: %v, want NotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testDocuments(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	at := T0.UTC()
	card := &cancuoc.IssuedDocument{Kind: "health_card", Number: "TE101", PIN: PIN(1), ProcedureID: "p1", IssuedAt: at}
	cert := &cancuoc.IssuedDocument{Kind: "birth_certificate", Number: "KS1", PIN: PIN(1), ProcedureID: "p1", IssuedAt: at}
	for _, d := range []*cancuoc.IssuedDocument{card, cert} {
		if err := s.InsertIssuedDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []*cancuoc.IssuedDocument{
		{Kind: "health_card", Number: "TE102", PIN: PIN(1), ProcedureID: "p2", IssuedAt: at}, // second card for one child
		{Kind: "health_card", Number: "TE101", PIN: PIN(2), ProcedureID: "p2", IssuedAt: at}, // a number taken
	} {
		if err := s.InsertIssuedDocument(ctx, d); cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("InsertIssuedDocument(%+v) = %v, want Conflict", d, err)
		}
	}
	got, err := s.IssuedDocuments(ctx, PIN(1))
	if err != nil || !reflect.DeepEqual(got, []*cancuoc.IssuedDocument{cert, card}) {
		t.Errorf("Documents = %+v, %v", got, err)
	}
	if got, err := s.IssuedDocuments(ctx, PIN(2)); err != nil || len(got) != 0 {
		t.Errorf("Documents of someone without = %+v, %v", got, err)
	}
}

func testRequests(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	r := &cancuoc.IdempotentRequest{Principal: "agency-1", Key: "k1", Hash: []byte{1, 2, 3}, Status: 200,
		Body: []byte(`{"ok":true}`), CreatedAt: T0.UTC()}
	if err := s.SaveRequest(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRequest(ctx, r); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("second SaveRequest: %v, want Conflict", err)
	}
	got, err := s.Request(ctx, "agency-1", "k1")
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("Request = %+v, %v; want %+v", got, err, r)
	}
	if _, err := s.Request(ctx, "agency-2", "k1"); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("another principal's key: %v, want NotFound", err)
	}
}

// testClaimedStepsUpdate: steps a transaction selected for claim are
// updated from the version it read, twice, and a stale version is still
// refused (PostgreSQL holds the updates of rows it locked until the next
// round trip); what the transaction wrote is what it reads and what
// commits, and a rolled-back transaction or savepoint leaves nothing.
func testClaimedStepsUpdate(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	for i, id := range []string{"p1", "p2"} {
		p := Procedure(id, i)
		if err := s.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertStep(ctx, Step(p, 1, "police")); err != nil {
			t.Fatal(err)
		}
	}
	q := cancuoc.StepQuery{Agency: "police", Statuses: []cancuoc.StepStatus{cancuoc.StepPending}, Limit: 10, ForClaim: true}
	claim := func(tx cancuoc.Tx, st *cancuoc.ProcedureStep, by string) (*cancuoc.ProcedureStep, error) {
		n := *st
		n.Status, n.ClaimedBy, n.Version = cancuoc.StepClaimed, by, st.Version+1
		return &n, tx.UpdateStep(ctx, &n, st.Version)
	}
	errAbort := cancuoc.E(cancuoc.Conflict, "test", "abort", "x", "x")
	// Rolled back: nothing stays.
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		got, err := tx.Steps(ctx, q)
		if err != nil || len(got) != 2 {
			t.Fatalf("selection: %d, %v", len(got), err)
		}
		for _, st := range got {
			if _, err := claim(tx, st, "rolled-back"); err != nil {
				return err
			}
		}
		return errAbort
	})
	if err != errAbort {
		t.Fatalf("rolled-back claim: %v", err)
	}
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		got, err := tx.Steps(ctx, q)
		if err != nil || len(got) != 2 {
			t.Fatalf("selection: %d, %v", len(got), err)
		}
		for _, st := range got {
			if st.Version != 1 || st.ClaimedBy != "" {
				t.Errorf("after a rollback: %+v", st)
			}
			n, err := claim(tx, st, "a")
			if err != nil {
				return err
			}
			// Again from the version just written, still under the lock.
			if _, err := claim(tx, n, "b"); err != nil {
				return err
			}
			// From the version read: stale now.
			if _, err := claim(tx, st, "c"); cancuoc.KindOf(err) != cancuoc.Conflict {
				t.Errorf("stale update of a claimed step: %v, want Conflict", err)
			}
		}
		// A savepoint's update of a claimed step, rolled back.
		err = tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			st, err := tx.Step(ctx, "p1", 1)
			if err != nil {
				return err
			}
			if _, err := claim(tx, st, "d"); err != nil {
				return err
			}
			return errAbort
		})
		if err != errAbort {
			t.Errorf("savepoint: %v", err)
		}
		st, err := tx.Step(ctx, "p2", 1)
		if err != nil || st.Version != 3 || st.ClaimedBy != "b" {
			t.Errorf("read in the transaction: %+v, %v; want version 3 by b", st, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"p1", "p2"} {
		st, err := s.Step(ctx, id, 1)
		if err != nil || st.Version != 3 || st.ClaimedBy != "b" || st.Status != cancuoc.StepClaimed {
			t.Errorf("stored %s: %+v, %v; want version 3 claimed by b", id, st, err)
		}
	}
}

// insertFiles stores a file of each id, each with police steps 1 and 2.
func insertFiles(t *testing.T, s cancuoc.Store, ids ...string) []*cancuoc.Procedure {
	t.Helper()
	ctx := t.Context()
	var files []*cancuoc.Procedure
	for i, id := range ids {
		p := Procedure(id, i)
		if err := s.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
		for no := 1; no <= 2; no++ {
			if err := s.InsertStep(ctx, Step(p, no, "police")); err != nil {
				t.Fatal(err)
			}
		}
		files = append(files, p)
	}
	return files
}
