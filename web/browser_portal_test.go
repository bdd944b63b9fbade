package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/wallet"
)

// presentInBrowser makes this browser the citizen's wallet (a WebCrypto
// key that never leaves it), has a document issued to it (first run; the
// second run's new key gets it reissued), ticks two claims and lets the
// page's script sign the presentation; the QR page's presentation then
// passes the wallet's checker and the /verify page, with only the two
// claims disclosed.
func presentInBrowser(t *testing.T, e *env, ctx context.Context, png func(string) string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second) // leaves time to report where it stopped
	defer cancel()
	err := chromedp.Do(sctx,
		named("documents", chromedp.Navigate(e.root+"/portal/documents")),
		named("use this browser", chromedp.WaitVisible(chromedp.CSS("#use-browser"))),
		named("key added", useBrowser))
	if err != nil {
		failAt(t, ctx, err)
	}
	if !e.hasValidRecord() {
		e.issueRecord()
	}
	err = chromedp.Do(sctx,
		chromedp.Navigate(e.root+"/portal/documents"),
		named("document bound to this browser", chromedp.WaitVisible(chromedp.CSS("tr.here a"))),
		shot(png("portal-documents")),
		chromedp.Click(chromedp.CSS("tr.here a")),
		named("claims", chromedp.WaitVisible(chromedp.CSS("#claims"))),
		chromedp.Click(chromedp.CSS(`input[name="claim"][value="full_name"]`)),
		chromedp.Click(chromedp.CSS(`input[name="claim"][value="criminal_record"]`)),
		shot(png("portal-document")),
		chromedp.Click(chromedp.CSS("#prepare")),
		named("sign", chromedp.WaitVisible(chromedp.CSS("#sign-button"))),
		chromedp.Click(chromedp.CSS("#sign-button")),
		named("QR code", chromedp.WaitVisible(chromedp.CSS("#qr svg"))),
		shot(png("portal-qr")))
	if err != nil {
		failAt(t, ctx, err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`({pres: document.querySelector("#presentation").value, nonce: document.querySelector("#qr").dataset.nonce, aud: document.querySelector("#qr").dataset.aud})`))
	if err != nil {
		t.Fatal(err)
	}
	v := e.wallet.Checker(t.Context()).Check(got["pres"], wallet.Expect{Nonce: got["nonce"], Audience: got["aud"], RequireKB: true})
	if !v.Valid || len(v.Claims) != 2 || v.KB == nil {
		t.Fatalf("the browser's presentation: %+v", v)
	}
	res, err := http.PostForm(e.root+"/verify", url.Values{"presentation": {got["pres"]}, "nonce": {got["nonce"]}, "aud": {got["aud"]}, "require_kb": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(b.String(), "Tài liệu hợp lệ") {
		t.Fatalf("/verify refused the browser's presentation: %s", b.String())
	}
}

// portalPages shows the files, stay and account pages; with passkey, it
// adds a passkey through the page's WebAuthn ceremony, answered by
// Chromium's virtual authenticator.
func portalPages(t *testing.T, e *env, ctx context.Context, png func(string) string, fileID string, passkey bool) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err := chromedp.Do(sctx,
		named("files", chromedp.Navigate(e.root+"/portal/files")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-file="`+fileID+`"]`)),
		shot(png("portal-files")),
		named("file", chromedp.Navigate(e.root+"/portal/files/"+fileID)),
		chromedp.WaitVisible(chromedp.CSS(`.rejection .reason`)),
		shot(png("portal-file")),
		named("stay", chromedp.Navigate(e.root+"/portal/stay")),
		chromedp.WaitVisible(chromedp.CSS(`#submit-stay`)),
		shot(png("portal-stay")),
		named("account", chromedp.Navigate(e.root+"/portal/account")),
		chromedp.WaitVisible(chromedp.CSS("#add-passkey")),
		shot(png("portal-account")))
	if err != nil {
		failAt(t, ctx, err)
	}
	if !passkey {
		return
	}
	err = chromedp.Do(sctx,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
				Options: &webauthn.VirtualAuthenticatorOptions{
					Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
					HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
				}})
			return err
		}),
		chromedp.Click(chromedp.CSS("#add-passkey")),
		named("passkey added", chromedp.WaitVisible(chromedp.CSS("#factor-added"))))
	if err != nil {
		failAt(t, ctx, err)
	}
	acc, err := e.eid.AccountByPIN(t.Context(), e.me)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e.eid.HasPasskey(t.Context(), acc.ID); err != nil || !ok {
		t.Fatalf("no passkey stored after the ceremony: %v", err)
	}
}

// hasValidRecord reports whether the citizen holds a valid judicial-record
// certificate (a run whose first run stopped early issues its own).
func (e *env) hasValidRecord() bool {
	docs, err := e.store.DocumentsByHolder(e.t.Context(), e.me)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, d := range docs {
		if d.Type == "judicial_record" && d.Status == cancuoc.DocumentValid {
			return true
		}
	}
	return false
}

// useBrowser clicks "use this browser as my wallet" until the page says
// the key was added. The server may answer "database busy, try again"
// (SQLite's single writer under -race on a loaded machine): the script
// then shows the message and enables the button again, and a person would
// click again, so the test does too, three times at most.
func useBrowser(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
	for try := 0; try < 3; try++ {
		if _, err := chromedp.Click(chromedp.CSS("#use-browser"))(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		for {
			st, err := chromedp.Evaluate[string](`document.querySelector("#key-added") ? "added" :
				(document.querySelector("#use-browser") && !document.querySelector("#use-browser").disabled ? "again" : "wait")`)(ctx, t)
			if err == nil && st == "added" {
				return chromedp.Void{}, nil
			}
			if err == nil && st == "again" {
				break
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, ctx.Err()
			case <-time.After(300 * time.Millisecond):
			}
		}
	}
	return chromedp.Void{}, errors.New("the key was not added after three tries")
}
