package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

func TestRegisterBirthIssuesPIN(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		tests := []struct {
			name       string
			prov, com  string
			sex        cancuoc.Sex
			date       cancuoc.Date
			wantPrefix string // region + century/sex digit + YY
		}{
			{"Hà Nội girl 2024", hanoi, baDinh, cancuoc.Female, cancuoc.Date{Year: 2024, Month: 2, Day: 29}, "001324"},
			{"Hà Nội boy 2025", hanoi, ngocHa, cancuoc.Male, cancuoc.Date{Year: 2025, Month: 12, Day: 31}, "001225"},
			{"Cà Mau boy 2025", caMau, bacLieu, cancuoc.Male, cancuoc.Date{Year: 2025, Month: 7, Day: 1}, "096225"},
			{"Cà Mau woman 1999", caMau, bacLieu, cancuoc.Female, cancuoc.Date{Year: 1999, Month: 1, Day: 1}, "096199"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c, err := w.svc.RegisterBirth(ctx, w.admin, registry.Birth{FullName: "Bùi Minh Khang", BirthDate: tt.date, Sex: tt.sex,
					Registration: *place34(tt.prov, tt.com, ""), Meta: registry.Meta{LegalBasis: "Luật Hộ tịch 2014"}})
				if err != nil {
					t.Fatal(err)
				}
				pin := c.PIN
				if _, err := cancuoc.ParsePIN(string(pin), 2100); err != nil {
					t.Fatalf("issued PIN %q does not parse: %v", pin, err)
				}
				if string(pin[:6]) != tt.wantPrefix {
					t.Fatalf("PIN %s, want prefix %s (region 0+%s, sex %s, year %d)", pin, tt.wantPrefix, tt.prov, tt.sex, tt.date.Year)
				}
				if pin.Region() != "0"+tt.prov || pin.Sex() != tt.sex || pin.BirthYear() != tt.date.Year {
					t.Fatalf("PIN %s decodes to %s %s %d", pin, pin.Region(), pin.Sex(), pin.BirthYear())
				}
				stored := current(t, w.store, pin)
				if stored.Version != 1 || stored.LifeStatus != cancuoc.Alive || stored.Nationality != "VNM" || stored.BirthDate != tt.date {
					t.Fatalf("stored newborn: %+v", stored)
				}
				if stored.Home != (cancuoc.UnitRef{Province: tt.prov, Commune: tt.com}) {
					t.Fatalf("newborn's home %+v, want the registration commune %s/%s", stored.Home, tt.prov, tt.com)
				}
			})
		}

		// A commune officer registers a birth in their commune and can then
		// read the child's record.
		officer := w.principal(t, cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
		c, err := w.svc.RegisterBirth(ctx, officer, registry.Birth{FullName: "Đinh Gia Bảo", BirthDate: cancuoc.Date{Year: 2025, Month: 8, Day: 8},
			Sex: cancuoc.Male, Registration: *place34(hanoi, baDinh, ""), Meta: registry.Meta{LegalBasis: "Luật Hộ tịch 2014"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Get(ctx, officer, c.PIN, "kiểm tra"); err != nil {
			t.Fatalf("the registering officer cannot read the child: %v", err)
		}
	})
}

func TestRegisterBirthLinksParents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		w := newWorld(t, b)
		father := w.person(t, "Nguyễn Văn Cha", cancuoc.Male, hanoi, baDinh)
		mother := w.person(t, "Trần Thị Mẹ", cancuoc.Female, hanoi, baDinh)
		seq := lastSeq(t, w.store)
		child, err := w.svc.RegisterBirth(ctx, w.admin, registry.Birth{FullName: "Nguyễn Trần An", BirthDate: cancuoc.Date{Year: 2025, Month: 9, Day: 2},
			Sex: cancuoc.Female, Registration: *place34(hanoi, baDinh, ""), Father: &cancuoc.Relative{PIN: father.PIN},
			Mother: &cancuoc.Relative{PIN: mother.PIN}, Meta: registry.Meta{LegalBasis: "GKS 123/2025"}})
		if err != nil {
			t.Fatal(err)
		}
		if child.Father == nil || child.Father.PIN != father.PIN || child.Father.Name != "Nguyễn Văn Cha" ||
			child.Mother == nil || child.Mother.PIN != mother.PIN || child.Mother.Name != "Trần Thị Mẹ" {
			t.Fatalf("child's parents: %+v %+v", child.Father, child.Mother)
		}
		for _, par := range []*cancuoc.Citizen{father, mother} {
			got := current(t, w.store, par.PIN)
			if got.Version != par.Version+1 {
				t.Errorf("%s: version %d, want %d", par.FullName, got.Version, par.Version+1)
			}
			if len(got.Children) != 1 || got.Children[0].PIN != child.PIN || got.Children[0].Name != child.FullName {
				t.Errorf("%s: children %+v", par.FullName, got.Children)
			}
			vs, err := w.store.Versions(ctx, par.PIN)
			if err != nil || len(vs) != int(got.Version) {
				t.Fatalf("%s: %d versions, %v", par.FullName, len(vs), err)
			}
			last := vs[len(vs)-1]
			if len(last.Changes) != 1 || last.Changes[0].Field != "children" || last.LegalBasis != "GKS 123/2025" || last.Actor != w.admin.ID {
				t.Errorf("%s: version %d: %+v", par.FullName, last.Version, last)
			}
		}
		// One event for the birth, one update per parent, in one commit.
		var types []string
		for _, e := range eventsAfter(t, w.store, seq) {
			types = append(types, e.Type+":"+string(e.PIN))
		}
		want := []string{cancuoc.EventCitizenBorn + ":" + string(child.PIN), cancuoc.EventCitizenUpdated + ":" + string(father.PIN),
			cancuoc.EventCitizenUpdated + ":" + string(mother.PIN)}
		if !slices.Equal(types, want) {
			t.Errorf("events %v, want %v", types, want)
		}

		// A parent by PIN must exist and have the right sex.
		_, err = w.svc.RegisterBirth(ctx, w.admin, registry.Birth{FullName: "Nguyễn Văn Út", BirthDate: cancuoc.Date{Year: 2025, Month: 9, Day: 2},
			Sex: cancuoc.Male, Registration: *place34(hanoi, baDinh, ""), Mother: &cancuoc.Relative{PIN: father.PIN},
			Meta: registry.Meta{LegalBasis: "x"}})
		wantErr(t, "father as mother", err, cancuoc.Invalid, "parent_sex_mismatch", "mother.pin")
		if got := current(t, w.store, father.PIN); len(got.Children) != 1 {
			t.Errorf("a refused birth changed the father: %+v", got.Children)
		}
	})
}

// TestConcurrentBirthsPINSpace races registrations for one PIN bucket
// (province, sex, year) against a serial source with only 40 values, so
// nearly every draw collides with a racing registration.
func TestConcurrentBirthsPINSpace(t *testing.T) {
	for _, n := range []int{40, 60} {
		t.Run(fmt.Sprint(n, " births"), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				ctx := context.Background()
				w := newWorld(t, b, registry.WithSerialSource(&cyclingSerials{n: 40}))
				var wg sync.WaitGroup
				pins := make([]cancuoc.PIN, n)
				errs := make([]error, n)
				for i := range n {
					wg.Go(func() {
						c, err := w.svc.RegisterBirth(ctx, w.admin, registry.Birth{FullName: "Lý Văn Sinh",
							BirthDate: cancuoc.Date{Year: 2025, Month: 10, Day: 1}, Sex: cancuoc.Male,
							Registration: *place34(hanoi, baDinh, ""), Meta: registry.Meta{LegalBasis: "Luật Hộ tịch 2014"}})
						errs[i] = err
						if err == nil {
							pins[i] = c.PIN
						}
					})
				}
				wg.Wait()
				ok, exhausted := 0, 0
				distinct := map[cancuoc.PIN]bool{}
				for i, err := range errs {
					switch {
					case err == nil:
						ok++
						distinct[pins[i]] = true
					default:
						var e *cancuoc.Error
						if errors.As(err, &e) && e.Code == "pin_space_exhausted" && e.Kind == cancuoc.Unavailable {
							exhausted++
						} else {
							t.Errorf("birth %d: %v", i, err)
						}
					}
				}
				want := min(n, 40)
				if ok != want || exhausted != n-want || len(distinct) != want {
					t.Fatalf("%d births: %d succeeded (%d distinct PINs), %d exhausted; want %d, %d, %d", n, ok, len(distinct), exhausted, want, want, n-want)
				}
				// The store holds exactly the successful births, once each.
				all, err := w.store.SearchCitizens(ctx, cancuoc.CitizenQuery{Province: hanoi, Commune: baDinh, Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				stored := map[cancuoc.PIN]int{}
				for _, c := range all {
					stored[c.PIN]++
					if c.PIN.Serial() >= "000040" || string(c.PIN[:6]) != "001225" {
						t.Errorf("unexpected PIN %s", c.PIN)
					}
				}
				if len(all) != want || len(stored) != want {
					t.Fatalf("store holds %d records with %d distinct PINs, want %d", len(all), len(stored), want)
				}
				for p := range distinct {
					if stored[p] != 1 {
						t.Errorf("PIN %s returned to a caller is stored %d times", p, stored[p])
					}
					if vs, err := w.store.Versions(ctx, p); err != nil || len(vs) != 1 {
						t.Errorf("PIN %s: %d versions, %v", p, len(vs), err)
					}
				}
				// Every successful birth has its event, no failed one has.
				born := 0
				for _, e := range eventsAfter(t, w.store, 0) {
					if e.Type == cancuoc.EventCitizenBorn {
						born++
						if !distinct[e.PIN] {
							t.Errorf("birth event for %s, which no caller received", e.PIN)
						}
						var data map[string]any
						if err := json.Unmarshal(e.Data, &data); err != nil {
							t.Error(err)
						}
					}
				}
				if born != want {
					t.Errorf("%d birth events, want %d", born, want)
				}
			})
		})
	}
}
