package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// filesReader is a transaction that reads many files ahead (PostgreSQL's
// ReadAheadFiles, used by a batch settle); other stores read each file
// when asked, and the test checks them the same way.
type filesReader interface {
	ReadAheadFiles(ctx context.Context, ids []string) error
}

// testFilesReadAhead: in a transaction that read several files ahead, each
// file, step and file's step list reads as stored, including after the
// transaction's own writes to it (a step updated, a step inserted), after
// another transaction changed a file (an update from the copy read ahead
// is refused, not applied over the change), and a file that does not
// exist is not found.
func testFilesReadAhead(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	files := insertFiles(t, s, "r1", "r2", "r3")
	var ahead bool
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		var ra filesReader
		ra, ahead = tx.(filesReader)
		if ahead {
			if err := ra.ReadAheadFiles(ctx, []string{"r1", "r2", "r3", "nope"}); err != nil {
				return err
			}
			// Another transaction changes r3's step 1 after the read ahead
			// (a store without it has one writer at a time: not there).
			changed := Step(files[2], 1, "police")
			changed.Status, changed.Version = cancuoc.StepClaimed, 2
			if err := s.UpdateStep(ctx, changed, 1); err != nil {
				return err
			}
		}
		for _, p := range files {
			got, err := tx.Procedure(ctx, p.ID)
			if err != nil || !reflect.DeepEqual(got, p) {
				return fmt.Errorf("Procedure(%s) = %+v, %v; want %+v", p.ID, got, err, p)
			}
		}
		if _, err := tx.Procedure(ctx, "nope"); !errors.Is(err, cancuoc.ErrNotFound) {
			return fmt.Errorf("a file that does not exist: %v, want not found", err)
		}
		st, err := tx.Step(ctx, "r1", 1)
		if err != nil || !reflect.DeepEqual(st, Step(files[0], 1, "police")) {
			return fmt.Errorf("Step(r1, 1) = %+v, %v", st, err)
		}
		// The transaction's own update of r1's step 1, then its insert of a
		// third step of r2: read back as written.
		st.Status, st.Version = cancuoc.StepClaimed, 2
		if err := tx.UpdateStep(ctx, st, 1); err != nil {
			return err
		}
		if got, err := tx.Step(ctx, "r1", 1); err != nil || got.Version != 2 || got.Status != cancuoc.StepClaimed {
			return fmt.Errorf("Step(r1, 1) after the transaction's update = %+v, %v", got, err)
		}
		if all, err := tx.Steps(ctx, cancuoc.StepQuery{ProcedureID: "r1"}); err != nil || len(all) != 2 || all[0].Version != 2 || all[1].Version != 1 {
			return fmt.Errorf("r1's steps after the transaction's update: %+v, %v", all, err)
		}
		if err := tx.InsertStep(ctx, Step(files[1], 3, "social_insurance")); err != nil {
			return err
		}
		if all, err := tx.Steps(ctx, cancuoc.StepQuery{ProcedureID: "r2"}); err != nil || len(all) != 3 {
			return fmt.Errorf("r2's steps after the transaction's insert: %d, %v; want 3", len(all), err)
		}
		got, err := tx.Step(ctx, "r3", 1)
		if err != nil || !ahead {
			return err
		}
		// Read ahead before the other transaction's change: an update
		// from that copy is refused, not applied over the change.
		got.Status, got.Version = cancuoc.StepCompleted, got.Version+1
		if err := tx.UpdateStep(ctx, got, got.Version-1); cancuoc.KindOf(err) != cancuoc.Conflict {
			return fmt.Errorf("update of r3's step 1 from the copy read ahead: %v, want a conflict", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The other transaction's change stands.
	if st, err := s.Step(ctx, "r3", 1); ahead && (err != nil || st.Version != 2 || st.Status != cancuoc.StepClaimed) {
		t.Errorf("r3's step 1 after the transactions: %+v, %v; want the other transaction's version 2", st, err)
	}
}

// testPeopleReadAhead: in a transaction that read files ahead, the
// records of their applicants and subjects read as stored: each read a
// record of its own, a read after the transaction's own update sees it,
// a record another transaction changed after the read ahead may be read
// as it was but an update from that copy is refused, and a file whose
// applicant has no record finds none.
func testPeopleReadAhead(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	mother := Citizen(PINFor("001", cancuoc.Female, 1995, 7)) // Procedure's applicant
	child := Citizen(PIN(80))
	mustInsert(t, s, mother, child)
	with := Procedure("q1", 0)
	with.Subject = child.PIN
	orphan := Procedure("q2", 1)
	orphan.Applicant = PIN(81) // no record
	for _, p := range []*cancuoc.Procedure{with, orphan} {
		if err := s.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	changed := child.Clone()
	changed.Version, changed.FullName = 2, "Đổi Bởi Giao Dịch Khác"
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		ra, ahead := tx.(filesReader)
		if ahead {
			if err := ra.ReadAheadFiles(ctx, []string{"q1", "q2"}); err != nil {
				return err
			}
			// Another transaction changes the child after the read ahead
			// (a store without it has one writer at a time: not there).
			if err := s.UpdateCitizen(ctx, changed, 1); err != nil {
				return err
			}
		}
		m, err := tx.Citizen(ctx, mother.PIN)
		if err != nil {
			return err
		}
		sameCitizen(t, "the applicant read ahead", m, mother)
		m.FullName = "Đổi Bởi Người Gọi"
		again, err := tx.Citizen(ctx, mother.PIN)
		if err != nil {
			return err
		}
		sameCitizen(t, "the applicant read again after its caller changed the first read", again, mother)
		again.Version, again.FullName = 2, "Nguyễn Thị Mẹ"
		if err := tx.UpdateCitizen(ctx, again, 1); err != nil {
			return err
		}
		if got, err := tx.Citizen(ctx, mother.PIN); err != nil || got.Version != 2 || got.FullName != again.FullName {
			return fmt.Errorf("the applicant after the transaction's update: %+v, %v", got, err)
		}
		c, err := tx.Citizen(ctx, child.PIN)
		if err != nil {
			return err
		}
		if ahead {
			c.Version, c.FullName = 2, "Từ Bản Đọc Trước"
			if err := tx.UpdateCitizen(ctx, c, 1); cancuoc.KindOf(err) != cancuoc.Conflict {
				return fmt.Errorf("update of the subject from the copy read ahead: %v, want a conflict", err)
			}
		} else {
			sameCitizen(t, "the subject", c, child)
		}
		if _, err := tx.Citizen(ctx, orphan.Applicant); !errors.Is(err, cancuoc.ErrNotFound) {
			return fmt.Errorf("an applicant without a record: %v, want not found", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, mother.PIN); got.Version != 2 || got.FullName != "Nguyễn Thị Mẹ" {
		t.Errorf("the applicant after the commit: version %d, %q", got.Version, got.FullName)
	}
	if got := mustGet(t, s, child.PIN); got.Version == 2 && got.FullName == "Từ Bản Đọc Trước" {
		t.Error("the subject was updated from a stale copy")
	}
}

// testHouseholdsReadAhead: in a transaction that read files ahead, the
// households of their applicants read as stored: one the register holds,
// one it does not (not found, until the transaction inserts it), one the
// transaction updates before reading it (read as updated), one the
// register does not hold that the transaction inserts before reading it
// (read as inserted, not as the none read ahead), and one another
// transaction changed after the read ahead (an update from that copy is
// refused, not applied over the change).
func testHouseholdsReadAhead(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	household := func(id string, head cancuoc.PIN) *cancuoc.Household {
		return &cancuoc.Household{ID: id, Version: 1, Address: cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: "00004"},
			HeadPIN: head, CreatedAt: T0.UTC(), UpdatedAt: T0.UTC()}
	}
	// Five applicants, each of a household: held, not held, updated by
	// the transaction, changed by another, not held and inserted by the
	// transaction.
	var (
		parents []cancuoc.PIN
		homes   []*cancuoc.Household
		ids     []string
	)
	for i, id := range []string{"hh-held", "hh-none", "hh-own", "hh-other", "hh-new"} {
		pin := PINFor("001", cancuoc.Female, 1995, 40+i)
		r := Citizen(pin)
		r.Household = &cancuoc.HouseholdLink{ID: id, HeadPIN: pin, HeadName: r.FullName, Relation: cancuoc.RelationHead}
		mustInsert(t, s, r)
		h := household(id, pin)
		if id != "hh-none" && id != "hh-new" {
			if err := s.InsertHousehold(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		p := Procedure("hq"+strconv.Itoa(i), i)
		p.Applicant = pin
		if err := s.InsertProcedure(ctx, p); err != nil {
			t.Fatal(err)
		}
		parents, homes, ids = append(parents, pin), append(homes, h), append(ids, p.ID)
	}
	changed := household("hh-other", parents[3])
	changed.Version, changed.Members = 2, []cancuoc.HouseholdMember{{PIN: parents[3], Relation: cancuoc.RelationHead, Since: T0.UTC()}}
	var ahead bool
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		var ra filesReader
		if ra, ahead = tx.(filesReader); ahead {
			if err := ra.ReadAheadFiles(ctx, ids); err != nil {
				return err
			}
			// Another transaction changes hh-other after the read ahead
			// (a store without it has one writer at a time: not there).
			if err := s.UpdateHousehold(ctx, changed, 1); err != nil {
				return err
			}
		}
		if got, err := tx.Household(ctx, "hh-held"); err != nil || !reflect.DeepEqual(got, homes[0]) {
			return fmt.Errorf("a household read ahead = %+v, %v; want %+v", got, err, homes[0])
		}
		if got, err := tx.Household(ctx, "hh-held"); err != nil || !reflect.DeepEqual(got, homes[0]) {
			return fmt.Errorf("a household read ahead, read again = %+v, %v; want %+v", got, err, homes[0])
		}
		if _, err := tx.Household(ctx, "hh-none"); !errors.Is(err, cancuoc.ErrNotFound) {
			return fmt.Errorf("a household the register does not hold: %v, want not found", err)
		}
		if err := tx.InsertHousehold(ctx, homes[1]); err != nil {
			return err
		}
		if got, err := tx.Household(ctx, "hh-none"); err != nil || !reflect.DeepEqual(got, homes[1]) {
			return fmt.Errorf("a household after the transaction's insert = %+v, %v; want %+v", got, err, homes[1])
		}
		if err := tx.InsertHousehold(ctx, homes[4]); err != nil {
			return err
		}
		if got, err := tx.Household(ctx, "hh-new"); err != nil || !reflect.DeepEqual(got, homes[4]) {
			return fmt.Errorf("a household read ahead as none, inserted by the transaction = %+v, %v; want %+v", got, err, homes[4])
		}
		own := household("hh-own", parents[2])
		own.Version = 2
		if err := tx.UpdateHousehold(ctx, own, 1); err != nil {
			return err
		}
		if got, err := tx.Household(ctx, "hh-own"); err != nil || !reflect.DeepEqual(got, own) {
			return fmt.Errorf("a household after the transaction's update = %+v, %v; want %+v", got, err, own)
		}
		other, err := tx.Household(ctx, "hh-other")
		if err != nil || !ahead {
			return err
		}
		// Read ahead before the other transaction's change: an update
		// from that copy is refused.
		other.Version = 2
		if err := tx.UpdateHousehold(ctx, other, 1); cancuoc.KindOf(err) != cancuoc.Conflict {
			return fmt.Errorf("update of a household from the copy read ahead: %v, want a conflict", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Household(ctx, "hh-other"); ahead && (err != nil || !reflect.DeepEqual(got, changed)) {
		t.Errorf("hh-other after the transactions: %+v, %v; want the other transaction's version 2", got, err)
	}
}
