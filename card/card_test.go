package card_test

import (
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/card"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/storetest"
)

var (
	officer  = &cancuoc.Principal{ID: "ba-dinh", Role: cancuoc.RoleCommuneOfficer, Agency: "Công an phường Ba Đình", Jurisdiction: cancuoc.Jurisdiction{Province: "01", Commune: "00004"}}
	far      = &cancuoc.Principal{ID: "hcm", Role: cancuoc.RoleProvinceOfficer, Agency: "Công an TP HCM", Jurisdiction: cancuoc.Jurisdiction{Province: "79"}}
	ministry = &cancuoc.Principal{ID: "bank", Role: cancuoc.RoleMinistrySystem}
	meta     = registry.Meta{Reason: "Cấp đổi thẻ", LegalBasis: "Luật Căn cước 2023, điều 24"}
)

func setup(t *testing.T, s cancuoc.Store, now time.Time) (*card.Service, *cancuoc.Citizen) {
	w := audit.NewWriter(s, 0)
	t.Cleanup(func() { w.Close() })
	reg := registry.New(s, w, registry.WithClock(func() time.Time { return now }))
	c := storetest.Holder(storetest.PIN(1))
	if err := s.InsertCitizen(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return card.New(reg, card.WithClock(func() time.Time { return now })), c
}

func wantCode(t *testing.T, err error, kind cancuoc.Kind, code string) {
	t.Helper()
	e, ok := err.(*cancuoc.Error)
	if !ok || e.Kind != kind || e.Code != code {
		t.Fatalf("error %v, want %v %q", err, kind, code)
	}
}

func TestIssue(t *testing.T) {
	testkit.Stores(t, "card_test", func(t *testing.T, s cancuoc.Store) {
		ctx := t.Context()
		// 23:30 UTC is already the next day in Vietnam.
		now := time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC)
		svc, c := setup(t, s, now)
		_, _, err := svc.Issue(ctx, far, c.PIN, card.Issue{Version: 1, Meta: meta})
		wantCode(t, err, cancuoc.Forbidden, "outside_jurisdiction")
		_, _, err = svc.Issue(ctx, ministry, c.PIN, card.Issue{Version: 1, IssuedBy: "x", Meta: meta})
		wantCode(t, err, cancuoc.Forbidden, "role_forbidden")
		_, _, err = svc.Issue(ctx, officer, c.PIN, card.Issue{Version: 1})
		wantCode(t, err, cancuoc.Invalid, "reason_required")
		_, _, err = svc.Issue(ctx, &cancuoc.Principal{ID: "x", Role: cancuoc.RoleNationalAdmin}, c.PIN, card.Issue{Version: 1, Meta: meta})
		wantCode(t, err, cancuoc.Invalid, "issued_by_required")

		got, k, err := svc.Issue(ctx, officer, c.PIN, card.Issue{Version: 1, Meta: meta})
		if err != nil {
			t.Fatal(err)
		}
		want := cancuoc.Card{Number: string(c.PIN), Kind: card.Kind, IssuedOn: cancuoc.Date{Year: 2026, Month: 11, Day: 24},
			IssuedBy: officer.Agency, ExpiresOn: cancuoc.Date{Year: 2030, Month: 5, Day: 17}, Status: cancuoc.CardValid}
		if *k != want {
			t.Fatalf("card %+v, want %+v", *k, want)
		}
		if len(got.Cards) != 3 || got.Cards[1].Status != cancuoc.CardReplaced || got.Cards[0].Status != cancuoc.CardReplaced || got.Cards[2] != want {
			t.Fatalf("cards %+v", got.Cards)
		}
		if got.Version != 2 {
			t.Fatalf("version %d", got.Version)
		}
		_, _, err = svc.Issue(ctx, officer, c.PIN, card.Issue{Version: 1, Meta: meta})
		wantCode(t, err, cancuoc.Conflict, "stale_version")

		vs, err := s.Versions(ctx, c.PIN)
		if err != nil || len(vs) != 1 || vs[0].Actor != officer.ID || vs[0].Version != 2 {
			t.Fatalf("history %+v %v", vs, err)
		}
		changed := map[string]bool{}
		for _, ch := range vs[0].Changes {
			changed[ch.Field] = true
		}
		if !changed["cards"] {
			t.Fatalf("history changes %+v", vs[0].Changes)
		}
		entries, err := s.AuditFor(ctx, c.PIN, 10)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range entries {
			found = found || (e.Action == string(registry.ActUpdate) && e.Actor == officer.ID && e.Outcome == "ok")
		}
		if !found {
			t.Fatalf("no audit entry for the issue: %+v", entries)
		}
	})
}

func TestIssueRefusesDead(t *testing.T) {
	testkit.Stores(t, "card_test", func(t *testing.T, s cancuoc.Store) {
		now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
		svc, c := setup(t, s, now)
		c.LifeStatus, c.DeathDate, c.Version = cancuoc.Dead, cancuoc.Date{Year: 2026, Month: 1, Day: 2}, 2
		if err := s.UpdateCitizen(t.Context(), c, 1); err != nil {
			t.Fatal(err)
		}
		_, _, err := svc.Issue(t.Context(), officer, c.PIN, card.Issue{Version: 2, Meta: meta})
		wantCode(t, err, cancuoc.Invalid, "holder_not_alive")
	})
}

func TestReportLost(t *testing.T) {
	testkit.Stores(t, "card_test", func(t *testing.T, s cancuoc.Store) {
		ctx := t.Context()
		svc, c := setup(t, s, time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
		_, err := svc.ReportLost(ctx, officer, c.PIN, card.Lost{Version: 1, IssuedOn: cancuoc.Date{Year: 2016, Month: 4, Day: 1}, Meta: meta})
		wantCode(t, err, cancuoc.Invalid, "no_valid_card") // that card was replaced, not valid
		got, err := svc.ReportLost(ctx, officer, c.PIN, card.Lost{Version: 1, Meta: meta})
		if err != nil {
			t.Fatal(err)
		}
		if got.Cards[1].Status != cancuoc.CardLost || got.Cards[0].Status != cancuoc.CardReplaced {
			t.Fatalf("cards %+v", got.Cards)
		}
		_, err = svc.ReportLost(ctx, officer, c.PIN, card.Lost{Version: 2, Meta: meta})
		wantCode(t, err, cancuoc.Invalid, "no_valid_card")
	})
}

func TestExpireCards(t *testing.T) {
	testkit.Stores(t, "card_test", func(t *testing.T, s cancuoc.Store) {
		ctx := t.Context()
		// The fixture's valid card expires on 2030-05-17: still valid on
		// that day, expired the next.
		svc, c := setup(t, s, time.Date(2030, 5, 17, 12, 0, 0, 0, time.UTC))
		other := storetest.Holder(storetest.PIN(2))
		other.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: "79", Commune: "26732"}
		other.CurrentResidence = other.PermanentResidence
		other.Home = cancuoc.UnitRef{Province: "79", Commune: "26732"}
		if err := s.InsertCitizen(ctx, other); err != nil {
			t.Fatal(err)
		}
		admin := &cancuoc.Principal{ID: "sweeper", Role: cancuoc.RoleNationalAdmin}
		if n, err := svc.ExpireCards(ctx, admin, ""); err != nil || n != 0 {
			t.Fatalf("on the expiry day: %d, %v", n, err)
		}
		w := audit.NewWriter(s, 0)
		t.Cleanup(func() { w.Close() })
		later := card.New(registry.New(s, w), card.WithClock(func() time.Time { return time.Date(2030, 5, 18, 1, 0, 0, 0, time.UTC) }))
		if n, err := later.ExpireCards(ctx, officer, "01"); err != nil || n != 1 {
			t.Fatalf("Ba Đình's officer in Hà Nội: %d, %v; want 1", n, err)
		}
		got, _ := s.Citizen(ctx, c.PIN)
		if got.Cards[1].Status != cancuoc.CardExpired || got.Version != 2 {
			t.Fatalf("cards %+v", got.Cards)
		}
		if _, err := later.ExpireCards(ctx, officer, "79"); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Fatalf("outside jurisdiction: %v", err)
		}
		if n, err := later.ExpireCards(ctx, admin, ""); err != nil || n != 1 {
			t.Fatalf("national sweep: %d, %v; want 1 (the other province)", n, err)
		}
		if n, err := later.ExpireCards(ctx, admin, ""); err != nil || n != 0 {
			t.Fatalf("second sweep: %d, %v; want 0", n, err)
		}
	})
}

func TestExpired(t *testing.T) {
	k := cancuoc.Card{ExpiresOn: cancuoc.Date{Year: 2030, Month: 5, Day: 17}}
	for _, tc := range []struct {
		today cancuoc.Date
		want  bool
	}{{cancuoc.Date{Year: 2030, Month: 5, Day: 17}, false}, {cancuoc.Date{Year: 2030, Month: 5, Day: 18}, true}, {cancuoc.Date{Year: 2029, Month: 1, Day: 1}, false}} {
		if got := card.Expired(k, tc.today); got != tc.want {
			t.Errorf("Expired on %v = %v", tc.today, got)
		}
	}
	if card.Expired(cancuoc.Card{}, cancuoc.Date{Year: 2100, Month: 1, Day: 1}) {
		t.Error("a card without expiry expired")
	}
}
