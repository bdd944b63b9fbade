package registry_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
)

// envPostgres points the tests at a PostgreSQL server.
const envPostgres = pgtest.Env

// Units used by the tests, checked against package admin by checkUnits so a
// change in the embedded data shows up as a clear failure, not as a
// confusing permission result.
const (
	hanoi   = "01"    // Hà Nội
	baDinh  = "00004" // Phường Ba Đình, Hà Nội
	ngocHa  = "00008" // Phường Ngọc Hà, Hà Nội
	giangVo = "00025" // Phường Giảng Võ, Hà Nội
	caMau   = "96"    // Cà Mau
	bacLieu = "31825" // Phường Bạc Liêu, Cà Mau
)

// TestMain says loudly, even without -v, when the PostgreSQL half of the
// tests is skipped: a quiet skip would let a run look complete.
func TestMain(m *testing.M) {
	if os.Getenv(envPostgres) == "" {
		fmt.Fprintln(os.Stderr, "\n*** registry: PostgreSQL tests SKIPPED ("+envPostgres+" not set); only SQLite was tested. ***")
	}
	os.Exit(m.Run())
}

func checkUnits(t *testing.T) {
	t.Helper()
	for _, u := range []struct{ prov, com, name string }{
		{hanoi, baDinh, "Ba Đình"}, {hanoi, ngocHa, "Ngọc Hà"}, {hanoi, giangVo, "Giảng Võ"}, {caMau, bacLieu, "Bạc Liêu"},
	} {
		c, ok := admin.Current().Commune(u.com)
		if !ok || c.ProvinceCode != u.prov || c.Name != u.name {
			t.Fatalf("admin data changed: commune %s is %+v, %v; the tests expect %s in province %s", u.com, c, ok, u.name, u.prov)
		}
	}
	for code, name := range map[string]string{hanoi: "Hà Nội", caMau: "Cà Mau"} {
		if p, ok := admin.Current().Province(code); !ok || p.Name != name {
			t.Fatalf("admin data changed: province %s is %+v", code, p)
		}
	}
}

// place34 is a place in today's units.
func place34(prov, com, detail string) *cancuoc.Place {
	return &cancuoc.Place{Era: cancuoc.Era34, Province: prov, Commune: com, Detail: detail}
}

// backend is a real store the registry tests run on.
type backend struct {
	name string
	open func(t *testing.T) cancuoc.Store
}

var backends = []backend{{"sqlite", openSQLite}, {"postgres", openPostgres}}

// forEachBackend runs fn once per backend: SQLite in memory always,
// PostgreSQL when CANCUOC_TEST_POSTGRES is set (skipped loudly otherwise).
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	checkUnits(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

func openSQLite(t *testing.T) cancuoc.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("sqlite Close: %v", err)
		}
	})
	return s
}

// openPostgres opens a store in a fresh schema of its own.
func openPostgres(t *testing.T) cancuoc.Store { return pgtest.Open(t, "cancuoc_regtest") }

// newService opens a store of the backend and returns a Service over it,
// with an audit writer closed when the test ends.
func newService(t *testing.T, b backend, opts ...registry.Option) (*registry.Service, cancuoc.Store) {
	t.Helper()
	store := b.open(t)
	return newServiceOn(t, store, opts...), store
}

// newServiceOn returns a Service over store (which may be a test wrapper).
func newServiceOn(t *testing.T, store cancuoc.Store, opts ...registry.Option) *registry.Service {
	t.Helper()
	w := audit.NewWriter(store, 0)
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("audit writer Close: %v", err)
		}
	})
	return registry.New(store, w, opts...)
}

// world is a service with a national administrator to set things up.
type world struct {
	svc   *registry.Service
	store cancuoc.Store
	admin *cancuoc.Principal
}

func newWorld(t *testing.T, b backend, opts ...registry.Option) *world {
	t.Helper()
	svc, store := newService(t, b, opts...)
	return worldOn(t, svc, store)
}

func worldOn(t *testing.T, svc *registry.Service, store cancuoc.Store) *world {
	t.Helper()
	w := &world{svc: svc, store: store}
	w.admin = w.principal(t, cancuoc.RoleNationalAdmin, cancuoc.Jurisdiction{})
	return w
}

// principal creates a principal from the console.
func (w *world) principal(t *testing.T, role cancuoc.Role, j cancuoc.Jurisdiction) *cancuoc.Principal {
	t.Helper()
	p, key, err := w.svc.CreatePrincipal(context.Background(), nil, registry.NewPrincipal{
		Name: "Cán bộ " + string(role), Role: role, Jurisdiction: j, Agency: "Bộ Công an"})
	if err != nil {
		t.Fatalf("CreatePrincipal(%s): %v", role, err)
	}
	if key == "" {
		t.Fatal("CreatePrincipal returned no key")
	}
	return p
}

var meta = registry.Meta{Reason: "Kiểm thử", LegalBasis: "Luật Căn cước 26/2023/QH15"}

// person registers an adult living (permanent residence) in prov/com,
// through the national administrator.
func (w *world) person(t *testing.T, name string, sex cancuoc.Sex, prov, com string) *cancuoc.Citizen {
	t.Helper()
	c, err := w.svc.RegisterBirth(context.Background(), w.admin, registry.Birth{
		FullName: name, BirthDate: cancuoc.Date{Year: 1990, Month: 5, Day: 17}, Sex: sex,
		Registration:       *place34(prov, com, ""),
		PermanentResidence: place34(prov, com, "số 1 phố Kiểm Thử"),
		Ethnicity:          "01", Religion: "00",
		Meta: registry.Meta{LegalBasis: "Luật Hộ tịch 2014"},
	})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return c
}

// current reads a record straight from the store.
func current(t *testing.T, s cancuoc.Store, pin cancuoc.PIN) *cancuoc.Citizen {
	t.Helper()
	c, err := s.Citizen(context.Background(), pin)
	if err != nil {
		t.Fatalf("store.Citizen(%s): %v", pin, err)
	}
	return c
}

// lastSeq is the sequence number of the newest event in the outbox.
func lastSeq(t *testing.T, s cancuoc.Store) int64 {
	t.Helper()
	var seq int64
	for {
		evs, err := s.EventsAfter(context.Background(), seq, 1000)
		if err != nil {
			t.Fatalf("EventsAfter: %v", err)
		}
		if len(evs) == 0 {
			return seq
		}
		seq = evs[len(evs)-1].Seq
	}
}

// eventsAfter lists every event after seq.
func eventsAfter(t *testing.T, s cancuoc.Store, seq int64) []cancuoc.Event {
	t.Helper()
	evs, err := s.EventsAfter(context.Background(), seq, 10000)
	if err != nil {
		t.Fatalf("EventsAfter: %v", err)
	}
	return evs
}

// wantErr checks err's kind, code and (when given) field.
func wantErr(t *testing.T, what string, err error, kind cancuoc.Kind, code, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %v %q", what, kind, code)
	}
	var e *cancuoc.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: %v (%T), want a *cancuoc.Error", what, err, err)
	}
	if e.Kind != kind || (code != "" && e.Code != code) || (field != "" && e.Field != field) {
		t.Fatalf("%s: got %v/%q field %q (%v), want %v/%q field %q", what, e.Kind, e.Code, e.Field, err, kind, code, field)
	}
}

// cyclingSerials is a PIN serial source that yields only n distinct
// values, 0, 1, …, n-1, 0, 1, …, in the 4-byte big-endian form the
// registry reads.
type cyclingSerials struct {
	mu   sync.Mutex
	n    uint32
	next uint32
}

func (c *cyclingSerials) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p)%4 != 0 {
		return 0, errors.New("cyclingSerials: reads must be multiples of 4 bytes")
	}
	for i := 0; i < len(p); i += 4 {
		binary.BigEndian.PutUint32(p[i:], c.next%c.n)
		c.next++
	}
	return len(p), nil
}

// auditEntries lists every audit entry about pin, newest first.
func auditEntries(t *testing.T, s cancuoc.Store, pin cancuoc.PIN) []*cancuoc.AuditEntry {
	t.Helper()
	es, err := s.AuditFor(context.Background(), pin, 1000)
	if err != nil {
		t.Fatalf("AuditFor: %v", err)
	}
	return es
}

// findAudit returns the newest entry by actor with action, or nil.
func findAudit(es []*cancuoc.AuditEntry, actor string, action registry.Action) *cancuoc.AuditEntry {
	i := slices.IndexFunc(es, func(e *cancuoc.AuditEntry) bool { return e.Actor == actor && e.Action == string(action) })
	if i < 0 {
		return nil
	}
	return es[i]
}
