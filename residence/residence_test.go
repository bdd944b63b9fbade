package residence_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
)

// family makes a household headed by a man in Ba Đình with his wife.
func family(t *testing.T, w *world) (*cancuoc.Household, *cancuoc.Citizen, *cancuoc.Citizen) {
	t.Helper()
	ctx := context.Background()
	head := w.adult(t, "Nguyễn Văn An", cancuoc.Male, baDinh)
	wife := w.adult(t, "Trần Thị Bình", cancuoc.Female, ngocHa)
	h, err := w.svc.CreateHousehold(ctx, w.baDinh, residence.NewHousehold{Address: home(baDinh), HeadPIN: head.PIN, Request: asks(head.PIN), Meta: why})
	if err != nil {
		t.Fatalf("CreateHousehold: %v", err)
	}
	h, err = w.svc.JoinHousehold(ctx, w.baDinh, h.ID, residence.Join{PIN: wife.PIN, Request: asks(wife.PIN), Relation: "vợ",
		Consent: &cancuoc.HeadConsent{By: head.PIN, At: now0.Add(-time.Hour), Method: "written"}, Meta: why})
	if err != nil {
		t.Fatalf("JoinHousehold: %v", err)
	}
	return h, head, wife
}

func TestHousehold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		seq := w.lastSeq(t)
		h, head, wife := family(t, w)
		want := []string{cancuoc.EventCitizenBorn, cancuoc.EventCitizenBorn, cancuoc.EventCitizenUpdated, cancuoc.EventResidenceRegistered,
			cancuoc.EventHouseholdCreated, cancuoc.EventCitizenUpdated, cancuoc.EventResidenceRegistered}
		if got := w.eventTypes(t, seq); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		for _, x := range []struct {
			c   *cancuoc.Citizen
			rel string
		}{{head, cancuoc.RelationHead}, {wife, "vợ"}} {
			c := w.current(t, x.c.PIN)
			if c.Household == nil || c.Household.ID != h.ID || c.Household.Relation != x.rel || c.Household.HeadPIN != head.PIN ||
				c.PermanentResidence == nil || c.PermanentResidence.Commune != baDinh || c.Home.Commune != baDinh {
				t.Errorf("%s's record after joining: household %+v, residence %+v, home %+v", x.rel, c.Household, c.PermanentResidence, c.Home)
			}
			vs, _ := w.store.Versions(ctx, c.PIN)
			last := vs[len(vs)-1]
			if last.Actor != w.baDinh.ID || last.LegalBasis != why.LegalBasis || last.Reason != why.Reason {
				t.Errorf("history row: %+v", last)
			}
		}
		v, err := w.svc.Household(ctx, w.baDinh, h.ID, "xem sổ hộ khẩu")
		if err != nil {
			t.Fatal(err)
		}
		if !v.HeadActive || len(v.ActiveMembers()) != 2 || v.Members[1].Consent == nil || v.Members[1].Consent.By != head.PIN {
			t.Errorf("household view: %+v", v)
		}
		if es, _ := w.store.AuditFor(ctx, wife.PIN, 10); len(es) == 0 || es[0].Action != "household.read" {
			t.Errorf("household read not audited: %+v", es)
		}
		_, err = w.svc.Household(ctx, w.ngocHa, h.ID, "")
		wantErr(t, "another commune's household", err, cancuoc.Forbidden, "outside_jurisdiction")

		// The residence history of the wife: registered in Ba Đình.
		hist, err := w.svc.History(ctx, w.baDinh, wife.PIN, "")
		if err != nil || len(hist) != 1 || hist[0].Kind != cancuoc.ResidencePermanent || hist[0].Consent == nil || hist[0].Actor != w.baDinh.ID {
			t.Errorf("history: %+v, %v", hist, err)
		}
	})
}

func TestJoinRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		h, head, wife := family(t, w)
		son := w.person(t, "Nguyễn Văn Cường", cancuoc.Male, cancuoc.Date{Year: 2015, Month: 1, Day: 2}, hanoi, ngocHa)
		ok := &cancuoc.HeadConsent{By: head.PIN, At: now0, Method: "in_person"}
		before := w.current(t, son.PIN)
		for _, tc := range []struct {
			name string
			p    *cancuoc.Principal
			j    residence.Join
			kind cancuoc.Kind
			code string
		}{
			{"no consent", w.baDinh, residence.Join{PIN: son.PIN, Request: asks(son.PIN), Relation: "con", Meta: why}, cancuoc.Invalid, "consent_required"},
			{"consent not by head", w.baDinh, residence.Join{PIN: son.PIN, Request: asks(son.PIN), Relation: "con", Meta: why,
				Consent: &cancuoc.HeadConsent{By: wife.PIN, At: now0, Method: "written"}}, cancuoc.Invalid, "consent_not_head"},
			{"consent in future", w.baDinh, residence.Join{PIN: son.PIN, Request: asks(son.PIN), Relation: "con", Meta: why,
				Consent: &cancuoc.HeadConsent{By: head.PIN, At: now0.Add(time.Hour), Method: "written"}}, cancuoc.Invalid, "consent_time"},
			{"bad method", w.baDinh, residence.Join{PIN: son.PIN, Request: asks(son.PIN), Relation: "con", Meta: why,
				Consent: &cancuoc.HeadConsent{By: head.PIN, At: now0, Method: "telepathy"}}, cancuoc.Invalid, "consent_method"},
			{"unknown relation", w.baDinh, residence.Join{PIN: son.PIN, Request: asks(son.PIN), Relation: "bạn thân", Consent: ok, Meta: why}, cancuoc.Invalid, "relation_unknown"},
			{"no legal basis", w.baDinh, residence.Join{PIN: son.PIN, Request: asks(son.PIN), Relation: "con", Consent: ok, Meta: registry.Meta{Reason: "x"}}, cancuoc.Invalid, "legal_basis_required"},
			{"other commune's officer", w.ngocHa, residence.Join{PIN: son.PIN, Request: asks(son.PIN), Relation: "con", Consent: ok, Meta: why}, cancuoc.Forbidden, "outside_jurisdiction"},
			{"already member", w.baDinh, residence.Join{PIN: wife.PIN, Request: asks(wife.PIN), Relation: "vợ", Consent: ok, Meta: why}, cancuoc.Conflict, "already_member"},
		} {
			_, err := w.svc.JoinHousehold(ctx, tc.p, h.ID, tc.j)
			wantErr(t, tc.name, err, tc.kind, tc.code)
		}
		if after := w.current(t, son.PIN); after.Version != before.Version {
			t.Errorf("refused joins changed the record: version %d → %d", before.Version, after.Version)
		}
		if got, _ := w.store.Household(ctx, h.ID); got.Version != h.Version {
			t.Errorf("refused joins changed the household")
		}
		// A minor cannot head a household.
		_, err := w.svc.CreateHousehold(ctx, w.ngocHa, residence.NewHousehold{Address: home(ngocHa), HeadPIN: son.PIN, Request: asks(son.PIN), Meta: why})
		wantErr(t, "minor head", err, cancuoc.Invalid, "head_minor")
		// A head whose household has members cannot move out alone.
		_, err = w.svc.CreateHousehold(ctx, w.ngocHa, residence.NewHousehold{Address: home(ngocHa), HeadPIN: head.PIN, Request: asks(head.PIN), Meta: why})
		wantErr(t, "head leaving members", err, cancuoc.Invalid, "head_has_members")
		// The wife moves out to a household of her own: her old membership ends.
		h2, err := w.svc.CreateHousehold(ctx, w.ngocHa, residence.NewHousehold{Address: home(ngocHa), HeadPIN: wife.PIN, Request: asks(wife.PIN), Meta: why})
		if err != nil {
			t.Fatal(err)
		}
		old, _ := w.store.Household(ctx, h.ID)
		if _, still := old.Member(wife.PIN); still || len(old.Members) != 2 {
			t.Errorf("old household after the move: %+v", old.Members)
		}
		if c := w.current(t, wife.PIN); c.Household.ID != h2.ID || c.Household.Relation != cancuoc.RelationHead {
			t.Errorf("wife's link after the move: %+v", c.Household)
		}
		hist, _ := w.store.ResidenceHistory(ctx, wife.PIN)
		kinds := []cancuoc.ResidenceKind{}
		for _, e := range hist {
			kinds = append(kinds, e.Kind)
		}
		if !slices.Equal(kinds, []cancuoc.ResidenceKind{cancuoc.ResidencePermanent, cancuoc.ResidenceLeft, cancuoc.ResidencePermanent}) {
			t.Errorf("wife's history kinds %v", kinds)
		}
	})
}

func TestNewbornTx(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		h, head, wife := family(t, w)
		baby := w.person(t, "Nguyễn Minh Khang", cancuoc.Male, cancuoc.Date{Year: 2026, Month: 3, Day: 1}, hanoi, baDinh, head, wife)
		stranger := w.adult(t, "Lê Văn Dũng", cancuoc.Male, baDinh)
		err := w.store.InTx(ctx, func(tx cancuoc.Tx) error { return w.svc.RegisterNewbornTx(ctx, tx, w.baDinh, baby.PIN, stranger.PIN) })
		wantErr(t, "parent without household", err, cancuoc.Invalid, "parent_no_household")
		err = w.store.InTx(ctx, func(tx cancuoc.Tx) error { return w.svc.RegisterNewbornTx(ctx, tx, w.ngocHa, baby.PIN, wife.PIN) })
		wantErr(t, "officer of another commune", err, cancuoc.Forbidden, "outside_jurisdiction")

		seq := w.lastSeq(t)
		for i := range 2 {
			err := w.store.InTx(ctx, func(tx cancuoc.Tx) error { return w.svc.RegisterNewbornTx(ctx, tx, w.baDinh, baby.PIN, wife.PIN) })
			if err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
		c := w.current(t, baby.PIN)
		if c.Household == nil || c.Household.ID != h.ID || c.Household.Relation != "con" || c.PermanentResidence == nil ||
			c.PermanentResidence.Detail != home(baDinh).Detail || c.Version != baby.Version+1 {
			t.Errorf("baby after registration: version %d, household %+v, residence %+v", c.Version, c.Household, c.PermanentResidence)
		}
		if got := w.eventTypes(t, seq); !slices.Equal(got, []string{cancuoc.EventCitizenUpdated, cancuoc.EventResidenceRegistered}) {
			t.Errorf("events of two calls: %v, want one registration", got)
		}
		hh, _ := w.store.Household(ctx, h.ID)
		if m, ok := hh.Member(baby.PIN); !ok || m.Consent == nil || m.Consent.Method != "by_law" {
			t.Errorf("baby's membership %+v, %v", m, ok)
		}
	})
}

// TestNewbornRecordsHousehold: a parent whose household is known only
// from the records (a link, no household in the register) gets it opened
// with the newborn, in one write: the head and the parent first, then the
// child, at version 1, with the child's record and entry as usual.
func TestNewbornRecordsHousehold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		mother := w.adult(t, "Trần Thị Hoa", cancuoc.Female, baDinh)
		mother, err := w.reg.Update(ctx, w.admin, mother.PIN, mother.Version, why, func(c *cancuoc.Citizen) error {
			p := home(baDinh)
			c.PermanentResidence = &p
			c.Household = &cancuoc.HouseholdLink{ID: "HH-RECORDS-1", HeadPIN: c.PIN, HeadName: c.FullName, Relation: cancuoc.RelationHead}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		baby := w.person(t, "Nguyễn Minh Khang", cancuoc.Male, cancuoc.Date{Year: 2026, Month: 3, Day: 1}, hanoi, baDinh, mother)
		if err := w.store.InTx(ctx, func(tx cancuoc.Tx) error {
			return w.svc.RegisterNewbornTx(ctx, tx, w.baDinh, baby.PIN, mother.PIN)
		}); err != nil {
			t.Fatal(err)
		}
		h, err := w.store.Household(ctx, "HH-RECORDS-1")
		if err != nil || h.Version != 1 || h.HeadPIN != mother.PIN || len(h.Members) != 2 ||
			h.Members[0].PIN != mother.PIN || h.Members[0].Relation != cancuoc.RelationHead ||
			h.Members[1].PIN != baby.PIN || h.Members[1].Relation != "con" || h.Members[1].EntryID == "" {
			t.Fatalf("household opened from the records = %+v, %v", h, err)
		}
		c := w.current(t, baby.PIN)
		if c.Household == nil || c.Household.ID != h.ID || c.Household.HeadPIN != mother.PIN || c.PermanentResidence == nil {
			t.Errorf("baby after registration: household %+v, residence %+v", c.Household, c.PermanentResidence)
		}
		if hist, err := w.store.ResidenceHistory(ctx, baby.PIN); err != nil || len(hist) != 1 || hist[0].ID != h.Members[1].EntryID {
			t.Errorf("baby's residence history = %+v, %v", hist, err)
		}
	})
}

func TestDeregisterTx(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		h, head, _ := family(t, w)
		dereg := func() error {
			return w.store.InTx(ctx, func(tx cancuoc.Tx) error {
				return w.svc.DeregisterTx(ctx, tx, w.baDinh, head.PIN, residence.CauseDeath)
			})
		}
		wantErr(t, "death not registered", dereg(), cancuoc.Conflict, "death_not_registered")
		wantErr(t, "unknown cause", w.store.InTx(ctx, func(tx cancuoc.Tx) error {
			return w.svc.DeregisterTx(ctx, tx, w.baDinh, head.PIN, "bored")
		}), cancuoc.Invalid, "cause_unknown")
		if _, err := w.reg.RecordDeath(ctx, w.baDinh, head.PIN, registry.Death{Date: cancuoc.Date{Year: 2026, Month: 3, Day: 9},
			Meta: registry.Meta{LegalBasis: "Trích lục khai tử 12/2026"}}); err != nil {
			t.Fatal(err)
		}
		seq := w.lastSeq(t)
		if err := dereg(); err != nil {
			t.Fatal(err)
		}
		v := w.current(t, head.PIN).Version
		if err := dereg(); err != nil {
			t.Fatalf("second call: %v", err)
		}
		c := w.current(t, head.PIN)
		if c.PermanentResidence != nil || c.Household != nil || c.Version != v {
			t.Errorf("after deregistration: residence %+v household %+v version %d→%d", c.PermanentResidence, c.Household, v, c.Version)
		}
		if got := w.eventTypes(t, seq); !slices.Equal(got, []string{cancuoc.EventCitizenUpdated, cancuoc.EventResidenceDeregistered}) {
			t.Errorf("events %v", got)
		}
		view, err := w.svc.Household(ctx, w.baDinh, h.ID, "")
		if err != nil || view.HeadActive || len(view.ActiveMembers()) != 1 {
			t.Errorf("household after the head's death: head active %v, members %d, %v", view.HeadActive, len(view.ActiveMembers()), err)
		}
		hist, _ := w.store.ResidenceHistory(ctx, head.PIN)
		if last := hist[len(hist)-1]; last.Kind != cancuoc.ResidenceDeregistered || last.Cause != "death" || last.Place == nil {
			t.Errorf("last entry %+v", last)
		}

		// Nobody joins a headless household; the members choose a new head.
		son := w.adult(t, "Nguyễn Văn Cường", cancuoc.Male, ngocHa)
		consent := func(by cancuoc.PIN) *cancuoc.HeadConsent {
			return &cancuoc.HeadConsent{By: by, At: now0, Method: "in_person"}
		}
		_, err = w.svc.JoinHousehold(ctx, w.baDinh, h.ID, residence.Join{PIN: son.PIN, Request: asks(son.PIN), Relation: "con", Consent: consent(head.PIN), Meta: why})
		wantErr(t, "join a headless household", err, cancuoc.Conflict, "head_vacant")
		_, err = w.svc.ChangeHead(ctx, w.baDinh, h.ID, residence.NewHead{HeadPIN: son.PIN, Meta: why})
		wantErr(t, "a non-member as head", err, cancuoc.Invalid, "head_not_member")
		wife := view.ActiveMembers()[0].PIN
		nh, err := w.svc.ChangeHead(ctx, w.baDinh, h.ID, residence.NewHead{HeadPIN: wife, Meta: why})
		if err != nil {
			t.Fatal(err)
		}
		if c := w.current(t, wife); nh.HeadPIN != wife || c.Household.Relation != cancuoc.RelationHead || c.Household.HeadPIN != wife {
			t.Errorf("after the change of head: %+v, record %+v", nh, c.Household)
		}
		if _, err := w.svc.JoinHousehold(ctx, w.baDinh, h.ID, residence.Join{PIN: son.PIN, Request: asks(son.PIN), Relation: "con", Consent: consent(wife), Meta: why}); err != nil {
			t.Errorf("join after the change of head: %v", err)
		}
	})
}

func TestTemporaryResidence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		_, head, _ := family(t, w)
		student := w.person(t, "Phạm Thu Hà", cancuoc.Female, cancuoc.Date{Year: 2000, Month: 1, Day: 1}, caMau, bacLieu)
		d := func(y, m, day int) cancuoc.Date { return cancuoc.Date{Year: y, Month: m, Day: day} }
		tmp := func(pin cancuoc.PIN, com string, until cancuoc.Date) residence.Temporary {
			return residence.Temporary{PIN: pin, Place: home(com), Until: until, Meta: why}
		}
		_, err := w.svc.RegisterTemporary(ctx, w.ngocHa, tmp(student.PIN, ngocHa, d(2028, 3, 11)))
		wantErr(t, "over two years", err, cancuoc.Invalid, "temporary_too_long")
		_, err = w.svc.RegisterTemporary(ctx, w.baDinh, tmp(head.PIN, baDinh, d(2027, 1, 1)))
		wantErr(t, "in the permanent commune", err, cancuoc.Invalid, "temporary_in_permanent_commune")
		_, err = w.svc.RegisterTemporary(ctx, w.baDinh, tmp(student.PIN, ngocHa, d(2027, 1, 1)))
		wantErr(t, "officer of another commune", err, cancuoc.Forbidden, "outside_jurisdiction")

		reg, err := w.svc.RegisterTemporary(ctx, w.ngocHa, tmp(student.PIN, ngocHa, d(2026, 3, 20)))
		if err != nil {
			t.Fatal(err)
		}
		if c := w.current(t, student.PIN); c.TemporaryResidence == nil || c.TemporaryResidence.Until != d(2026, 3, 20) || c.TemporaryResidence.From != d(2026, 3, 10) {
			t.Errorf("record's temporary residence %+v", c.TemporaryResidence)
		}
		// Head's temporary stay elsewhere, ending later.
		if _, err := w.svc.RegisterTemporary(ctx, w.ngocHa, tmp(head.PIN, ngocHa, d(2026, 9, 1))); err != nil {
			t.Fatal(err)
		}
		list := func(p *cancuoc.Principal, days int) []residence.ExpiryItem {
			t.Helper()
			items, err := w.svc.Expiring(ctx, p, residence.Expiry{WithinDays: days})
			if err != nil {
				t.Fatal(err)
			}
			return items
		}
		if items := list(w.ngocHa, 30); len(items) != 1 || items[0].PIN != student.PIN || items[0].Expired || items[0].DaysLeft != 10 {
			t.Errorf("expiring within 30 days: %+v", items)
		}
		if items := list(w.baDinh, 366); len(items) != 0 {
			t.Errorf("Ba Đình sees Ngọc Hà's registrations: %+v", items)
		}
		_, err = w.svc.Expiring(ctx, w.baDinh, residence.Expiry{Commune: ngocHa, WithinDays: 30})
		wantErr(t, "listing another commune", err, cancuoc.Forbidden, "outside_jurisdiction")
		// Renewal on the last day, while it lasts.
		w.clock.Set(now0.AddDate(0, 0, 10))
		r, err := w.svc.RenewTemporary(ctx, w.ngocHa, student.PIN, residence.Renewal{Until: d(2026, 3, 30), Meta: why})
		if err != nil {
			t.Fatal(err)
		}
		if r.EntryID == reg.EntryID || r.From != d(2026, 3, 20) || r.Until != d(2026, 3, 30) {
			t.Errorf("renewal %+v", r)
		}
		w.clock.Set(now0.AddDate(0, 0, 25))
		if items := list(w.hanoiProv, 0); len(items) != 1 || !items[0].Expired || items[0].DaysLeft != -5 {
			t.Errorf("expired list: %+v", items)
		}
		// Once ended it is not renewed but registered anew; then the list
		// is empty again.
		_, err = w.svc.RenewTemporary(ctx, w.ngocHa, student.PIN, residence.Renewal{Until: d(2027, 4, 1), Meta: why})
		wantErr(t, "renewal of an expired registration", err, cancuoc.Conflict, "temporary_expired")
		again, err := w.svc.RegisterTemporary(ctx, w.ngocHa, tmp(student.PIN, ngocHa, d(2027, 4, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if again.From != d(2026, 4, 4) {
			t.Errorf("new registration %+v", again)
		}
		if items := list(w.hanoiProv, 0); len(items) != 0 {
			t.Errorf("after the new registration: %+v", items)
		}
		_, err = w.svc.RenewTemporary(ctx, w.ngocHa, student.PIN, residence.Renewal{Until: d(2029, 1, 1), Meta: why})
		wantErr(t, "renewal over two years", err, cancuoc.Invalid, "temporary_too_long")
	})
}

func TestAbsence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		_, head, _ := family(t, w)
		a := residence.Absence{From: cancuoc.Date{Year: 2026, Month: 3, Day: 12}, Until: cancuoc.Date{Year: 2027, Month: 3, Day: 12},
			Destination: &cancuoc.Place{Country: "JPN", Detail: "Osaka"}, Purpose: "lao động", Meta: why}
		_, err := w.svc.DeclareAbsence(ctx, w.ngocHa, head.PIN, a)
		wantErr(t, "officer of another commune", err, cancuoc.Forbidden, "outside_jurisdiction")
		c, err := w.svc.DeclareAbsence(ctx, w.baDinh, head.PIN, a)
		if err != nil {
			t.Fatal(err)
		}
		if c.TemporaryAbsence == nil || c.TemporaryAbsence.Destination.Country != "JPN" || c.TemporaryAbsence.Reason != "lao động" {
			t.Errorf("absence %+v", c.TemporaryAbsence)
		}
		bad := a
		bad.Until = cancuoc.Date{Year: 2026, Month: 3, Day: 1}
		_, err = w.svc.DeclareAbsence(ctx, w.baDinh, head.PIN, bad)
		wantErr(t, "reversed period", err, cancuoc.Invalid, "period_invalid")
	})
}

func TestMarriage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		day := cancuoc.Date{Year: 2026, Month: 3, Day: 8}
		man := w.adult(t, "Hoàng Văn Minh", cancuoc.Male, baDinh)
		woman := w.person(t, "Đỗ Thị Lan", cancuoc.Female, cancuoc.Date{Year: 1996, Month: 1, Day: 1}, caMau, bacLieu)
		other := w.adult(t, "Vũ Thị Hạnh", cancuoc.Female, baDinh)
		boy := w.person(t, "Lý Văn Tú", cancuoc.Male, cancuoc.Date{Year: 2006, Month: 6, Day: 1}, hanoi, baDinh)
		girl := w.person(t, "Lý Thị Na", cancuoc.Female, cancuoc.Date{Year: 2008, Month: 3, Day: 9}, hanoi, baDinh)
		sister := w.person(t, "Hoàng Thị Mai", cancuoc.Female, cancuoc.Date{Year: 1995, Month: 1, Day: 1}, hanoi, baDinh)
		mother := w.person(t, "Bùi Thị Thu", cancuoc.Female, cancuoc.Date{Year: 1970, Month: 1, Day: 1}, hanoi, baDinh)
		son := w.person(t, "Hoàng Văn Sơn", cancuoc.Male, cancuoc.Date{Year: 1992, Month: 1, Day: 1}, hanoi, baDinh, mother)
		daughter := w.person(t, "Hoàng Thị Sen", cancuoc.Female, cancuoc.Date{Year: 1994, Month: 1, Day: 1}, hanoi, baDinh, mother)
		// Cousins: the children of two siblings; and a grandmother's grandson.
		grandma := w.person(t, "Bùi Thị Gấm", cancuoc.Female, cancuoc.Date{Year: 1940, Month: 1, Day: 1}, hanoi, baDinh)
		auntA := w.person(t, "Lê Thị Á", cancuoc.Female, cancuoc.Date{Year: 1965, Month: 1, Day: 1}, hanoi, baDinh, grandma)
		auntB := w.person(t, "Lê Thị Bé", cancuoc.Female, cancuoc.Date{Year: 1967, Month: 1, Day: 1}, hanoi, baDinh, grandma)
		cousinM := w.person(t, "Trịnh Văn Khoa", cancuoc.Male, cancuoc.Date{Year: 1990, Month: 1, Day: 1}, hanoi, baDinh, auntA)
		cousinF := w.person(t, "Mai Thị Hồng", cancuoc.Female, cancuoc.Date{Year: 1991, Month: 1, Day: 1}, hanoi, baDinh, auntB)
		oldWidow := w.person(t, "Bùi Thị Gấm", cancuoc.Female, cancuoc.Date{Year: 1950, Month: 1, Day: 1}, hanoi, baDinh)
		grandson := w.person(t, "Đinh Văn Lực", cancuoc.Male, cancuoc.Date{Year: 1995, Month: 1, Day: 1}, hanoi, baDinh,
			w.person(t, "Đinh Thị Hà", cancuoc.Female, cancuoc.Date{Year: 1972, Month: 1, Day: 1}, hanoi, baDinh, oldWidow))
		m := func(a, b cancuoc.PIN) residence.Marriage {
			return residence.Marriage{A: a, B: b, Date: day, Meta: registry.Meta{Reason: "Đăng ký kết hôn", LegalBasis: "Giấy chứng nhận kết hôn 7/2026"}}
		}
		for _, tc := range []struct {
			name string
			p    *cancuoc.Principal
			m    residence.Marriage
			kind cancuoc.Kind
			code string
		}{
			{"same sex", w.baDinh, m(woman.PIN, other.PIN), cancuoc.Invalid, "same_sex"},
			{"man under 20", w.baDinh, m(boy.PIN, other.PIN), cancuoc.Invalid, "under_marriage_age"},
			{"woman under 18 (turns 18 the day after)", w.baDinh, m(man.PIN, girl.PIN), cancuoc.Invalid, "under_marriage_age"},
			{"siblings", w.baDinh, m(son.PIN, daughter.PIN), cancuoc.Invalid, "related_by_blood"},
			{"parent and child", w.baDinh, m(son.PIN, mother.PIN), cancuoc.Invalid, "related_by_blood"},
			{"first cousins", w.baDinh, m(cousinM.PIN, cousinF.PIN), cancuoc.Invalid, "related_by_blood"},
			{"grandmother and grandson", w.baDinh, m(grandson.PIN, oldWidow.PIN), cancuoc.Invalid, "related_by_blood"},
			{"neither in jurisdiction", w.ngocHa, m(man.PIN, woman.PIN), cancuoc.Forbidden, "outside_jurisdiction"},
			{"same person", w.baDinh, m(man.PIN, man.PIN), cancuoc.Invalid, "same_person"},
		} {
			_, err := w.svc.Marry(ctx, tc.p, tc.m)
			wantErr(t, tc.name, err, tc.kind, tc.code)
		}
		_ = sister
		seq := w.lastSeq(t)
		// Ba Đình registers the marriage of its resident with a woman of Cà Mau.
		pair, err := w.svc.Marry(ctx, w.baDinh, m(man.PIN, woman.PIN))
		if err != nil {
			t.Fatal(err)
		}
		if pair[0].Spouse.PIN != woman.PIN || pair[1].Spouse.PIN != man.PIN || pair[0].MaritalStatus != cancuoc.Married ||
			w.current(t, woman.PIN).MaritalStatus != cancuoc.Married {
			t.Errorf("after marriage: %+v / %+v", pair[0].Spouse, pair[1].Spouse)
		}
		if got := w.eventTypes(t, seq); !slices.Equal(got, []string{cancuoc.EventCitizenMarried, cancuoc.EventCitizenMarried}) {
			t.Errorf("events %v", got)
		}
		_, err = w.svc.Marry(ctx, w.baDinh, m(man.PIN, other.PIN))
		wantErr(t, "already married", err, cancuoc.Conflict, "already_married")
		div := residence.Divorce{A: woman.PIN, B: man.PIN, Date: day, Meta: registry.Meta{Reason: "Ly hôn", LegalBasis: "Bản án 15/2026/HNGĐ-ST"}}
		_, err = w.svc.Divorce(ctx, w.baDinh, residence.Divorce{A: man.PIN, B: other.PIN, Date: day, Meta: div.Meta})
		wantErr(t, "divorcing strangers", err, cancuoc.Conflict, "not_spouses")
		if _, err := w.svc.Divorce(ctx, w.baDinh, div); err != nil {
			t.Fatal(err)
		}
		for _, pin := range []cancuoc.PIN{man.PIN, woman.PIN} {
			if c := w.current(t, pin); c.Spouse != nil || c.MaritalStatus != cancuoc.Divorced {
				t.Errorf("after divorce: %+v %s", c.Spouse, c.MaritalStatus)
			}
		}
		// Remarriage after divorce is allowed; a dead party is not.
		if _, err := w.reg.RecordDeath(ctx, w.baDinh, other.PIN, registry.Death{Date: day, Meta: registry.Meta{LegalBasis: "x"}}); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Marry(ctx, w.baDinh, m(man.PIN, other.PIN))
		wantErr(t, "dead party", err, cancuoc.Conflict, "not_alive")
		if _, err := w.svc.Marry(ctx, w.baDinh, m(man.PIN, sister.PIN)); err != nil {
			t.Errorf("remarriage after divorce: %v", err)
		}
	})
}
