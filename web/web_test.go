package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/stats"
)

// apiFigures reads the JSON figures the dashboard must agree with.
func (e *env) apiFigures(path string) stats.Figures {
	e.t.Helper()
	res, err := http.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var f stats.Figures
	if err := json.NewDecoder(res.Body).Decode(&f); err != nil || res.StatusCode != 200 {
		e.t.Fatalf("%s: %d %v", path, res.StatusCode, err)
	}
	return f
}

var rowValue = regexp.MustCompile(`<tr data-code="([0-9]*)" data-value="([0-9]+)">`)
var pathValue = regexp.MustCompile(`<path d="[^"]+" fill="(#[0-9a-f]{6})" data-code="([0-9]+)" data-value="([0-9]+)"`)

// TestDashboard: the page's table and map carry the API's figures, for
// each measure, nationally and for one province's communes.
func TestDashboard(t *testing.T) {
	e := newEnv(t)
	u := e.user()
	for _, measure := range []string{"population", "eid-accounts", "cards"} {
		api := e.apiFigures("/v1/stats/" + measure)
		p := u.get("/dashboard?measure=" + measure)
		if p.status != 200 {
			t.Fatalf("%s: %d %s", measure, p.status, p.body)
		}
		rows := rowValue.FindAllStringSubmatch(p.body, -1)
		if len(rows) != 34 {
			t.Fatalf("%s: %d rows", measure, len(rows))
		}
		shapes := pathValue.FindAllStringSubmatch(p.body, -1)
		if len(shapes) != 34 {
			t.Fatalf("%s: %d provinces on the map", measure, len(shapes))
		}
		want := map[string]string{}
		for _, r := range api.Rows {
			want[r.Code] = strconv.FormatInt(r.Value, 10)
		}
		for _, r := range rows {
			if want[r[1]] != r[2] {
				t.Errorf("%s: table row %s = %s, API %s", measure, r[1], r[2], want[r[1]])
			}
		}
		for _, s := range shapes {
			if want[s[2]] != s[3] {
				t.Errorf("%s: map %s = %s, API %s", measure, s[2], s[3], want[s[2]])
			}
			if (s[3] == "0") != (s[1] == "#f0f0f0") {
				t.Errorf("%s: province %s of value %s is coloured %s", measure, s[2], s[3], s[1])
			}
		}
		if !strings.Contains(p.body, `id="total" data-value="`+strconv.FormatInt(api.Total.Value, 10)+`"`) {
			t.Errorf("%s: total differs from the API's %d", measure, api.Total.Value)
		}
	}
	// Hà Nội's communes: the two living people of Ba Đình, fewer than
	// k = 10, are shown as "<10", never as 2.
	p := u.get("/dashboard/01?measure=population")
	if p.status != 200 || !strings.Contains(p.body, `<tr data-code="00004" data-value="suppressed">`) ||
		!strings.Contains(p.body, `<td class="n">&lt;10</td>`) || strings.Count(p.body, "<path ") != 1 {
		t.Errorf("Hà Nội page: %d, Ba Đình row or the single outline missing", p.status)
	}
	if p := u.get("/dashboard?measure=cards&lang=en"); !strings.Contains(p.body, `lang="en"`) || !strings.Contains(p.body, "Valid identity cards") {
		t.Error("English page not in English")
	}
	if p := u.get("/dashboard?measure=nope"); p.status != 404 || !strings.Contains(p.body, "/v1/stats") {
		t.Errorf("unknown measure: %d", p.status)
	}
	if p := u.get("/dashboard/99"); p.status != 404 {
		t.Errorf("unknown province: %d", p.status)
	}
	// Offline: every asset the page names is served by us.
	for _, asset := range []string{"/static/app.css", "/static/dashboard.js"} {
		if p := u.get(asset); p.status != 200 {
			t.Errorf("%s: %d", asset, p.status)
		}
	}
	if strings.Contains(p.body, "http://") || strings.Contains(p.body, "https://") {
		t.Error("the dashboard refers to an external URL")
	}
}

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	f := hiddenFields(body)
	if f.Get("csrf") == "" {
		t.Fatalf("no CSRF token in the page:\n%s", body)
	}
	return f.Get("csrf")
}

// TestPortal: a citizen logs in through the provider, reads their record
// and who accessed it (filtered), revokes a consent in one click, and
// locks their account; forms without the session's token are refused.
func TestPortal(t *testing.T) {
	e := newEnv(t)
	u := e.user()
	if p := u.get("/portal/record"); !strings.Contains(p.url, "/portal") || !strings.Contains(p.body, `id="login"`) {
		t.Fatalf("signed out: %s", p.url)
	}
	p := u.login("/portal/login", e.me)
	if p.status != 200 || !strings.HasSuffix(p.url, "/portal/record") || !strings.Contains(p.body, "Nguyễn Văn Đức") ||
		!strings.Contains(p.body, string(e.me)) || !strings.Contains(p.body, "Phúc Xá") && !strings.Contains(p.body, "Ba Đình") {
		t.Fatalf("after login: %d %s\n%s", p.status, p.url, p.body)
	}

	reads := func() int {
		es, _ := e.store.AuditFor(t.Context(), e.me, 500)
		n := 0
		for _, x := range es {
			if x.Action == "audit.read_access_log" && x.Actor != "" && strings.HasPrefix(x.Actor, "eid:") {
				n++
			}
		}
		return n
	}
	before := reads()
	p = u.get("/portal/access-log")
	if got := reads() - before; got != 1 {
		t.Errorf("showing the log recorded %d readings, want 1", got)
	}
	if !strings.Contains(p.body, "Ngân hàng Ví dụ (NHVD)") || !strings.Contains(p.body, "Mở tài khoản thanh toán") {
		t.Errorf("access log lacks the bank's read:\n%s", p.body)
	}
	if !strings.Contains(p.body, "Bạn xem hồ sơ") {
		t.Error("the citizen's own reading is not in their log")
	}
	p = u.get("/portal/access-log?actor=" + url.QueryEscape(e.bank.ID))
	if strings.Count(p.body, `data-actor="`+e.bank.ID+`"`) != 1 || strings.Count(p.body, `data-actor="`) != 1 {
		t.Errorf("filter by the bank: %d rows", strings.Count(p.body, `data-actor="`))
	}
	if p = u.get("/portal/access-log?from=2000-01-01&to=2000-12-31"); strings.Count(p.body, `data-actor="`) != 0 {
		t.Error("a period with no access shows rows")
	}
	if p = u.get("/portal/access-log?from=yesterday"); p.status != 400 || !strings.Contains(p.body, "năm-tháng-ngày") {
		t.Errorf("bad date: %d", p.status)
	}

	p = u.get("/portal/consents")
	if !strings.Contains(p.body, `data-client="bank-app"`) || !strings.Contains(p.body, "Mở tài khoản (eKYC)") {
		t.Fatalf("consents:\n%s", p.body)
	}
	token := csrfOf(t, p.body)
	if p := u.post("/portal/consents/revoke", url.Values{"client_id": {"bank-app"}, "csrf": {"forged"}}); p.status != 403 {
		t.Errorf("revoke with a forged token: %d", p.status)
	}
	p = u.post("/portal/consents/revoke", url.Values{"client_id": {"bank-app"}, "csrf": {token}})
	if p.status != 200 || !strings.Contains(p.body, `id="revoked"`) {
		t.Fatalf("revoke: %d %s", p.status, p.body)
	}
	cs, _ := e.store.Consents(t.Context(), e.me)
	for _, c := range cs {
		if c.ClientID == "bank-app" && c.RevokedAt == nil {
			t.Error("the consent is still in force")
		}
	}

	p = u.get("/portal/account")
	if !strings.Contains(p.body, `id="level">1<`) || !strings.Contains(p.body, "&#43;84912345678") {
		t.Errorf("account page:\n%s", p.body)
	}
	if p := u.post("/portal/account/lock", url.Values{"csrf": {csrfOf(t, p.body)}}); p.status != 400 {
		t.Errorf("lock without confirmation: %d", p.status)
	}
	p = u.get("/portal/account")
	p = u.post("/portal/account/lock", url.Values{"csrf": {csrfOf(t, p.body)}, "confirm": {"yes"}})
	if p.status != 200 {
		t.Fatalf("lock: %d %s", p.status, p.body)
	}
	acc, _ := e.store.AccountByPIN(t.Context(), e.me)
	if acc.Status != cancuoc.AccountLocked {
		t.Errorf("account status %s after locking", acc.Status)
	}
	if p := u.get("/portal/record"); !strings.Contains(p.body, `id="login"`) {
		t.Error("locking did not end the session")
	}
}

// TestSessionEndsWithAccount: an account locked by someone else (here
// through the store, as an officer's action would) ends the session.
func TestSessionEndsWithAccount(t *testing.T) {
	e := newEnv(t)
	u := e.user()
	if p := u.login("/portal/login", e.me); !strings.Contains(p.body, `id="record"`) {
		t.Fatal("login failed")
	}
	acc, _ := e.store.AccountByPIN(t.Context(), e.me)
	prev := acc.Version
	acc.Status, acc.Version = cancuoc.AccountSuspended, acc.Version+1
	if err := e.store.UpdateAccount(t.Context(), acc, prev); err != nil {
		t.Fatal(err)
	}
	if p := u.get("/portal/record"); !strings.Contains(p.body, `id="login"`) || strings.Contains(p.body, `id="record"`) {
		t.Error("a suspended account still reads the portal")
	}
}

// TestSessionCookie: a forged or foreign cookie is no session.
func TestSessionCookie(t *testing.T) {
	e := newEnv(t)
	for _, v := range []string{"", "x", strings.Repeat("A", 80)} {
		req, _ := http.NewRequest("GET", e.root+"/portal/record", nil)
		req.AddCookie(&http.Cookie{Name: "cancuoc_portal", Value: v})
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/portal" {
			t.Errorf("cookie %q: %d %s", v, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// The console's cookie is sealed for the console only.
	u := e.user()
	u.login("/portal/login", e.me)
	base, _ := url.Parse(e.root + "/portal/")
	var portal string
	for _, c := range u.c.Jar.Cookies(base) {
		if c.Name == "cancuoc_portal" {
			portal = c.Value
		}
	}
	req, _ := http.NewRequest("GET", e.root+"/console", nil)
	req.AddCookie(&http.Cookie{Name: "cancuoc_console", Value: portal})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 { // the console's login page
		t.Errorf("portal cookie as console cookie: %d", res.StatusCode)
	}
}

// TestUnknownPages: a trailing slash leads to the area's page and an unknown
// page of an area is the site's own page in Vietnamese (a person followed a
// link), not the API's JSON.
func TestUnknownPages(t *testing.T) {
	e := newEnv(t)
	u := e.user()
	for _, area := range []string{"/portal", "/console", "/dashboard"} {
		if p := u.get(area + "/"); p.status != 200 || strings.HasSuffix(p.url, "/") {
			t.Errorf("%s/: %d at %s", area, p.status, p.url)
		}
		p := u.get(area + "/no-such/page")
		if p.status != http.StatusNotFound || !strings.Contains(p.body, "Không có trang này") || !strings.Contains(p.body, "<html") {
			t.Errorf("%s/no-such/page: %d\n%.300s", area, p.status, p.body)
		}
	}
	if p := u.get("/dashboard/79"); p.status != 200 {
		t.Errorf("a province's dashboard: %d", p.status)
	}
}
