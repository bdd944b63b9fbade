package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// newAppsEnv is the eID env with the applications service wired, and an
// officer of Ngọc Hà (e.far stays Hồ Chí Minh City's).
func newAppsEnv(t *testing.T) (*eidEnv, string) {
	t.Helper()
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
	apps := application.New(reg, residence.New(reg, w), es, w, nil, application.DefaultConfig())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	httpapi.New(reg, log).WithEID(es).WithApplications(apps).Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	e := &eidEnv{t: t, srv: srv, store: store, sms: sms}
	var ngocHa string
	for _, x := range []struct {
		dst *string
		np  registry.NewPrincipal
	}{
		{&e.officer, registry.NewPrincipal{Name: "Cán bộ Ba Đình", Role: cancuoc.RoleCommuneOfficer, Jurisdiction: cancuoc.Jurisdiction{Province: "01", Commune: "00004"}}},
		{&ngocHa, registry.NewPrincipal{Name: "Cán bộ Ngọc Hà", Role: cancuoc.RoleCommuneOfficer, Jurisdiction: cancuoc.Jurisdiction{Province: "01", Commune: "00008"}}},
		{&e.far, registry.NewPrincipal{Name: "Cán bộ TP HCM", Role: cancuoc.RoleProvinceOfficer, Jurisdiction: cancuoc.Jurisdiction{Province: "79"}}},
	} {
		if _, *x.dst, err = reg.CreatePrincipal(ctx, nil, x.np); err != nil {
			t.Fatal(err)
		}
	}
	// A record the registry's validation accepts as a whole (as in web's
	// tests): an approval rewrites it.
	full := storetest.Citizen(storetest.PIN(1))
	e.adult = storetest.Minimal(full.PIN, full.FullName, full.NameKey)
	e.adult.BirthDate, e.adult.Ethnicity, e.adult.Religion, e.adult.Nationality = full.BirthDate, "01", "00", "VNM"
	e.adult.Cards, e.adult.Phone = full.Cards, full.Phone
	e.adult.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: "00004", Detail: "số 12 phố Quán Thánh"}
	e.adult.Home = cancuoc.UnitRef{Province: "01", Commune: "00004"}
	if err := store.InsertCitizen(ctx, e.adult); err != nil {
		t.Fatal(err)
	}
	return e, ngocHa
}

type appView struct {
	cancuoc.Application
	Overdue bool `json:"overdue"`
}

// TestApplicationsAPI: a citizen files a temporary residence in Ngọc Hà;
// Ngọc Hà's officer finds it in the queue and approves it; officers of
// other places are refused; problem details name what is wrong.
func TestApplicationsAPI(t *testing.T) {
	e, ngocHa := newAppsEnv(t)
	holder := e.registerAdult(t)
	filing := map[string]any{"kind": "temporary_residence", "payload": map[string]any{
		"place": map[string]any{"province": "01", "commune": "00008", "detail": "số 3 phố Hoàng Hoa Thám"}, "until": "2027-06-30"}}

	e.do("POST", "/v1/me/applications", "", filing).problem(t, http.StatusUnauthorized, "credentials_missing")
	e.do("POST", "/v1/me/applications", "key:"+e.officer, filing).problem(t, http.StatusUnauthorized, "credentials_missing")
	e.do("POST", "/v1/me/applications", holder, map[string]any{"kind": "temporary_residence", "payload": map[string]any{"plac": 1}}).
		problem(t, http.StatusBadRequest, "unknown_field")
	e.do("POST", "/v1/me/applications", holder, map[string]any{"kind": "visa"}).problem(t, http.StatusBadRequest, "kind_unknown")
	var a appView
	e.do("POST", "/v1/me/applications", holder, filing).want(t, http.StatusCreated, &a)
	if a.Status != cancuoc.AppSubmitted || a.Unit.Commune != "00008" || a.Due.IsZero() || a.Overdue {
		t.Fatalf("filed %+v", a)
	}
	e.do("POST", "/v1/me/applications", holder, filing).problem(t, http.StatusConflict, "application_open")

	var page struct {
		Items      []appView `json:"items"`
		NextCursor string    `json:"next_cursor"`
	}
	e.do("GET", "/v1/me/applications", holder, nil).want(t, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID != a.ID {
		t.Errorf("my applications %+v", page)
	}
	e.do("GET", "/v1/applications", "key:"+e.officer, nil).want(t, http.StatusOK, &page)
	if len(page.Items) != 0 {
		t.Errorf("Ba Đình's queue holds Ngọc Hà's application: %+v", page)
	}
	e.do("GET", "/v1/applications?kind=temporary_residence&limit=1", "key:"+ngocHa, nil).want(t, http.StatusOK, &page)
	if len(page.Items) != 1 || page.NextCursor == "" {
		t.Fatalf("Ngọc Hà's queue %+v", page)
	}
	e.do("GET", "/v1/applications?cursor="+url.QueryEscape(page.NextCursor), "key:"+ngocHa, nil).want(t, http.StatusOK, &page)
	if len(page.Items) != 0 {
		t.Errorf("second page %+v", page)
	}
	e.do("GET", "/v1/applications?overdue=maybe", "key:"+ngocHa, nil).problem(t, http.StatusBadRequest, "overdue_invalid")
	e.do("GET", "/v1/applications?cursor=bm90LWEtY3Vyc29y", "key:"+ngocHa, nil).problem(t, http.StatusBadRequest, "cursor_invalid")
	e.do("GET", "/v1/applications/"+a.ID, "key:"+e.far, nil).problem(t, http.StatusForbidden, "outside_jurisdiction")
	e.do("GET", "/v1/applications/ap_none", "key:"+ngocHa, nil).problem(t, http.StatusNotFound, "application_not_found")
	e.do("POST", "/v1/applications/"+a.ID+"/approve", "key:"+e.officer, map[string]any{"reason": "x"}).
		problem(t, http.StatusForbidden, "outside_jurisdiction")
	e.do("POST", "/v1/applications/"+a.ID+"/approve", "key:"+ngocHa, map[string]any{"reason": ""}).
		problem(t, http.StatusBadRequest, "reason_required")
	e.do("POST", "/v1/applications/"+a.ID+"/approve", "key:"+ngocHa, map[string]any{"reason": "x", "version": 7}).
		problem(t, http.StatusConflict, "stale_version")
	var got appView
	e.do("POST", "/v1/applications/"+a.ID+"/approve", "key:"+ngocHa, map[string]any{"reason": "Đủ điều kiện", "version": a.Version}).
		want(t, http.StatusOK, &got)
	if got.Status != cancuoc.AppApproved {
		t.Errorf("approved %+v", got)
	}
	e.do("POST", "/v1/applications/"+a.ID+"/reject", "key:"+ngocHa, map[string]any{"reason": "x"}).
		problem(t, http.StatusConflict, "application_closed")
	e.do("DELETE", "/v1/me/applications/"+a.ID, holder, nil).problem(t, http.StatusConflict, "application_closed")
	c, err := e.store.Citizen(t.Context(), e.adult.PIN)
	if err != nil || c.TemporaryResidence == nil || c.TemporaryResidence.Place.Commune != "00008" {
		t.Errorf("record after approval: %+v %v", c.TemporaryResidence, err)
	}

	// A correction request, withdrawn by the citizen.
	var corr appView
	e.do("POST", "/v1/me/applications", holder, map[string]any{"kind": "correction",
		"payload": map[string]any{"changes": map[string]any{"blood_type": "B+"}, "reason": "Giấy xét nghiệm"}}).want(t, http.StatusCreated, &corr)
	if corr.Unit.Commune != "00004" {
		t.Errorf("a correction is decided at home, not %+v", corr.Unit)
	}
	e.do("DELETE", "/v1/me/applications/"+corr.ID, holder, nil).want(t, http.StatusOK, &got)
	if got.Status != cancuoc.AppWithdrawn {
		t.Errorf("withdrawn %+v", got)
	}
	var body json.RawMessage
	e.do("GET", "/v1/applications?status=withdrawn", "key:"+e.officer, nil).want(t, http.StatusOK, &body)
	if err := json.Unmarshal(body, &page); err != nil || len(page.Items) != 1 {
		t.Errorf("withdrawn list %s", body)
	}
}
