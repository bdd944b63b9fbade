package registry_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/registry"
)

func TestHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		t0 := time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)
		clk := testkit.NewClock(t0)
		w := newWorld(t, b, registry.WithClock(clk.Now))
		officer := w.principal(t, cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
		c := w.person(t, "Đặng Thị Hồng", cancuoc.Female, hanoi, baDinh) // version 1 at t0

		t1 := clk.Add(24 * time.Hour)
		m1 := registry.Meta{Reason: "Công dân bổ sung số điện thoại", LegalBasis: "Đơn đề nghị ngày 02/9/2025", Agency: "Công an phường Ba Đình"}
		c2, err := w.svc.Update(ctx, officer, c.PIN, 1, m1, func(c *cancuoc.Citizen) error {
			c.Phone = "0912000111"
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t2 := clk.Add(24 * time.Hour)
		m2 := registry.Meta{Reason: "Đăng ký kết hôn", LegalBasis: "GCNKH 45/2025"}
		c3, err := w.svc.Update(ctx, officer, c.PIN, 2, m2, func(c *cancuoc.Citizen) error {
			c.MaritalStatus = cancuoc.Married
			c.Spouse = &cancuoc.Relative{Name: "Phan Văn Chồng", Nationality: "VNM"}
			c.CurrentResidence = place34(hanoi, baDinh, "số 7 ngõ 12 Đội Cấn")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if c2.Version != 2 || c3.Version != 3 || !c3.UpdatedAt.Equal(t2) || !c3.CreatedAt.Equal(t0) {
			t.Fatalf("versions %d, %d; times created %v updated %v", c2.Version, c3.Version, c3.CreatedAt, c3.UpdatedAt)
		}

		vs, err := w.svc.History(ctx, officer, c.PIN, "đối chiếu")
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 3 {
			t.Fatalf("%d versions, want 3", len(vs))
		}
		for i, v := range vs {
			if v.Version != int64(i+1) || v.PIN != c.PIN || v.Citizen == nil || v.Citizen.Version != v.Version {
				t.Fatalf("version %d: %+v", i+1, v)
			}
		}
		if v := vs[0]; len(v.Changes) != 0 || v.Actor != w.admin.ID || !v.At.Equal(t0) {
			t.Errorf("version 1: changes %v actor %s at %v", v.Changes, v.Actor, v.At)
		}
		type change struct{ field, old, new string }
		changesOf := func(v *cancuoc.CitizenVersion) []change {
			var out []change
			for _, ch := range v.Changes {
				out = append(out, change{ch.Field, string(ch.Old), string(ch.New)})
			}
			return out
		}
		if got, want := changesOf(vs[1]), []change{{"phone", "null", `"0912000111"`}}; !slices.Equal(got, want) {
			t.Errorf("version 2 changes %v, want %v", got, want)
		}
		v2 := vs[1]
		if v2.Actor != officer.ID || v2.Reason != m1.Reason || v2.LegalBasis != m1.LegalBasis || v2.Agency != m1.Agency || !v2.At.Equal(t1) {
			t.Errorf("version 2 meta: %+v", v2)
		}
		got3 := changesOf(vs[2])
		var fields3 []string
		for _, ch := range got3 {
			fields3 = append(fields3, ch.field)
		}
		if !slices.Equal(fields3, []string{"current_residence", "marital_status", "spouse"}) {
			t.Fatalf("version 3 changed fields %v", fields3)
		}
		if got3[1] != (change{"marital_status", `"single"`, `"married"`}) || got3[2].old != "null" ||
			got3[2].new != `{"name":"Phan Văn Chồng","nationality":"VNM"}` {
			t.Errorf("version 3 changes %v", got3)
		}
		if v3 := vs[2]; v3.Actor != officer.ID || v3.Reason != m2.Reason || v3.LegalBasis != m2.LegalBasis || v3.Agency != officer.Agency {
			t.Errorf("version 3 meta: %+v", v3)
		}

		v, err := w.svc.Version(ctx, officer, c.PIN, 2, "đối chiếu")
		if err != nil || v.Version != 2 || v.Citizen.Phone != "0912000111" || v.Citizen.MaritalStatus != cancuoc.Single {
			t.Fatalf("Version 2: %+v, %v", v, err)
		}
		_, err = w.svc.Version(ctx, officer, c.PIN, 4, "đối chiếu")
		wantErr(t, "Version 4", err, cancuoc.NotFound, "", "")

		for _, tc := range []struct {
			at   time.Time
			want int64 // 0: NotFound
		}{
			{t0.Add(-time.Second), 0},
			{t0, 1},
			{t0.Add(12 * time.Hour), 1},
			{t1, 2},
			{t1.Add(time.Hour), 2},
			{t2.Add(-time.Microsecond), 2},
			{t2, 3},
			{t2.Add(1000 * time.Hour), 3},
			{t1.In(time.FixedZone("ICT", 7*3600)).Add(time.Minute), 2},
		} {
			v, err := w.svc.VersionAt(ctx, officer, c.PIN, tc.at, "đối chiếu")
			if tc.want == 0 {
				wantErr(t, "VersionAt before creation", err, cancuoc.NotFound, "", "")
				continue
			}
			if err != nil || v.Version != tc.want {
				t.Errorf("VersionAt(%v) = %v, %v; want version %d", tc.at, v, err, tc.want)
			}
		}

		// An update that changes nothing writes nothing.
		same, err := w.svc.Update(ctx, officer, c.PIN, 3, m1, func(c *cancuoc.Citizen) error { return nil })
		if err != nil || same.Version != 3 {
			t.Fatalf("no-op update: %v, %v", same, err)
		}
		if vs, _ := w.store.Versions(ctx, c.PIN); len(vs) != 3 {
			t.Errorf("no-op update wrote a version: %d", len(vs))
		}
	})
}

func TestUpdateConflicts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		c := w.person(t, "Hồ Văn Xung", cancuoc.Male, hanoi, baDinh)
		setPhone := func(p string) func(*cancuoc.Citizen) error {
			return func(c *cancuoc.Citizen) error { c.Phone = p; return nil }
		}
		if _, err := w.svc.Update(ctx, w.admin, c.PIN, 1, meta, setPhone("0900000001")); err != nil {
			t.Fatal(err)
		}
		seq := lastSeq(t, w.store)
		_, err := w.svc.Update(ctx, w.admin, c.PIN, 1, meta, setPhone("0900000002"))
		wantErr(t, "stale update", err, cancuoc.Conflict, "stale_version", "version")
		if got := current(t, w.store, c.PIN); got.Version != 2 || got.Phone != "0900000001" {
			t.Fatalf("stale update changed the record: version %d phone %s", got.Version, got.Phone)
		}
		if evs := eventsAfter(t, w.store, seq); len(evs) != 0 {
			t.Fatalf("stale update wrote events %v", evs)
		}
		_, err = w.svc.Update(ctx, w.admin, c.PIN, 3, meta, setPhone("0900000002"))
		wantErr(t, "future version", err, cancuoc.Conflict, "stale_version", "")
		_, err = w.svc.Update(ctx, w.admin, "001090999999", 1, meta, setPhone("0900000002"))
		wantErr(t, "unknown PIN", err, cancuoc.NotFound, "", "")

		// Racing updates from the same version: exactly one wins.
		const racers = 8
		for round := range 3 {
			base := current(t, w.store, c.PIN)
			var wg sync.WaitGroup
			errs := make([]error, racers)
			for i := range racers {
				wg.Go(func() {
					_, errs[i] = w.svc.Update(ctx, w.admin, c.PIN, base.Version, meta, setPhone("09100000"+string(rune('0'+round))+string(rune('0'+i))))
				})
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
					continue
				}
				var e *cancuoc.Error
				if !errors.As(err, &e) || e.Kind != cancuoc.Conflict || e.Code != "stale_version" {
					t.Errorf("losing update: %v", err)
				}
			}
			after := current(t, w.store, c.PIN)
			if won != 1 || after.Version != base.Version+1 {
				t.Fatalf("round %d: %d updates won, version %d→%d; want exactly one", round, won, base.Version, after.Version)
			}
			if vs, _ := w.store.Versions(ctx, c.PIN); len(vs) != int(after.Version) {
				t.Fatalf("round %d: %d versions for record version %d", round, len(vs), after.Version)
			}
		}
	})
}

func TestUpdateRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		c := w.person(t, "Lâm Thị Quy", cancuoc.Female, hanoi, baDinh)
		tests := []struct {
			name  string
			meta  registry.Meta
			fn    func(*cancuoc.Citizen)
			field string
			code  string
		}{
			{"life status", meta, func(c *cancuoc.Citizen) { c.LifeStatus = cancuoc.Dead }, "life_status", "field_protected"},
			{"death date", meta, func(c *cancuoc.Citizen) { c.DeathDate = cancuoc.Date{Year: 2025} }, "death_date", "field_protected"},
			{"missing since", meta, func(c *cancuoc.Citizen) { c.MissingSince = cancuoc.Date{Year: 2025} }, "missing_since", "field_protected"},
			{"pin", meta, func(c *cancuoc.Citizen) { c.PIN = "001190000001" }, "pin", "field_protected"},
			{"no reason", registry.Meta{LegalBasis: "x"}, func(c *cancuoc.Citizen) { c.Phone = "0912345678" }, "reason", "reason_required"},
			{"no legal basis", registry.Meta{Reason: "x"}, func(c *cancuoc.Citizen) { c.Phone = "0912345678" }, "legal_basis", "legal_basis_required"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := w.svc.Update(ctx, w.admin, c.PIN, c.Version, tt.meta, func(c *cancuoc.Citizen) error { tt.fn(c); return nil })
				wantErr(t, tt.name, err, cancuoc.Invalid, tt.code, tt.field)
				if got := current(t, w.store, c.PIN); got.Version != c.Version || got.LifeStatus != cancuoc.Alive || got.Phone != "" {
					t.Fatalf("refused update changed the record: %+v", got)
				}
			})
		}
		// An error from the closure aborts the update and is returned as is.
		boom := cancuoc.InvalidField("", "custom", "custom_code", "vi", "en")
		_, err := w.svc.Update(ctx, w.admin, c.PIN, c.Version, meta, func(*cancuoc.Citizen) error { return boom })
		wantErr(t, "closure error", err, cancuoc.Invalid, "custom_code", "custom")
	})
}

// TestNoMoveThroughUpdate: the residence fields change only through the
// residence procedures. A general update of them is refused to every
// officer — of the person's commune and of the destination alike, which
// could otherwise move anyone into their commune with no head's consent,
// no request and no residence entry — and allowed only to a national
// administrator correcting a data error, with the reason and legal basis
// every update needs.
func TestNoMoveThroughUpdate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		dest := w.principal(t, cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: ngocHa})
		home := w.principal(t, cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
		c := w.person(t, "Mạc Văn Chuyển", cancuoc.Male, hanoi, baDinh)
		for _, tc := range []struct {
			name  string
			field string
			edit  func(*cancuoc.Citizen)
		}{
			{"permanent residence", "permanent_residence", func(c *cancuoc.Citizen) {
				c.PermanentResidence = place34(hanoi, ngocHa, "số 3 phố Hoàng Hoa Thám")
			}},
			{"household", "household", func(c *cancuoc.Citizen) {
				c.Household = &cancuoc.HouseholdLink{ID: "hh-x", HeadPIN: c.PIN, HeadName: c.FullName, Relation: cancuoc.RelationHead}
			}},
			{"temporary residence", "temporary_residence", func(c *cancuoc.Citizen) {
				c.TemporaryResidence = &cancuoc.TemporaryResidence{Place: *place34(hanoi, ngocHa, "số 3"), From: cancuoc.Date{Year: 2025, Month: 1, Day: 1}, Until: cancuoc.Date{Year: 2026, Month: 1, Day: 1}}
			}},
			{"temporary absence", "temporary_absence", func(c *cancuoc.Citizen) {
				c.TemporaryAbsence = &cancuoc.TemporaryAbsence{From: cancuoc.Date{Year: 2025, Month: 1, Day: 1}}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				seq := lastSeq(t, w.store)
				edit := func(c *cancuoc.Citizen) error { tc.edit(c); return nil }
				_, err := w.svc.Update(ctx, home, c.PIN, c.Version, meta, edit)
				wantErr(t, "home officer", err, cancuoc.Invalid, "residence_procedure_required", tc.field)
				_, err = w.svc.Update(ctx, dest, c.PIN, c.Version, meta, edit)
				// The destination's officer does not cover the person's home.
				wantErr(t, "destination officer", err, cancuoc.Forbidden, "outside_jurisdiction", "")
				if evs := eventsAfter(t, w.store, seq); len(evs) != 0 {
					t.Fatalf("a refused update wrote events %+v", evs)
				}
			})
		}
		if got := current(t, w.store, c.PIN); got.Version != c.Version || got.Home.Commune != baDinh {
			t.Fatalf("refused updates changed the record: %+v", got)
		}
		// The destination officer may not change anything else either.
		_, err := w.svc.Update(ctx, dest, c.PIN, c.Version, meta, func(c *cancuoc.Citizen) error { c.Phone = "0911111111"; return nil })
		wantErr(t, "phone of a non-resident", err, cancuoc.Forbidden, "outside_jurisdiction", "")

		// A national administrator's correction goes through, with its
		// legal basis...
		_, err = w.svc.Update(ctx, w.admin, c.PIN, c.Version, registry.Meta{Reason: "Sửa sai sót dữ liệu"}, func(c *cancuoc.Citizen) error {
			c.PermanentResidence = place34(hanoi, ngocHa, "số 3 phố Hoàng Hoa Thám")
			return nil
		})
		wantErr(t, "correction without legal basis", err, cancuoc.Invalid, "legal_basis_required", "legal_basis")
		fixed, err := w.svc.Update(ctx, w.admin, c.PIN, c.Version, registry.Meta{Reason: "Sửa sai sót dữ liệu nhập từ hệ thống cũ", LegalBasis: "Quyết định 12/QĐ-C06"},
			func(c *cancuoc.Citizen) error {
				c.PermanentResidence = place34(hanoi, ngocHa, "số 3 phố Hoàng Hoa Thám")
				return nil
			})
		if err != nil {
			t.Fatalf("national correction: %v", err)
		}
		if fixed.Home != (cancuoc.UnitRef{Province: hanoi, Commune: ngocHa}) {
			t.Fatalf("home after the correction: %+v", fixed.Home)
		}
	})
}
