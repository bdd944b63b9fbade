package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc/storetest"
)

// TestConsoleVersion: the citizen page links each version to its page,
// which names who changed what, when, why and on what basis, and shows
// the change value by value (a new street inside the address, not two
// whole addresses); the reading goes through the registry's history
// right and jurisdiction, and is logged.
func TestConsoleVersion(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c, err := e.store.Citizen(ctx, e.me)
	if err != nil {
		t.Fatal(err)
	}
	e.moveWithinWard(t, c)
	u := e.user()
	u.login("/console/login", storetest.PIN(2))
	p := u.get("/console/citizens/" + string(e.me))
	if !strings.Contains(p.body, `/console/citizens/`+string(e.me)+`/versions/3`) {
		t.Fatalf("the history should link version 3:\n%s", p.body)
	}
	p = u.get("/console/citizens/" + string(e.me) + "/versions/3")
	if p.status != 200 || !strings.Contains(p.body, `<tr data-field="permanent_residence.detail"><th scope="row">Nơi thường trú <span class="note">detail</span></th><td><del>số 12 phố Quán Thánh</del></td><td><ins>số 5 phố Phan Đình Phùng</ins></td></tr>`) ||
		strings.Contains(p.body, `data-field="permanent_residence.province"`) ||
		!strings.Contains(p.body, "Cán bộ Ba Đình") || !strings.Contains(p.body, "Luật Cư trú 2020, điều 22") ||
		!strings.Contains(p.body, `href="/console/citizens/`+string(e.me)+`/versions/2"`) {
		t.Fatalf("version 3: %d\n%s", p.status, p.body)
	}
	p = u.get("/console/citizens/" + string(e.me) + "/versions/2?lang=en")
	if p.status != 200 || !strings.Contains(p.body, `<tr data-field="phone"><th scope="row">Phone</th>`) || !strings.Contains(p.body, "<ins>&#43;84987654321</ins>") {
		t.Errorf("version 2 in English: %d\n%s", p.status, p.body)
	}
	found := false
	log, _ := e.store.AuditFor(ctx, e.me, 100)
	for _, a := range log {
		found = found || (a.Actor == e.officer.ID && a.Purpose == "Xem lịch sử hồ sơ trên giao diện cán bộ" && a.Outcome == "ok")
	}
	if !found {
		t.Error("reading a version is not in the access log")
	}
	// Another site's link to a record: a page asking to continue, and no
	// read (nor access-log entry) in the officer's name until they do.
	before, _ := e.store.AuditFor(ctx, e.me, 1000)
	req, _ := http.NewRequest(http.MethodGet, e.root+"/console/citizens/"+string(e.me)+"/versions/3", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := u.do(req); p.status != 200 || !strings.Contains(p.body, `<a href="/console/citizens/`+string(e.me)+`/versions/3" id="continue">`) || strings.Contains(p.body, "diff") {
		t.Errorf("cross-site navigation: %d\n%s", p.status, p.body)
	}
	if after, _ := e.store.AuditFor(ctx, e.me, 1000); len(after) != len(before) {
		t.Errorf("a cross-site navigation read the record: %d access-log entries, was %d", len(after), len(before))
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if p := u.do(req); p.status != 200 || !strings.Contains(p.body, `id="diff"`) {
		t.Errorf("same-origin navigation: %d", p.status)
	}
	for path, want := range map[string]int{
		"/console/citizens/" + string(e.me) + "/versions/0":                 400,
		"/console/citizens/" + string(e.me) + "/versions/x":                 400,
		"/console/citizens/" + string(e.me) + "/versions/99":                404,
		"/console/citizens/" + string(storetest.PIN(3)) + "/versions/1":     403,
		"/console/citizens/" + string(storetest.PIN(3))[:5] + "/versions/1": 400,
	} {
		if p := u.get(path); p.status != want {
			t.Errorf("%s: %d, want %d", path, p.status, want)
		}
	}
}
