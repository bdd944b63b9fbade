package registry_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

// eventFields returns the field names an event carries, failing when its
// data holds anything but {"fields": [...]}.
func eventFields(t *testing.T, e cancuoc.Event) []string {
	t.Helper()
	var data map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &data); err != nil {
		t.Fatalf("event %s data %s: %v", e.Type, e.Data, err)
	}
	if len(data) != 1 || data["fields"] == nil {
		t.Fatalf("event %s carries %s, want only the field names", e.Type, e.Data)
	}
	var fields []string
	if err := json.Unmarshal(data["fields"], &fields); err != nil {
		t.Fatal(err)
	}
	return fields
}

func TestRecordDeath(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b, registry.WithClock(func() time.Time { return time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC) }))
		officer := w.principal(t, cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
		husband := w.person(t, "Kiều Văn Chồng", cancuoc.Male, hanoi, baDinh)
		wife := w.person(t, "Kiều Thị Vợ", cancuoc.Female, hanoi, ngocHa) // lives elsewhere: widowed all the same
		marry := func(a, b *cancuoc.Citizen) *cancuoc.Citizen {
			c, err := w.svc.Update(ctx, w.admin, a.PIN, a.Version, registry.Meta{Reason: "Kết hôn", LegalBasis: "GCNKH 9/2025"}, func(c *cancuoc.Citizen) error {
				c.MaritalStatus = cancuoc.Married
				c.Spouse = &cancuoc.Relative{PIN: b.PIN, Name: b.FullName}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		husband, wife = marry(husband, wife), marry(wife, husband)

		// Validation before anything is written.
		for _, tc := range []struct {
			d           registry.Death
			code, field string
		}{
			{registry.Death{Meta: meta}, "death_date_required", "date"},
			{registry.Death{Date: cancuoc.Date{Year: 2026, Month: 1, Day: 1}, Meta: meta}, "death_date_invalid", "death_date"},
			{registry.Death{Date: cancuoc.Date{Year: 1989}, Meta: meta}, "death_date_invalid", "death_date"},
			{registry.Death{Date: cancuoc.Date{Year: 2025}, Meta: registry.Meta{}}, "legal_basis_required", "legal_basis"},
		} {
			_, err := w.svc.RecordDeath(ctx, officer, husband.PIN, tc.d)
			wantErr(t, "death "+tc.code, err, cancuoc.Invalid, tc.code, tc.field)
		}
		_, err := w.svc.RecordDeath(ctx, officer, husband.PIN, registry.Death{Version: husband.Version - 1, Date: cancuoc.Date{Year: 2025}, Meta: meta})
		wantErr(t, "stale death", err, cancuoc.Conflict, "stale_version", "")
		if got := current(t, w.store, husband.PIN); got.Version != husband.Version || got.LifeStatus != cancuoc.Alive {
			t.Fatalf("refused deaths changed the record: %+v", got)
		}

		seq := lastSeq(t, w.store)
		death := cancuoc.Date{Year: 2025, Month: 11, Day: 20}
		dead, err := w.svc.RecordDeath(ctx, officer, husband.PIN, registry.Death{Version: husband.Version, Date: death,
			Meta: registry.Meta{LegalBasis: "Trích lục khai tử 77/2025"}})
		if err != nil {
			t.Fatal(err)
		}
		stored := current(t, w.store, husband.PIN)
		if dead.LifeStatus != cancuoc.Dead || dead.DeathDate != death || stored.LifeStatus != cancuoc.Dead || stored.DeathDate != death ||
			stored.Version != husband.Version+1 {
			t.Fatalf("after death: returned %s %v, stored %s %v v%d", dead.LifeStatus, dead.DeathDate, stored.LifeStatus, stored.DeathDate, stored.Version)
		}
		widow := current(t, w.store, wife.PIN)
		if widow.MaritalStatus != cancuoc.Widowed || widow.Version != wife.Version+1 || widow.LifeStatus != cancuoc.Alive {
			t.Fatalf("spouse after the death: %s v%d", widow.MaritalStatus, widow.Version)
		}
		v, err := w.store.Version(ctx, wife.PIN, widow.Version)
		if err != nil || len(v.Changes) != 1 || v.Changes[0].Field != "marital_status" || v.LegalBasis != "Trích lục khai tử 77/2025" {
			t.Fatalf("spouse's new version: %+v, %v", v, err)
		}
		if v, _ := w.store.Version(ctx, husband.PIN, stored.Version); v == nil || v.Reason != "Đăng ký khai tử" {
			t.Fatalf("death version: %+v", v)
		}

		evs := eventsAfter(t, w.store, seq)
		if len(evs) != 2 {
			t.Fatalf("events after the death: %+v", evs)
		}
		// The spouse's version is saved first, inside the death's closure;
		// the order within one commit is not a promise, so look by type.
		slices.SortFunc(evs, func(a, b cancuoc.Event) int { return strings.Compare(a.Type, b.Type) })
		died := evs[0] // citizen.died < citizen.updated
		if died.Type != cancuoc.EventCitizenDied || died.PIN != husband.PIN || died.Version != stored.Version || died.Actor != officer.ID || died.ID == "" {
			t.Fatalf("death event: %+v", died)
		}
		if f := eventFields(t, died); !slices.Equal(f, []string{"death_date", "life_status"}) {
			t.Errorf("death event fields %v", f)
		}
		for _, e := range evs {
			for _, value := range []string{"2025-11", `"dead"`, "widowed", husband.FullName, wife.FullName} {
				if strings.Contains(string(e.Data), value) {
					t.Errorf("event %s data %s carries the value %s", e.Type, e.Data, value)
				}
			}
		}
		if evs[1].Type != cancuoc.EventCitizenUpdated || evs[1].PIN != wife.PIN || !slices.Equal(eventFields(t, evs[1]), []string{"marital_status"}) {
			t.Errorf("spouse event: %+v", evs[1])
		}
		// The audit log has the death under the officer's name.
		if e := findAudit(auditEntries(t, w.store, husband.PIN), officer.ID, registry.ActRecordDeath); e == nil || e.Outcome != "ok" {
			t.Errorf("death audit entry: %+v", e)
		}

		// A second death is a conflict, not a new version.
		seq = lastSeq(t, w.store)
		_, err = w.svc.RecordDeath(ctx, officer, husband.PIN, registry.Death{Date: death, Meta: meta})
		wantErr(t, "second death", err, cancuoc.Conflict, "already_dead", "")
		if got := current(t, w.store, husband.PIN); got.Version != stored.Version {
			t.Errorf("second death wrote version %d", got.Version)
		}
		if evs := eventsAfter(t, w.store, seq); len(evs) != 0 {
			t.Errorf("second death wrote events %+v", evs)
		}
		// A widow's later death leaves the dead spouse alone.
		if _, err := w.svc.RecordDeath(ctx, w.admin, wife.PIN, registry.Death{Date: cancuoc.Date{Year: 2025, Month: 11, Day: 30}, Meta: meta}); err != nil {
			t.Fatal(err)
		}
		if got := current(t, w.store, husband.PIN); got.Version != stored.Version {
			t.Errorf("the dead husband got a new version %d", got.Version)
		}
	})
}

func TestRecordMissing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		c := w.person(t, "Quách Văn Vắng", cancuoc.Male, caMau, bacLieu)
		since := cancuoc.Date{Year: 2024, Month: 6}
		_, err := w.svc.RecordMissing(ctx, w.admin, c.PIN, registry.Missing{Meta: meta})
		wantErr(t, "missing without date", err, cancuoc.Invalid, "missing_since_required", "since")

		seq := lastSeq(t, w.store)
		m, err := w.svc.RecordMissing(ctx, w.admin, c.PIN, registry.Missing{Version: c.Version, Since: since,
			Meta: registry.Meta{LegalBasis: "Quyết định 5/2025/QĐST-DS"}})
		if err != nil {
			t.Fatal(err)
		}
		if m.LifeStatus != cancuoc.Missing || m.MissingSince != since || m.Version != c.Version+1 {
			t.Fatalf("after missing: %+v", m)
		}
		evs := eventsAfter(t, w.store, seq)
		if len(evs) != 1 || evs[0].Type != cancuoc.EventCitizenMissing || !slices.Equal(eventFields(t, evs[0]), []string{"life_status", "missing_since"}) {
			t.Fatalf("missing events %+v", evs)
		}
		_, err = w.svc.RecordMissing(ctx, w.admin, c.PIN, registry.Missing{Since: since, Meta: meta})
		wantErr(t, "missing twice", err, cancuoc.Conflict, "not_alive", "")

		// Death of a missing person clears the missing date.
		d, err := w.svc.RecordDeath(ctx, w.admin, c.PIN, registry.Death{Date: cancuoc.Date{Year: 2025}, Meta: meta})
		if err != nil {
			t.Fatal(err)
		}
		if d.LifeStatus != cancuoc.Dead || !d.MissingSince.IsZero() {
			t.Fatalf("after death of a missing person: %+v", d)
		}
		_, err = w.svc.RecordMissing(ctx, w.admin, c.PIN, registry.Missing{Since: since, Meta: meta})
		wantErr(t, "missing after death", err, cancuoc.Conflict, "not_alive", "")
		if got := current(t, w.store, c.PIN); got.LifeStatus != cancuoc.Dead || got.Version != d.Version {
			t.Fatalf("refused missing changed the record: %+v", got)
		}
		_, err = w.svc.RecordMissing(ctx, w.admin, "001090999999", registry.Missing{Since: since, Meta: meta})
		wantErr(t, "missing unknown", err, cancuoc.NotFound, "", "")
	})
}
