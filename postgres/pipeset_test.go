package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestGatheredHistoryAfterItsUpdate: under DeferRefusals a record's
// history row is held after the update of the record, as when each write
// is a statement of its own, even when a run of history rows was opened
// before (a birth stores the newborn's first version, then updates the
// parents'): the update takes the record's row lock first, so a writer
// holding the lock meanwhile adds the version's history row and commits,
// and the update is refused as stale. A history row sent before the
// update would hold that version's key while the update waits for the
// lock, and the other writer's history row would wait for it: a deadlock.
func TestGatheredHistoryAfterItsUpdate(t *testing.T) {
	serverURL(t)
	t.Parallel()
	ctx := t.Context()
	s := open(t)
	parent, child := storetest.PIN(1), storetest.PIN(2)
	if err := s.InsertCitizen(ctx, storetest.Citizen(parent)); err != nil {
		t.Fatal(err)
	}
	next := func(r *cancuoc.Citizen, name string) (*cancuoc.Citizen, *cancuoc.CitizenVersion) {
		n := r.Clone()
		n.Version, n.FullName = r.Version+1, name
		return n, &cancuoc.CitizenVersion{PIN: n.PIN, Version: n.Version, At: storetest.T0.UTC(), Actor: "a", Reason: "test", Citizen: n}
	}
	// The other writer updates the record at once and holds its lock.
	locked, goOn, otherDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		otherDone <- s.InTx(ctx, func(tx cancuoc.Tx) error {
			r, err := tx.Citizen(ctx, parent)
			if err != nil {
				return err
			}
			n, v := next(r, "Nguyễn Văn Khác")
			if err := tx.UpdateCitizen(ctx, n, r.Version); err != nil {
				return err
			}
			close(locked)
			<-goOn
			return tx.AppendVersion(ctx, v)
		})
	}()
	select {
	case <-locked:
	case err := <-otherDone:
		t.Fatalf("the other writer: %v", err)
	}
	// The batch: a new record with its first version, then the update of
	// the record with its history row, all held to the commit.
	batchDone := make(chan error, 1)
	go func() {
		batchDone <- s.InTx(ctx, func(tx cancuoc.Tx) error {
			tx.(interface{ DeferRefusals(bool) bool }).DeferRefusals(true)
			r, err := tx.Citizen(ctx, parent)
			if err != nil {
				return err
			}
			c := storetest.Citizen(child)
			if err := tx.InsertCitizen(ctx, c); err != nil {
				return err
			}
			if err := tx.AppendVersion(ctx, &cancuoc.CitizenVersion{PIN: child, Version: c.Version, At: storetest.T0.UTC(), Actor: "a", Citizen: c}); err != nil {
				return err
			}
			n, v := next(r, "Nguyễn Văn Lô")
			if err := tx.UpdateCitizen(ctx, n, r.Version); err != nil {
				return err
			}
			return tx.AppendVersion(ctx, v)
		})
	}()
	raw := s.Pool()
	table := schemaOf(t, s) + ".citizens"
	waitFor(t, "the batch's update to wait for the record's lock", func() bool {
		var waiting bool
		err := raw.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_locks w ON w.pid = l.pid
			WHERE l.locktype = 'tuple' AND l.relation = $1::regclass AND NOT w.granted)`, table).Scan(&waiting)
		return err == nil && waiting
	})
	close(goOn)
	if err := <-otherDone; err != nil {
		t.Errorf("the other writer, which took the lock first: %v, want it committed", err)
	}
	var ce *cancuoc.Error
	if err := <-batchDone; !errors.As(err, &ce) || ce.Code != "stale_version" {
		t.Errorf("the batch after the other writer: %v, want Conflict stale_version", err)
	}
	hist, err := s.Versions(context.WithoutCancel(ctx), parent)
	if err != nil || len(hist) != 1 || hist[0].Citizen.FullName != "Nguyễn Văn Khác" {
		t.Errorf("history of the record: %+v, %v; want the other writer's version alone", hist, err)
	}
}
