package quality_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/quality"
	"github.com/cancuoc/cancuoc/storetest"
)

// backends runs fn on SQLite, in a file, and on PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, st cancuoc.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, testkit.SQLite(t, filepath.Join(t.TempDir(), "q.db"))) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.Open(t, "quality")) })
}

const (
	hanoi, baDinh, ngocHa = "01", "00004", "00008"
	hcm, benThanh         = "79", "26734"
)

var (
	nation   = &cancuoc.Principal{ID: "nation", Role: cancuoc.RoleNationalAdmin}
	province = &cancuoc.Principal{ID: "hn", Role: cancuoc.RoleProvinceOfficer, Jurisdiction: cancuoc.Jurisdiction{Province: hanoi}}
	commune  = &cancuoc.Principal{ID: "bd", Role: cancuoc.RoleCommuneOfficer, Jurisdiction: cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh}}
	ministry = &cancuoc.Principal{ID: "bank", Role: cancuoc.RoleMinistrySystem}
)

// person stores a living record in a unit, with no ethnicity (so it is on
// that list) unless complete.
func person(t *testing.T, st cancuoc.Store, n int, prov, com string, complete bool) *cancuoc.Citizen {
	t.Helper()
	c := storetest.Minimal(storetest.PINFor("0"+prov, cancuoc.Female, 1990, n), "Phạm Thị Hoa", "pham thi hoa")
	c.BirthDate = cancuoc.Date{Year: 1990, Month: 1, Day: 1 + n%28}
	c.Home = cancuoc.UnitRef{Province: prov, Commune: com}
	if complete {
		c.Ethnicity = "01"
	}
	if err := st.InsertCitizen(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListScopeAndPaging(t *testing.T) {
	backends(t, func(t *testing.T, st cancuoc.Store) {
		ctx := context.Background()
		w := audit.NewWriter(st, 0)
		defer w.Close()
		q := quality.New(st, w)
		var inBaDinh []cancuoc.PIN
		for i := range quality.PageSize + 3 {
			inBaDinh = append(inBaDinh, person(t, st, i, hanoi, baDinh, false).PIN)
		}
		person(t, st, 200, hanoi, baDinh, true) // complete: on no list
		other := person(t, st, 201, hanoi, ngocHa, false)
		far := person(t, st, 202, hcm, benThanh, false)

		// A commune officer's list is their commune, in two pages.
		p1, err := q.List(ctx, commune, cancuoc.QualityNoEthnicity, quality.Area{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(p1.Records) != quality.PageSize || p1.Next == "" || p1.Area != (quality.Area{Province: hanoi, Commune: baDinh}) {
			t.Fatalf("first page: %d records, next %q, area %+v", len(p1.Records), p1.Next, p1.Area)
		}
		p2, err := q.List(ctx, commune, cancuoc.QualityNoEthnicity, quality.Area{}, p1.Next)
		if err != nil {
			t.Fatal(err)
		}
		if len(p2.Records) != 3 || p2.Next != "" {
			t.Fatalf("second page: %d records, next %q", len(p2.Records), p2.Next)
		}
		var got []cancuoc.PIN
		for _, c := range append(p1.Records, p2.Records...) {
			got = append(got, c.PIN)
		}
		slices.Sort(inBaDinh)
		if !slices.Equal(got, inBaDinh) {
			t.Errorf("commune list %v, want %v", got, inBaDinh)
		}
		// Each record shown is in its access log, once, naming the officer.
		for _, pin := range []cancuoc.PIN{inBaDinh[0], inBaDinh[len(inBaDinh)-1]} {
			es, err := st.AuditFor(ctx, pin, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != 1 || es[0].Actor != commune.ID || es[0].Action != quality.Action || !slices.Contains(es[0].Fields, "full_name") {
				t.Errorf("access log of %s: %+v", pin, es)
			}
		}
		if es, _ := st.AuditFor(ctx, other.PIN, 10); len(es) != 0 {
			t.Errorf("a record not shown was logged: %+v", es)
		}

		// The province officer sees both communes, not Hồ Chí Minh; the
		// nation sees all.
		count := func(p *cancuoc.Principal, a quality.Area) int {
			n, cur := 0, ""
			for {
				pg, err := q.List(ctx, p, cancuoc.QualityNoEthnicity, a, cur)
				if err != nil {
					t.Fatal(err)
				}
				n += len(pg.Records)
				if cur = pg.Next; cur == "" {
					return n
				}
			}
		}
		if n := count(province, quality.Area{}); n != len(inBaDinh)+1 {
			t.Errorf("province list: %d, want %d", n, len(inBaDinh)+1)
		}
		if n := count(province, quality.Area{Province: hanoi, Commune: ngocHa}); n != 1 {
			t.Errorf("province officer narrowed to a commune: %d, want 1", n)
		}
		if n := count(nation, quality.Area{}); n != len(inBaDinh)+2 {
			t.Errorf("national list: %d, want %d", n, len(inBaDinh)+2)
		}
		_ = far

		// Refusals.
		for _, tc := range []struct {
			p    *cancuoc.Principal
			a    quality.Area
			kind cancuoc.Kind
			code string
		}{
			{commune, quality.Area{Province: hanoi, Commune: ngocHa}, cancuoc.Forbidden, "outside_jurisdiction"},
			{commune, quality.Area{Province: hanoi}, cancuoc.Forbidden, "outside_jurisdiction"},
			{province, quality.Area{Province: hcm}, cancuoc.Forbidden, "outside_jurisdiction"},
			{ministry, quality.Area{}, cancuoc.Forbidden, "role_forbidden"},
			{nation, quality.Area{Commune: baDinh}, cancuoc.Invalid, "commune_without_province"},
			{nation, quality.Area{Province: "99"}, cancuoc.Invalid, "province_unknown"},
			{nation, quality.Area{Province: hcm, Commune: baDinh}, cancuoc.Invalid, "commune_unknown"},
		} {
			_, err := q.List(ctx, tc.p, cancuoc.QualityNoEthnicity, tc.a, "")
			if !isErr(err, tc.kind, tc.code) {
				t.Errorf("%s in %+v: %v, want %s %s", tc.p.ID, tc.a, err, tc.kind, tc.code)
			}
		}
		if _, err := q.List(ctx, nation, "nonsense", quality.Area{}, ""); !isErr(err, cancuoc.Invalid, "quality_kind_unknown") {
			t.Errorf("unknown list: %v", err)
		}
		if _, err := q.List(ctx, nation, cancuoc.QualityNoEthnicity, quality.Area{}, "01.x.1"); !isErr(err, cancuoc.Invalid, "cursor_invalid") {
			t.Errorf("bad cursor: %v", err)
		}
	})
}

func isErr(err error, kind cancuoc.Kind, code string) bool {
	var e *cancuoc.Error
	return errors.As(err, &e) && e.Kind == kind && e.Code == code
}

func TestRecountAndDuplicates(t *testing.T) {
	backends(t, func(t *testing.T, st cancuoc.Store) {
		ctx := context.Background()
		w := audit.NewWriter(st, 0)
		defer w.Close()
		at := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
		q := quality.New(st, w).WithClock(func() time.Time { return at })
		mk := func(n int, name, prov, com, father string, oldID string) *cancuoc.Citizen {
			c := storetest.Minimal(storetest.PINFor("0"+prov, cancuoc.Male, 1975, n), name, "do van hai")
			c.BirthDate = cancuoc.Date{Year: 1975, Month: 6, Day: 30}
			c.Home = cancuoc.UnitRef{Province: prov, Commune: com}
			c.BirthPlace = &cancuoc.Place{Era: cancuoc.Era34, Province: hanoi}
			if father != "" {
				c.Father = &cancuoc.Relative{Name: father}
			}
			c.OldIDNumber = oldID
			if err := st.InsertCitizen(ctx, c); err != nil {
				t.Fatal(err)
			}
			return c
		}
		a := mk(1, "Đỗ Văn Hải", hanoi, baDinh, "Đỗ Văn Long", "012345678")
		b := mk(2, "Do Van Hai", hanoi, baDinh, "Do Van Long", "012345678") // the same man, marks lost
		c := mk(3, "Đỗ Văn Hải", hcm, benThanh, "Đỗ Văn Minh", "987654321") // another man
		n, err := q.Recount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// a–b: 50 + birth place 10 + father 10 + old ID 20 + home 5 = 95.
		// a–c: 50 + spelling 10 + birth place 10 - father 15 - old ID 30 = 25: dropped.
		// b–c: 50 + 10 - 15 - 30 = 15: dropped.
		if n != 1 {
			t.Fatalf("recount kept %d pairs, want 1", n)
		}
		pg, err := q.Duplicates(ctx, commune, quality.Area{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Pairs) != 1 {
			t.Fatalf("pairs %+v", pg.Pairs)
		}
		p := pg.Pairs[0]
		if p.Score != 95 || p.PIN != a.PIN || p.Other != b.PIN || p.OtherRecord == nil || p.Record.FullName != a.FullName {
			t.Errorf("pair %+v", p)
		}
		want := []string{quality.ReasonSameBirthPlace, quality.ReasonSameFather, quality.ReasonSameOldID, quality.ReasonSameHome}
		if !slices.Equal(p.Reasons, want) {
			t.Errorf("reasons %v, want %v", p.Reasons, want)
		}
		if es, _ := st.AuditFor(ctx, b.PIN, 5); len(es) != 1 || es[0].Actor != commune.ID {
			t.Errorf("the other record's access log: %+v", es)
		}
		if pg, _ := q.Duplicates(ctx, &cancuoc.Principal{ID: "hcm", Role: cancuoc.RoleProvinceOfficer,
			Jurisdiction: cancuoc.Jurisdiction{Province: hcm}}, quality.Area{}, ""); len(pg.Pairs) != 0 {
			t.Errorf("Hồ Chí Minh sees %+v", pg.Pairs)
		}
		// A recount replaces: once b's old ID is found wrong and his father
		// differs, the pair is gone.
		b2, _ := st.Citizen(ctx, b.PIN)
		b2.Father, b2.OldIDNumber, b2.Version = &cancuoc.Relative{Name: "Lê Văn Tám"}, "111111111", 2
		if err := st.UpdateCitizen(ctx, b2, 1); err != nil {
			t.Fatal(err)
		}
		if n, err := q.Recount(ctx); err != nil || n != 0 {
			t.Errorf("recount after the fix: %d, %v", n, err)
		}
		_ = c
	})
}

// TestCrossJurisdictionPair: an officer sees the other side of a pair in
// another commune by PIN and unit only, and the log says so.
func TestCrossJurisdictionPair(t *testing.T) {
	backends(t, func(t *testing.T, st cancuoc.Store) {
		ctx := context.Background()
		w := audit.NewWriter(st, 0)
		defer w.Close()
		q := quality.New(st, w)
		var pins []cancuoc.PIN
		for i, com := range []string{baDinh, ngocHa} {
			c := storetest.Minimal(storetest.PINFor("001", cancuoc.Male, 1975, 10+i), "Vũ Văn Nam", "vu van nam")
			c.BirthDate = cancuoc.Date{Year: 1975, Month: 2, Day: 3}
			c.Home = cancuoc.UnitRef{Province: hanoi, Commune: com}
			if err := st.InsertCitizen(ctx, c); err != nil {
				t.Fatal(err)
			}
			pins = append(pins, c.PIN)
		}
		if n, err := q.Recount(ctx); err != nil || n != 1 {
			t.Fatalf("recount: %d %v", n, err)
		}
		pg, err := q.Duplicates(ctx, commune, quality.Area{}, "")
		if err != nil || len(pg.Pairs) != 1 {
			t.Fatalf("%+v %v", pg, err)
		}
		if pg.Pairs[0].OtherRecord != nil || pg.Pairs[0].Other != pins[1] {
			t.Errorf("the other side, outside the commune, was shown: %+v", pg.Pairs[0])
		}
		es, _ := st.AuditFor(ctx, pins[1], 5)
		if len(es) != 1 || fmt.Sprint(es[0].Fields) != "[pin home]" {
			t.Errorf("other side's log: %+v", es)
		}
		// The province officer sees the pair once, both sides in full.
		pg, err = q.Duplicates(ctx, province, quality.Area{}, "")
		if err != nil || len(pg.Pairs) != 1 || pg.Pairs[0].OtherRecord == nil {
			t.Errorf("province: %+v %v", pg, err)
		}
	})
}

func TestScoreBounds(t *testing.T) {
	a := &cancuoc.Citizen{FullName: "A", OldIDNumber: "1", Father: &cancuoc.Relative{Name: "X"}, Mother: &cancuoc.Relative{Name: "Y"},
		BirthPlace: &cancuoc.Place{Era: cancuoc.Era34, Province: "01"}}
	b := &cancuoc.Citizen{FullName: "B", OldIDNumber: "2", Father: &cancuoc.Relative{Name: "Z"}, Mother: &cancuoc.Relative{Name: "W"},
		BirthPlace: &cancuoc.Place{Era: cancuoc.Era34, Province: "79"}}
	if s, _ := quality.Score(a, b); s != 0 {
		t.Errorf("everything differs: %d, want 0", s)
	}
	if s, r := quality.Score(&cancuoc.Citizen{}, &cancuoc.Citizen{}); s != quality.Base || len(r) != 0 {
		t.Errorf("nothing to compare: %d %v, want the block's %d", s, r, quality.Base)
	}
}
