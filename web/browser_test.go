package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cancuoc/cancuoc/storetest"
)

// chromium finds Debian's Chromium. Without it the browser test skips
// loudly on a workstation, and fails in CI (CI=true), where .ci/run
// installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI must run the browser test (.ci/run installs it)")
	}
	t.Skip("SKIPPING the browser test: chromium is not installed (apt-get install chromium)")
	return ""
}

// browser starts a headless Chromium with its own profile, at a phone's
// width (390) or a desktop's (1280).
func browser(t *testing.T, exe string, width int64, mobile bool) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("hide-scrollbars", true), chromedp.WindowSize(int(width), 900)}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // generous: the test machine is shared
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	var vp []chromedp.EmulateViewportOption
	if mobile {
		vp = append(vp, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(width, 900, vp...)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

// shotsDir is docs/screenshots when CANCUOC_SCREENSHOTS=1 (to refresh the
// README's pictures), else a temporary directory.
func shotsDir(t *testing.T) string {
	if os.Getenv("CANCUOC_SCREENSHOTS") == "1" {
		d := filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// shot saves a screenshot of the whole page.
func shot(path string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(path, buf, 0o644)
	})
}

// named wraps a step so an error says which one stopped the run.
func named(name string, a chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return v, err
	}
}

func failAt(t *testing.T, ctx context.Context, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("body")))
	t.Fatalf("%v; at %s: %s", err, loc, text)
}

// click clicks the element sel, again when Chromium answers that the node
// it just found is gone (a document update under load renumbers nodes).
func click(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		var err error
		for range 3 {
			if _, err = chromedp.Click(chromedp.CSS(sel))(ctx, t); err == nil || !strings.Contains(err.Error(), "Could not find node") {
				return chromedp.Void{}, err
			}
			time.Sleep(200 * time.Millisecond)
		}
		return chromedp.Void{}, err
	}
}

// loginSteps log in through the provider's real pages.
func loginSteps(e *env, start string, pin string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		named("open "+start, chromedp.Navigate(e.root+start)),
		named("login link", chromedp.Click(chromedp.CSS("#login"))),
		named("PIN field", chromedp.WaitVisible(chromedp.CSS("#pin"))),
		chromedp.SendKeys(chromedp.CSS("#pin"), pin),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		named("submit password", click(`form[action$="/login"] button[type="submit"]`)),
		named("consent page", chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`))),
		click(`button[value="allow"]`),
	}
}

// TestBrowser runs the main journeys in Chromium: a citizen logs in
// through the provider, reads their record and access log and revokes a
// consent; the dashboard's map shows the API's figures; an officer opens
// a record with its history. Screenshots at phone and desktop widths.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	e := newEnv(t)
	shots := shotsDir(t)
	fileID := e.deathFile()
	e.reject(fileID)

	for _, size := range []struct {
		name   string
		width  int64
		mobile bool
	}{{"phone", 390, true}, {"desktop", 1280, false}} {
		t.Run(size.name, func(t *testing.T) {
			ctx := browser(t, exe, size.width, size.mobile)
			png := func(page string) string { return filepath.Join(shots, page+"-"+size.name+".png") }

			// The dashboard: every province on the map with the API's value.
			api := e.apiFigures("/v1/stats/population")
			err := chromedp.Do(ctx,
				named("dashboard", chromedp.Navigate(e.root+"/dashboard")),
				named("map", chromedp.WaitVisible(chromedp.CSS("#map path"))),
				shot(png("dashboard")))
			if err != nil {
				failAt(t, ctx, err)
			}
			got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
				`Object.fromEntries([...document.querySelectorAll("#map path")].map(p => [p.dataset.code, p.dataset.value]))`))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 34 {
				t.Fatalf("%d provinces drawn", len(got))
			}
			for _, r := range api.Rows {
				if got[r.Code] != strconv.FormatInt(r.Value, 10) {
					t.Errorf("province %s: map %s, API %d", r.Code, got[r.Code], r.Value)
				}
			}
			// The script switches measures without the button.
			err = chromedp.Do(ctx,
				chromedp.Evaluate[chromedp.Void](`(s => { s.value = "cards"; s.dispatchEvent(new Event("change")) })(document.querySelector("#measure"))`),
				named("cards measure", chromedp.WaitReady(chromedp.CSS(`option[value="cards"][selected]`))),
				named("Hà Nội", chromedp.Navigate(e.root+"/dashboard/01?measure=population")),
				chromedp.WaitVisible(chromedp.CSS(`tr[data-code="00004"]`)),
				shot(png("dashboard-province")))
			if err != nil {
				failAt(t, ctx, err)
			}

			// The citizen's journey. The consent is given again for the
			// second browser, since the first one withdrew it.
			if err := e.store.PutConsent(t.Context(), consentToBank(e)); err != nil {
				t.Fatal(err)
			}
			// Each run shows the provider's consent page: the first run's
			// consents to the portal and the console are withdrawn.
			_ = e.prov.RevokeConsent(t.Context(), e.me, "cancuoc-portal")
			_ = e.prov.RevokeConsent(t.Context(), storetest.PIN(2), "cancuoc-console")
			steps := append(loginSteps(e, "/portal", string(e.me)),
				named("record", chromedp.WaitVisible(chromedp.CSS("#record"))),
				shot(png("portal-record")),
				named("access log", chromedp.Navigate(e.root+"/portal/access-log")),
				chromedp.WaitVisible(chromedp.CSS("#access-log")),
				chromedp.SetValue(chromedp.CSS("#actor"), e.bank.ID),
				chromedp.Click(chromedp.CSS(`form.filters button`)),
				named("filtered", chromedp.WaitReady(chromedp.CSS(`#actor option[value="`+e.bank.ID+`"][selected]`))),
				shot(png("portal-access-log")),
				named("consents", chromedp.Navigate(e.root+"/portal/consents")),
				chromedp.WaitVisible(chromedp.CSS(`tr[data-client="bank-app"] button.revoke`)),
				shot(png("portal-consents")),
				chromedp.Click(chromedp.CSS(`tr[data-client="bank-app"] button.revoke`)),
				named("revoked", chromedp.WaitVisible(chromedp.CSS("#revoked"))),
			)
			if err := chromedp.Do(ctx, steps...); err != nil {
				failAt(t, ctx, err)
			}
			log, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.textContent`))
			if err != nil || !strings.Contains(log, "Đã rút lại") {
				t.Errorf("consents page after revoking: %v %s", err, log)
			}
			presentInBrowser(t, e, ctx, png)
			portalPages(t, e, ctx, png, fileID, size.name == "desktop")

			// The officer, in a fresh browser.
			octx := browser(t, exe, size.width, size.mobile)
			steps = append(loginSteps(e, "/console", string(storetest.PIN(2))),
				named("officer home", chromedp.WaitVisible(chromedp.CSS("#officer"))),
				chromedp.Navigate(e.root+"/console/citizens/"+string(e.me)),
				named("history", chromedp.WaitVisible(chromedp.CSS("#v2"))),
				shot(png("console-citizen")))
			if err := chromedp.Do(octx, steps...); err != nil {
				failAt(t, octx, err)
			}
		})
	}
}
