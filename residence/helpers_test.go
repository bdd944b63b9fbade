package residence_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
)

const (
	hanoi   = "01"    // Hà Nội
	baDinh  = "00004" // Phường Ba Đình
	ngocHa  = "00008" // Phường Ngọc Hà
	caMau   = "96"
	bacLieu = "31825" // Phường Bạc Liêu, Cà Mau
)

func TestMain(m *testing.M) {
	if os.Getenv(pgtest.Env) == "" {
		fmt.Fprintln(os.Stderr, "\n*** residence: PostgreSQL tests SKIPPED ("+pgtest.Env+" not set); only SQLite was tested. ***")
	}
	os.Exit(m.Run())
}

// now is the tests' fixed instant: 10:00 in Hà Nội on 10 March 2026.
var now0 = time.Date(2026, 3, 10, 10, 0, 0, 0, residence.Zone)

// world is a residence service over a real store, with principals.
type world struct {
	store                     cancuoc.Store
	reg                       *registry.Service
	svc                       *residence.Service
	clock                     *testkit.Clock
	admin                     *cancuoc.Principal
	baDinh, ngocHa, hanoiProv *cancuoc.Principal
}

func forEachBackend(t *testing.T, fn func(t *testing.T, w *world)) {
	t.Helper()
	testkit.Stores(t, "cancuoc_restest", func(t *testing.T, s cancuoc.Store) { fn(t, newWorld(t, s)) })
}

func newWorld(t *testing.T, s cancuoc.Store) *world {
	t.Helper()
	c := testkit.NewClock(now0)
	aw := audit.NewWriter(s, 0)
	t.Cleanup(func() { aw.Close() })
	reg := registry.New(s, aw, registry.WithClock(c.Now))
	w := &world{store: s, reg: reg, svc: residence.New(reg, aw, residence.WithClock(c.Now)), clock: c}
	w.admin = w.principal(t, cancuoc.RoleNationalAdmin, cancuoc.Jurisdiction{})
	w.baDinh = w.principal(t, cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
	w.ngocHa = w.principal(t, cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: ngocHa})
	w.hanoiProv = w.principal(t, cancuoc.RoleProvinceOfficer, cancuoc.Jurisdiction{Province: hanoi})
	return w
}

func (w *world) principal(t *testing.T, role cancuoc.Role, j cancuoc.Jurisdiction) *cancuoc.Principal {
	t.Helper()
	p, _, err := w.reg.CreatePrincipal(context.Background(), nil, registry.NewPrincipal{Name: "test " + string(role), Role: role, Jurisdiction: j})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// person registers someone born on birth whose birth was registered in
// prov/com (their home until a residence is registered).
func (w *world) person(t *testing.T, name string, sex cancuoc.Sex, birth cancuoc.Date, prov, com string, parents ...*cancuoc.Citizen) *cancuoc.Citizen {
	t.Helper()
	b := registry.Birth{FullName: name, BirthDate: birth, Sex: sex,
		Registration: cancuoc.Place{Era: cancuoc.Era34, Province: prov, Commune: com}, Meta: registry.Meta{LegalBasis: "Luật Hộ tịch 2014"}}
	for _, p := range parents {
		r := &cancuoc.Relative{PIN: p.PIN}
		if p.Sex == cancuoc.Male {
			b.Father = r
		} else {
			b.Mother = r
		}
	}
	c, err := w.reg.RegisterBirth(context.Background(), w.admin, b)
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return c
}

func (w *world) adult(t *testing.T, name string, sex cancuoc.Sex, com string) *cancuoc.Citizen {
	return w.person(t, name, sex, cancuoc.Date{Year: 1990, Month: 5, Day: 17}, hanoi, com)
}

func (w *world) current(t *testing.T, pin cancuoc.PIN) *cancuoc.Citizen {
	t.Helper()
	c, err := w.store.Citizen(context.Background(), pin)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *world) lastSeq(t *testing.T) int64 {
	t.Helper()
	var seq int64
	for {
		evs, err := w.store.EventsAfter(context.Background(), seq, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return seq
		}
		seq = evs[len(evs)-1].Seq
	}
}

// eventTypes lists the types of the events after seq.
func (w *world) eventTypes(t *testing.T, seq int64) []string {
	t.Helper()
	evs, err := w.store.EventsAfter(context.Background(), seq, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

var why = registry.Meta{Reason: "Đăng ký cư trú", LegalBasis: "Luật Cư trú 2020; hồ sơ số 123/ĐK"}

func wantErr(t *testing.T, what string, err error, kind cancuoc.Kind, code string) {
	t.Helper()
	var e *cancuoc.Error
	if err == nil || !errors.As(err, &e) || e.Kind != kind || (code != "" && e.Code != code) {
		t.Fatalf("%s: %v, want %v %q", what, err, kind, code)
	}
}

func home(com string) cancuoc.Place {
	return cancuoc.Place{Era: cancuoc.Era34, Province: hanoi, Commune: com, Detail: "số 5 ngõ Trúc Lạc"}
}

// asks is pin's own request to register, made in person.
func asks(pin cancuoc.PIN) *cancuoc.HeadConsent {
	return &cancuoc.HeadConsent{By: pin, At: now0, Method: "in_person"}
}
