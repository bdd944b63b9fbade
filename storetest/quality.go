package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunQuality checks the data-quality work lists, suspected duplicates and
// the dashboard's snapshots (migration 00014).
func RunQuality(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	t.Run("QualityLists", func(t *testing.T) { testQualityLists(t, open(t)) })
	t.Run("DuplicateCandidates", func(t *testing.T) { testDuplicateCandidates(t, open(t)) })
	t.Run("DuplicatePairs", func(t *testing.T) { testDuplicatePairs(t, open(t)) })
	t.Run("Snapshots", func(t *testing.T) { testSnapshots(t, open(t)) })
	t.Run("DocumentCounts", func(t *testing.T) { testDocumentCounts(t, open(t)) })
}

// testDocumentCounts: documents by type and the holder's home unit, and by
// month of issue.
func testDocumentCounts(t *testing.T, s cancuoc.Store) {
	ctx := context.Background()
	homes := []cancuoc.UnitRef{{Province: "01", Commune: "00004"}, {Province: "01", Commune: "00008"}, {Province: "79", Commune: "26734"}}
	for i, h := range homes {
		c := Minimal(PIN(60+i), "Trịnh Văn Lâm", "trinh van lam")
		c.Home = h
		if err := s.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	jul := time.Date(2026, 7, 9, 1, 0, 0, 0, time.UTC)
	aug := time.Date(2026, 8, 9, 1, 0, 0, 0, time.UTC)
	for i, d := range []struct {
		pin  cancuoc.PIN
		typ  string
		at   time.Time
		stat cancuoc.DocumentStatus
	}{
		{PIN(60), "driver_licence", jul, cancuoc.DocumentValid},
		{PIN(60), "health_insurance", aug, cancuoc.DocumentRevoked}, // issued, revoked since: still issued
		{PIN(61), "driver_licence", aug, cancuoc.DocumentValid},
		{PIN(62), "driver_licence", aug, cancuoc.DocumentValid},
	} {
		doc := sampleDocument("doc-count-"+string(rune('a'+i)), d.pin, 7, int64(i), d.at)
		doc.Type, doc.Status = d.typ, d.stat
		if err := s.InsertDocument(ctx, doc); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.CountDocuments(ctx, "")
	want := []cancuoc.DocumentCount{{Province: "01", Type: "driver_licence", Count: 2}, {Province: "01", Type: "health_insurance", Count: 1},
		{Province: "79", Type: "driver_licence", Count: 1}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("CountDocuments() = %+v, %v\nwant %+v", got, err, want)
	}
	got, err = s.CountDocuments(ctx, "01")
	want = []cancuoc.DocumentCount{{Province: "01", Commune: "00004", Type: "driver_licence", Count: 1},
		{Province: "01", Commune: "00004", Type: "health_insurance", Count: 1}, {Province: "01", Commune: "00008", Type: "driver_licence", Count: 1}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("CountDocuments(01) = %+v, %v\nwant %+v", got, err, want)
	}
	periods, err := s.DocumentsIssued(ctx, "01")
	if err != nil || !reflect.DeepEqual(periods, []cancuoc.PeriodCount{{Period: "2026-07", Count: 1}, {Period: "2026-08", Count: 2}}) {
		t.Errorf("DocumentsIssued(01) = %+v, %v", periods, err)
	}
}

// qualityPerson is a record built to be on some lists and not others.
type qualityPerson struct {
	n             int
	prov, commune string
	partial       bool   // year of birth only
	ethnicity     bool   // has one
	residence     string // "" none, "34" or "63": the era of the permanent residence
	current63     bool   // current residence in the old units
	dead          bool
}

func qualityCitizen(p qualityPerson) *cancuoc.Citizen {
	pin := PINFor("0"+p.prov, cancuoc.Male, 1980, p.n)
	c := Minimal(pin, "Lê Văn An", "le van an")
	if !p.partial {
		c.BirthDate = cancuoc.Date{Year: 1980, Month: 4, Day: 9}
	}
	if p.ethnicity {
		c.Ethnicity = "01"
	}
	switch p.residence {
	case "34":
		c.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: p.prov, Commune: p.commune}
	case "63":
		c.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era63, Province: p.prov, District: "001", Commune: "00001"}
	}
	if p.current63 {
		c.CurrentResidence = &cancuoc.Place{Era: cancuoc.Era63, Province: p.prov, District: "001", Commune: "00002"}
	}
	if p.dead {
		c.LifeStatus, c.DeathDate = cancuoc.Dead, cancuoc.Date{Year: 2024}
	}
	c.Home = cancuoc.UnitRef{Province: p.prov, Commune: p.commune}
	return c
}

func testQualityLists(t *testing.T, s cancuoc.Store) {
	ctx := context.Background()
	people := []qualityPerson{
		{n: 1, prov: "01", commune: "00004", partial: true, ethnicity: true, residence: "34"},   // partial
		{n: 2, prov: "01", commune: "00004", ethnicity: false, residence: "34"},                 // no ethnicity
		{n: 3, prov: "01", commune: "00008", ethnicity: true},                                   // no residence
		{n: 4, prov: "01", commune: "00008", ethnicity: true, residence: "63"},                  // old units
		{n: 5, prov: "79", commune: "26734", ethnicity: true, residence: "34", current63: true}, // old units (current)
		{n: 6, prov: "79", commune: "26734", ethnicity: true, residence: "34"},                  // complete
		{n: 7, prov: "01", commune: "00004", partial: true, dead: true},                         // dead: on no list
		{n: 8, prov: "01", commune: "00004", partial: true, residence: "63"},                    // partial, no ethnicity, old units
	}
	pins := map[int]cancuoc.PIN{}
	for _, p := range people {
		c := qualityCitizen(p)
		pins[p.n] = c.PIN
		if err := s.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	want := func(ns ...int) []cancuoc.PIN {
		var out []cancuoc.PIN
		for _, n := range ns {
			out = append(out, pins[n])
		}
		// The lists' order: home province, commune, PIN.
		slices.SortFunc(out, func(a, b cancuoc.PIN) int {
			ca, cb := homeOf(people, pins, a), homeOf(people, pins, b)
			if ca != cb {
				if ca < cb {
					return -1
				}
				return 1
			}
			if a < b {
				return -1
			}
			return 1
		})
		return out
	}
	list := func(kind cancuoc.QualityKind, prov, commune string, limit int) []cancuoc.PIN {
		t.Helper()
		var out []cancuoc.PIN
		var after cancuoc.QualityCursor
		for range 20 {
			page, err := s.QualityList(ctx, cancuoc.QualityQuery{Kind: kind, Province: prov, Commune: commune, After: after, Limit: limit})
			if err != nil {
				t.Fatalf("QualityList(%s, %q, %q): %v", kind, prov, commune, err)
			}
			if len(page) > limit {
				t.Fatalf("QualityList gave %d rows, limit %d", len(page), limit)
			}
			for _, c := range page {
				out = append(out, c.PIN)
			}
			if len(page) < limit {
				return out
			}
			last := page[len(page)-1]
			after = cancuoc.QualityCursor{Province: last.Home.Province, Commune: last.Home.Commune, PIN: last.PIN}
		}
		t.Fatal("QualityList does not end")
		return nil
	}
	cases := []struct {
		kind          cancuoc.QualityKind
		prov, commune string
		want          []cancuoc.PIN
	}{
		{cancuoc.QualityPartialBirth, "", "", want(1, 8)},
		{cancuoc.QualityNoEthnicity, "", "", want(2, 8)},
		{cancuoc.QualityNoResidence, "", "", want(3)},
		{cancuoc.QualityOldUnits, "", "", want(4, 5, 8)},
		{cancuoc.QualityOldUnits, "01", "", want(4, 8)},
		{cancuoc.QualityOldUnits, "01", "00004", want(8)},
		{cancuoc.QualityOldUnits, "79", "26734", want(5)},
		{cancuoc.QualityNoResidence, "79", "", nil},
	}
	for _, tc := range cases {
		for _, limit := range []int{1, 2, 50} {
			got := list(tc.kind, tc.prov, tc.commune, limit)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s in %q/%q, pages of %d: %v, want %v", tc.kind, tc.prov, tc.commune, limit, got, tc.want)
			}
		}
	}
	// A record completed leaves the list at once (the list is an index).
	c, err := s.Citizen(ctx, pins[2])
	if err != nil {
		t.Fatal(err)
	}
	c.Ethnicity, c.Version = "01", 2
	if err := s.UpdateCitizen(ctx, c, 1); err != nil {
		t.Fatal(err)
	}
	if got := list(cancuoc.QualityNoEthnicity, "", "", 10); !reflect.DeepEqual(got, want(8)) {
		t.Errorf("after completing the ethnicity: %v, want %v", got, want(8))
	}
	_, err = s.QualityList(ctx, cancuoc.QualityQuery{Kind: "no_such", Limit: 5})
	wantErr(t, "unknown list", err, cancuoc.Invalid, "quality_kind_unknown")
}

func homeOf(people []qualityPerson, pins map[int]cancuoc.PIN, pin cancuoc.PIN) string {
	for _, p := range people {
		if pins[p.n] == pin {
			return p.prov + "/" + p.commune
		}
	}
	return ""
}

func testDuplicateCandidates(t *testing.T, s cancuoc.Store) {
	ctx := context.Background()
	add := func(n int, name, key string, d cancuoc.Date, sex cancuoc.Sex, dead bool) cancuoc.PIN {
		pin := PINFor("001", sex, 1980, n)
		c := Minimal(pin, name, key)
		c.BirthDate, c.Sex = d, sex
		c.Home = cancuoc.UnitRef{Province: "01", Commune: "00004"}
		if dead {
			c.LifeStatus, c.DeathDate = cancuoc.Dead, cancuoc.Date{Year: 2024}
		}
		if err := s.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
		return pin
	}
	d := cancuoc.Date{Year: 1980, Month: 4, Day: 9}
	a1 := add(1, "Nguyễn Văn Bình", "nguyen van binh", d, cancuoc.Male, false)
	a2 := add(2, "Nguyen Van Binh", "nguyen van binh", d, cancuoc.Male, false)
	a3 := add(3, "Nguyễn Văn Bình", "nguyen van binh", d, cancuoc.Male, false)
	add(4, "Nguyễn Văn Bình", "nguyen van binh", d, cancuoc.Male, true)                         // dead: not a candidate
	add(5, "Nguyễn Thị Bình", "nguyen van binh", d, cancuoc.Female, false)                      // other sex
	add(6, "Nguyễn Văn Bình", "nguyen van binh", cancuoc.Date{Year: 1980}, cancuoc.Male, false) // partial date
	add(7, "Nguyễn Văn Bình", "nguyen van binh", cancuoc.Date{Year: 1980}, cancuoc.Male, false) // partial date
	b1 := add(8, "Trần Văn Cường", "tran van cuong", d, cancuoc.Male, false)
	b2 := add(9, "Trần Văn Cường", "tran van cuong", d, cancuoc.Male, false)
	add(10, "Trần Văn Dũng", "tran van dung", d, cancuoc.Male, false)
	var groups [][]cancuoc.PIN
	err := s.DuplicateCandidates(ctx, func(g []*cancuoc.Citizen) error {
		var ps []cancuoc.PIN
		for _, c := range g {
			ps = append(ps, c.PIN)
		}
		groups = append(groups, ps)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]cancuoc.PIN{sorted(a1, a2, a3), sorted(b1, b2)}
	if !reflect.DeepEqual(groups, want) {
		t.Errorf("groups %v, want %v", groups, want)
	}
	stop := errors.New("stop")
	if err := s.DuplicateCandidates(ctx, func([]*cancuoc.Citizen) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("an error from fn: %v, want it returned", err)
	}
}

func sorted(ps ...cancuoc.PIN) []cancuoc.PIN { slices.Sort(ps); return ps }

func testDuplicatePairs(t *testing.T, s cancuoc.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 2, 3, 4, 0, time.UTC)
	both := func(a, b cancuoc.PIN, ap, ac, bp, bc string, score int) []cancuoc.DuplicatePair {
		r := []string{"same_key", "same_birth_place"}
		return []cancuoc.DuplicatePair{
			{PIN: a, Other: b, Province: ap, Commune: ac, OtherProvince: bp, OtherCommune: bc, Score: score, Reasons: r, FoundAt: at},
			{PIN: b, Other: a, Province: bp, Commune: bc, OtherProvince: ap, OtherCommune: ac, Score: score, Reasons: r, FoundAt: at},
		}
	}
	p := func(n int) cancuoc.PIN { return PIN(n) }
	var pairs []cancuoc.DuplicatePair
	pairs = append(pairs, both(p(1), p(2), "01", "00004", "01", "00004", 90)...) // same commune
	pairs = append(pairs, both(p(3), p(4), "01", "00004", "01", "00008", 70)...) // two communes of 01
	pairs = append(pairs, both(p(5), p(6), "01", "00008", "79", "26734", 80)...) // two provinces
	pairs = append(pairs, both(p(7), p(8), "79", "26734", "79", "26734", 60)...)
	if err := s.ReplaceDuplicates(ctx, []cancuoc.DuplicatePair{{PIN: p(90), Other: p(91), Score: 99, FoundAt: at}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceDuplicates(ctx, pairs); err != nil {
		t.Fatal(err)
	}
	type key struct{ a, b cancuoc.PIN }
	page := func(prov, commune string, limit int) []key {
		t.Helper()
		var out []key
		var after *cancuoc.DuplicatePair
		for range 20 {
			got, err := s.Duplicates(ctx, cancuoc.DuplicateQuery{Province: prov, Commune: commune, After: after, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				out = append(out, key{g.PIN, g.Other})
			}
			if len(got) < limit {
				return out
			}
			after = &got[len(got)-1]
		}
		t.Fatal("Duplicates does not end")
		return nil
	}
	cases := []struct {
		prov, commune string
		want          []key
	}{
		// Best score first; a pair once where both sides are in the area.
		{"", "", []key{{p(1), p(2)}, {p(5), p(6)}, {p(3), p(4)}, {p(7), p(8)}}},
		{"01", "", []key{{p(1), p(2)}, {p(5), p(6)}, {p(3), p(4)}}},
		{"79", "", []key{{p(6), p(5)}, {p(7), p(8)}}},
		{"01", "00008", []key{{p(5), p(6)}, {p(4), p(3)}}},
		{"01", "00004", []key{{p(1), p(2)}, {p(3), p(4)}}},
		{"48", "", nil},
	}
	for _, tc := range cases {
		for _, limit := range []int{1, 3, 50} {
			if got := page(tc.prov, tc.commune, limit); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pairs in %q/%q by %d: %v, want %v", tc.prov, tc.commune, limit, got, tc.want)
			}
		}
	}
	got, err := s.Duplicates(ctx, cancuoc.DuplicateQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], pairs[0]) {
		t.Errorf("first pair %+v, want %+v", got, pairs[0])
	}
}

func testSnapshots(t *testing.T, s cancuoc.Store) {
	ctx := context.Background()
	t1 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.AddDate(0, 0, 1)
	t3 := t2.AddDate(0, 0, 1)
	pts := []cancuoc.SnapshotPoint{
		{Measure: "population", Unit: "", At: t2, Value: 20},
		{Measure: "population", Unit: "", At: t1, Value: 10},
		{Measure: "population", Unit: "01", At: t1, Value: 4},
		{Measure: "cards", Unit: "", At: t1, Value: 7},
	}
	if err := s.SaveSnapshot(ctx, pts); err != nil {
		t.Fatal(err)
	}
	// Saving a point again replaces its value.
	if err := s.SaveSnapshot(ctx, []cancuoc.SnapshotPoint{{Measure: "population", At: t2, Value: 21}, {Measure: "population", At: t3, Value: 30}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Snapshots(ctx, "population", "", t1)
	if err != nil {
		t.Fatal(err)
	}
	pt := func(at time.Time, v int64) cancuoc.SnapshotPoint {
		return cancuoc.SnapshotPoint{Measure: "population", At: at, Value: v}
	}
	want := []cancuoc.SnapshotPoint{pt(t1, 10), pt(t2, 21), pt(t3, 30)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("snapshots %v, want %v", got, want)
	}
	if got, _ := s.Snapshots(ctx, "population", "", t2); len(got) != 2 {
		t.Errorf("since t2: %v, want 2 points", got)
	}
	if got, _ := s.Snapshots(ctx, "population", "01", time.Time{}); len(got) != 1 || got[0].Value != 4 {
		t.Errorf("province 01: %v", got)
	}
	if got, err := s.Snapshots(ctx, "none", "", time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("no points: %v %v", got, err)
	}
}
