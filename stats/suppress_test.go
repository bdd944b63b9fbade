package stats_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/stats"
)

// fixed answers the same counts for any area.
type fixed map[string][]int64

func (fixed) Info() stats.Info { return stats.Info{ID: "fixed", Title: stats.Label{VI: "x", EN: "x"}} }
func (f fixed) Count(context.Context, string) (*stats.Counts, error) {
	return &stats.Counts{Columns: []stats.Column{{Key: "a"}, {Key: "b"}, {Key: "c"}}, ByUnit: f}, nil
}

// TestSuppression: on a commune page every cell below k (zero included)
// is withheld, and complementary cells so that no withheld cell is a
// shown total minus shown cells; the national page is not suppressed;
// JSON has null and a flag.
func TestSuppression(t *testing.T) {
	cs := admin.Current().Communes("01")
	a, b, c := cs[0].Code, cs[1].Code, cs[2].Code
	m := fixed{a: {50, 3, 40}, b: {30, 20, 25}, c: {12, 11, 0}}
	s := stats.New(stats.WithTTL(0))
	s.Register(m)
	f, err := s.Figures(context.Background(), "fixed", "01")
	if err != nil {
		t.Fatal(err)
	}
	if f.MinCount != stats.DefaultMinCount || f.Total.Value != 191 || f.Total.Parts[1] != 34 {
		t.Fatalf("min %d total %+v", f.MinCount, f.Total)
	}
	rows := map[string]stats.Row{}
	for _, r := range f.Rows {
		rows[r.Code] = r
		// Every other commune counts 0: withheld.
		if r.Code != a && r.Code != b && r.Code != c && (!r.Suppressed || r.Value != 0) {
			t.Fatalf("commune %s with nothing counted is shown: %+v", r.Code, r)
		}
	}
	ra, rc := rows[a], rows[c]
	if !ra.PartSuppressed[1] || ra.Parts[1] != 0 {
		t.Errorf("3 shown: %+v", ra)
	}
	if !rc.PartSuppressed[2] {
		t.Errorf("0 shown: %+v", rc)
	}
	// No row with a shown value has exactly one withheld part, and no
	// column has exactly one withheld commune (the total is shown).
	for _, r := range f.Rows {
		n := 0
		for _, h := range r.PartSuppressed {
			if h {
				n++
			}
		}
		if !r.Suppressed && n == 1 {
			t.Errorf("row %s: one withheld part is its value minus the others: %+v", r.Code, r)
		}
	}
	for j := range f.Columns {
		n := 0
		for _, r := range f.Rows {
			if r.PartSuppressed[j] {
				n++
			}
		}
		if n == 1 {
			t.Errorf("column %d has one withheld commune", j)
		}
	}
	// A single person more in a withheld cell changes none of the parts
	// shown (the row's value moves: see the limit in suppress.go).
	m[a][1] = 4
	g, _ := s.Figures(context.Background(), "fixed", "01")
	for i := range f.Rows {
		if p1, p2 := mustJSON(f.Rows[i].Parts), mustJSON(g.Rows[i].Parts); p1 != p2 || mustJSON(f.Rows[i].PartSuppressed) != mustJSON(g.Rows[i].PartSuppressed) {
			t.Errorf("row %s: parts %s became %s", f.Rows[i].Code, p1, p2)
		}
	}
	out, _ := json.Marshal(f)
	if !strings.Contains(string(out), `"min_count":10`) || !strings.Contains(string(out), `"suppressed":true`) ||
		!strings.Contains(string(out), `"parts":[50,null,null]`) {
		t.Errorf("JSON: %s", out[:min(len(out), 600)])
	}
	// The national page is not suppressed.
	n, _ := s.Figures(context.Background(), "fixed", "")
	if n.MinCount != 0 || strings.Contains(mustJSON(n), "null") {
		t.Errorf("national page suppressed: %d", n.MinCount)
	}
	// k = 1 publishes everything.
	s1 := stats.New(stats.WithTTL(0), stats.WithMinCount(1))
	s1.Register(m)
	if f1, _ := s1.Figures(context.Background(), "fixed", "01"); f1.MinCount != 0 {
		t.Errorf("k=1 suppressed: %d", f1.MinCount)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
