package web_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/web"
)

// slowBrowser is browser at a phone's width with more time: this journey
// takes three logins and runs on a machine other test runs share.
func slowBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("hide-scrollbars", true), chromedp.WindowSize(390, 900)}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 900, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

// newAppsEnv is the env with online applications mounted, and a second
// officer: PIN 3 (level 2) works for Ngọc Hà, a commune next to Ba Đình.
func newAppsEnv(t *testing.T) (*env, *cancuoc.Principal) {
	t.Helper()
	e := newEnv(t, func(e *env, site *web.Site) {
		w := audit.NewWriter(e.store, 0)
		t.Cleanup(func() { w.Close() })
		site.WithApplications(application.New(e.reg, residence.New(e.reg, w), e.eid, w, nil, application.DefaultConfig()))
	})
	ctx := t.Context()
	e.register(storetest.PIN(3))
	admin := &cancuoc.Principal{ID: "root", Role: cancuoc.RoleNationalAdmin}
	if _, err := e.eid.GrantLevel2(ctx, admin, storetest.PIN(3), "Kiểm tra trực tiếp thẻ căn cước"); err != nil {
		t.Fatal(err)
	}
	ngocHa, _, err := e.reg.CreatePrincipal(ctx, admin, registry.NewPrincipal{Name: "Cán bộ Ngọc Hà", Role: cancuoc.RoleCommuneOfficer,
		Jurisdiction: cancuoc.Jurisdiction{Province: "01", Commune: "00008"}, OfficerPIN: string(storetest.PIN(3))})
	if err != nil {
		t.Fatal(err)
	}
	return e, ngocHa
}

// TestApplicationsBrowser: in Chromium, the citizen files a temporary
// residence in Ngọc Hà from the portal; Ba Đình's officer does not see it
// in the queue and is refused its page (the refusal is in the citizen's
// access log); Ngọc Hà's officer approves it, the record then shows the
// temporary residence, and the citizen sees the decision.
func TestApplicationsBrowser(t *testing.T) {
	exe := chromium(t)
	e, ngocHa := newAppsEnv(t)
	shots := shotsDir(t)
	png := func(page string) string { return filepath.Join(shots, page+"-phone.png") }

	ctx := slowBrowser(t, exe)
	steps := append(loginSteps(e, "/portal", string(e.me)),
		named("record", chromedp.WaitVisible(chromedp.CSS("#ask-correction"))),
		named("applications", chromedp.Navigate(e.root+"/portal/applications")),
		chromedp.Click(chromedp.CSS("#apply-temporary")),
		named("form", chromedp.WaitVisible(chromedp.CSS("#province"))),
		chromedp.SendKeys(chromedp.CSS("#province"), "01"),
		chromedp.SendKeys(chromedp.CSS("#commune"), "00008"),
		chromedp.SendKeys(chromedp.CSS("#detail"), "số 3 phố Hoàng Hoa Thám"),
		chromedp.SetValue(chromedp.CSS("#until"), "2027-06-30"),
		chromedp.SendKeys(chromedp.CSS("#note"), "Đi làm"),
		shot(png("portal-apply-temporary")),
		chromedp.Click(chromedp.CSS("#submit")),
		named("filed", chromedp.WaitVisible(chromedp.CSS("#filed"))),
		shot(png("portal-applications")))
	if err := chromedp.Do(ctx, steps...); err != nil {
		failAt(t, ctx, err)
	}
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#applications tbody tr").dataset.id`))
	if err != nil || !strings.HasPrefix(id, "ap_") {
		t.Fatalf("filed application's ID: %q %v", id, err)
	}

	// Ba Đình's officer: not in the queue, refused on the page.
	octx := slowBrowser(t, exe)
	steps = append(loginSteps(e, "/console", string(storetest.PIN(2))),
		named("officer home", chromedp.WaitVisible(chromedp.CSS("#applications-link"))),
		chromedp.Click(chromedp.CSS("#applications-link")),
		named("queue", chromedp.WaitVisible(chromedp.CSS("#queue"))))
	if err := chromedp.Do(octx, steps...); err != nil {
		failAt(t, octx, err)
	}
	if n, err := chromedp.Run(octx, chromedp.Evaluate[int](`document.querySelectorAll('#queue tr[data-id="`+id+`"]').length`)); err != nil || n != 0 {
		t.Errorf("Ba Đình's queue lists Ngọc Hà's application: %d %v", n, err)
	}
	if err := chromedp.Do(octx, named("refused page", chromedp.Navigate(e.root+"/console/applications/"+id)),
		chromedp.WaitVisible(chromedp.CSS(".error")), shot(png("console-application-refused"))); err != nil {
		failAt(t, octx, err)
	}
	if text, _ := chromedp.Run(octx, chromedp.TextContent(chromedp.CSS(".error"))); !strings.Contains(text, "địa bàn khác") {
		t.Errorf("refusal text: %q", text)
	}
	if n, _ := chromedp.Run(octx, chromedp.Evaluate[int](`document.querySelectorAll("#approve").length`)); n != 0 {
		t.Error("the refused officer is shown the approve button")
	}

	// Ngọc Hà's officer approves.
	nctx := slowBrowser(t, exe)
	steps = append(loginSteps(e, "/console", string(storetest.PIN(3))),
		named("officer home", chromedp.WaitVisible(chromedp.CSS("#applications-link"))),
		chromedp.Click(chromedp.CSS("#applications-link")),
		named("queue row", chromedp.WaitVisible(chromedp.CSS(`#queue tr[data-id="`+id+`"] a`))),
		shot(png("console-applications")),
		chromedp.Click(chromedp.CSS(`#queue tr[data-id="`+id+`"] a`)),
		named("detail", chromedp.WaitVisible(chromedp.CSS("#approve-reason"))),
		chromedp.SendKeys(chromedp.CSS("#approve-reason"), "Đủ điều kiện đăng ký tạm trú"),
		shot(png("console-application")),
		chromedp.Click(chromedp.CSS("#approve")),
		named("decided", chromedp.WaitVisible(chromedp.CSS("#decided"))))
	if err := chromedp.Do(nctx, steps...); err != nil {
		failAt(t, nctx, err)
	}
	// The record, as Ba Đình's officer (of the person's home) reads it,
	// shows the temporary residence in a new version.
	if err := chromedp.Do(octx, chromedp.Navigate(e.root+"/console/citizens/"+string(e.me)),
		named("record's new version", chromedp.WaitVisible(chromedp.CSS("#v3"))), shot(png("console-citizen-after"))); err != nil {
		failAt(t, octx, err)
	}
	if text, _ := chromedp.Run(octx, chromedp.TextContent(chromedp.CSS("main"))); !strings.Contains(text, "Hoàng Hoa Thám") {
		t.Errorf("the record page does not show the temporary residence: %q", text)
	}
	c, err := e.store.Citizen(t.Context(), e.me)
	if err != nil || c.TemporaryResidence == nil || c.TemporaryResidence.Place.Commune != "00008" {
		t.Fatalf("record after approval: %+v %v", c, err)
	}

	// The citizen sees the decision (over HTTP: the first browser's time
	// is spent); the refused look is in their access log.
	u := e.user()
	u.login("/portal/login", e.me)
	if p := u.get("/portal/applications"); !strings.Contains(p.body, `data-id="`+id+`" data-status="approved"`) {
		t.Errorf("the citizen's list after approval: %s", p.body)
	}
	log, err := e.store.AuditFor(t.Context(), e.me, 500)
	if err != nil {
		t.Fatal(err)
	}
	refused, approved := false, false
	for _, a := range log {
		refused = refused || (a.Action == "application.read" && a.Actor == e.officer.ID && a.Outcome == "outside_jurisdiction")
		approved = approved || (a.Action == "application.approve" && a.Actor == ngocHa.ID && a.Outcome == "ok")
	}
	if !refused || !approved {
		t.Errorf("access log: refused look %v, approval %v", refused, approved)
	}
}

// TestApplicationForms without a browser: a POST without the CSRF token is
// refused, a bad request comes back as the form with the reason, in
// Vietnamese and in English.
func TestApplicationForms(t *testing.T) {
	e, _ := newAppsEnv(t)
	u := e.user()
	u.login("/portal/login", e.me)
	p := u.get("/portal/applications/new?kind=correction")
	if p.status != 200 || !strings.Contains(p.body, `name="field"`) {
		t.Fatalf("correction form: %d %s", p.status, p.body)
	}
	f := url.Values{"kind": {"correction"}, "field": {"blood_type"}, "value": {"Z+"}, "reason": {"Giấy xét nghiệm"}}
	if p := u.post("/portal/applications", f); p.status != 403 {
		t.Errorf("POST without CSRF: %d", p.status)
	}
	f.Set("csrf", hiddenFields(p.body).Get("csrf"))
	p = u.post("/portal/applications", f)
	if p.status != 400 || !strings.Contains(p.body, `class="error"`) || !strings.Contains(p.body, `value="Z&#43;"`) {
		t.Errorf("invalid blood type: %d %s", p.status, p.body)
	}
	f.Set("value", "AB-")
	p = u.post("/portal/applications", f)
	if p.status != 200 || !strings.Contains(p.body, `id="filed"`) || !strings.Contains(p.body, "AB-") {
		t.Errorf("filed correction: %d %s", p.status, p.body)
	}
	if p := u.get("/portal/applications?lang=en"); !strings.Contains(p.body, "Correction of the record") || !strings.Contains(p.body, "Submitted") {
		t.Errorf("English list: %s", p.body)
	}
}
