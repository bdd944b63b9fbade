package web_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	qualitylists "github.com/cancuoc/cancuoc/quality"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/storetest"
)

var listRow = regexp.MustCompile(`<tr data-pin="([0-9]{12})"><td><a href="/console/citizens/([0-9]{12})">`)
var nextHref = regexp.MustCompile(`<a href="([^"]+)" id="next" rel="next">`)

// addIncomplete stores n living people of a commune with no ethnicity.
func (e *env) addIncomplete(from, n int, commune string) []cancuoc.PIN {
	e.t.Helper()
	var out []cancuoc.PIN
	for i := range n {
		c := storetest.Minimal(storetest.PIN(100+from+i), "Lò Văn Sáng", "lo van sang")
		c.BirthDate = cancuoc.Date{Year: c.BirthDate.Year, Month: 3, Day: 1 + i%28}
		c.Home = cancuoc.UnitRef{Province: "01", Commune: commune}
		c.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: commune}
		if err := e.store.InsertCitizen(e.t.Context(), c); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, c.PIN)
	}
	return out
}

// TestConsoleWorkLists: the officer's list of records without ethnicity is
// their commune's, in pages of 50 linked by "next", each row linking to
// the record, each record shown in the citizen's access log; suspected
// duplicates after a recount; refusals explained.
func TestConsoleWorkLists(t *testing.T) {
	e := newEnv(t)
	mine := e.addIncomplete(0, qualitylists.PageSize+4, "00004")
	other := e.addIncomplete(500, 1, "00008") // Ngọc Hà: another commune
	u := e.user()
	if p := u.login("/console/login", storetest.PIN(2)); p.status != 200 {
		t.Fatalf("login: %d", p.status)
	}
	p := u.get("/console/quality")
	if !strings.Contains(p.body, `href="/console/quality/no_ethnicity"`) || !strings.Contains(p.body, `href="/console/quality/duplicates"`) {
		t.Fatalf("the overview links no work list:\n%s", p.body)
	}
	var seen []string
	path := "/console/quality/no_ethnicity"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("the list does not end")
		}
		p = u.get(path)
		if p.status != 200 {
			t.Fatalf("%s: %d %s", path, p.status, p.body)
		}
		rows := listRow.FindAllStringSubmatch(p.body, -1)
		if pages == 0 && len(rows) != qualitylists.PageSize {
			t.Fatalf("first page: %d rows, want %d", len(rows), qualitylists.PageSize)
		}
		for _, r := range rows {
			if r[1] != r[2] {
				t.Errorf("row %s links to %s", r[1], r[2])
			}
			seen = append(seen, r[1])
		}
		path = ""
		if m := nextHref.FindStringSubmatch(p.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != len(mine) {
		t.Errorf("%d records listed, want the commune's %d", len(seen), len(mine))
	}
	if strings.Contains(strings.Join(seen, ","), string(other[0])) {
		t.Error("another commune's record is on the commune officer's list")
	}
	log, _ := e.store.AuditFor(t.Context(), mine[len(mine)-1], 10)
	if len(log) != 1 || log[0].Actor != e.officer.ID || log[0].Action != qualitylists.Action {
		t.Errorf("access log of a listed record: %+v", log)
	}
	// Refusals, each explained in Vietnamese.
	for path, want := range map[string]int{
		"/console/quality/nonsense":                                400,
		"/console/quality/no_ethnicity?after=xyz":                  400,
		"/console/quality/no_ethnicity?province=79":                403,
		"/console/quality/partial_birth?province=01&commune=00008": 403,
	} {
		if p := u.get(path); p.status != want || !strings.Contains(p.body, `lang="vi"`) {
			t.Errorf("%s: %d, want %d", path, p.status, want)
		}
	}
	// English on request.
	if p := u.get("/console/quality/no_ethnicity?lang=en"); !strings.Contains(p.body, "No ethnicity") || !strings.Contains(p.body, "Next page") {
		t.Error("the list is not in English")
	}

	// Two records of one man (the marks lost in one): after a recount the
	// pair is listed with its score and reasons.
	ctx := t.Context()
	for i, name := range []string{"Đinh Văn Tùng", "Dinh Van Tung"} {
		c := storetest.Minimal(storetest.PIN(900+i), name, "dinh van tung")
		c.BirthDate, c.Sex = cancuoc.Date{Year: 1970, Month: 8, Day: 8}, cancuoc.Male
		c.Ethnicity = "01"
		c.Home = cancuoc.UnitRef{Province: "01", Commune: "00004"}
		c.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: "00004"}
		c.Father = &cancuoc.Relative{Name: "Đinh Văn Bảy"}
		if err := e.store.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	w := audit.NewWriter(e.store, 0)
	defer w.Close()
	if _, err := qualitylists.New(e.store, w).Recount(ctx); err != nil {
		t.Fatal(err)
	}
	p = u.get("/console/quality/duplicates?lang=vi")
	if p.status != 200 || !strings.Contains(p.body, `data-pin="`+string(storetest.PIN(900))+`" data-other="`+string(storetest.PIN(901))+`"`) ||
		!strings.Contains(p.body, "cùng tên cha") || !strings.Contains(p.body, `<td class="n">65</td>`) {
		t.Errorf("duplicates page: %d\n%s", p.status, p.body)
	}
}

// applications stands for a measure another capability registers after
// the site is built (the eID applications of branch h2/apps).
type applications struct{}

func (applications) Info() stats.Info {
	return stats.Info{ID: "applications", Title: stats.Label{VI: "Hồ sơ đề nghị cấp định danh", EN: "eID applications"}}
}

func (applications) Count(context.Context, string) (*stats.Counts, error) {
	return &stats.Counts{Columns: []stats.Column{{Key: "received", Label: stats.Label{VI: "Đã nhận", EN: "Received"}},
		{Key: "approved", Label: stats.Label{VI: "Đã duyệt", EN: "Approved"}}},
		ByUnit: map[string][]int64{"01": {7, 5}, "79": {3, 1}}}, nil
}

var historyPoint = regexp.MustCompile(`<circle cx="[0-9.]+" cy="[0-9.]+" r="3" data-at="([^"]+)" data-value="([0-9]+)">`)

// TestDashboardHistoryAndLateMeasure: snapshots become the line chart
// (each point the API's), and a measure registered after start appears in
// the list, on the map and in the API alike.
func TestDashboardHistoryAndLateMeasure(t *testing.T) {
	e := newEnv(t)
	u := e.user()
	if p := u.get("/dashboard"); strings.Contains(p.body, `class="history"`) {
		t.Error("a history chart with no snapshots")
	}
	// Two earlier snapshots stored, then one taken now.
	ctx := t.Context()
	old := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	if err := e.store.SaveSnapshot(ctx, []cancuoc.SnapshotPoint{
		{Measure: "population", At: old, Value: 1}, {Measure: "population", At: old.Add(24 * time.Hour), Value: 2},
		{Measure: "population", Unit: "01", At: old, Value: 1},
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.stats.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	api := e.apiFigures("/v1/stats/population")
	if len(api.History) != 3 || api.History[2].Value != api.Total.Value {
		t.Fatalf("API history %+v, total %d", api.History, api.Total.Value)
	}
	p := u.get("/dashboard")
	pts := historyPoint.FindAllStringSubmatch(p.body, -1)
	if len(pts) != 3 {
		t.Fatalf("%d points drawn\n%s", len(pts), p.body)
	}
	for i, pt := range pts {
		if pt[1] != api.History[i].At.Format("2006-01-02T15:04:05Z") || pt[2] != strconv.FormatInt(api.History[i].Value, 10) {
			t.Errorf("point %d: %s %s, API %+v", i, pt[1], pt[2], api.History[i])
		}
	}
	if p := u.get("/dashboard/01"); strings.Count(p.body, `r="3" data-at=`) != 2 {
		t.Errorf("Hà Nội's history: want its 2 points")
	}

	e.stats.Register(applications{})
	api = e.apiFigures("/v1/stats/applications")
	p = u.get("/dashboard?measure=applications")
	if p.status != 200 || !strings.Contains(p.body, `<option value="applications" selected>`) {
		t.Fatalf("late measure: %d", p.status)
	}
	for _, r := range api.Rows {
		if !strings.Contains(p.body, `data-code="`+r.Code+`" data-value="`+strconv.FormatInt(r.Value, 10)+`"`) {
			t.Errorf("province %s: map or table differs from the API's %d", r.Code, r.Value)
		}
	}
	var list struct{ Measures []stats.Info }
	res := u.get("/v1/stats")
	if err := json.Unmarshal([]byte(res.body), &list); err != nil || len(list.Measures) == 0 || list.Measures[len(list.Measures)-1].ID != "applications" {
		t.Errorf("the API does not list the late measure last: %s", res.body)
	}
}
