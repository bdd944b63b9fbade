package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestConsoleAdmin: a national administrator registers a partner (a bad
// form comes back with what to fix), edits its policy (a stale form is a
// conflict), disables it, and registers an OpenID client whose secret is
// shown once; every action is in the access log with who and when, and
// listed on the pages. A commune officer gets 403 on every admin page and
// form; forms need the session's token.
func TestConsoleAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	admin := e.officerAt(storetest.PIN(3), cancuoc.UnitRef{Province: "79", Commune: "26732"},
		registry.NewPrincipal{Name: "Quản trị viên Trần", Role: cancuoc.RoleNationalAdmin})

	officer := e.user()
	home := officer.login("/console/login", storetest.PIN(2))
	ocsrf := csrfOf(t, home.body)
	for _, path := range []string{"/console/admin/partners", "/console/admin/clients"} {
		if p := officer.get(path); p.status != 403 || !strings.Contains(p.body, "quản trị viên quốc gia") {
			t.Errorf("officer GET %s: %d", path, p.status)
		}
	}
	if p := officer.post("/console/admin/partners", url.Values{"csrf": {ocsrf}, "id": {"evil"}, "name": {"x"}}); p.status != 403 {
		t.Errorf("officer creating a partner: %d", p.status)
	}
	if p := officer.post("/console/admin/clients", url.Values{"csrf": {ocsrf}, "id": {"evil-app"}}); p.status != 403 {
		t.Errorf("officer creating a client: %d", p.status)
	}

	a := e.user()
	p := a.login("/console/login", storetest.PIN(3))
	if p.status != 200 || !strings.Contains(p.body, `id="partners-link"`) || !strings.Contains(p.body, `id="no-queues"`) {
		t.Fatalf("admin home: %d\n%s", p.status, p.body)
	}
	p = a.get("/console/admin/partners")
	if p.status != 200 || !strings.Contains(p.body, `id="new-partner"`) || !strings.Contains(p.body, `value="full_name"`) {
		t.Fatalf("partners page: %d\n%s", p.status, p.body)
	}
	if csp := "form-action 'self';"; !strings.Contains(headerOf(t, a, "/console/admin/partners", "Content-Security-Policy"), csp) {
		t.Errorf("the pages' CSP lacks %s", csp)
	}
	csrf := csrfOf(t, p.body)
	form := url.Values{"csrf": {csrf}, "id": {"bank-vd"}, "name": {"Ngân hàng Ví dụ"}, "kind": {"bank"},
		"field": {"full_name", "birth_date"}, "purpose": {"Xác thực khách hàng (eKYC)"}, "legal_basis": {"Thông tư 17/2024/TT-NHNN"},
		"per_minute": {"600"}}
	if p := a.post("/console/admin/partners", url.Values{"csrf": {"forged"}, "id": {"bank-vd"}}); p.status != 403 {
		t.Errorf("forged token: %d", p.status)
	}
	// No operation checked: the form comes back with the message and the
	// values typed.
	p = a.post("/console/admin/partners", form)
	if p.status != 400 || !strings.Contains(p.body, "ít nhất một thao tác") || !strings.Contains(p.body, `value="Ngân hàng Ví dụ"`) {
		t.Fatalf("partner without operations: %d\n%s", p.status, p.body)
	}
	bad := cloneValues(form)
	bad.Set("per_day", "nhiều")
	if p := a.post("/console/admin/partners", bad); p.status != 400 || !strings.Contains(p.body, "số nguyên không âm") {
		t.Errorf("quota not a number: %d", p.status)
	}
	form["operation"] = []string{"match", "release"}
	p = a.post("/console/admin/partners", form)
	if p.status != 200 || !strings.Contains(p.url, "/console/admin/partners/bank-vd") || !strings.Contains(p.body, `id="done"`) {
		t.Fatalf("partner created: %d %s\n%s", p.status, p.url, p.body)
	}
	got, err := e.partners.Get(ctx, admin, "bank-vd")
	if err != nil || got.Policy.Quota.PerMinute != 600 || len(got.Policy.Operations) != 2 || got.Version != 1 {
		t.Fatalf("stored partner: %v %+v", err, got)
	}
	if !strings.Contains(p.body, "partner.create") || !strings.Contains(p.body, "Quản trị viên Trần") {
		t.Errorf("the partner page should list who created it:\n%s", p.body)
	}

	// Edit the policy at version 1; a second edit from the same stale
	// form is a conflict.
	edit := cloneValues(form)
	edit.Del("id")
	edit.Set("version", "1")
	edit["field"] = []string{"full_name", "birth_date", "sex"}
	if p := a.post("/console/admin/partners/bank-vd", edit); p.status != 200 || !strings.Contains(p.body, "Đã lưu chính sách") {
		t.Fatalf("policy saved: %d\n%s", p.status, p.body)
	}
	if p := a.post("/console/admin/partners/bank-vd", edit); p.status != 409 || !strings.Contains(p.body, "người khác thay đổi") {
		t.Errorf("stale policy form: %d\n%s", p.status, p.body)
	}
	if got, _ := e.partners.Get(ctx, admin, "bank-vd"); len(got.Policy.Fields) != 3 {
		t.Errorf("fields after the edit: %v", got.Policy.Fields)
	}
	if p := a.get("/console/admin/partners/bank-vd/disable"); p.status != 405 {
		t.Errorf("GET disable: %d", p.status)
	}
	if p := a.post("/console/admin/partners/bank-vd/disable", url.Values{"csrf": {csrf}}); p.status != 200 || !strings.Contains(p.body, `id="enable"`) {
		t.Errorf("disable: %d\n%s", p.status, p.body)
	}
	if got, _ := e.partners.Get(ctx, admin, "bank-vd"); !got.Disabled {
		t.Error("the partner is not disabled")
	}
	acts := map[string]bool{}
	es, _ := e.store.AuditSearch(ctx, cancuoc.AuditQuery{Actor: admin.ID, Limit: 100})
	for _, x := range es {
		if x.Purpose == "bank-vd" {
			acts[x.Action] = true
		}
	}
	if !acts["partner.create"] || !acts["partner.update"] || !acts["partner.disable"] {
		t.Errorf("admin actions in the access log: %v", acts)
	}

	// An OpenID client: the secret once, then never again.
	p = a.get("/console/admin/clients")
	if p.status != 200 || !strings.Contains(p.body, `data-client="cancuoc-console"`) {
		t.Fatalf("clients page: %d\n%s", p.status, p.body)
	}
	client := url.Values{"csrf": {csrf}, "id": {"bank-vd-app"}, "name": {"Ứng dụng Ngân hàng Ví dụ"}, "purpose": {"Mở tài khoản trực tuyến"},
		"kind": {"confidential"}, "redirect_uris": {"https://bank.example/cb\nhttps://bank.example/cb2"}, "min_level": {"2"},
		"scope_pid": {"1"}, "partner_id": {"bank-vd"}}
	bad = cloneValues(client)
	bad.Set("redirect_uris", "http://bank.example/cb")
	if p := a.post("/console/admin/clients", bad); p.status != 400 || !strings.Contains(p.body, "https") || strings.Contains(p.body, `id="secret"`) {
		t.Errorf("client with an http redirect: %d", p.status)
	}
	p = a.post("/console/admin/clients", client)
	if p.status != 201 || !strings.Contains(p.body, `id="secret"`) || !strings.Contains(p.body, "ccs_") {
		t.Fatalf("client created: %d\n%s", p.status, p.body)
	}
	c, err := e.store.Client(ctx, "bank-vd-app")
	if err != nil || c.MinLevel != 2 || len(c.RedirectURIs) != 2 || c.PartnerID != "bank-vd" || len(c.SecretHash) == 0 {
		t.Fatalf("stored client: %v %+v", err, c)
	}
	p = a.get("/console/admin/clients")
	if strings.Contains(p.body, "ccs_") || !strings.Contains(p.body, `data-client="bank-vd-app"`) || !strings.Contains(p.body, "Quản trị viên Trần ·") {
		t.Errorf("the list should name who registered the client and never show a secret again:\n%s", p.body)
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// headerOf is a response header of a page.
func headerOf(t *testing.T, u *user, path, name string) string {
	t.Helper()
	res, err := u.c.Get(u.e.root + path)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.Header.Get(name)
}
