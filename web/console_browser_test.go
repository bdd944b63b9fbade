package web_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestBrowserConsoleWork runs the officers' console in Chromium at phone
// and desktop widths: a civil-status officer opens the procedure queue
// from the home page's count, opens a file, claims its step and completes
// it with a note (the child is registered); opens a version's diff; a
// national administrator opens the partners page. Screenshots of each
// (docs/screenshots with CANCUOC_SCREENSHOTS=1).
func TestBrowserConsoleWork(t *testing.T) {
	exe := chromium(t)
	e := newEnv(t)
	ctx := t.Context()
	shots := shotsDir(t)

	// A record with an address change, partners, an administrator, and
	// a file three days old (overdue) before each run's own file.
	c, err := e.store.Citizen(ctx, e.me)
	if err != nil {
		t.Fatal(err)
	}
	e.moveWithinWard(t, c)
	for _, np := range []partner.NewPartner{
		{ID: "bank-vd", Name: "Ngân hàng Ví dụ", Kind: cancuoc.PartnerBank, Policy: cancuoc.PartnerPolicy{Operations: []cancuoc.PartnerOp{cancuoc.OpMatch, cancuoc.OpRelease},
			Fields: []string{"full_name", "birth_date"}, Purpose: "Xác thực khách hàng (eKYC)", LegalBasis: "Thông tư 17/2024/TT-NHNN", Quota: cancuoc.Quota{PerMinute: 600}}},
		{ID: "bhxh", Name: "Bảo hiểm xã hội Việt Nam", Kind: cancuoc.PartnerMinistry, Policy: cancuoc.PartnerPolicy{Operations: []cancuoc.PartnerOp{cancuoc.OpReconcile, cancuoc.OpSubscribe},
			Fields: []string{"full_name", "birth_date", "sex"}, EventTypes: []string{"citizen.born", "citizen.died"}, Purpose: "Đối soát sổ BHXH", LegalBasis: "Nghị định 63/2024/NĐ-CP"}},
	} {
		if _, err := e.partners.Create(ctx, nil, np); err != nil {
			t.Fatal(err)
		}
	}
	e.officerAt(storetest.PIN(3), cancuoc.UnitRef{Province: "79", Commune: "26732"},
		registry.NewPrincipal{Name: "Quản trị viên Trần", Role: cancuoc.RoleNationalAdmin})
	e.submitBirth(t)
	e.shift.Store(int64(72 * time.Hour))
	t.Cleanup(func() { e.shift.Store(0) })

	for _, size := range []struct {
		name   string
		width  int64
		mobile bool
	}{{"phone", 390, true}, {"desktop", 1280, false}} {
		t.Run(size.name, func(t *testing.T) {
			png := func(page string) string { return filepath.Join(shots, page+"-"+size.name+".png") }
			f := e.submitBirth(t)
			_ = e.prov.RevokeConsent(ctx, storetest.PIN(2), "cancuoc-console")
			_ = e.prov.RevokeConsent(ctx, storetest.PIN(3), "cancuoc-console")

			octx := browser(t, exe, size.width, size.mobile)
			row := `tr[data-file="` + f.ID + `"] a`
			steps := append(loginSteps(e, "/console", string(storetest.PIN(2))),
				named("officer home", chromedp.WaitVisible(chromedp.CSS("#queue-procedures"))),
				shot(png("console-home")),
				named("queue link", chromedp.Click(chromedp.CSS("#queue-procedures a"))),
				named("queue", chromedp.WaitVisible(chromedp.CSS(row))),
				shot(png("console-queue")),
				named("open the file", chromedp.Click(chromedp.CSS(row))),
				named("claim", chromedp.Click(chromedp.CSS("#step-1 form.claim button"))),
				named("claimed", chromedp.WaitVisible(chromedp.CSS("#done"))),
				chromedp.SetValue(chromedp.CSS("#step-1 form.complete textarea"), "Đã đối chiếu giấy chứng sinh"),
				named("complete", chromedp.Click(chromedp.CSS("#step-1 form.complete button"))),
				named("completed", chromedp.WaitVisible(chromedp.CSS(`#step-1[data-status="completed"]`))),
				shot(png("console-procedure")),
				named("version", chromedp.Navigate(e.root+"/console/citizens/"+string(e.me)+"/versions/3")),
				named("diff", chromedp.WaitVisible(chromedp.CSS("#diff"))),
				shot(png("console-version")),
			)
			if err := chromedp.Do(octx, steps...); err != nil {
				failAt(t, octx, err)
			}
			st, err := e.store.Step(ctx, f.ID, 1)
			if err != nil || st.Status != cancuoc.StepCompleted || st.ClaimedBy != e.officer.ID || !strings.Contains(string(st.Result), "Đã đối chiếu giấy chứng sinh") {
				t.Fatalf("the step after the browser completed it: %v %+v", err, st)
			}
			if p, _ := e.store.Procedure(ctx, f.ID); p.Subject == "" {
				t.Error("completing the birth step did not register the child")
			}
			if f, err := e.wf.File(ctx, e.officer, f.ID); err != nil || f.Steps[0].Overdue {
				t.Errorf("a step completed in time is flagged overdue: %v", err)
			}

			actx := browser(t, exe, size.width, size.mobile)
			steps = append(loginSteps(e, "/console", string(storetest.PIN(3))),
				named("admin home", chromedp.WaitVisible(chromedp.CSS("#partners-link"))),
				chromedp.Click(chromedp.CSS("#partners-link")),
				named("partners", chromedp.WaitVisible(chromedp.CSS(`tr[data-partner="bank-vd"]`))),
				shot(png("console-partners")),
			)
			if err := chromedp.Do(actx, steps...); err != nil {
				failAt(t, actx, err)
			}
		})
	}
}
