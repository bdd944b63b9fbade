package application_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
)

const (
	hanoi  = "01"
	baDinh = "00004"
	ngocHa = "00008"
	hcm    = "79"
	conDao = "26732"
)

func TestMain(m *testing.M) {
	if os.Getenv(pgtest.Env) == "" {
		fmt.Fprintln(os.Stderr, "\n*** application: PostgreSQL tests SKIPPED ("+pgtest.Env+" not set); only SQLite was tested. ***")
	}
	os.Exit(m.Run())
}

// now0 is Tuesday 10 March 2026, 10:00 in Hà Nội (a working day).
var now0 = time.Date(2026, 3, 10, 10, 0, 0, 0, residence.Zone)

type world struct {
	store                   cancuoc.Store
	reg                     *registry.Service
	res                     *residence.Service
	eid                     *eid.Service
	svc                     *application.Service
	clock                   *testkit.Clock
	admin                   *cancuoc.Principal
	baDinh, ngocHa, hcmProv *cancuoc.Principal
	auditor                 *cancuoc.Principal
}

func forEachBackend(t *testing.T, fn func(t *testing.T, w *world)) {
	t.Helper()
	testkit.Stores(t, "cancuoc_apptest", func(t *testing.T, s cancuoc.Store) { fn(t, newWorld(t, s)) })
}

type noSMS struct{}

func (noSMS) Send(context.Context, string, string) error { return nil }

func newWorld(t testing.TB, s cancuoc.Store) *world {
	t.Helper()
	c := testkit.NewClock(now0)
	aw := audit.NewWriter(s, 0)
	t.Cleanup(func() { aw.Close() })
	reg := registry.New(s, aw, registry.WithClock(c.Now))
	cfg := eid.DefaultConfig()
	cfg.Password = eid.FastTestPasswordParams()
	e, err := eid.New(s, noSMS{}, cfg, eid.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	res := residence.New(reg, aw, residence.WithClock(c.Now))
	w := &world{store: s, reg: reg, res: res, eid: e, clock: c,
		svc: application.New(reg, res, e, aw, nil, application.DefaultConfig(), application.WithClock(c.Now))}
	w.admin = w.principal(t, cancuoc.RoleNationalAdmin, cancuoc.Jurisdiction{})
	w.baDinh = w.principal(t, cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
	w.ngocHa = w.principal(t, cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: ngocHa})
	w.hcmProv = w.principal(t, cancuoc.RoleProvinceOfficer, cancuoc.Jurisdiction{Province: hcm})
	w.auditor = w.principal(t, cancuoc.RoleAuditor, cancuoc.Jurisdiction{})
	return w
}

func (w *world) principal(t testing.TB, role cancuoc.Role, j cancuoc.Jurisdiction) *cancuoc.Principal {
	t.Helper()
	p, _, err := w.reg.CreatePrincipal(context.Background(), nil, registry.NewPrincipal{Name: "test " + string(role), Role: role, Jurisdiction: j})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// person registers a birth in prov/com, which is the person's home, and
// opens a level-1 eID account for them.
func (w *world) person(t testing.TB, name string, sex cancuoc.Sex, birth cancuoc.Date, prov, com string, parents ...*cancuoc.Citizen) *cancuoc.Citizen {
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
	// The record's permanent residence in the commune of birth.
	c, err = w.reg.Update(context.Background(), w.admin, c.PIN, c.Version, registry.Meta{Reason: "Đăng ký thường trú", LegalBasis: "Luật Cư trú 2020"},
		func(r *cancuoc.Citizen) error {
			r.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: prov, Commune: com, Detail: "số 1 phố Thử"}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	now := w.clock.Now()
	if err := w.store.InsertAccount(context.Background(), &cancuoc.Account{ID: "acc-" + string(c.PIN), Kind: cancuoc.AccountCitizen, PIN: c.PIN,
		Level: cancuoc.Level1, Status: cancuoc.AccountActive, CreatedAt: now, UpdatedAt: now, Version: 1}); err != nil {
		t.Fatal(err)
	}
	return c
}

func (w *world) adult(t testing.TB, name string, sex cancuoc.Sex, com string) *cancuoc.Citizen {
	return w.person(t, name, sex, cancuoc.Date{Year: 1990, Month: 5, Day: 17}, hanoi, com)
}

// as is the citizen principal of c's account.
func as(c *cancuoc.Citizen) *cancuoc.Principal {
	return cancuoc.CitizenPrincipal("acc-"+string(c.PIN), c.PIN)
}

func (w *world) current(t *testing.T, pin cancuoc.PIN) *cancuoc.Citizen {
	t.Helper()
	c, err := w.store.Citizen(context.Background(), pin)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func wantErr(t *testing.T, what string, err error, kind cancuoc.Kind, code string) {
	t.Helper()
	var e *cancuoc.Error
	switch {
	case err == nil:
		t.Errorf("%s: no error, want %v %q", what, kind, code)
	case !errors.As(err, &e):
		t.Errorf("%s: %v (%T) is not a *cancuoc.Error", what, err, err)
	case e.Kind != kind || (code != "" && e.Code != code):
		t.Errorf("%s: %v %q (%v), want %v %q", what, e.Kind, e.Code, err, kind, code)
	}
}

// audits lists the access-log entries about pin with action.
func (w *world) audits(t *testing.T, pin cancuoc.PIN, action string) []*cancuoc.AuditEntry {
	t.Helper()
	all, err := w.store.AuditFor(context.Background(), pin, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []*cancuoc.AuditEntry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}
