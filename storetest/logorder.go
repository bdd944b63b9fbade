package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// settle waits until the store has given every committed access-log entry
// and event its place (cancuoc.WaitSequenced; at once on a store that
// sequences as it appends).
func settle(t *testing.T, s cancuoc.Store) {
	t.Helper()
	if err := cancuoc.WaitSequenced(t.Context(), s); err != nil {
		t.Fatalf("WaitSequenced: %v", err)
	}
}

// testLogOrderPerCitizen races writers changing one citizen the way the
// registry does (read, update from the version read, retry on a conflict)
// with another citizen's writers, each change appending an access-log
// entry and an event. The log and the outbox must hold one citizen's
// changes in the order they were made, whether the store sequences as it
// appends or later: changes to one citizen serialise on its row.
func testLogOrderPerCitizen(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	pins := []cancuoc.PIN{PIN(90), PIN(91)}
	for _, p := range pins {
		mustInsert(t, s, Citizen(p))
	}
	const each = 6
	errs := race(func(i int) error {
		pin := pins[i%2]
		for done := 0; done < each; {
			err := s.InTx(ctx, func(tx cancuoc.Tx) error {
				cur, err := tx.Citizen(ctx, pin)
				if err != nil {
					return err
				}
				n := cur.Clone()
				n.Version = cur.Version + 1
				n.FullName = fmt.Sprintf("Người %d-%d", i, done)
				if err := tx.UpdateCitizen(ctx, n, cur.Version); err != nil {
					return err
				}
				if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: T0, Actor: fmt.Sprint("w", i),
					Action: "citizen.update", PIN: pin, Purpose: fmt.Sprint(n.Version), Outcome: "ok"}); err != nil {
					return err
				}
				return tx.AppendEvent(ctx, &cancuoc.Event{ID: fmt.Sprintf("ev-%s-%d", pin, n.Version),
					Type: cancuoc.EventCitizenUpdated, PIN: pin, Version: n.Version, Actor: "t", At: T0})
			})
			if errors.Is(err, cancuoc.ErrConflict) {
				continue
			}
			if err != nil {
				return err
			}
			done++
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The citizen's view shows every change at once, sequenced or not.
	for _, pin := range pins {
		got, err := s.AuditFor(ctx, pin, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if want := workers / 2 * each; len(got) != want {
			t.Fatalf("AuditFor right after writing: %d entries, want %d", len(got), want)
		}
	}
	settle(t, s)
	evs, err := s.EventsAfter(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, pin := range pins {
		var versions []int64
		for _, e := range evs {
			if e.PIN == pin {
				versions = append(versions, e.Version)
			}
		}
		if len(versions) != workers/2*each || !slices.IsSorted(versions) || versions[0] != 2 ||
			versions[len(versions)-1] != int64(1+len(versions)) {
			t.Errorf("%s: events' versions in seq order %v, want 2…%d", pin, versions, 1+workers/2*each)
		}
		got, err := s.AuditFor(ctx, pin, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range got {
			if want := fmt.Sprint(int64(1 + len(got) - i)); e.ID == 0 || e.Purpose != want {
				t.Fatalf("%s: entry %d (newest first) has ID %d and version %s, want a place and version %s", pin, i, e.ID, e.Purpose, want)
			}
		}
	}
	checkChain(t, s)
}
