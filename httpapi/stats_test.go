package httpapi_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestStatsRoutes checks the public figures over a real store: no key
// needed, every province present, commune drill-down, errors as problems.
func TestStatsRoutes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	for i, home := range []cancuoc.UnitRef{{Province: hanoi, Commune: baDinh}, {Province: hanoi, Commune: baDinh}, {Province: hcmCity, Commune: "26732"}} {
		c := storetest.Minimal(storetest.PINFor("0"+home.Province, cancuoc.Female, 1995, 500+i), "Đỗ Thị Hà", "do thi ha")
		c.Home = home
		if err := e.store.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	httpapi.New(e.reg, log).WithStats(stats.New().Builtin(e.store)).Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	e.srv = srv

	var list struct{ Measures []stats.Info }
	e.do("GET", "/v1/stats", "", nil).ok(http.StatusOK, &list)
	if len(list.Measures) != 3 {
		t.Fatalf("measures: %+v", list.Measures)
	}
	var f stats.Figures
	r := e.do("GET", "/v1/stats/population", "", nil).ok(http.StatusOK, &f)
	if r.header.Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	if len(f.Rows) != 34 || f.Total.Value != 3 {
		t.Fatalf("population: %d rows, total %d", len(f.Rows), f.Total.Value)
	}
	// Commune level: Ba Đình's 2 people are below k = 10, so the API
	// publishes null with the suppressed flag, never 2.
	f = stats.Figures{}
	r = e.do("GET", "/v1/stats/population/"+hanoi, "", nil).ok(http.StatusOK, &f)
	if f.MinCount != stats.DefaultMinCount || !strings.Contains(string(r.body), `"code":"`+baDinh+`","name":"Ba Đình","name_en":"Ba Dinh","suppressed":true,"parts_suppressed":[true],"value":null,"parts":[null]`) {
		t.Errorf("Ba Đình should be withheld: %.400s", r.body)
	}
	for _, row := range f.Rows {
		if row.Code == baDinh && (row.Value != 0 || !row.Suppressed) {
			t.Errorf("Ba Đình: %+v", row)
		}
	}
	if f.Province != hanoi || f.Total.Value != 2 {
		t.Errorf("Hà Nội: province %q total %d", f.Province, f.Total.Value)
	}
	e.do("GET", "/v1/stats/nope", "", nil).problem(http.StatusNotFound, "measure_unknown")
	e.do("GET", "/v1/stats/population/99", "", nil).problem(http.StatusNotFound, "province_unknown")

	// Without the service the routes say so.
	e2 := newEnv(t)
	e2.do("GET", "/v1/stats", "", nil).problem(http.StatusServiceUnavailable, "stats_unavailable")
}
