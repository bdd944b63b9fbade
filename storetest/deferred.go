package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// refusalDeferrer is a transaction that can report the refusal of a
// write late (the PostgreSQL store; workflow.deferRefusals asks it).
type refusalDeferrer interface {
	DeferRefusals(on bool) (was bool)
}

// deferring asks tx to report refusals late, if it can.
func deferring(tx cancuoc.Tx) {
	if d, ok := tx.(refusalDeferrer); ok {
		d.DeferRefusals(true)
	}
}

// testDeferredRefusals: a transaction asked to defer refusals may report
// a refused write (a stale version, a taken key or number) at a later
// call or at its end rather than at the write; either way the transaction,
// or the savepoint the write ran in, fails with the refusal's Conflict and
// nothing of it commits, while writes nobody refused commit as usual. A
// store that cannot defer reports refusals at the call, which passes too.
func testDeferredRefusals(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	c := Citizen(PIN(70))
	mustInsert(t, s, c)
	p := Procedure("d1", 0)
	if err := s.InsertProcedure(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertStep(ctx, Step(p, 1, "civil_status")); err != nil {
		t.Fatal(err)
	}
	p2 := Procedure("d2", 1)
	// One document of a kind per citizen: each its own kind.
	doc := func(n string) *cancuoc.IssuedDocument {
		return &cancuoc.IssuedDocument{Kind: "k-" + n, Number: n, PIN: PIN(70), ProcedureID: "d1", IssuedAt: T0}
	}
	req := &cancuoc.IdempotentRequest{Principal: "agency-1", Key: "d-k1", Hash: []byte{1}, Status: 200, Body: []byte(`{}`), CreatedAt: T0.UTC()}
	h := &cancuoc.Household{ID: "d-h1", Version: 1, Address: cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: "00004"},
		HeadPIN: PIN(70), CreatedAt: T0.UTC(), UpdatedAt: T0.UTC()}
	entry := &cancuoc.ResidenceEntry{ID: "d-re1", PIN: PIN(70), Kind: cancuoc.ResidencePermanent, At: T0.UTC()}

	// Writes nobody refuses commit, each of the kinds a store may hold.
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		deferring(tx)
		f, err := tx.Procedure(ctx, "d1")
		if err != nil {
			return err
		}
		st, err := tx.Step(ctx, "d1", 1)
		if err != nil {
			return err
		}
		st.Status, st.Version = cancuoc.StepCompleted, 2
		f.Subject, f.Version = PIN(70), 2
		r, err := tx.Citizen(ctx, c.PIN)
		if err != nil {
			return err
		}
		r.Version, r.FullName, r.NameKey = 2, "Nguyễn Văn Hoãn", "nguyen van hoan"
		return errors.Join(tx.UpdateStep(ctx, st, 1), tx.UpdateProcedure(ctx, f, 1), tx.InsertStep(ctx, Step(p, 2, "police")),
			tx.UpdateCitizen(ctx, r, 1), tx.InsertProcedure(ctx, p2), tx.InsertStep(ctx, Step(p2, 1, "civil_status")),
			tx.InsertIssuedDocument(ctx, doc("1")), tx.SaveRequest(ctx, req), tx.InsertHousehold(ctx, h), tx.AppendResidence(ctx, entry))
	})
	if err != nil {
		t.Fatalf("deferred writes nobody refused: %v", err)
	}
	if st, err := s.Step(ctx, "d1", 1); err != nil || st.Version != 2 || st.Status != cancuoc.StepCompleted {
		t.Errorf("d1's step 1 after the commit: %+v, %v", st, err)
	}
	if f, err := s.Procedure(ctx, "d1"); err != nil || f.Version != 2 || f.Subject != PIN(70) {
		t.Errorf("d1 after the commit: %+v, %v", f, err)
	}
	if r := mustGet(t, s, c.PIN); r.Version != 2 || r.FullName != "Nguyễn Văn Hoãn" {
		t.Errorf("record after the commit: version %d, %q", r.Version, r.FullName)
	}
	for _, k := range [][2]any{{"d1", 2}, {"d2", 1}} {
		if _, err := s.Step(ctx, k[0].(string), k[1].(int)); err != nil {
			t.Errorf("step %v after the commit: %v", k, err)
		}
	}
	if _, err := s.Request(ctx, req.Principal, req.Key); err != nil {
		t.Errorf("request after the commit: %v", err)
	}
	if _, err := s.Household(ctx, h.ID); err != nil {
		t.Errorf("household after the commit: %v", err)
	}
	if hist, err := s.ResidenceHistory(ctx, PIN(70)); err != nil || len(hist) != 1 {
		t.Errorf("residence history after the commit: %d, %v; want 1", len(hist), err)
	}

	// Each refused write fails its transaction with a Conflict, whenever
	// the refusal comes, and nothing of the transaction commits (the
	// issued document written after it).
	marker := 0
	refused := func(what, code string, write func(tx cancuoc.Tx) error) {
		t.Helper()
		marker++
		n := fmt.Sprintf("marker-%d", marker)
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			deferring(tx)
			if err := write(tx); err != nil {
				return err
			}
			return tx.InsertIssuedDocument(ctx, doc(n))
		})
		var ce *cancuoc.Error
		if !errors.As(err, &ce) || ce.Kind != cancuoc.Conflict || ce.Code != code {
			t.Errorf("%s: %v, want a conflict %q (the code of a refusal at the call)", what, err, code)
		}
		if hasDocument(ctx, t, s, n) {
			t.Errorf("%s: the transaction's other write committed", what)
		}
	}
	refused("stale step", "stale_version", func(tx cancuoc.Tx) error {
		st, err := tx.Step(ctx, "d1", 1)
		if err != nil {
			return err
		}
		st.Version = 3
		return tx.UpdateStep(ctx, st, 1)
	})
	refused("stale file", "stale_version", func(tx cancuoc.Tx) error {
		f, err := tx.Procedure(ctx, "d1")
		if err != nil {
			return err
		}
		f.Version = 3
		return tx.UpdateProcedure(ctx, f, 1)
	})
	refused("stale record", "stale_version", func(tx cancuoc.Tx) error {
		r, err := tx.Citizen(ctx, c.PIN)
		if err != nil {
			return err
		}
		r.Version = 3
		return tx.UpdateCitizen(ctx, r, 1)
	})
	refused("taken PIN", "pin_taken", func(tx cancuoc.Tx) error { return tx.InsertCitizen(ctx, Citizen(PIN(70))) })
	refused("taken file ID", "duplicate", func(tx cancuoc.Tx) error { return tx.InsertProcedure(ctx, Procedure("d2", 2)) })
	refused("taken step", "step_exists", func(tx cancuoc.Tx) error { return tx.InsertStep(ctx, Step(p2, 1, "civil_status")) })
	refused("issued document", "document_exists", func(tx cancuoc.Tx) error { return tx.InsertIssuedDocument(ctx, doc("1")) })
	refused("taken request key", "duplicate", func(tx cancuoc.Tx) error { return tx.SaveRequest(ctx, req) })
	refused("taken household ID", "household_exists", func(tx cancuoc.Tx) error { return tx.InsertHousehold(ctx, h) })
	refused("taken residence entry ID", "duplicate", func(tx cancuoc.Tx) error { return tx.AppendResidence(ctx, entry) })

	// In a savepoint, the refusal fails the savepoint alone: the
	// transaction goes on and commits its other writes.
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			deferring(tx)
			r, err := tx.Citizen(ctx, c.PIN)
			if err != nil {
				return err
			}
			r.Version, r.FullName = 5, "Không Lưu"
			if err := tx.UpdateCitizen(ctx, r, 4); err != nil {
				return err
			}
			return tx.InsertIssuedDocument(ctx, doc("in-savepoint"))
		})
		if cancuoc.KindOf(err) != cancuoc.Conflict {
			return fmt.Errorf("savepoint with a stale record: %v, want a conflict", err)
		}
		return tx.InsertIssuedDocument(ctx, doc("after-savepoint"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if hasDocument(ctx, t, s, "in-savepoint") || !hasDocument(ctx, t, s, "after-savepoint") {
		t.Error("a savepoint refused late: want its writes rolled back and the transaction's others committed")
	}
	if r := mustGet(t, s, c.PIN); r.Version != 2 {
		t.Errorf("record after the refused savepoint: version %d, want 2", r.Version)
	}
}

// hasDocument reports whether PIN(70) holds the issued document number n.
func hasDocument(ctx context.Context, t *testing.T, s cancuoc.Store, n string) bool {
	t.Helper()
	docs, err := s.IssuedDocuments(ctx, PIN(70))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if d.Number == n {
			return true
		}
	}
	return false
}
