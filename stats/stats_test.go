package stats_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/storetest"
)

func open(t testing.TB) cancuoc.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// person stores a living citizen of the given birth year and home with a
// valid card issued in issued (0: no card) and an account of level (0: none).
func person(t *testing.T, st cancuoc.Store, n, year int, prov, commune string, issued int, level cancuoc.AccountLevel) {
	t.Helper()
	ctx := context.Background()
	pin := storetest.PINFor("0"+prov, cancuoc.Male, year, n)
	c := storetest.Minimal(pin, "Phạm Văn An", "pham van an")
	c.Home = cancuoc.UnitRef{Province: prov, Commune: commune}
	if issued > 0 {
		c.Cards = []cancuoc.Card{{Number: string(pin), Kind: "can_cuoc", IssuedOn: cancuoc.Date{Year: issued}, Status: cancuoc.CardValid}}
	}
	if err := st.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	if level > 0 {
		a := storetest.Account("acc-"+string(pin), pin)
		a.Level = level
		a.CreatedAt = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
		if err := st.InsertAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
}

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func TestFigures(t *testing.T) {
	st := open(t)
	person(t, st, 1, 2015, "01", "00004", 2024, 0) // 11 → 0–13
	person(t, st, 2, 2012, "01", "00004", 2026, 1) // 14 → 14–24
	person(t, st, 3, 1986, "01", "00008", 2021, 2) // 40 → 40–59
	person(t, st, 4, 1960, "79", "26732", 2022, 2) // 66 → 60+
	person(t, st, 5, 1990, "79", "", 0, 1)         // commune not known
	s := stats.New(stats.WithTTL(0), stats.WithMinCount(1), stats.WithClock(func() time.Time { return now })).Builtin(st)
	ctx := context.Background()

	if got := s.Measures(); len(got) != 3 || got[0].ID != "population" || got[1].ID != "eid-accounts" || got[2].ID != "cards" {
		t.Fatalf("measures: %+v", got)
	}
	pop, err := s.Figures(ctx, "population", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pop.Rows) != 34 || pop.Total.Value != 5 || pop.Max != 3 {
		t.Fatalf("population: %d rows, total %d, max %d", len(pop.Rows), pop.Total.Value, pop.Max)
	}
	row := func(f *stats.Figures, code string) stats.Row {
		for _, r := range f.Rows {
			if r.Code == code {
				return r
			}
		}
		t.Fatalf("%s: no row %q", f.Measure, code)
		return stats.Row{}
	}
	if r := row(pop, "01"); r.Value != 3 || r.Name != "Hà Nội" {
		t.Errorf("Hà Nội: %+v", r)
	}
	if r := row(pop, "79"); r.Value != 2 {
		t.Errorf("TP HCM: %+v", r)
	}
	if r := row(pop, "48"); r.Value != 0 || r.Parts[0] != 0 {
		t.Errorf("Đà Nẵng should be zero: %+v", r)
	}

	cards, err := s.Figures(ctx, "cards", "")
	if err != nil {
		t.Fatal(err)
	}
	if r := row(cards, "01"); r.Value != 3 || r.Parts[0] != 1 || r.Parts[1] != 1 || r.Parts[3] != 1 {
		t.Errorf("cards Hà Nội by age: %+v", r)
	}
	if r := row(cards, "79"); r.Parts[4] != 1 || r.Value != 1 {
		t.Errorf("cards TP HCM by age: %+v", r)
	}
	if len(cards.Trend) != 4 || cards.Trend[0].Period != "2021" {
		t.Errorf("cards trend: %+v", cards.Trend)
	}
	if cards.Columns[0].Key != "0-13" || cards.Columns[4].Key != "60+" {
		t.Errorf("card columns: %+v", cards.Columns)
	}

	acc, err := s.Figures(ctx, "eid-accounts", "79")
	if err != nil {
		t.Fatal(err)
	}
	if r := row(acc, "26732"); r.Parts[1] != 1 {
		t.Errorf("level 2 in 26732: %+v", r)
	}
	if r := row(acc, ""); r.Parts[0] != 1 || r.Name == "" {
		t.Errorf("undetermined commune row: %+v", r)
	}
	if acc.Total.Value != 2 || acc.Total.Name != "Hồ Chí Minh" || len(acc.Trend) != 1 || acc.Trend[0] != (cancuoc.PeriodCount{Period: "2026-01", Count: 2}) {
		t.Errorf("accounts in 79: total %+v trend %+v", acc.Total, acc.Trend)
	}
}

func TestFiguresErrors(t *testing.T) {
	s := stats.New().Builtin(open(t))
	for _, tc := range []struct{ measure, prov, code string }{
		{"nope", "", "measure_unknown"},
		{"population", "99", "province_unknown"},
		{"population", "02", "province_unknown"}, // Hà Giang: a code of the 63, not of the 34
	} {
		_, err := s.Figures(context.Background(), tc.measure, tc.prov)
		var e *cancuoc.Error
		if !errors.As(err, &e) || e.Kind != cancuoc.NotFound || e.Code != tc.code || e.MessageVI == "" || e.MessageEN == "" {
			t.Errorf("%s/%s: %v, want NotFound %s", tc.measure, tc.prov, err, tc.code)
		}
	}
}

// counting is a measure that counts its calls.
type counting struct {
	mu    sync.Mutex
	calls int
}

func (c *counting) Info() stats.Info {
	return stats.Info{ID: "procedures", Title: stats.Label{VI: "Thủ tục", EN: "Procedures"}}
}
func (c *counting) Count(ctx context.Context, province string) (*stats.Counts, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return &stats.Counts{Columns: []stats.Column{{Key: "n"}}, ByUnit: map[string][]int64{"01": {int64(c.calls)}}}, nil
}

// TestCacheAndRegister: fresh figures come from the cache; stale ones are
// answered while a background count replaces them; a replaced measure
// answers at once.
func TestCacheAndRegister(t *testing.T) {
	var mu sync.Mutex
	at := now
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	s := stats.New(stats.WithTTL(time.Minute), stats.WithClock(clock))
	m := &counting{}
	s.Register(m)
	get := func() int64 {
		f, err := s.Figures(context.Background(), "procedures", "")
		if err != nil {
			t.Fatal(err)
		}
		return f.Total.Value
	}
	if get() != 1 || get() != 1 {
		t.Fatal("a second read within the TTL should come from the cache")
	}
	mu.Lock()
	at = at.Add(61 * time.Second)
	mu.Unlock()
	if v := get(); v != 1 {
		t.Fatalf("a stale read answers the figures at hand, got %d", v)
	}
	deadline := time.Now().Add(5 * time.Second)
	for get() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the background count never replaced the stale figures")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if m.calls != 2 {
		t.Errorf("%d counts; one background count expected", m.calls)
	}
	s.Register(&counting{calls: 10})
	if v := get(); v != 11 {
		t.Fatalf("a replaced measure answers: %d", v)
	}
	if len(s.Measures()) != 1 {
		t.Fatal("replacing should not add")
	}
	s.Warm()
}

// docCounts is a DocumentStatsStore of fixed rows.
type docCounts []cancuoc.DocumentCount

func (d docCounts) CountDocuments(context.Context, string) ([]cancuoc.DocumentCount, error) {
	return d, nil
}
func (d docCounts) DocumentsIssued(context.Context, string) ([]cancuoc.PeriodCount, error) {
	return []cancuoc.PeriodCount{{Period: "2026-08", Count: 3}}, nil
}

// TestDocuments: one column per type issued, in name order; rows by unit.
func TestDocuments(t *testing.T) {
	s := stats.New(stats.WithTTL(0))
	s.Register(stats.Documents(docCounts{{Province: "01", Type: "health_insurance", Count: 1}, {Province: "01", Type: "driver_licence", Count: 2},
		{Province: "79", Type: "driver_licence", Count: 4}}))
	f, err := s.Figures(context.Background(), "documents", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Columns) != 2 || f.Columns[0].Key != "driver_licence" || f.Total.Value != 7 || f.Total.Parts[0] != 6 || len(f.Trend) != 1 {
		t.Errorf("figures %+v", f)
	}
}
