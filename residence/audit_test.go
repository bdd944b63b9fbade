package residence_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
)

// imported gives c a permanent residence and a household link in the
// record only, as records kept before the residence register were loaded
// (a national administrator's correction: the only update that may).
func (w *world) imported(t *testing.T, c *cancuoc.Citizen, com, hid string, head *cancuoc.Citizen, rel string) *cancuoc.Citizen {
	t.Helper()
	out, err := w.reg.Update(context.Background(), w.admin, c.PIN, w.current(t, c.PIN).Version, registry.Meta{Reason: "Nạp dữ liệu sổ hộ khẩu giấy", LegalBasis: "Luật Cư trú 2020, Điều 38"},
		func(r *cancuoc.Citizen) error {
			p := home(com)
			r.PermanentResidence = &p
			r.Household = &cancuoc.HouseholdLink{ID: hid, HeadPIN: head.PIN, HeadName: head.FullName, Relation: rel}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *world) events(t *testing.T, seq int64, typ string) []cancuoc.Event {
	t.Helper()
	evs, err := w.store.EventsAfter(context.Background(), seq, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []cancuoc.Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// TestRecordOnlyHousehold: a household known only from its members'
// records is seen in full, can be joined, and a newborn joins it with
// every member listed; before, it was NotFound, nobody could join it, and
// the newborn's registration opened it with the head and the parent only.
func TestRecordOnlyHousehold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		const hid = "HH-IMPORT-7"
		head := w.adult(t, "Lê Văn Cả", cancuoc.Male, baDinh)
		head = w.imported(t, head, baDinh, hid, head, cancuoc.RelationHead)
		wife := w.imported(t, w.adult(t, "Phan Thị Dâu", cancuoc.Female, baDinh), baDinh, hid, head, "vợ")
		son := w.imported(t, w.person(t, "Lê Văn Út", cancuoc.Male, cancuoc.Date{Year: 2000, Month: 2, Day: 2}, hanoi, baDinh, head, wife),
			baDinh, hid, head, "con")

		v, err := w.svc.Household(ctx, w.baDinh, hid, "tra cứu hộ")
		if err != nil {
			t.Fatalf("view of a household known from the records: %v", err)
		}
		if v.HeadPIN != head.PIN || !v.HeadActive || len(v.ActiveMembers()) != 3 || v.Address.Commune != baDinh {
			t.Fatalf("view %+v", v)
		}
		if m, ok := v.Member(son.PIN); !ok || m.Relation != "con" {
			t.Errorf("son in the view: %+v", m)
		}
		_, err = w.svc.Household(ctx, w.ngocHa, hid, "tra cứu hộ")
		wantErr(t, "view from another commune", err, cancuoc.Forbidden, "outside_jurisdiction")
		if _, err := w.store.Household(ctx, hid); cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Fatalf("a view stored the household: %v", err)
		}

		// A newborn of the son joins with everyone listed.
		baby := w.person(t, "Lê Minh Nhỏ", cancuoc.Female, cancuoc.Date{Year: 2026, Month: 3, Day: 1}, hanoi, baDinh, son)
		if err := w.store.InTx(ctx, func(tx cancuoc.Tx) error {
			return w.svc.RegisterNewbornTx(ctx, tx, w.baDinh, baby.PIN, son.PIN)
		}); err != nil {
			t.Fatal(err)
		}
		h, err := w.store.Household(ctx, hid)
		if err != nil || h.Version != 1 || h.HeadPIN != head.PIN || len(h.ActiveMembers()) != 4 {
			t.Fatalf("household opened with the newborn = %+v, %v", h, err)
		}
		for pin, rel := range map[cancuoc.PIN]string{head.PIN: cancuoc.RelationHead, wife.PIN: "vợ", son.PIN: "con", baby.PIN: "cháu"} {
			if m, ok := h.Member(pin); !ok || m.Relation != rel {
				t.Errorf("member %s: %+v, want %q", pin, m, rel)
			}
		}

		// And a newcomer joins it with the head's consent.
		cousin := w.adult(t, "Lê Thị Họ", cancuoc.Female, ngocHa)
		h, err = w.svc.JoinHousehold(ctx, w.baDinh, hid, residence.Join{PIN: cousin.PIN, Relation: "cháu", Request: asks(cousin.PIN),
			Consent: &cancuoc.HeadConsent{By: head.PIN, At: now0, Method: "written"}, Meta: why})
		if err != nil || h.Version != 2 || len(h.ActiveMembers()) != 5 {
			t.Fatalf("join a household opened from the records: %+v, %v", h, err)
		}
	})
}

// TestJoinRecordOnlyHousehold: the first change to a record-only household
// is a join, which opens it in the register with all its members.
func TestJoinRecordOnlyHousehold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		const hid = "HH-IMPORT-8"
		head := w.adult(t, "Đinh Văn Chủ", cancuoc.Male, baDinh)
		head = w.imported(t, head, baDinh, hid, head, cancuoc.RelationHead)
		w.imported(t, w.adult(t, "Đinh Thị Em", cancuoc.Female, baDinh), baDinh, hid, head, "em")
		newcomer := w.adult(t, "Võ Thị Mới", cancuoc.Female, ngocHa)
		h, err := w.svc.JoinHousehold(ctx, w.baDinh, hid, residence.Join{PIN: newcomer.PIN, Relation: "khác", Request: asks(newcomer.PIN),
			Consent: &cancuoc.HeadConsent{By: head.PIN, At: now0, Method: "written"}, Meta: why})
		if err != nil || h.Version != 1 || len(h.ActiveMembers()) != 3 {
			t.Fatalf("join: %+v, %v", h, err)
		}
		if c := w.current(t, newcomer.PIN); c.Household == nil || c.Household.ID != hid || c.Household.HeadPIN != head.PIN {
			t.Errorf("newcomer's record: %+v", c.Household)
		}
	})
}

// TestPermanentEndsTemporary: registering permanent residence in the
// commune of the person's temporary residence ends it (entry, event, off
// the expiry list, off the record); a temporary residence elsewhere stays.
func TestPermanentEndsTemporary(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		h, head, _ := family(t, w) // in Ba Đình
		worker := w.person(t, "Phạm Văn Thợ", cancuoc.Male, cancuoc.Date{Year: 1995, Month: 1, Day: 1}, caMau, bacLieu)
		until := cancuoc.Date{Year: 2027, Month: 3, Day: 1}
		if _, err := w.svc.RegisterTemporary(ctx, w.baDinh, residence.Temporary{PIN: worker.PIN, Place: home(baDinh), Until: until, Meta: why}); err != nil {
			t.Fatal(err)
		}
		other := w.person(t, "Phạm Thị Xa", cancuoc.Female, cancuoc.Date{Year: 1995, Month: 1, Day: 1}, caMau, bacLieu)
		if _, err := w.svc.RegisterTemporary(ctx, w.ngocHa, residence.Temporary{PIN: other.PIN, Place: home(ngocHa), Until: until, Meta: why}); err != nil {
			t.Fatal(err)
		}
		seq := w.lastSeq(t)
		consent := &cancuoc.HeadConsent{By: head.PIN, At: now0, Method: "written"}
		for _, c := range []*cancuoc.Citizen{worker, other} {
			if _, err := w.svc.JoinHousehold(ctx, w.baDinh, h.ID, residence.Join{PIN: c.PIN, Relation: "khác", Request: asks(c.PIN), Consent: consent, Meta: why}); err != nil {
				t.Fatal(err)
			}
		}
		// The worker's temporary residence was in Ba Đình: ended.
		if _, err := w.store.Temporary(ctx, worker.PIN); cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Errorf("the temporary registration is still current: %v", err)
		}
		if c := w.current(t, worker.PIN); c.TemporaryResidence != nil || c.PermanentResidence == nil {
			t.Errorf("worker's record: temporary %+v, permanent %+v", c.TemporaryResidence, c.PermanentResidence)
		}
		items, err := w.svc.Expiring(ctx, w.baDinh, residence.Expiry{WithinDays: 366})
		if err != nil || len(items) != 0 {
			t.Errorf("Ba Đình's expiry list: %+v, %v", items, err)
		}
		hist, err := w.store.ResidenceHistory(ctx, worker.PIN)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []cancuoc.ResidenceKind
		for _, e := range hist {
			kinds = append(kinds, e.Kind)
		}
		if !slices.Equal(kinds, []cancuoc.ResidenceKind{cancuoc.ResidenceTemporary, cancuoc.ResidenceTemporaryEnded, cancuoc.ResidencePermanent}) ||
			hist[1].Unit.Commune != baDinh || hist[1].Until != (cancuoc.Date{Year: 2026, Month: 3, Day: 10}) {
			t.Errorf("worker's residence history: %+v", hist)
		}
		if evs := w.events(t, seq, cancuoc.EventResidenceTemporaryEnded); len(evs) != 1 || evs[0].PIN != worker.PIN {
			t.Errorf("temporary_ended events: %+v", evs)
		}
		// The other's was in Ngọc Hà: it goes on.
		if reg, err := w.store.Temporary(ctx, other.PIN); err != nil || reg.Unit.Commune != ngocHa {
			t.Errorf("a temporary residence elsewhere ended: %+v, %v", reg, err)
		}
		if c := w.current(t, other.PIN); c.TemporaryResidence == nil {
			t.Error("a temporary residence elsewhere left the record")
		}
	})
}

// TestRenewalRules: a renewal is a registration's conditions again (not in
// the commune of permanent residence) and only while it lasts.
func TestRenewalRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		student := w.person(t, "Hà Thị Học", cancuoc.Female, cancuoc.Date{Year: 2004, Month: 1, Day: 1}, caMau, bacLieu)
		if _, err := w.svc.RegisterTemporary(ctx, w.ngocHa, residence.Temporary{PIN: student.PIN, Place: home(ngocHa),
			Until: cancuoc.Date{Year: 2026, Month: 6, Day: 1}, Meta: why}); err != nil {
			t.Fatal(err)
		}
		renew := residence.Renewal{Until: cancuoc.Date{Year: 2027, Month: 6, Day: 1}, Meta: why}
		// Another commune's officer may not renew it.
		_, err := w.svc.RenewTemporary(ctx, w.baDinh, student.PIN, renew)
		wantErr(t, "renewal by another commune", err, cancuoc.Forbidden, "outside_jurisdiction")
		// Since registered permanently in Ngọc Hà (a correction of the
		// records, which leaves the temporary registration): no renewal.
		w.imported(t, student, ngocHa, "HH-X", student, cancuoc.RelationHead)
		_, err = w.svc.RenewTemporary(ctx, w.ngocHa, student.PIN, renew)
		wantErr(t, "renewal in the permanent commune", err, cancuoc.Invalid, "temporary_in_permanent_commune")

		// Ended registrations are registered anew, not renewed.
		late := w.person(t, "Hà Văn Muộn", cancuoc.Male, cancuoc.Date{Year: 2004, Month: 1, Day: 1}, caMau, bacLieu)
		if _, err := w.svc.RegisterTemporary(ctx, w.ngocHa, residence.Temporary{PIN: late.PIN, Place: home(ngocHa),
			Until: cancuoc.Date{Year: 2026, Month: 3, Day: 20}, Meta: why}); err != nil {
			t.Fatal(err)
		}
		w.clock.Set(now0.AddDate(0, 0, 10)) // the last day
		seq := w.lastSeq(t)
		if _, err := w.svc.RenewTemporary(ctx, w.ngocHa, late.PIN, residence.Renewal{Until: cancuoc.Date{Year: 2026, Month: 3, Day: 25}, Meta: why}); err != nil {
			t.Fatalf("renewal on the last day: %v", err)
		}
		if got := w.eventTypes(t, seq); !slices.Equal(got, []string{cancuoc.EventCitizenUpdated, cancuoc.EventResidenceTemporary}) {
			t.Errorf("renewal events %v", got)
		}
		w.clock.Set(now0.AddDate(0, 0, 16)) // a day after the end
		_, err = w.svc.RenewTemporary(ctx, w.ngocHa, late.PIN, residence.Renewal{Until: cancuoc.Date{Year: 2027, Month: 3, Day: 1}, Meta: why})
		wantErr(t, "renewal after the end", err, cancuoc.Conflict, "temporary_expired")
		var e *cancuoc.Error
		if errors.As(err, &e); !strings.Contains(e.MessageEN, "POST /v1/residence/temporary") || !strings.Contains(e.MessageVI, "đăng ký tạm trú mới") {
			t.Errorf("the refusal does not say what to do: %+v", e)
		}
	})
}

// TestResidenceEvents: each procedure's event has its own type, which
// subscribers filter on.
func TestResidenceEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		h, head, wife := family(t, w)
		student := w.person(t, "Mai Thị Trọ", cancuoc.Female, cancuoc.Date{Year: 2004, Month: 1, Day: 1}, caMau, bacLieu)
		seq := w.lastSeq(t)
		if _, err := w.svc.RegisterTemporary(ctx, w.ngocHa, residence.Temporary{PIN: student.PIN, Place: home(ngocHa),
			Until: cancuoc.Date{Year: 2027, Month: 1, Day: 1}, Meta: why}); err != nil {
			t.Fatal(err)
		}
		if got := w.eventTypes(t, seq); !slices.Equal(got, []string{cancuoc.EventCitizenUpdated, "residence.temporary"}) {
			t.Errorf("temporary residence events %v", got)
		}
		seq = w.lastSeq(t)
		if _, err := w.svc.DeclareAbsence(ctx, w.baDinh, head.PIN, residence.Absence{Until: cancuoc.Date{Year: 2026, Month: 9, Day: 1}, Meta: why}); err != nil {
			t.Fatal(err)
		}
		if got := w.eventTypes(t, seq); !slices.Equal(got, []string{cancuoc.EventCitizenUpdated, "residence.absence"}) {
			t.Errorf("absence events %v", got)
		}
		// Moving from one household to another: left, then registered.
		other, err := w.svc.CreateHousehold(ctx, w.ngocHa, residence.NewHousehold{Address: home(ngocHa), HeadPIN: student.PIN, Request: asks(student.PIN), Meta: why})
		if err != nil {
			t.Fatal(err)
		}
		seq = w.lastSeq(t)
		if _, err := w.svc.JoinHousehold(ctx, w.ngocHa, other.ID, residence.Join{PIN: wife.PIN, Relation: "khác", Request: asks(wife.PIN),
			Consent: &cancuoc.HeadConsent{By: student.PIN, At: now0, Method: "written"}, Meta: why}); err != nil {
			t.Fatal(err)
		}
		if got := w.eventTypes(t, seq); !slices.Equal(got, []string{cancuoc.EventCitizenUpdated, "residence.left", "residence.registered"}) {
			t.Errorf("move events %v", got)
		}
		left := w.events(t, seq, "residence.left")
		var data struct {
			Kind        string `json:"kind"`
			HouseholdID string `json:"household_id"`
		}
		if len(left) != 1 || json.Unmarshal(left[0].Data, &data) != nil || data.Kind != string(cancuoc.ResidenceLeft) || data.HouseholdID != h.ID {
			t.Errorf("residence.left event %+v", left)
		}
	})
}

// TestMarriageDates: the day of a marriage and of a divorce is in each
// party's event and history row, and the divorce has its own event type.
func TestMarriageDates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		man := w.adult(t, "Trương Văn Rể", cancuoc.Male, baDinh)
		woman := w.adult(t, "Tạ Thị Dâu", cancuoc.Female, baDinh)
		check := func(what, typ string, day cancuoc.Date, seq int64) {
			t.Helper()
			evs, err := w.store.EventsAfter(ctx, seq, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 2 {
				t.Fatalf("%s: events %+v", what, evs)
			}
			for _, e := range evs {
				var data struct {
					Date string `json:"date"`
				}
				if e.Type != typ || json.Unmarshal(e.Data, &data) != nil || data.Date != day.String() {
					t.Errorf("%s: event %s %s", what, e.Type, e.Data)
				}
			}
			for _, pin := range []cancuoc.PIN{man.PIN, woman.PIN} {
				vs, err := w.store.Versions(ctx, pin)
				if err != nil {
					t.Fatal(err)
				}
				if last := vs[len(vs)-1]; !strings.Contains(last.Reason, day.String()) || last.LegalBasis != why.LegalBasis {
					t.Errorf("%s: history row %q", what, last.Reason)
				}
			}
		}
		married := cancuoc.Date{Year: 2025, Month: 12, Day: 20}
		seq := w.lastSeq(t)
		if _, err := w.svc.Marry(ctx, w.baDinh, residence.Marriage{A: man.PIN, B: woman.PIN, Date: married, Meta: why}); err != nil {
			t.Fatal(err)
		}
		check("marriage", "citizen.married", married, seq)
		divorced := cancuoc.Date{Year: 2026, Month: 3, Day: 2}
		seq = w.lastSeq(t)
		if _, err := w.svc.Divorce(ctx, w.baDinh, residence.Divorce{A: man.PIN, B: woman.PIN, Date: divorced, Meta: why}); err != nil {
			t.Fatal(err)
		}
		check("divorce", "citizen.divorced", divorced, seq)
	})
}

// TestOfficersStayInTheirJurisdiction: deregistration, a new head, and
// the residence history are for the officers of the person's or the
// household's commune, refused to another commune's before anything is
// said about the person (not "already deregistered", not "death not
// registered").
func TestOfficersStayInTheirJurisdiction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		h, head, wife := family(t, w) // Ba Đình
		loner := w.adult(t, "Khổng Văn Lẻ", cancuoc.Male, baDinh)
		seq := w.lastSeq(t)
		for _, tc := range []struct {
			name string
			do   func() error
		}{
			{"deregister a resident", func() error {
				_, err := w.svc.Deregister(ctx, w.ngocHa, head.PIN, residence.Deregistration{Cause: residence.CauseAbsent12Months, Meta: why})
				return err
			}},
			{"deregister a person without residence", func() error {
				_, err := w.svc.Deregister(ctx, w.ngocHa, loner.PIN, residence.Deregistration{Cause: residence.CauseSettledAbroad, Meta: why})
				return err
			}},
			{"deregister for a death not registered", func() error {
				_, err := w.svc.Deregister(ctx, w.ngocHa, head.PIN, residence.Deregistration{Cause: residence.CauseDeath, Meta: why})
				return err
			}},
			{"change the head", func() error {
				_, err := w.svc.ChangeHead(ctx, w.ngocHa, h.ID, residence.NewHead{HeadPIN: wife.PIN,
					Relations: map[cancuoc.PIN]string{head.PIN: "chồng"}, Meta: why})
				return err
			}},
			{"read the residence history", func() error {
				_, err := w.svc.History(ctx, w.ngocHa, head.PIN, "tra cứu")
				return err
			}},
		} {
			wantErr(t, tc.name, tc.do(), cancuoc.Forbidden, "outside_jurisdiction")
		}
		if got := w.eventTypes(t, seq); len(got) != 0 {
			t.Errorf("refused decisions wrote events %v", got)
		}
		if got, err := w.store.Household(ctx, h.ID); err != nil || got.HeadPIN != head.PIN || got.Version != h.Version {
			t.Errorf("household after refusals: %+v, %v", got, err)
		}
		// The commune's own officer may do each (the refusals above are
		// about the commune, not the requests).
		if _, err := w.svc.History(ctx, w.baDinh, head.PIN, "tra cứu"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.ChangeHead(ctx, w.baDinh, h.ID, residence.NewHead{HeadPIN: wife.PIN,
			Relations: map[cancuoc.PIN]string{head.PIN: "chồng"}, Meta: why}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Deregister(ctx, w.baDinh, head.PIN, residence.Deregistration{Cause: residence.CauseAbsent12Months, Meta: why}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Deregister(ctx, w.baDinh, loner.PIN, residence.Deregistration{Cause: residence.CauseSettledAbroad, Meta: why}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRecordOnlyHouseholdKeepsTheMissing: a member declared missing keeps
// their permanent residence until deregistered with that cause, so the
// household opened from the records lists them, and their deregistration
// ends that membership.
func TestRecordOnlyHouseholdKeepsTheMissing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		const hid = "HH-IMPORT-9"
		head := w.adult(t, "Vũ Văn Nhà", cancuoc.Male, baDinh)
		head = w.imported(t, head, baDinh, hid, head, cancuoc.RelationHead)
		gone := w.imported(t, w.adult(t, "Vũ Văn Xa", cancuoc.Male, baDinh), baDinh, hid, head, "em")
		if _, err := w.reg.RecordMissing(ctx, w.admin, gone.PIN, registry.Missing{Since: cancuoc.Date{Year: 2024, Month: 5, Day: 1},
			Meta: registry.Meta{Reason: "Quyết định tuyên bố mất tích", LegalBasis: "Bộ luật Dân sự 2015, Điều 68"}}); err != nil {
			t.Fatal(err)
		}
		v, err := w.svc.Household(ctx, w.baDinh, hid, "tra cứu hộ")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := v.Member(gone.PIN); !ok || len(v.ActiveMembers()) != 2 {
			t.Fatalf("household opened from the records without the missing member: %+v", v.Members)
		}
	})
}
