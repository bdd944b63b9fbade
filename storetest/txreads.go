package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// testCitizenReadsInTx: a write transaction that reads the same record
// several times (a birth file reads each parent three times) gets, each
// time, a record of its own, as stored at that moment: changing one read
// does not change the next, a read after the transaction's own update or
// insert sees it, and a read after a savepoint rolled back sees the record
// as it was before the savepoint. A store that keeps what a transaction
// has read must keep these.
func testCitizenReadsInTx(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	orig := Citizen(PIN(60))
	mustInsert(t, s, orig)
	v2 := orig.Clone()
	v2.Version, v2.FullName, v2.NameKey, v2.UpdatedAt = 2, "Nguyễn Văn Hai", "nguyen van hai", T0.Add(time.Hour)
	v3 := v2.Clone()
	v3.Version, v3.FullName, v3.NameKey, v3.UpdatedAt = 3, "Nguyễn Văn Ba", "nguyen van ba", T0.Add(2*time.Hour)
	born := Citizen(PIN(61))
	read := func(tx cancuoc.Tx, pin cancuoc.PIN, what string, want *cancuoc.Citizen) *cancuoc.Citizen {
		t.Helper()
		c, err := tx.Citizen(ctx, pin)
		if err != nil {
			t.Fatalf("%s: Citizen: %v", what, err)
		}
		sameCitizen(t, what, c, want)
		return c
	}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		// A missing record, then inserted: found.
		if _, err := tx.Citizen(ctx, born.PIN); !errors.Is(err, cancuoc.ErrNotFound) {
			return fmt.Errorf("unknown PIN: %v, want not found", err)
		}
		// Reads each changed by their caller, down to nested values.
		change := func(a *cancuoc.Citizen) {
			a.FullName = "Đổi Tên"
			a.OtherNames[0] = "đổi"
			a.Cards[0].Number = "000000000000"
			a.Father.Name = "Đổi Cha"
			a.BirthPlace.Detail = "đổi"
			a.Children = append(a.Children, cancuoc.Relative{PIN: PIN(62)})
		}
		change(read(tx, orig.PIN, "first read", orig))
		change(read(tx, orig.PIN, "second read, after the first was changed by its caller", orig))
		read(tx, orig.PIN, "third read, after the second was changed by its caller", orig)
		// The records written are their callers', who may change them
		// afterwards: reads give what was stored.
		w := v2.Clone()
		if err := tx.UpdateCitizen(ctx, w, 1); err != nil {
			return err
		}
		change(w)
		read(tx, orig.PIN, "read after the transaction's update", v2)
		// An update refused (stale version) changes nothing read.
		stale := v3.Clone()
		stale.FullName = "Cũ"
		if err := tx.UpdateCitizen(ctx, stale, 1); cancuoc.KindOf(err) != cancuoc.Conflict {
			return fmt.Errorf("update from a stale version: %v, want a conflict", err)
		}
		read(tx, orig.PIN, "read after a stale update was refused", v2)
		w = born.Clone()
		if err := tx.InsertCitizen(ctx, w); err != nil {
			return err
		}
		change(w)
		read(tx, born.PIN, "read after the transaction's insert", born)
		// An insert refused (the PIN is taken) changes nothing read.
		taken := born.Clone()
		taken.FullName = "Trùng"
		if err := tx.InsertCitizen(ctx, taken); cancuoc.KindOf(err) != cancuoc.Conflict {
			return fmt.Errorf("insert of a taken PIN: %v, want a conflict", err)
		}
		read(tx, born.PIN, "read after an insert of its PIN was refused", born)
		// An update in a savepoint rolled back: the record as before it,
		// also when read inside the savepoint after the update.
		err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			read(tx, orig.PIN, "read in the savepoint", v2)
			if err := tx.UpdateCitizen(ctx, v3, 2); err != nil {
				return err
			}
			read(tx, orig.PIN, "read after the update in the savepoint", v3)
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			return fmt.Errorf("savepoint: %v", err)
		}
		read(tx, orig.PIN, "read after the savepoint rolled back", v2)
		return tx.UpdateCitizen(ctx, v3, 2)
	})
	if err != nil {
		t.Fatal(err)
	}
	sameCitizen(t, "after the commit", mustGet(t, s, orig.PIN), v3)
	// A transaction that fails leaves nothing behind for the next one.
	errFail := errors.New("fail")
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		read(tx, orig.PIN, "read before a failing update", v3)
		v4 := v3.Clone()
		v4.Version, v4.FullName = 4, "Bốn"
		if err := tx.UpdateCitizen(ctx, v4, 3); err != nil {
			return err
		}
		return errFail
	})
	if !errors.Is(err, errFail) {
		t.Fatalf("failing transaction: %v", err)
	}
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		read(tx, orig.PIN, "next transaction", v3)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
