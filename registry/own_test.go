package registry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestOwn: a signed-in citizen reads their whole record, the reading is in
// their access log, and nobody else gets a record through Own.
func TestOwn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		svc, store := newService(t, b)
		c := storetest.Citizen(storetest.PIN(41))
		if err := store.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
		me := cancuoc.CitizenPrincipal("acc-41", c.PIN)
		got, err := svc.Own(ctx, me)
		if err != nil {
			t.Fatal(err)
		}
		if got.PIN != c.PIN || got.FullName != c.FullName || len(got.Cards) != 2 || got.Phone == "" {
			t.Errorf("own record incomplete: %+v", got)
		}
		log, err := store.AuditFor(ctx, c.PIN, 10)
		if err != nil || len(log) != 1 || log[0].Actor != "eid:acc-41" || log[0].Action != "citizen.read_own" {
			t.Fatalf("access log: %+v, %v", log, err)
		}
		for _, p := range []*cancuoc.Principal{nil,
			{ID: "x", Role: cancuoc.RoleNationalAdmin},
			{ID: "acc-41", Role: cancuoc.RoleCitizen, OfficerPIN: c.PIN}, // not an eID principal
		} {
			_, err := svc.Own(ctx, p)
			var e *cancuoc.Error
			if !errors.As(err, &e) || e.Code != "not_own_record" {
				t.Errorf("Own(%+v) = %v, want not_own_record", p, err)
			}
		}
		if _, err := svc.Own(ctx, cancuoc.CitizenPrincipal("acc-x", storetest.PIN(42))); !errors.Is(err, cancuoc.ErrNotFound) {
			t.Errorf("unknown PIN: %v", err)
		}
	})
}
