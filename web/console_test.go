package web_test

import (
	"net/url"

	"github.com/cancuoc/cancuoc"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc/storetest"
)

// TestConsole: an officer logs in with their own level-2 eID; the console
// acts with the principal linked to their PIN: search and records inside
// the jurisdiction, with the history's diffs; refused outside it; a
// level-1 citizen with no officer link gets no console.
func TestConsole(t *testing.T) {
	e := newEnv(t)
	u := e.user()
	p := u.login("/console/login", storetest.PIN(2))
	if p.status != 200 || !strings.Contains(p.body, "Cán bộ Ba Đình") || !strings.Contains(p.body, "commune_officer") {
		t.Fatalf("officer home: %d %s\n%s", p.status, p.url, p.body)
	}
	p = u.get("/console?name=nguyen")
	if !strings.Contains(p.body, `/console/citizens/`+string(e.me)) || strings.Contains(p.body, string(storetest.PIN(3))) {
		t.Errorf("search should find Ba Đình's citizens only:\n%s", p.body)
	}
	p = u.get("/console/citizens/" + string(e.me))
	if p.status != 200 || !strings.Contains(p.body, `id="v2"`) || !strings.Contains(p.body, "<ins>&#43;84987654321</ins>") ||
		!strings.Contains(p.body, "Công dân báo số điện thoại mới") || !strings.Contains(p.body, "<th scope=\"row\">phone</th>") {
		t.Errorf("record with history: %d\n%s", p.status, p.body)
	}
	if p := u.get("/console/citizens/" + string(storetest.PIN(3))); p.status != 403 || !strings.Contains(p.body, "địa bàn") {
		t.Errorf("outside the jurisdiction: %d", p.status)
	}
	if p := u.get("/console/citizens/123"); p.status != 400 {
		t.Errorf("bad PIN: %d", p.status)
	}
	log, _ := e.store.AuditFor(t.Context(), e.me, 50)
	found := false
	for _, a := range log {
		found = found || (a.Actor == e.officer.ID && a.Action == "citizen.read" && a.Purpose == "Xem hồ sơ trên giao diện cán bộ")
	}
	if !found {
		t.Error("the officer's reading is not in the access log")
	}
	// The data-quality page: the officer's commune only, with a record
	// whose date of birth is partial and ethnicity missing.
	partial := storetest.Minimal(storetest.PIN(9), "Lò Thị Sa", "lo thi sa")
	partial.Home = cancuoc.UnitRef{Province: "01", Commune: "00004"}
	partial.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: "00004"}
	if err := e.store.InsertCitizen(t.Context(), partial); err != nil {
		t.Fatal(err)
	}
	p = u.get("/console/quality")
	if p.status != 200 || strings.Count(p.body, "<tr data-code=") != 1 ||
		!strings.Contains(p.body, `<tr data-code="00004"><th scope="row">Ba Đình</th><td class="n">1</td><td class="n">1</td><td class="n">0</td><td class="n">0</td></tr>`) {
		t.Errorf("quality page: %d\n%s", p.status, p.body)
	}
	// Logging out needs the form's token.
	if p := u.post("/console/logout", url.Values{"csrf": {"x"}}); p.status != 403 {
		t.Errorf("logout with a forged token: %d", p.status)
	}

	// A citizen who is no officer: the provider refuses level 1 for the
	// console's client, and no session opens.
	c := e.user()
	p = c.login("/console/login", e.me)
	if strings.Contains(p.body, "commune_officer") || p.status == 200 && strings.Contains(p.url, "/console/citizens") {
		t.Errorf("a level-1 citizen reached the console: %s", p.url)
	}
	if p := c.get("/console/citizens/" + string(e.me)); !strings.Contains(p.body, `id="login"`) {
		t.Error("no session expected")
	}

}
