package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunStats checks the dashboard's counts: grouping by province and by
// commune, levels, birth years, periods, and what is left out (closed
// accounts, dead holders, cards that are not valid, organisations).
func RunStats(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	t.Run("StatsCounts", func(t *testing.T) { testStatsCounts(t, open(t)) })
	t.Run("StatsEmpty", func(t *testing.T) { testStatsEmpty(t, open(t)) })
	t.Run("StatsQuality", func(t *testing.T) { testStatsQuality(t, open(t)) })
}

// statsPeople stores six citizens: three in Hà Nội (two communes), two in
// TP Hồ Chí Minh, one dead in Hà Nội; with accounts and cards.
func statsPeople(t *testing.T, s cancuoc.Store) {
	ctx := context.Background()
	type person struct {
		year          int
		prov, commune string
		dead          bool
		card          cancuoc.CardStatus // "" for none
		issued        int
		level         cancuoc.AccountLevel // 0 for no account
		status        cancuoc.AccountStatus
		opened        time.Time
	}
	jul := time.Date(2025, 7, 3, 10, 0, 0, 0, time.UTC)
	aug := time.Date(2025, 8, 20, 10, 0, 0, 0, time.UTC)
	people := []person{
		{1990, "01", "00004", false, cancuoc.CardValid, 2024, 2, cancuoc.AccountActive, jul},
		{1990, "01", "00004", false, cancuoc.CardValid, 2021, 1, cancuoc.AccountLocked, aug},
		{2010, "01", "00008", false, cancuoc.CardValid, 2024, 1, cancuoc.AccountClosed, aug},
		{1950, "01", "00008", true, cancuoc.CardValid, 2021, 0, "", time.Time{}},
		{1985, "79", "26734", false, cancuoc.CardExpired, 2015, 2, cancuoc.AccountActive, aug},
		{2000, "79", "26734", false, cancuoc.CardValid, 2025, 0, "", time.Time{}},
	}
	for i, p := range people {
		pin := PINFor("0"+p.prov, cancuoc.Female, p.year, 100+i)
		c := Minimal(pin, "Trần Thị Lan", "tran thi lan")
		c.BirthDate = cancuoc.Date{Year: p.year, Month: 3, Day: 2}
		c.Home = cancuoc.UnitRef{Province: p.prov, Commune: p.commune}
		if p.dead {
			c.LifeStatus = cancuoc.Dead
			c.DeathDate = cancuoc.Date{Year: 2024}
		}
		if p.card != "" {
			c.Cards = []cancuoc.Card{{Number: string(pin), Kind: "can_cuoc", IssuedOn: cancuoc.Date{Year: p.issued, Month: 5, Day: 1},
				ExpiresOn: cancuoc.Date{Year: p.issued + 15}, Status: p.card}}
		}
		if err := s.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
		if p.level > 0 {
			a := Account("acc-stats-"+string(rune('a'+i)), pin)
			a.Level, a.Status, a.CreatedAt, a.UpdatedAt = p.level, p.status, p.opened, p.opened
			if err := s.InsertAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	// An organisation's account has no home and no level: never counted.
	org := &cancuoc.Account{ID: "acc-stats-org", Kind: cancuoc.AccountOrganisation, OrgName: "Công ty A",
		Status: cancuoc.AccountActive, CreatedAt: jul, UpdatedAt: jul, Version: 1}
	if err := s.InsertAccount(ctx, org); err != nil {
		t.Fatal(err)
	}
}

func testStatsCounts(t *testing.T, s cancuoc.Store) {
	ctx := context.Background()
	statsPeople(t, s)
	check := func(what string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}
	acc, err := s.CountAccounts(ctx, "")
	check("accounts by province", acc, []cancuoc.AccountCount{
		{Province: "01", Level: 1, Count: 1}, {Province: "01", Level: 2, Count: 1}, {Province: "79", Level: 2, Count: 1}}, err)
	acc, err = s.CountAccounts(ctx, "01")
	check("accounts by commune", acc, []cancuoc.AccountCount{
		{Province: "01", Commune: "00004", Level: 1, Count: 1}, {Province: "01", Commune: "00004", Level: 2, Count: 1}}, err)
	per, err := s.AccountsOpened(ctx, "")
	check("accounts opened", per, []cancuoc.PeriodCount{{Period: "2025-07", Count: 1}, {Period: "2025-08", Count: 3}}, err)
	per, err = s.AccountsOpened(ctx, "79")
	check("accounts opened in 79", per, []cancuoc.PeriodCount{{Period: "2025-08", Count: 1}}, err)

	cards, err := s.CountCards(ctx, "")
	check("cards by province", cards, []cancuoc.CardCount{
		{Province: "01", BirthYear: 1990, Count: 2}, {Province: "01", BirthYear: 2010, Count: 1},
		{Province: "79", BirthYear: 2000, Count: 1}}, err)
	cards, err = s.CountCards(ctx, "01")
	check("cards by commune", cards, []cancuoc.CardCount{
		{Province: "01", Commune: "00004", BirthYear: 1990, Count: 2}, {Province: "01", Commune: "00008", BirthYear: 2010, Count: 1}}, err)
	per, err = s.CardsIssued(ctx, "")
	check("cards issued", per, []cancuoc.PeriodCount{{Period: "2015", Count: 1}, {Period: "2021", Count: 1},
		{Period: "2024", Count: 2}, {Period: "2025", Count: 1}}, err)
	per, err = s.CardsIssued(ctx, "79")
	check("cards issued in 79", per, []cancuoc.PeriodCount{{Period: "2015", Count: 1}, {Period: "2025", Count: 1}}, err)

	// Inside a transaction the counts see its own writes.
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		c := Minimal(PINFor("079", cancuoc.Male, 1970, 999), "Lê Văn Tám", "le van tam")
		c.Home = cancuoc.UnitRef{Province: "79", Commune: "26734"}
		c.Cards = []cancuoc.Card{{Number: "1", Kind: "cccd", IssuedOn: cancuoc.Date{Year: 2022}, Status: cancuoc.CardValid}}
		if err := tx.InsertCitizen(ctx, c); err != nil {
			return err
		}
		got, err := tx.CountCards(ctx, "79")
		check("cards in tx", got, []cancuoc.CardCount{{Province: "79", Commune: "26734", BirthYear: 1970, Count: 1},
			{Province: "79", Commune: "26734", BirthYear: 2000, Count: 1}}, err)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testStatsEmpty(t *testing.T, s cancuoc.Store) {
	ctx := context.Background()
	for _, prov := range []string{"", "01"} {
		if a, err := s.CountAccounts(ctx, prov); err != nil || len(a) != 0 {
			t.Errorf("CountAccounts(%q) = %v, %v; want none", prov, a, err)
		}
		if c, err := s.CountCards(ctx, prov); err != nil || len(c) != 0 {
			t.Errorf("CountCards(%q) = %v, %v; want none", prov, c, err)
		}
		if p, err := s.AccountsOpened(ctx, prov); err != nil || len(p) != 0 {
			t.Errorf("AccountsOpened(%q) = %v, %v; want none", prov, p, err)
		}
		if p, err := s.CardsIssued(ctx, prov); err != nil || len(p) != 0 {
			t.Errorf("CardsIssued(%q) = %v, %v; want none", prov, p, err)
		}
	}
}

func testStatsQuality(t *testing.T, s cancuoc.Store) {
	ctx := context.Background()
	add := func(n int, commune string, fn func(c *cancuoc.Citizen)) {
		c := Minimal(PINFor("001", cancuoc.Male, 1980, 700+n), "Hoàng Văn Nam", "hoang van nam")
		c.BirthDate = cancuoc.Date{Year: 1980, Month: 1, Day: 2}
		c.Ethnicity = "01"
		c.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: commune}
		c.Home = cancuoc.UnitRef{Province: "01", Commune: commune}
		fn(c)
		if err := s.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	add(1, "00004", func(c *cancuoc.Citizen) {})                      // complete
	add(2, "00004", func(c *cancuoc.Citizen) { c.BirthDate.Day = 0 }) // partial birth
	add(3, "00004", func(c *cancuoc.Citizen) { c.Ethnicity = ""; c.BirthDate.Month = 0; c.BirthDate.Day = 0 })
	add(4, "00008", func(c *cancuoc.Citizen) { c.PermanentResidence = nil }) // no residence
	add(5, "00008", func(c *cancuoc.Citizen) {                               // old units
		c.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era63, Province: "01", District: "001", Commune: "00004"}
	})
	add(6, "00008", func(c *cancuoc.Citizen) { c.LifeStatus = cancuoc.Dead; c.Ethnicity = "" }) // dead: not counted
	add(7, "00008", func(c *cancuoc.Citizen) {                                                  // current residence in old units
		c.CurrentResidence = &cancuoc.Place{Era: cancuoc.Era63, Province: "01", District: "001", Commune: "00004"}
	})
	got, err := s.CountQuality(ctx, "01")
	want := []cancuoc.QualityCount{
		{Province: "01", Commune: "00004", PartialBirth: 2, NoEthnicity: 1},
		{Province: "01", Commune: "00008", NoResidence: 1, OldUnitAddress: 2},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("CountQuality(01) = %+v, %v\nwant %+v", got, err, want)
	}
	got, err = s.CountQuality(ctx, "")
	if err != nil || !reflect.DeepEqual(got, []cancuoc.QualityCount{{Province: "01", PartialBirth: 2, NoEthnicity: 1, NoResidence: 1, OldUnitAddress: 2}}) {
		t.Errorf("CountQuality() = %+v, %v", got, err)
	}
}
