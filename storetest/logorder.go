package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

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

// testLogRuns writes one transaction's access-log entries and events in
// several runs (statements between savepoint boundaries, which a store
// may queue together), with entries of every shape: fields, none (nil) and
// empty, with and without a PIN; a savepoint rolled back takes its run's
// entries and events, and not the runs around it. The log must hold the
// entries, as written, in the order written, as one chain, and the outbox
// the events in order with their data, followed by another transaction's.
func testLogRuns(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	entry := func(name string, pin cancuoc.PIN, fields ...string) *cancuoc.AuditEntry {
		return &cancuoc.AuditEntry{At: T0.Add(time.Duration(len(name)) * time.Second), Actor: "officer-" + name,
			Action: "citizen.read", PIN: pin, Fields: fields, Purpose: "purpose " + name, Outcome: "ok " + name}
	}
	event := func(name string, pin cancuoc.PIN) *cancuoc.Event {
		return &cancuoc.Event{ID: "ev-" + name, Type: "t." + name, PIN: pin, Version: int64(len(name)), Actor: "a-" + name,
			At: T0, Data: []byte(`{"name":"` + name + `"}`)}
	}
	var want []*cancuoc.AuditEntry
	// The entries, then an event each: a run of both.
	appendBoth := func(tx cancuoc.Tx, keep bool, es ...*cancuoc.AuditEntry) error {
		if err := tx.AppendAudit(ctx, es...); err != nil {
			return err
		}
		if keep {
			want = append(want, es...)
		}
		for _, e := range es {
			if err := tx.AppendEvent(ctx, event(strings.TrimPrefix(e.Actor, "officer-"), e.PIN)); err != nil {
				return err
			}
		}
		return nil
	}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := appendBoth(tx, true, entry("a1", PIN(1), "full_name", "birth_date"), entry("a2", ""),
			entry("a3", PIN(2), []string{}...), entry("a4", PIN(1), "address")); err != nil {
			return err
		}
		if err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			return appendBoth(tx, true, entry("b1", PIN(3), "photo"))
		}); err != nil {
			return err
		}
		if err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			if err := appendBoth(tx, false, entry("x1", PIN(3), "photo"), entry("x2", PIN(4))); err != nil {
				return err
			}
			return errRollback
		}); !errors.Is(err, errRollback) {
			return fmt.Errorf("failing savepoint: %v", err)
		}
		return appendBoth(tx, true, entry("c1", "", "a", "b", "c"), entry("c2", PIN(5), "d"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error { return appendBoth(tx, true, entry("d1", PIN(6), "e")) }); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	n, err := s.AuditSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AuditRange(ctx, 1, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("the log holds %d entries, want %d", len(got), len(want))
	}
	var prev []byte
	for i, g := range got {
		w := *want[i]
		w.ID, w.Hash, w.At = g.ID, g.Hash, w.At.UTC()
		if g.ID != int64(i+1) || !bytes.Equal(cancuoc.AuditChainHash(prev, g), g.Hash) {
			t.Fatalf("entry %d: ID %d, chain broken", i+1, g.ID)
		}
		if !bytes.Equal(cancuoc.AuditCanonical(g), cancuoc.AuditCanonical(&w)) || !g.At.Equal(w.At) {
			t.Errorf("entry %d is %+v, want %+v", i+1, g, w)
		}
		prev = g.Hash
	}
	evs, err := s.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, e := range evs {
		name := strings.TrimPrefix(e.ID, "ev-")
		names = append(names, name)
		w := event(name, e.PIN)
		if e.Seq != int64(i+1) || e.Type != w.Type || e.Version != w.Version || e.Actor != w.Actor || !jsonEqual(e.Data, w.Data) {
			t.Errorf("event %d is %+v, want %+v", i+1, e, w)
		}
	}
	if wantNames := []string{"a1", "a2", "a3", "a4", "b1", "c1", "c2", "d1"}; !slices.Equal(names, wantNames) {
		t.Errorf("the outbox holds %v, want %v", names, wantNames)
	}
}

// jsonEqual compares two JSON texts by their values (a store may keep
// them in another spelling).
func jsonEqual(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
