package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/auditlog"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/reconcile"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// newReconEnv is the API with the reconciliation service over an in-memory
// store holding two citizens; e.ministry and e.auditor are its callers,
// e.hanoiOfficer a principal without the right, e.hcmOfficer a second
// ministry system.
func newReconEnv(t *testing.T) (*env, []*cancuoc.Citizen) {
	t.Helper()
	store, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newReconEnvOn(t, store)
}

// newReconEnvOn is newReconEnv on a given store, with the access log's
// routes wired too.
func newReconEnvOn(t *testing.T, store cancuoc.Store) (*env, []*cancuoc.Citizen) {
	t.Helper()
	ctx := t.Context()
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(store, 0)
	t.Cleanup(func() { w.Close() })
	reg := registry.New(store, w)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := reconcile.NewService(context.Background(), &reconcile.Runner{Store: store, Policy: reconcile.RevealList{"birth_date"}, Chunk: 2},
		t.TempDir(), 1<<20, 2, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	mux := http.NewServeMux()
	httpapi.New(reg, log).WithReconcile(svc).WithAuditLog(auditlog.New(store, key, w)).Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	sq, _ := store.(*sqlite.Store) // env.store is for the SQLite-only tests
	e := &env{t: t, srv: srv, store: sq, reg: reg}
	mk := func(name string, role cancuoc.Role) string {
		_, key, err := reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: name, Role: role, Agency: "Bộ Công an",
			Jurisdiction: map[bool]cancuoc.Jurisdiction{true: {Province: "01"}}[role == cancuoc.RoleProvinceOfficer]})
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	e.admin = mk("Quản trị", cancuoc.RoleNationalAdmin)
	e.ministry = mk("Ngân hàng A", cancuoc.RoleMinistrySystem)
	e.hcmOfficer = mk("Ngân hàng B", cancuoc.RoleMinistrySystem)
	e.hanoiOfficer = mk("Cán bộ Hà Nội", cancuoc.RoleProvinceOfficer)
	a := storetest.Citizen(storetest.PIN(1))
	b := storetest.Minimal(storetest.PIN(2), "Trần Thị Lan", "tran thi lan")
	b.BirthDate = cancuoc.Date{Year: 1990, Month: 3, Day: 4}
	for _, c := range []*cancuoc.Citizen{a, b} {
		if err := store.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return e, []*cancuoc.Citizen{a, b}
}

type reconJob struct {
	ID      string           `json:"id"`
	Status  string           `json:"status"`
	Counts  map[string]int64 `json:"counts"`
	Summary string           `json:"summary"`
	Report  string           `json:"report_url"`
	Line    int64            `json:"line"`
}

func TestReconciliationAPI(t *testing.T) {
	e, people := newReconEnv(t)
	csv := "record_id,pin,full_name,birth_date\r\n" +
		"b1," + string(people[0].PIN) + ",Nguyễn Văn Đức,17/05/1990\r\n" +
		"b2," + string(people[0].PIN) + ",Nguyen Van Duc,18/05/1990\r\n" +
		"b3,,Tran Thi Lan,04/03/1990\r\n" +
		"b4," + string(storetest.PIN(99)) + ",Ai Đó,1990\r\n" +
		"b5,\"broken\r\n"
	var job reconJob
	res := e.do("POST", "/v1/reconciliations?report_format=jsonl", e.ministry, csv, "Content-Type", "text/csv")
	res.ok(http.StatusAccepted, &job)
	if loc := res.header.Get("Location"); loc != "/v1/reconciliations/"+job.ID || !strings.HasPrefix(job.ID, "rc_") {
		t.Fatalf("Location %q, job %+v", loc, job)
	}
	deadline := time.Now().Add(20 * time.Second)
	for job.Status != cancuoc.ReconDone {
		if time.Now().After(deadline) {
			t.Fatalf("job not done: %+v", job)
		}
		time.Sleep(20 * time.Millisecond)
		e.do("GET", "/v1/reconciliations/"+job.ID, e.ministry, nil).ok(http.StatusOK, &job)
	}
	want := map[string]int64{reconcile.Matched: 1, reconcile.MatchedDiff: 1, reconcile.CandidateFound: 1,
		reconcile.PINUnknown: 1, reconcile.Malformed: 1, "duplicate": 1}
	for k, v := range want {
		if job.Counts[k] != v {
			t.Errorf("counts %v, want %v", job.Counts, want)
			break
		}
	}
	if !strings.HasPrefix(job.Summary, "3/5 matched") {
		t.Errorf("summary %q", job.Summary)
	}
	rep := e.do("GET", job.Report, e.ministry, nil)
	if rep.status != http.StatusOK || rep.header.Get("Content-Type") != "application/jsonl" || rep.header.Get("X-Reconciliation-Status") != "done" {
		t.Fatalf("report: %d %v", rep.status, rep.header)
	}
	lines := strings.Split(strings.TrimSpace(string(rep.body)), "\n")
	if len(lines) != 5 {
		t.Fatalf("report has %d lines:\n%s", len(lines), rep.body)
	}
	var second reconcile.Result
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	// The policy reveals the registry's birth date, not the name.
	if second.Outcome != reconcile.MatchedDiff || second.DuplicateOf != 2 || second.Registry["birth_date"] != "1990-05-17" ||
		second.Registry["full_name"] != "" || strings.Join(second.Differences, ",") != "full_name,birth_date" {
		t.Errorf("second record: %+v", second)
	}
	// Every touched citizen is in the access log under the caller.
	me := e.do("GET", "/v1/me", e.ministry, nil)
	var p cancuoc.Principal
	me.ok(http.StatusOK, &p)
	for _, c := range people {
		es, err := e.store.AuditFor(t.Context(), c.PIN, 10)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range es {
			if a.Action == reconcile.ActionReconcile && a.Actor == p.ID {
				n++
			}
		}
		// One entry per chunk that touched them (people[0] twice in the
		// first chunk of two records).
		if n != 1 {
			t.Errorf("citizen %s: %d reconcile entries, want 1", c.PIN, n)
		}
	}
	// Another partner cannot see the job; an officer cannot reconcile; the
	// national administrator sees every job.
	e.do("GET", "/v1/reconciliations/"+job.ID, e.hcmOfficer, nil).problem(http.StatusNotFound, "reconciliation_not_found")
	e.do("GET", job.Report, e.hcmOfficer, nil).problem(http.StatusNotFound, "reconciliation_not_found")
	e.do("GET", "/v1/reconciliations/"+job.ID, e.admin, nil).ok(http.StatusOK, nil)
	e.do("POST", "/v1/reconciliations", e.hanoiOfficer, csv, "Content-Type", "text/csv").problem(http.StatusForbidden, "role_forbidden")
	e.do("POST", "/v1/reconciliations", e.ministry, csv).problem(http.StatusBadRequest, "reconcile_content_type")
	e.do("POST", "/v1/reconciliations?report_format=xml", e.ministry, csv, "Content-Type", "text/csv").problem(http.StatusBadRequest, "reconcile_format")
	e.do("POST", "/v1/reconciliations", e.ministry, "foo,bar\n1,2\n", "Content-Type", "text/csv").problem(http.StatusBadRequest, "reconcile_header")
	e.do("POST", "/v1/reconciliations", e.ministry, strings.Repeat("x", 1<<20+1), "Content-Type", "text/csv").problem(http.StatusBadRequest, "reconcile_too_large")
	e.do("POST", "/v1/reconciliations", "", csv, "Content-Type", "text/csv").problem(http.StatusUnauthorized, "api_key_missing")
	// The owner acknowledges the report: deleted, the job expired with
	// its counts; another caller cannot delete it.
	e.do("DELETE", "/v1/reconciliations/"+job.ID, e.hcmOfficer, nil).problem(http.StatusNotFound, "reconciliation_not_found")
	var gone reconJob
	e.do("DELETE", "/v1/reconciliations/"+job.ID, e.ministry, nil).ok(http.StatusOK, &gone)
	if gone.Status != cancuoc.ReconExpired || gone.Counts[reconcile.Matched] != 1 {
		t.Errorf("deleted job: %+v", gone)
	}
	e.do("GET", job.Report, e.ministry, nil).problem(http.StatusNotFound, "reconciliation_report_expired")
}

// TestReconciliationUnavailable checks the routes answer 503 when the
// service is not wired.
func TestReconciliationUnavailable(t *testing.T) {
	e := newEnv(t)
	e.do("GET", "/v1/reconciliations/rc_x", e.ministry, nil).problem(http.StatusServiceUnavailable, "reconcile_unavailable")
}

// TestReconciliationAccessLog checks, on both backends, that a citizen
// touched by a bulk job sees the job's access in their access log through
// the API (one entry per chunk that touched them, as stored: its inclusion
// proof verifies), and one not touched does not.
func TestReconciliationAccessLog(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		store, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		testReconciliationAccessLog(t, store)
	})
	t.Run("postgres", func(t *testing.T) { testReconciliationAccessLog(t, pgtest.Open(t, "httpapi_recon_log")) })
}

func testReconciliationAccessLog(t *testing.T, store cancuoc.Store) {
	e, people := newReconEnvOn(t, store)
	outsider := storetest.Minimal(storetest.PIN(3), "Lê Văn Tám", "le van tam")
	if err := store.InsertCitizen(t.Context(), outsider); err != nil {
		t.Fatal(err)
	}
	// Chunks of two records: people[0] in chunks 1 and 2, people[1] in 2.
	csv := "record_id,pin,full_name,birth_date\r\n" +
		"b1," + string(people[0].PIN) + ",Nguyễn Văn Đức,17/05/1990\r\n" +
		"b2," + string(storetest.PIN(99)) + ",Ai Đó,1990\r\n" +
		"b3," + string(people[0].PIN) + ",Nguyen Van Duc,17/05/1990\r\n" +
		"b4," + string(people[1].PIN) + ",Trần Thị Lan,04/03/1990\r\n"
	var job reconJob
	e.do("POST", "/v1/reconciliations?report_format=jsonl", e.ministry, csv, "Content-Type", "text/csv").ok(http.StatusAccepted, &job)
	deadline := time.Now().Add(30 * time.Second)
	for job.Status != cancuoc.ReconDone {
		if time.Now().After(deadline) {
			t.Fatalf("job not done: %+v", job)
		}
		time.Sleep(20 * time.Millisecond)
		e.do("GET", "/v1/reconciliations/"+job.ID, e.ministry, nil).ok(http.StatusOK, &job)
	}
	if err := cancuoc.WaitSequenced(t.Context(), store); err != nil {
		t.Fatal(err)
	}
	ministry := principalID(e, e.ministry)
	for _, c := range []struct {
		pin  cancuoc.PIN
		want int
	}{{people[0].PIN, 2}, {people[1].PIN, 1}, {outsider.PIN, 0}} {
		var page pageJSON
		e.do("GET", "/v1/citizens/"+string(c.pin)+"/access-log?proof=true", e.admin, nil).ok(http.StatusOK, &page)
		n := 0
		for _, g := range page.Entries {
			if g.Action != reconcile.ActionReconcile {
				continue
			}
			n++
			ref, ok := cancuoc.ParseTouched(&g.AuditEntry)
			if !ok || ref.Job != job.ID || g.Actor != ministry || g.Purpose != "reconciliation "+job.ID || len(g.Fields) == 0 {
				t.Errorf("citizen %s: entry %+v", c.pin, g.AuditEntry)
			}
			if g.Proof == nil || page.TreeHead == nil {
				t.Fatalf("citizen %s: entry %d has no proof", c.pin, g.ID)
			}
			if err := auditlog.VerifyInclusion(auditlog.LeafHash(&g.AuditEntry), g.Proof.LeafIndex, g.Proof.TreeSize,
				g.Proof.Hashes, page.TreeHead.Root); err != nil {
				t.Errorf("citizen %s: entry %d: inclusion proof: %v", c.pin, g.ID, err)
			}
		}
		if n != c.want {
			t.Errorf("citizen %s sees %d reconciliation entries, want %d", c.pin, n, c.want)
		}
	}
}
