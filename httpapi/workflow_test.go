package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/workday"
	"github.com/cancuoc/cancuoc/workflow"
	"github.com/cancuoc/cancuoc/workflow/wftest"
)

// wfEnv is the API with the procedures, the agencies' keys and a mother
// heading a household in Ba Đình.
type wfEnv struct {
	*env
	wf                                  *workflow.Service
	civil, police, insurance, hcmPolice string
	mother                              *cancuoc.Citizen
	cursor                              int64
}

func newWFEnv(t testing.TB, opts ...workflow.Option) *wfEnv {
	tt, _ := t.(*testing.T)
	ctx := context.Background()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w := audit.NewWriter(store, 0)
	t.Cleanup(func() { w.Close() })
	reg := registry.New(store, w)
	wf := workflow.New(store, reg, wftest.Residence{}, workday.Default(), append(opts, workflow.WithAuditWriter(w))...)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	httpapi.New(reg, log).WithWorkflow(wf).Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	e := &wfEnv{env: &env{t: tt, srv: srv, store: store, reg: reg}, wf: wf}
	mk := func(role cancuoc.Role, agency string, j cancuoc.Jurisdiction) (*cancuoc.Principal, string) {
		p, key, err := reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: "Máy trạm " + agency, Role: role, Jurisdiction: j, Agency: agency})
		if err != nil {
			t.Fatal(err)
		}
		return p, key
	}
	admin, adminKey := mk(cancuoc.RoleNationalAdmin, "", cancuoc.Jurisdiction{})
	e.admin = adminKey
	_, e.civil = mk(cancuoc.RoleCommuneOfficer, workflow.AgencyCivilStatus, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
	_, e.police = mk(cancuoc.RoleProvinceOfficer, workflow.AgencyPolice, cancuoc.Jurisdiction{Province: hanoi})
	_, e.hcmPolice = mk(cancuoc.RoleProvinceOfficer, workflow.AgencyPolice, cancuoc.Jurisdiction{Province: hcmCity})
	_, e.insurance = mk(cancuoc.RoleMinistrySystem, workflow.AgencySocialInsurance, cancuoc.Jurisdiction{})
	m, err := reg.RegisterBirth(ctx, admin, registry.Birth{FullName: "Trần Thị Hoa", BirthDate: cancuoc.Date{Year: 1995, Month: 1, Day: 2},
		Sex: cancuoc.Female, Registration: cancuoc.Place{Era: cancuoc.Era34, Province: hanoi, Commune: baDinh},
		PermanentResidence: &cancuoc.Place{Era: cancuoc.Era34, Province: hanoi, Commune: baDinh, Detail: "số 3"},
		Meta:               registry.Meta{LegalBasis: "Luật Hộ tịch"}})
	if err != nil {
		t.Fatal(err)
	}
	e.mother, err = reg.Update(ctx, admin, m.PIN, m.Version, registry.Meta{Reason: "Lập hộ", LegalBasis: "Luật Cư trú"}, func(c *cancuoc.Citizen) error {
		c.Household = &cancuoc.HouseholdLink{ID: "HH-1", HeadPIN: c.PIN, HeadName: c.FullName, Relation: cancuoc.RelationHead}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// drain delivers the outbox to the workflow's handler, as the dispatcher
// would.
func (e *wfEnv) drain(t *testing.T) {
	for {
		evs, err := e.store.EventsAfter(t.Context(), e.cursor, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return
		}
		for _, ev := range evs {
			if err := e.wf.HandleEvent(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
			e.cursor = ev.Seq
		}
	}
}

func (e *wfEnv) submission() map[string]any {
	return map[string]any{"kind": "birth", "applicant": e.mother.PIN, "birth": map[string]any{
		"full_name": "Nguyễn Minh An", "birth_date": "2025-12-01", "sex": "male",
		"mother":       map[string]any{"pin": e.mother.PIN},
		"registration": map[string]any{"province": hanoi, "commune": baDinh}}}
}

func TestProcedureAPI(t *testing.T) {
	e := newWFEnv(t)
	var f struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Steps  []struct {
			No     int    `json:"no"`
			Status string `json:"status"`
			Agency string `json:"agency"`
		} `json:"steps"`
		Current int `json:"current_step"`
	}
	first := e.do("POST", "/v1/procedures", e.civil, e.submission(), "Idempotency-Key", "sub-1").ok(201, &f)
	again := e.do("POST", "/v1/procedures", e.civil, e.submission(), "Idempotency-Key", "sub-1").ok(201, nil)
	if string(again.body) != string(first.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retried submission: %s (replayed %q), want the first answer", again.body, again.header.Get("Idempotent-Replayed"))
	}
	if mine, _ := e.wf.MyFiles(t.Context(), e.mother.PIN, "", 0); len(mine) != 1 {
		t.Fatalf("%d files after a retried submission, want 1", len(mine))
	}
	other := e.submission()
	other["birth"].(map[string]any)["full_name"] = "Khác"
	e.do("POST", "/v1/procedures", e.civil, other, "Idempotency-Key", "sub-1").problem(409, "idempotency_key_reused")
	e.do("POST", "/v1/procedures", e.police, e.submission()).problem(403, "wrong_agency")

	var page struct {
		Items []struct {
			ProcedureID string `json:"procedure_id"`
			No          int    `json:"no"`
			Overdue     bool   `json:"overdue"`
		} `json:"items"`
	}
	e.do("GET", "/v1/procedure-tasks", e.civil, nil).ok(200, &page)
	if len(page.Items) != 1 || page.Items[0].ProcedureID != f.ID {
		t.Fatalf("civil-status queue = %+v", page)
	}
	e.do("GET", "/v1/procedure-tasks?status=bogus", e.civil, nil).problem(400, "status_invalid")
	e.do("GET", "/v1/procedure-tasks?cursor=nocolon", e.civil, nil).problem(400, "cursor_invalid")
	step := "/v1/procedures/" + f.ID + "/steps/"
	e.do("POST", step+"1/claim", e.police, nil).problem(403, "wrong_agency")
	e.do("POST", step+"0/claim", e.civil, nil).problem(400, "step_number_invalid")
	e.do("POST", step+"1/claim", e.civil, nil).ok(200, nil)
	done := e.do("POST", step+"1/complete", e.civil, map[string]any{"note": "đã cấp"}, "Idempotency-Key", "c-1").ok(200, nil)
	retry := e.do("POST", step+"1/complete", e.civil, map[string]any{"note": "đã cấp"}, "Idempotency-Key", "c-1").ok(200, nil)
	if string(retry.body) != string(done.body) {
		t.Errorf("retried completion answered %s, first %s", retry.body, done.body)
	}
	// The police's task was created with the completion, before any event
	// is handled.
	var police struct {
		Items []struct {
			ProcedureID string `json:"procedure_id"`
			No          int    `json:"no"`
		} `json:"items"`
	}
	e.do("GET", "/v1/procedure-tasks", e.police, nil).ok(200, &police)
	if len(police.Items) != 1 || police.Items[0].ProcedureID != f.ID || police.Items[0].No != 2 {
		t.Fatalf("police queue right after the completion = %+v, want step 2", police)
	}
	e.drain(t)
	e.do("POST", step+"2/claim", e.hcmPolice, nil).problem(403, "outside_jurisdiction")
	e.do("POST", step+"2/reject", e.police, map[string]any{}).problem(400, "reason_required")
	e.do("POST", step+"2/reject", e.police, map[string]any{"reason": "Thiếu xác nhận của chủ hộ"}).ok(200, nil)
	e.do("POST", step+"2/resubmit", e.civil, map[string]any{"note": "đã bổ sung"}).ok(200, nil)
	e.do("POST", step+"2/complete", e.police, nil).ok(200, nil)
	e.drain(t)
	e.do("POST", step+"3/complete", e.insurance, nil, "Idempotency-Key", "c-3").ok(200, nil)
	e.drain(t)
	e.do("GET", "/v1/procedures/"+f.ID, e.hcmPolice, nil).problem(403, "outside_jurisdiction")
	e.do("GET", "/v1/procedures/"+f.ID, e.police, nil).ok(200, &f)
	if f.Status != "completed" || len(f.Steps) != 3 || f.Current != 0 {
		t.Errorf("file after the chain = %+v", f)
	}
	var st workflow.Stats
	e.do("GET", "/v1/procedure-stats?from="+time.Now().AddDate(0, -11, 0).Format("2006-01-02")+"&province="+hanoi, e.admin, nil).ok(200, &st)
	if len(st.Groups) != 1 || st.Groups[0].Completed != 1 || st.Groups[0].Rejected != 1 || st.Groups[0].Online != 0 || len(st.Groups[0].Steps) != 3 {
		t.Errorf("stats = %+v", st.Groups)
	}
	e.do("GET", "/v1/procedure-stats?province="+hanoi, e.hcmPolice, nil).problem(403, "outside_jurisdiction")
	e.do("GET", "/v1/procedure-stats?from=x", e.admin, nil).problem(400, "instant_format")
	// Statistics read every file and step of the period: at most 366 days.
	e.do("GET", "/v1/procedure-stats?from=2000-01-01", e.admin, nil).problem(400, "period_too_long")
	e.do("GET", "/v1/procedure-stats?from=2025-01-01&to=2026-01-03", e.admin, nil).problem(400, "period_too_long")
	e.do("GET", "/v1/procedure-stats?from=2025-01-01&to=2026-01-02", e.admin, nil).ok(200, nil)
	e.do("GET", "/v1/eid/procedures", "", nil).problem(503, "eid_unavailable")
}

// FuzzProcedureSubmission: any body gives a JSON answer, never a 500.
func FuzzProcedureSubmission(f *testing.F) {
	e := newWFEnv(f)
	good, _ := json.Marshal(e.submission())
	for _, s := range []string{string(good), `{}`, `{"kind":"death","death":{"deceased":"` + string(e.mother.PIN) + `","date":"2026"}}`,
		`{"kind":"birth","birth":{"birth_date":"2025-13-40"}}`, `[`, `{"kind":1}`, `{"kind":"birth","birth":null}`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		e.env.t = t
		r := e.do("POST", "/v1/procedures", e.civil, body)
		if r.status >= 500 {
			t.Fatalf("status %d for %q: %s", r.status, body, r.body)
		}
		if !json.Valid(r.body) {
			t.Fatalf("answer is not JSON: %s", r.body)
		}
	})
}

// FuzzTaskQuery: any query string gives a JSON answer, never a 500.
func FuzzTaskQuery(f *testing.F) {
	e := newWFEnv(f)
	for _, s := range []string{"status=pending,claimed", "cursor=abc:1&limit=5", "kind=death", "limit=0", "cursor=:x", "status=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		e.env.t = t
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		r := e.do("GET", "/v1/procedure-tasks?"+v.Encode(), e.civil, nil)
		if r.status >= 500 || !json.Valid(r.body) {
			t.Fatalf("status %d for %q: %s", r.status, q, r.body)
		}
	})
}

// TestProcedureOnline: the eID holder files a birth, follows it, and
// answers a rejection.
func TestProcedureOnline(t *testing.T) {
	ctx := t.Context()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w := audit.NewWriter(store, 0)
	t.Cleanup(func() { w.Close() })
	reg := registry.New(store, w)
	sms := &outbox{}
	cfg := eid.DefaultConfig()
	cfg.Password = eid.FastTestPasswordParams()
	es, err := eid.New(store, sms, cfg)
	if err != nil {
		t.Fatal(err)
	}
	wf := workflow.New(store, reg, wftest.Residence{}, workday.Default())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	httpapi.New(reg, log).WithEID(es).WithWorkflow(wf).Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	e := &eidEnv{t: t, srv: srv, store: store, sms: sms}
	e.adult = storetest.Citizen(storetest.PIN(1)) // heads household HH-01-0001 in Ba Đình
	if err := store.InsertCitizen(ctx, e.adult); err != nil {
		t.Fatal(err)
	}
	civil, civilKey, err := reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: "Tư pháp Ba Đình", Role: cancuoc.RoleCommuneOfficer,
		Jurisdiction: cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh}, Agency: workflow.AgencyCivilStatus})
	if err != nil {
		t.Fatal(err)
	}
	auth := e.registerAdult(t)
	sub := map[string]any{"kind": "birth", "birth": map[string]any{"full_name": "Nguyễn Minh Khang", "birth_date": "2026-01-02",
		"sex": "male", "father": map[string]any{"pin": e.adult.PIN}, "registration": map[string]any{"province": hanoi, "commune": baDinh}}}
	e.do("POST", "/v1/eid/procedures", "", sub).problem(t, 401, "credentials_missing")
	var f struct {
		ID     string      `json:"id"`
		Online bool        `json:"online"`
		Appl   cancuoc.PIN `json:"applicant"`
	}
	e.do("POST", "/v1/eid/procedures", auth, sub).want(t, 201, &f)
	if !f.Online || f.Appl != e.adult.PIN {
		t.Fatalf("online file = %+v", f)
	}
	var page struct {
		Items []cancuoc.Procedure `json:"items"`
	}
	e.do("GET", "/v1/eid/procedures", auth, nil).want(t, 200, &page)
	if len(page.Items) != 1 || page.Items[0].ID != f.ID {
		t.Errorf("my files = %+v", page.Items)
	}
	if _, err := wf.Reject(ctx, civil, f.ID, 1, workflow.Rejection{Reason: "Thiếu giấy chứng sinh"}); err != nil {
		t.Fatal(err)
	}
	var view struct {
		Steps []struct {
			Status    string `json:"status"`
			Rejection string `json:"rejection"`
		} `json:"steps"`
	}
	e.do("GET", "/v1/eid/procedures/"+f.ID, auth, nil).want(t, 200, &view)
	if len(view.Steps) != 1 || view.Steps[0].Status != "rejected" || view.Steps[0].Rejection == "" {
		t.Errorf("the applicant's view = %+v", view)
	}
	e.do("POST", "/v1/eid/procedures/"+f.ID+"/steps/1/resubmit", auth, map[string]any{"note": "đã bổ sung"}).want(t, 200, nil)
	e.do("POST", "/v1/eid/procedures/"+f.ID+"/steps/1/resubmit", auth, map[string]any{}).problem(t, 409, "step_pending")
	e.do("GET", "/v1/eid/procedures/nope", auth, nil).problem(t, 404, "not_found")
	e.do("POST", "/v1/procedures/"+f.ID+"/steps/1/claim", "key:"+civilKey, nil).want(t, 200, nil)
}

// TestProcedureReadRights: a lodging and an agency outside the file's chain
// get 403 for an existing file (review finding 3); the agency of a later
// step sees it only once the step has reached it, without the parents.
func TestProcedureReadRights(t *testing.T) {
	e := newWFEnv(t)
	ctx := context.Background()
	key := func(role cancuoc.Role, agency string, j cancuoc.Jurisdiction) string {
		_, k, err := e.reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: "Khách sạn", Role: role, Jurisdiction: j, Agency: agency})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	lodging := key(cancuoc.RoleLodging, "", cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
	transport := key(cancuoc.RoleMinistrySystem, "transport", cancuoc.Jurisdiction{})
	var f struct {
		ID string `json:"id"`
	}
	e.do("POST", "/v1/procedures", e.civil, e.submission()).ok(201, &f)
	path := "/v1/procedures/" + f.ID
	e.do("GET", path, lodging, nil).problem(403, "role_forbidden")
	e.do("GET", path, transport, nil).problem(403, "not_in_chain")
	e.do("GET", path, e.insurance, nil).problem(403, "not_in_chain")
	e.do("GET", path, e.police, nil).ok(200, nil)
	for no, k := range []string{e.civil, e.police} {
		step := path + "/steps/" + strconv.Itoa(no+1)
		e.do("POST", step+"/claim", k, nil).ok(200, nil)
		e.do("POST", step+"/complete", k, map[string]any{}).ok(200, nil)
		e.drain(t)
	}
	var seen struct {
		Application map[string]any `json:"application"`
	}
	e.do("GET", path, e.insurance, nil).ok(200, &seen)
	if _, ok := seen.Application["mother"]; ok || seen.Application["full_name"] == nil {
		t.Errorf("insurance's view of the application: %v", seen.Application)
	}
}
