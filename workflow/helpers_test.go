package workflow_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/workday"
	"github.com/cancuoc/cancuoc/workflow"
	"github.com/cancuoc/cancuoc/workflow/wftest"
)

const (
	hanoi  = "01"
	baDinh = "00004"
	ngocHa = "00008"
	caMau  = "96"
)

func TestMain(m *testing.M) {
	if os.Getenv(pgtest.Env) == "" {
		fmt.Fprintln(os.Stderr, "\n*** workflow: PostgreSQL tests SKIPPED ("+pgtest.Env+" not set); only SQLite was tested. ***")
	}
	os.Exit(m.Run())
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// vn is a wall time in Vietnam.
func vn(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, workday.Zone())
}

// world is a store, the registry and the workflow with the principals of
// the four agencies in Hà Nội (Ba Đình) and a family.
type world struct {
	store cancuoc.Store
	reg   *registry.Service
	wf    *workflow.Service
	clock *clock
	admin *cancuoc.Principal
	civil, police, insurance, labour,
	civil2, policeCaMau *cancuoc.Principal
	mother, father *cancuoc.Citizen
	cursor         int64
}

type backend struct {
	name string
	open func(t *testing.T) cancuoc.Store
}

var backends = []backend{
	{"sqlite", func(t *testing.T) cancuoc.Store {
		s, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"postgres", func(t *testing.T) cancuoc.Store { return pgtest.Open(t, "cancuoc_wftest") }},
}

func forEachBackend(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, newWorld(t, b.open(t))) })
	}
}

func newWorld(t *testing.T, st cancuoc.Store) *world {
	t.Helper()
	aw := audit.NewWriter(st, 0)
	t.Cleanup(func() { aw.Close() })
	c := &clock{t: vn(2026, 3, 2, 9, 0)} // a Monday
	reg := registry.New(st, aw)
	w := &world{store: st, reg: reg, clock: c,
		wf: workflow.New(st, reg, wftest.Residence{}, workday.Default(), workflow.WithClock(c.now), workflow.WithAuditWriter(aw))}
	w.admin = w.principal(t, cancuoc.RoleNationalAdmin, "", cancuoc.Jurisdiction{})
	w.civil = w.principal(t, cancuoc.RoleCommuneOfficer, workflow.AgencyCivilStatus, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
	w.civil2 = w.principal(t, cancuoc.RoleCommuneOfficer, workflow.AgencyCivilStatus, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
	w.police = w.principal(t, cancuoc.RoleCommuneOfficer, workflow.AgencyPolice, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
	w.policeCaMau = w.principal(t, cancuoc.RoleProvinceOfficer, workflow.AgencyPolice, cancuoc.Jurisdiction{Province: caMau})
	w.insurance = w.principal(t, cancuoc.RoleMinistrySystem, workflow.AgencySocialInsurance, cancuoc.Jurisdiction{})
	w.labour = w.principal(t, cancuoc.RoleMinistrySystem, workflow.AgencyLabour, cancuoc.Jurisdiction{Province: hanoi})
	w.mother = w.person(t, "Trần Thị Hoa", cancuoc.Female, 1995, "HH-01-0001")
	w.father = w.person(t, "Nguyễn Văn Nam", cancuoc.Male, 1993, "")
	return w
}

func (w *world) principal(t *testing.T, role cancuoc.Role, agency string, j cancuoc.Jurisdiction) *cancuoc.Principal {
	t.Helper()
	p, _, err := w.reg.CreatePrincipal(t.Context(), nil, registry.NewPrincipal{Name: "Máy trạm " + agency, Role: role,
		Jurisdiction: j, Agency: agency})
	if err != nil {
		t.Fatalf("CreatePrincipal: %v", err)
	}
	return p
}

// person registers an adult in Ba Đình; with a household ID, as its head.
func (w *world) person(t *testing.T, name string, sex cancuoc.Sex, year int, household string) *cancuoc.Citizen {
	t.Helper()
	return w.personIn(t, name, sex, year, household, baDinh)
}

// personIn is person living in commune (of Hà Nội).
func (w *world) personIn(t *testing.T, name string, sex cancuoc.Sex, year int, household, commune string) *cancuoc.Citizen {
	t.Helper()
	return w.personAt(t, name, sex, year, household, hanoi, commune)
}

// personAt is person living in commune of province.
func (w *world) personAt(t *testing.T, name string, sex cancuoc.Sex, year int, household, province, commune string) *cancuoc.Citizen {
	t.Helper()
	ctx := t.Context()
	c, err := w.reg.RegisterBirth(ctx, w.admin, registry.Birth{FullName: name, BirthDate: cancuoc.Date{Year: year, Month: 5, Day: 17},
		Sex: sex, Registration: cancuoc.Place{Era: cancuoc.Era34, Province: province, Commune: commune},
		PermanentResidence: &cancuoc.Place{Era: cancuoc.Era34, Province: province, Commune: commune, Detail: "số 12 phố Quán Thánh"},
		Ethnicity:          "01", Meta: registry.Meta{LegalBasis: "Luật Hộ tịch 2014"}})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	if household == "" {
		return c
	}
	c, err = w.reg.Update(ctx, w.admin, c.PIN, c.Version, registry.Meta{Reason: "Lập hộ", LegalBasis: "Luật Cư trú 2020"},
		func(n *cancuoc.Citizen) error {
			n.Household = &cancuoc.HouseholdLink{ID: household, HeadPIN: n.PIN, HeadName: n.FullName, Relation: cancuoc.RelationHead}
			return nil
		})
	if err != nil {
		t.Fatalf("household for %s: %v", name, err)
	}
	return c
}

// drain hands every new outbox event to the workflow's handler, twice each
// (delivery is at least once), until no new events come.
func (w *world) drain(t *testing.T) {
	t.Helper()
	for {
		evs, err := w.store.EventsAfter(t.Context(), w.cursor, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return
		}
		for _, e := range evs {
			for range 2 {
				if err := w.wf.HandleEvent(t.Context(), e); err != nil {
					t.Fatalf("HandleEvent(%s): %v", e.Type, err)
				}
			}
			w.cursor = e.Seq
		}
	}
}

func (w *world) birth() workflow.Submission {
	return workflow.Submission{Kind: cancuoc.ProcedureBirth, Birth: &workflow.BirthApplication{
		FullName: "Nguyễn Minh An", BirthDate: cancuoc.Date{Year: 2026, Month: 2, Day: 1}, Sex: cancuoc.Male,
		Father:       &cancuoc.Relative{PIN: w.father.PIN},
		Mother:       &cancuoc.Relative{PIN: w.mother.PIN},
		Registration: cancuoc.Place{Province: hanoi, Commune: baDinh}, Ethnicity: "01"}}
}

func (w *world) submitBirth(t *testing.T) *workflow.File {
	t.Helper()
	f, err := w.wf.Submit(t.Context(), workflow.Applicant{PIN: w.mother.PIN}, w.birth())
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return f
}

// runStep claims and completes step no of f as p, then lets the handler
// advance the file.
func (w *world) runStep(t *testing.T, p *cancuoc.Principal, id string, no int) *cancuoc.ProcedureStep {
	t.Helper()
	ctx := context.Background()
	if _, err := w.wf.Claim(ctx, p, id, no); err != nil {
		t.Fatalf("Claim %s/%d: %v", id, no, err)
	}
	st, err := w.wf.Complete(ctx, p, id, no, workflow.Completion{Note: "xong"})
	if err != nil {
		t.Fatalf("Complete %s/%d: %v", id, no, err)
	}
	w.drain(t)
	return st
}

func (w *world) file(t *testing.T, id string) *workflow.File {
	t.Helper()
	f, err := w.wf.File(t.Context(), w.admin, id)
	if err != nil {
		t.Fatalf("File: %v", err)
	}
	return f
}

func wantKind(t *testing.T, err error, kind cancuoc.Kind, code string) {
	t.Helper()
	var e *cancuoc.Error
	if cancuoc.KindOf(err) != kind || (code != "" && !asErr(err, &e)) || (code != "" && e.Code != code) {
		t.Fatalf("error = %v, want %v %s", err, kind, code)
	}
}
