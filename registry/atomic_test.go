package registry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

var errInjected = errors.New("injected failure")

// failStore wraps a real store. Transactions it runs hand fn a failTx,
// which delegates every method to the real transaction but fails one
// chosen append method when armed, after letting skip calls through.
type failStore struct {
	cancuoc.Store

	mu     sync.Mutex
	method string // "AppendEvent", "AppendAudit" or "AppendVersion"; "" disarmed
	skip   int
	pins   []cancuoc.PIN // PINs seen by the failing method, to check after
}

func (s *failStore) arm(method string, skip int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.method, s.skip, s.pins = method, skip, nil
}

// hit reports whether a call of method about pin must fail.
func (s *failStore) hit(method string, pin cancuoc.PIN) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method != s.method {
		return false
	}
	s.pins = append(s.pins, pin)
	if s.skip > 0 {
		s.skip--
		return false
	}
	s.method = ""
	return true
}

func (s *failStore) InTx(ctx context.Context, fn func(cancuoc.Tx) error) error {
	return s.Store.InTx(ctx, func(tx cancuoc.Tx) error { return fn(&failTx{Tx: tx, s: s}) })
}

type failTx struct {
	cancuoc.Tx
	s *failStore
}

func (t *failTx) AppendEvent(ctx context.Context, e *cancuoc.Event) error {
	if t.s.hit("AppendEvent", e.PIN) {
		return errInjected
	}
	return t.Tx.AppendEvent(ctx, e)
}

func (t *failTx) AppendAudit(ctx context.Context, es ...*cancuoc.AuditEntry) error {
	var pin cancuoc.PIN
	if len(es) > 0 {
		pin = es[0].PIN
	}
	if t.s.hit("AppendAudit", pin) {
		return errInjected
	}
	return t.Tx.AppendAudit(ctx, es...)
}

func (t *failTx) AppendVersion(ctx context.Context, v *cancuoc.CitizenVersion) error {
	if t.s.hit("AppendVersion", v.PIN) {
		return errInjected
	}
	return t.Tx.AppendVersion(ctx, v)
}

// TestAtomicWrites injects a failure into each append of a write's
// transaction and checks that nothing of the write remains: not the record
// or its change, not its history row, not its event, not its audit entry.
func TestAtomicWrites(t *testing.T) {
	failures := []struct {
		method string
		skip   int // calls let through first; skip 1 in a birth fails on the first parent
	}{
		{"AppendVersion", 0}, {"AppendAudit", 0}, {"AppendEvent", 0},
		{"AppendVersion", 1}, {"AppendAudit", 1}, {"AppendEvent", 1}, {"AppendEvent", 2},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		fs := &failStore{Store: b.open(t)}
		w := worldOn(t, newServiceOn(t, fs), fs)
		father := w.person(t, "Tạ Văn Bố", cancuoc.Male, hanoi, baDinh)
		mother := w.person(t, "Tạ Thị Mẹ", cancuoc.Female, hanoi, baDinh)

		for _, f := range failures {
			t.Run(fmt.Sprintf("RegisterBirth/%s/skip%d", f.method, f.skip), func(t *testing.T) {
				seq := lastSeq(t, fs.Store)
				fs.arm(f.method, f.skip)
				const name = "Tạ Minh Thất Bại"
				_, err := w.svc.RegisterBirth(ctx, w.admin, registry.Birth{FullName: name, BirthDate: cancuoc.Date{Year: 2025, Month: 11, Day: 11},
					Sex: cancuoc.Male, Registration: *place34(hanoi, baDinh, ""), Father: &cancuoc.Relative{PIN: father.PIN},
					Mother: &cancuoc.Relative{PIN: mother.PIN}, Meta: registry.Meta{LegalBasis: "GKS 1/2025"}})
				if !errors.Is(err, errInjected) || cancuoc.KindOf(err) != cancuoc.Internal {
					t.Fatalf("RegisterBirth with a failing %s: %v, want the injected Internal error", f.method, err)
				}
				fs.mu.Lock()
				seen := append([]cancuoc.PIN(nil), fs.pins...)
				fs.mu.Unlock()
				if len(seen) == 0 || seen[0] == "" || seen[0] == father.PIN || seen[0] == mother.PIN {
					t.Fatalf("the failing method saw PINs %v; want the child's first", seen)
				}
				child := seen[0]
				if _, err := fs.Store.Citizen(ctx, child); !errors.Is(err, cancuoc.ErrNotFound) {
					t.Errorf("the child %s is stored after a failed birth: %v", child, err)
				}
				if found, err := fs.Store.SearchCitizens(ctx, cancuoc.CitizenQuery{NameKey: "ta minh that bai"}); err != nil || len(found) != 0 {
					t.Errorf("search finds %d children after a failed birth, %v", len(found), err)
				}
				if vs, err := fs.Store.Versions(ctx, child); err != nil || len(vs) != 0 {
					t.Errorf("the child has %d versions after a failed birth, %v", len(vs), err)
				}
				if es := auditEntries(t, fs.Store, child); len(es) != 0 {
					t.Errorf("the child has %d audit entries after a failed birth", len(es))
				}
				if evs := eventsAfter(t, fs.Store, seq); len(evs) != 0 {
					t.Errorf("a failed birth left events %+v", evs)
				}
				for _, par := range []*cancuoc.Citizen{father, mother} {
					got := current(t, fs.Store, par.PIN)
					if got.Version != par.Version || len(got.Children) != 0 {
						t.Errorf("a failed birth changed %s: version %d children %v", par.FullName, got.Version, got.Children)
					}
					if vs, _ := fs.Store.Versions(ctx, par.PIN); len(vs) != int(par.Version) {
						t.Errorf("a failed birth added a version of %s", par.FullName)
					}
					if es := auditEntries(t, fs.Store, par.PIN); len(es) != 1 {
						t.Errorf("%s has %d audit entries, want only the registration's", par.FullName, len(es))
					}
				}
			})
		}

		c := w.person(t, "Tạ Văn Sửa", cancuoc.Male, hanoi, baDinh)
		for _, f := range failures[:3] {
			t.Run("Update/"+f.method, func(t *testing.T) {
				seq := lastSeq(t, fs.Store)
				before := current(t, fs.Store, c.PIN)
				audits := len(auditEntries(t, fs.Store, c.PIN))
				fs.arm(f.method, 0)
				_, err := w.svc.Update(ctx, w.admin, c.PIN, before.Version, meta, func(c *cancuoc.Citizen) error {
					c.Phone = "0933333333"
					return nil
				})
				if !errors.Is(err, errInjected) {
					t.Fatalf("Update with a failing %s: %v", f.method, err)
				}
				after := current(t, fs.Store, c.PIN)
				if after.Version != before.Version || after.Phone != before.Phone || !after.UpdatedAt.Equal(before.UpdatedAt) {
					t.Errorf("a failed update changed the record: version %d phone %q", after.Version, after.Phone)
				}
				if vs, _ := fs.Store.Versions(ctx, c.PIN); len(vs) != int(before.Version) {
					t.Errorf("a failed update left a version: %d versions", len(vs))
				}
				if _, err := fs.Store.Version(ctx, c.PIN, before.Version+1); !errors.Is(err, cancuoc.ErrNotFound) {
					t.Errorf("version %d exists after a failed update: %v", before.Version+1, err)
				}
				if n := len(auditEntries(t, fs.Store, c.PIN)); n != audits {
					t.Errorf("a failed update left %d audit entries", n-audits)
				}
				if evs := eventsAfter(t, fs.Store, seq); len(evs) != 0 {
					t.Errorf("a failed update left events %+v", evs)
				}
			})
		}

		// Disarmed, the same wrapper lets writes through: the checks above
		// fail for the right reason.
		if _, err := w.svc.Update(ctx, w.admin, c.PIN, c.Version, meta, func(c *cancuoc.Citizen) error { c.Phone = "0933333333"; return nil }); err != nil {
			t.Fatalf("disarmed update: %v", err)
		}
		if got := current(t, fs.Store, c.PIN); got.Version != c.Version+1 {
			t.Fatalf("disarmed update not stored: version %d", got.Version)
		}
	})
}
