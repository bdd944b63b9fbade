package web_test

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestBrowserDashboardAndWorkLists, in Chromium at a phone's width: for
// every measure the dashboard lists (one registered late among them), the
// map and the table carry the API's figures; the trend line's points are
// the API's snapshots; a click on a province opens its communes; an
// officer walks a work list to its second page and opens a record.
func TestBrowserDashboardAndWorkLists(t *testing.T) {
	exe := chromium(t)
	e := newEnv(t)
	e.addIncomplete(0, 55, "00004")
	e.stats.Register(applications{})
	old := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	if err := e.store.SaveSnapshot(t.Context(), []cancuoc.SnapshotPoint{{Measure: "population", At: old, Value: 40}}); err != nil {
		t.Fatal(err)
	}
	if err := e.stats.Snapshot(t.Context()); err != nil {
		t.Fatal(err)
	}
	shots := shotsDir(t)
	ctx := browser(t, exe, 390, true)

	var list struct{ Measures []stats.Info }
	if err := json.Unmarshal([]byte(e.user().get("/v1/stats").body), &list); err != nil || len(list.Measures) < 4 {
		t.Fatalf("measures: %v %v", list, err)
	}
	for _, m := range list.Measures {
		api := e.apiFigures("/v1/stats/" + m.ID)
		if err := chromedp.Do(ctx,
			named(m.ID, chromedp.Navigate(e.root+"/dashboard?measure="+m.ID)),
			named(m.ID+" map", chromedp.WaitVisible(chromedp.CSS("#map path")))); err != nil {
			failAt(t, ctx, err)
		}
		shown, err := chromedp.Run(ctx, chromedp.Evaluate[[2]map[string]string](`[
			Object.fromEntries([...document.querySelectorAll("#map path")].map(p => [p.dataset.code, p.dataset.value])),
			Object.fromEntries([...document.querySelectorAll("#figures tbody tr")].map(r => [r.dataset.code, r.dataset.value]))]`))
		if err != nil {
			t.Fatal(err)
		}
		if len(shown[0]) != 34 {
			t.Errorf("%s: %d provinces drawn", m.ID, len(shown[0]))
		}
		for _, r := range api.Rows {
			want := strconv.FormatInt(r.Value, 10)
			if shown[0][r.Code] != want || shown[1][r.Code] != want {
				t.Errorf("%s, province %s: map %s, table %s, API %s", m.ID, r.Code, shown[0][r.Code], shown[1][r.Code], want)
			}
		}
	}

	// The trend line: one point per snapshot, the API's values.
	api := e.apiFigures("/v1/stats/population")
	if err := chromedp.Do(ctx, chromedp.Navigate(e.root+"/dashboard"), named("history", chromedp.WaitVisible(chromedp.CSS("svg.history path.line"))),
		shot(filepath.Join(shots, "dashboard-history-phone.png"))); err != nil {
		failAt(t, ctx, err)
	}
	points, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("svg.history circle")].map(c => c.dataset.value)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != len(api.History) || len(points) != 2 {
		t.Fatalf("%d points drawn, API has %d snapshots", len(points), len(api.History))
	}
	for i, p := range api.History {
		if points[i] != strconv.FormatInt(p.Value, 10) {
			t.Errorf("point %d: %s, API %d", i, points[i], p.Value)
		}
	}

	// A click on Hà Nội on the map opens its communes.
	if err := chromedp.Do(ctx,
		named("click Hà Nội", chromedp.Click(chromedp.CSS(`#map a[href^="/dashboard/01"]`))),
		named("communes", chromedp.WaitVisible(chromedp.CSS(`#figures tr[data-code="00004"]`))),
		shot(filepath.Join(shots, "dashboard-hanoi-phone.png"))); err != nil {
		failAt(t, ctx, err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != e.root+"/dashboard/01?measure=population" {
		t.Errorf("after the click: %s", loc)
	}

	// The officer's work list, page to page, then a record.
	octx := browser(t, exe, 390, true)
	steps := append(loginSteps(e, "/console", string(storetest.PIN(2))),
		named("officer home", chromedp.WaitVisible(chromedp.CSS("#officer"))),
		named("quality", chromedp.Click(chromedp.CSS("#quality-link"))),
		named("work lists", chromedp.WaitVisible(chromedp.CSS("#worklists"))),
		named("no ethnicity", chromedp.Click(chromedp.CSS(`#worklists a[href="/console/quality/no_ethnicity"]`))),
		named("list", chromedp.WaitVisible(chromedp.CSS("#worklist tbody tr[data-pin]"))),
		shot(filepath.Join(shots, "console-worklist-phone.png")),
		named("next page", chromedp.Click(chromedp.CSS("#next"))),
		named("second page", chromedp.WaitVisible(chromedp.CSS("#first"))),
	)
	if err := chromedp.Do(octx, steps...); err != nil {
		failAt(t, octx, err)
	}
	rows, err := chromedp.Run(octx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#worklist tbody tr[data-pin]")].map(r => r.dataset.pin)`))
	if err != nil || len(rows) != 5 {
		t.Fatalf("second page: %v %v, want 5 rows", rows, err)
	}
	if err := chromedp.Do(octx,
		named("open a record", chromedp.Click(chromedp.CSS(`#worklist tr[data-pin="`+rows[0]+`"] a`))),
		named("record", chromedp.WaitVisible(chromedp.CSS("dl.fields")))); err != nil {
		failAt(t, octx, err)
	}
	if loc, _ := chromedp.Run(octx, chromedp.Location()); loc != e.root+"/console/citizens/"+rows[0] {
		t.Errorf("the row's link opened %s", loc)
	}
}
