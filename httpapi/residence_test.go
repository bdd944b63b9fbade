package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/sqlite"
)

// residenceEnv is the API with the residence service over in-memory SQLite.
type residenceEnv struct {
	*env
	hotel string
}

func newResidenceEnv(t *testing.T) *residenceEnv {
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	api := httpapi.New(reg, log).WithResidence(residence.New(reg, w))
	mux := http.NewServeMux()
	api.Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	e := &residenceEnv{env: &env{t: t, srv: srv, store: store, reg: reg}}
	mk := func(role cancuoc.Role, j cancuoc.Jurisdiction) string {
		_, key, err := reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: "x", Role: role, Jurisdiction: j})
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	e.admin = mk(cancuoc.RoleNationalAdmin, cancuoc.Jurisdiction{})
	e.baDinhOfficer = mk(cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
	e.ngocHaOfficer = mk(cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: hanoi, Commune: ngocHa})
	e.ministry = mk(cancuoc.RoleMinistrySystem, cancuoc.Jurisdiction{})
	e.hotel = mk(cancuoc.RoleLodging, cancuoc.Jurisdiction{Province: hanoi, Commune: baDinh})
	return e
}

func TestResidenceAPI(t *testing.T) {
	e := newResidenceEnv(t)
	head := e.register("Nguyễn Văn An", "1980-01-02", "male")
	wife := e.register("Trần Thị Bình", "1982-03-04", "female")
	addr := map[string]any{"era": "34", "province": hanoi, "commune": baDinh, "detail": "số 5 ngõ Trúc Lạc"}

	// A household and a member with the head's consent.
	var h residence.HouseholdView
	asks := func(pin cancuoc.PIN) map[string]any {
		return map[string]any{"by": pin, "at": time.Now().Add(-time.Hour).Format(time.RFC3339), "method": "in_person"}
	}
	newHH := meta(map[string]any{"address": addr, "head_pin": head.PIN})
	e.do("POST", "/v1/households", e.baDinhOfficer, newHH).problem(http.StatusBadRequest, "request_required")
	newHH["request"] = asks(head.PIN)
	e.do("POST", "/v1/households", e.baDinhOfficer, newHH).ok(http.StatusCreated, &h)
	if h.HeadPIN != head.PIN || len(h.Members) != 1 || !h.HeadActive {
		t.Fatalf("household %+v", h)
	}
	join := meta(map[string]any{"pin": wife.PIN, "relation": "vợ"})
	e.do("POST", "/v1/households/"+h.ID+"/members", e.baDinhOfficer, join).problem(http.StatusBadRequest, "consent_required")
	join["consent"] = map[string]any{"by": head.PIN, "at": time.Now().Add(-time.Hour).Format(time.RFC3339), "method": "written"}
	join["request"] = asks(head.PIN)
	e.do("POST", "/v1/households/"+h.ID+"/members", e.baDinhOfficer, join).problem(http.StatusBadRequest, "request_not_person")
	join["request"] = asks(wife.PIN)
	e.do("POST", "/v1/households/"+h.ID+"/members", e.ngocHaOfficer, join).problem(http.StatusForbidden, "outside_jurisdiction")
	e.do("POST", "/v1/households/"+h.ID+"/members", e.baDinhOfficer, join).ok(http.StatusOK, &h)
	e.do("POST", "/v1/households/"+h.ID+"/members", e.baDinhOfficer, join).problem(http.StatusConflict, "already_member")
	e.do("GET", "/v1/households/"+h.ID, e.baDinhOfficer, nil).ok(http.StatusOK, &h)
	if len(h.ActiveMembers()) != 2 {
		t.Errorf("members %+v", h.Members)
	}
	e.do("GET", "/v1/households/hh_none", e.baDinhOfficer, nil).problem(http.StatusNotFound, "not_found")
	e.do("GET", "/v1/households/"+h.ID, e.ministry, nil).problem(http.StatusForbidden, "role_forbidden")
	e.do("GET", "/v1/stays", e.ministry, nil).problem(http.StatusForbidden, "role_forbidden")
	e.do("GET", "/v1/residence/temporary", e.ministry, nil).problem(http.StatusForbidden, "role_forbidden")

	// The record shows fields 16, 22 and 23; the history lists the decision.
	var c cancuoc.Citizen
	e.do("GET", "/v1/citizens/"+string(wife.PIN), e.baDinhOfficer, nil).ok(http.StatusOK, &c)
	if c.Household == nil || c.Household.Relation != "vợ" || c.PermanentResidence == nil {
		t.Errorf("wife's record: %+v %+v", c.Household, c.PermanentResidence)
	}
	var hist struct {
		Entries []cancuoc.ResidenceEntry `json:"entries"`
	}
	e.do("GET", "/v1/citizens/"+string(wife.PIN)+"/residence-history", e.baDinhOfficer, nil).ok(http.StatusOK, &hist)
	if len(hist.Entries) != 1 || hist.Entries[0].Consent == nil {
		t.Errorf("history %+v", hist)
	}

	// Temporary residence elsewhere and the expiry list.
	today := time.Now().In(residence.Zone)
	until := today.AddDate(0, 0, 10).Format(time.DateOnly)
	tmp := meta(map[string]any{"pin": wife.PIN, "place": map[string]any{"era": "34", "province": hanoi, "commune": ngocHa}, "until": until})
	var reg cancuoc.TemporaryRegistration
	e.do("POST", "/v1/residence/temporary", e.ngocHaOfficer, tmp).ok(http.StatusCreated, &reg)
	var page struct {
		Items []residence.ExpiryItem `json:"items"`
	}
	e.do("GET", "/v1/residence/temporary?within_days=30", e.ngocHaOfficer, nil).ok(http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].DaysLeft != 10 {
		t.Errorf("expiry list %+v", page)
	}
	e.do("GET", "/v1/residence/temporary?commune="+ngocHa, e.baDinhOfficer, nil).problem(http.StatusForbidden, "outside_jurisdiction")
	e.do("GET", "/v1/residence/temporary?within_days=999", e.ngocHaOfficer, nil).problem(http.StatusBadRequest, "within_days_range")
	e.do("GET", "/v1/residence/temporary?cursor=bm90YWN1cnNvcg", e.ngocHaOfficer, nil).problem(http.StatusBadRequest, "cursor_invalid")
	e.do("POST", "/v1/citizens/"+string(wife.PIN)+"/temporary-residence/renewal", e.ngocHaOfficer,
		meta(map[string]any{"until": today.AddDate(1, 0, 0).Format(time.DateOnly)})).ok(http.StatusOK, &reg)

	// A stay notification from the hotel: deadline and lateness reported.
	arrival := time.Now().Add(-30 * time.Minute)
	stay := map[string]any{"reference": "HT-1", "host": "Khách sạn Ba Đình", "place": addr, "arrival": arrival.Format(time.RFC3339),
		"guests": []map[string]any{{"pin": head.PIN}, {"name": "John Smith", "document": "P1234567"}}}
	var n cancuoc.StayNotification
	e.do("POST", "/v1/stays", e.hotel, stay).ok(http.StatusCreated, &n)
	want := residence.CheckStay(arrival, n.NotifiedAt)
	if !n.Deadline.Equal(want.Deadline) || n.OnTime != want.OnTime {
		t.Errorf("notification %+v, want %+v", n, want)
	}
	var again cancuoc.StayNotification
	e.do("POST", "/v1/stays", e.hotel, stay).ok(http.StatusCreated, &again)
	if again.ID != n.ID {
		t.Errorf("retry made a second notification")
	}
	stay["place"] = map[string]any{"era": "34", "province": hanoi, "commune": ngocHa}
	e.do("POST", "/v1/stays", e.hotel, stay).problem(http.StatusForbidden, "outside_jurisdiction")
	stay["arrival"] = "tomorrow"
	e.do("POST", "/v1/stays", e.hotel, stay).problem(http.StatusBadRequest, "json_invalid")
	e.do("GET", "/v1/citizens/"+string(head.PIN), e.hotel, nil).problem(http.StatusForbidden, "role_forbidden")
	var stays struct {
		Items []cancuoc.StayNotification `json:"items"`
	}
	e.do("GET", "/v1/stays", e.baDinhOfficer, nil).ok(http.StatusOK, &stays)
	if len(stays.Items) != 1 || stays.Items[0].ID != n.ID {
		t.Errorf("stays %+v", stays)
	}
	e.do("GET", "/v1/stays?from=yesterday", e.baDinhOfficer, nil).problem(http.StatusBadRequest, "instant_format")

	// Marriage and divorce.
	man := e.register("Hoàng Văn Minh", "1990-01-01", "male")
	woman := e.register("Đỗ Thị Lan", "1992-01-01", "female")
	m := meta(map[string]any{"a": man.PIN, "b": woman.PIN, "date": today.Format(time.DateOnly)})
	var pair struct{ A, B cancuoc.Citizen }
	e.do("POST", "/v1/marriages", e.baDinhOfficer, m).ok(http.StatusOK, &pair)
	if pair.A.Spouse == nil || pair.A.Spouse.PIN != woman.PIN || pair.B.MaritalStatus != cancuoc.Married {
		t.Errorf("marriage %+v", pair)
	}
	e.do("POST", "/v1/marriages", e.baDinhOfficer, m).problem(http.StatusConflict, "already_married")
	var div struct{ A, B cancuoc.Citizen }
	e.do("POST", "/v1/divorces", e.baDinhOfficer, m).ok(http.StatusOK, &div)
	if div.A.MaritalStatus != cancuoc.Divorced || div.A.Spouse != nil {
		t.Errorf("divorce %+v", div.A)
	}

	// Deregistration with its cause; causes are public.
	var causes struct {
		Causes []struct{ Code, Label string } `json:"causes"`
	}
	e.do("GET", "/v1/residence/deregistration-causes", "", nil).ok(http.StatusOK, &causes)
	if len(causes.Causes) != 9 {
		t.Errorf("causes %+v", causes)
	}
	var out cancuoc.Citizen
	e.do("POST", "/v1/citizens/"+string(wife.PIN)+"/deregistration", e.baDinhOfficer, meta(map[string]any{"cause": "moon"})).
		problem(http.StatusBadRequest, "cause_unknown")
	e.do("POST", "/v1/citizens/"+string(wife.PIN)+"/deregistration", e.baDinhOfficer, meta(map[string]any{"cause": "settled_abroad"})).ok(http.StatusOK, &out)
	if c := out; c.PermanentResidence != nil || c.Household != nil || c.TemporaryResidence != nil {
		t.Errorf("after deregistration: %+v %+v %+v", c.PermanentResidence, c.Household, c.TemporaryResidence)
	}
	e.do("POST", "/v1/households/"+h.ID+"/head", e.baDinhOfficer, meta(map[string]any{"head_pin": wife.PIN})).
		problem(http.StatusBadRequest, "head_not_member")
}

// TestResidenceOff: without the service the routes answer 503.
func TestResidenceOff(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/v1/stays", e.admin, map[string]any{}).problem(http.StatusServiceUnavailable, "residence_unavailable")
}
