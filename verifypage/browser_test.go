package verifypage_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestVerifierPageInBrowser: in Chromium at a phone's width, a clerk pastes
// a presentation, types the nonce and their identifier and submits the
// form: the page shows the verdict and the disclosed claims in Vietnamese;
// the same presentation checked against another nonce shows the failure's
// code; the language switch gives the page in English, and keeps it. The
// page needs no script and fits the screen (no horizontal scrolling).
func TestVerifierPageInBrowser(t *testing.T) {
	exe := ""
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			exe = p
			break
		}
	}
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; CI must run the browser test")
		}
		t.Skip("SKIPPING the browser test: chromium is not installed (apt-get install chromium)")
	}
	srvURL, pres := serve(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(390, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 900, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	check := func(nonce string) (verdict, code string, overflow bool) {
		t.Helper()
		err := chromedp.Do(bctx,
			chromedp.Navigate(srvURL+"/verify"),
			chromedp.WaitVisible(chromedp.CSS("#presentation")),
			chromedp.SetValue(chromedp.CSS("#presentation"), pres),
			chromedp.SendKeys(chromedp.CSS("#nonce"), nonce),
			chromedp.SendKeys(chromedp.CSS("#aud"), "employer"),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS("#verdict")),
		)
		if err != nil {
			t.Fatalf("nonce %s: %v", nonce, err)
		}
		var err1, err2, err3 error
		verdict, err1 = chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS("#verdict")))
		code, err2 = chromedp.Run(bctx, chromedp.Evaluate[string](`(document.getElementById("code")||{}).textContent||""`))
		overflow, err3 = chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatal(err1, err2, err3)
		}
		return verdict, code, overflow
	}
	v, code, overflow := check("nonce-page-1")
	for _, want := range []string{"Hợp lệ", "Tình trạng án tích", "Không có án tích", "Phiếu lý lịch tư pháp"} {
		if !strings.Contains(v, want) {
			t.Errorf("valid verdict lacks %q:\n%s", want, v)
		}
	}
	if code != "" || strings.Contains(v, "1990-05-17") || overflow {
		t.Errorf("valid: code %q, undisclosed birth date shown %v, wider than the phone %v", code, strings.Contains(v, "1990-05-17"), overflow)
	}
	v, code, _ = check("another-nonce")
	if !strings.Contains(v, "Không hợp lệ") || code != "sdjwt_kb_nonce_mismatch" {
		t.Errorf("replayed: code %q\n%s", code, v)
	}
	// The English switch, remembered for the next visit.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"]`))); err != nil {
		t.Fatalf("English switch: %v", err)
	}
	v, _, _ = check("nonce-page-1")
	for _, want := range []string{"Valid", "Criminal record", "Judicial-record certificate", "The document is valid."} {
		if !strings.Contains(v, want) {
			t.Errorf("English verdict lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "Hợp lệ") {
		t.Errorf("English verdict in Vietnamese:\n%s", v)
	}
}
