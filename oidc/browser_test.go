package oidc_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/examples/portal"
	"github.com/cancuoc/cancuoc/internal/webauthntest"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/sqlite"
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

// newChromium starts a fresh headless Chromium (its own profile) sized
// like a phone.
func newChromium(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(390, 844),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

// screenshotDir is docs/screenshots when CANCUOC_SCREENSHOTS=1 (to refresh
// the README's pictures), else a temporary directory, so that an ordinary
// test run leaves the tree alone.
func screenshotDir(t *testing.T) string {
	if os.Getenv("CANCUOC_SCREENSHOTS") == "1" {
		d := filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// step names an action in the error it returns, to tell where a browser
// run stopped.
func step(name string, a chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		return v, err
	}
}

// addCredential is WebAuthn.addCredential with only the members this test
// sets: cdproto's Credential always sends the CMTG members, which
// Chromium's virtual authenticator refuses ("CMTG is not supported").
var addCredential = cdp.Command[addCredentialParams, cdp.Empty]{Method: "WebAuthn.addCredential"}

type addCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      virtualCredential        `json:"credential"`
}

type virtualCredential struct {
	CredentialID         []byte `json:"credentialId"`
	IsResidentCredential bool   `json:"isResidentCredential"`
	RpID                 string `json:"rpId"`
	PrivateKey           []byte `json:"privateKey"` // PKCS #8
	UserHandle           []byte `json:"userHandle"`
	SignCount            int    `json:"signCount"`
}

func screenshot(path string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		buf, err := chromedp.CaptureScreenshot()(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(path, buf, 0o644)
	})
}

// TestBrowser logs a citizen into the example portal through the real
// pages in Chromium: first with password and TOTP, then, in a fresh
// browser, with a passkey held by Chromium's virtual authenticator.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ee := newEIDEnv(t, st)
	secret := ee.enrolTOTP(t)

	// The portal, a separate site at localhost on its own port.
	mux := http.NewServeMux()
	psrv := httptest.NewServer(mux)
	t.Cleanup(psrv.Close)
	proot := "http://localhost:" + strconv.Itoa(psrv.Listener.Addr().(*net.TCPAddr).Port)
	ee.client(oidc.NewClient{ID: "web", Name: "Cổng dịch vụ công", Purpose: "Giải quyết thủ tục hành chính trực tuyến",
		RedirectURIs: []string{proot + "/callback"}, MinLevel: 1})
	p, err := portal.New(t.Context(), portal.Config{Issuer: ee.issuer, ClientID: "web", ClientSecret: ee.secrets["web"],
		RedirectURL: proot + "/callback", HTTPClient: ee.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", p.Handler())
	shots := screenshotDir(t)

	// The portal's result page: the name claim, acr, and the whole text
	// (with amr).
	readPortal := func(t *testing.T, ctx context.Context) (name, acr, page string) {
		t.Helper()
		var err error
		if err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#sub"))); err == nil {
			if name, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`td[data-claim="name"]`))); err == nil {
				if acr, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#acr"))); err == nil {
					page, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
				}
			}
		}
		if err != nil {
			t.Fatalf("reading the portal's page: %v", err)
		}
		return name, acr, page
	}
	failPage := func(t *testing.T, ctx context.Context, err error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		text, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("body")))
		t.Fatalf("%v; at %s: %s", err, loc, text)
	}

	t.Run("password and TOTP", func(t *testing.T) {
		bctx := newChromium(t, exe)
		ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		err := chromedp.Do(ctx,
			step("chromedp.Navigate(proot+/login)", chromedp.Navigate(proot+"/login")),
			step("chromedp.WaitVisible(chromedp.CSS(#pin))", chromedp.WaitVisible(chromedp.CSS("#pin"))),
			step("chromedp.WaitVisible(chromedp.CSS(#passkey-button))", chromedp.WaitVisible(chromedp.CSS("#passkey-button"))), // the script ran under the page's CSP
			step("screenshot(filepath.Join(shots, login.png))", screenshot(filepath.Join(shots, "login.png"))),
			// The language switch, a button of the login form (its
			// fields empty and required), shows the same request's page
			// in English, whose login goes on below.
			step("chromedp.Click(chromedp.CSS(button.lang-switch))", chromedp.Click(chromedp.CSS("button.lang-switch"))),
			step("chromedp.WaitVisible(chromedp.CSS(html[lang=en] #pin))", chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #pin`))),
			step("chromedp.WaitVisible(chromedp.CSS(button.lang-switch[value=vi]))", chromedp.WaitVisible(chromedp.CSS(`button.lang-switch[value="vi"]`))),
			step("chromedp.SendKeys(chromedp.CSS(#pin), string(ee.l2))", chromedp.SendKeys(chromedp.CSS("#pin"), string(ee.l2))),
			step("chromedp.SendKeys(chromedp.CSS(#password), eidPassword)", chromedp.SendKeys(chromedp.CSS("#password"), eidPassword)),
			step("chromedp.Click(chromedp.CSS(form[action$=/login] button[type", chromedp.Click(chromedp.CSS(`form[action$="/login"] button[type="submit"]`))),
			step("chromedp.WaitVisible(chromedp.CSS(#code))", chromedp.WaitVisible(chromedp.CSS("#code"))),
			chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				// The next step's code (one step of drift is allowed): the
				// current one was used up by the enrolment.
				code, err := eid.TOTPCode(secret, time.Now().Add(30*time.Second), 6)
				if err != nil {
					return err
				}
				_, err = chromedp.SendKeys(chromedp.CSS("#code"), code)(ctx, t)
				return err
			}),
			step("chromedp.Click(chromedp.CSS(form[action$=/login/otp] button)", chromedp.Click(chromedp.CSS(`form[action$="/login/otp"] button`))),
			step("chromedp.WaitVisible(chromedp.CSS(button[value=allow]))", chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`))),
			step("screenshot(filepath.Join(shots, consent.png))", screenshot(filepath.Join(shots, "consent.png"))),
			step("chromedp.Click(chromedp.CSS(button[value=allow]))", chromedp.Click(chromedp.CSS(`button[value="allow"]`))),
		)
		if err != nil {
			failPage(t, bctx, err)
		}
		name, acr, page := readPortal(t, ctx)
		if name != "Nguyễn Văn Đức" || acr != oidc.ACRLevel1 || !strings.Contains(page, "[pwd otp mfa]") {
			t.Errorf("portal shows name %q acr %q:\n%s", name, acr, page)
		}
	})

	// passkey logs in with a passkey: with the PIN typed, the page asks
	// the provider for the ceremony's options (passkey/begin); without,
	// it uses the discoverable ceremony's options it carries, and posts
	// the sealed request, copied from the login form.
	passkey := func(t *testing.T, typePIN bool) {
		// The passkey is registered through the eid service, and its key
		// handed to Chromium's virtual authenticator, which then answers
		// the login page's navigator.credentials.get.
		key := webauthntest.New(t, "localhost", ee.root)
		ee.registerPasskey(t, key)
		pkcs8, err := x509.MarshalPKCS8PrivateKey(key.Key)
		if err != nil {
			t.Fatal(err)
		}
		// Consent given in the first run is withdrawn, so this run shows
		// the consent page again.
		if err := ee.prov.RevokeConsent(t.Context(), ee.l2, "web"); err != nil {
			t.Fatal(err)
		}
		bctx := newChromium(t, exe)
		ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		err = chromedp.Do(ctx,
			chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				if _, err := cdp.Call(ctx, t, webauthn.Enable, webauthn.EnableParams{}); err != nil {
					return err
				}
				va, err := cdp.Call(ctx, t, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
					Options: &webauthn.VirtualAuthenticatorOptions{
						Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
						HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
					}})
				if err != nil {
					return err
				}
				_, err = cdp.Call(ctx, t, addCredential, addCredentialParams{AuthenticatorID: va.AuthenticatorID,
					Credential: virtualCredential{CredentialID: key.CredID, IsResidentCredential: true, RpID: "localhost",
						PrivateKey: pkcs8, UserHandle: []byte(ee.acc.ID), SignCount: int(key.Count)}})
				return err
			}),
			step("chromedp.Navigate(proot+/login)", chromedp.Navigate(proot+"/login")),
			step("chromedp.WaitVisible(chromedp.CSS(#passkey-button))", chromedp.WaitVisible(chromedp.CSS("#passkey-button"))),
			chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				if !typePIN {
					return nil
				}
				_, err := chromedp.SendKeys(chromedp.CSS("#pin"), string(ee.l2))(ctx, t)
				return err
			}),
			step("chromedp.Click(chromedp.CSS(#passkey-button))", chromedp.Click(chromedp.CSS("#passkey-button"))),
			step("chromedp.WaitVisible(chromedp.CSS(button[value=allow]))", chromedp.WaitVisible(chromedp.CSS(`button[value="allow"]`))),
			step("chromedp.Click(chromedp.CSS(button[value=allow]))", chromedp.Click(chromedp.CSS(`button[value="allow"]`))),
		)
		if err != nil {
			failPage(t, bctx, err)
		}
		name, _, page := readPortal(t, ctx)
		if name != "Nguyễn Văn Đức" || !strings.Contains(page, "[swk mfa]") {
			t.Errorf("portal shows name %q:\n%s", name, page)
		}
	}
	t.Run("passkey", func(t *testing.T) { passkey(t, true) })
	t.Run("discoverable passkey", func(t *testing.T) { passkey(t, false) })
}
