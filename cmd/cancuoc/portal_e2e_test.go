package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/examples/portal"
	"github.com/cancuoc/cancuoc/sqlite"
)

// serveBinary runs the built `cancuoc serve` until the test ends and
// returns its base URL and its log.
func serveBinary(t *testing.T, bin, dir string, port int, extra ...string) (string, *syncBuffer) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	log := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--data-dir", dir, "--demo-citizens", "60",
		"--log-level", "info"}, extra...)...)
	// Cheaper argon2id than the default, which the test then finds in the
	// stored hash: the variables reach the running server.
	cmd.Env = append(cmd.Environ(), "CANCUOC_EID_DEV_SMS=1", "CANCUOC_ARGON2_MEMORY_KIB=9216", "CANCUOC_ARGON2_TIME=1")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if strings.Contains(log.String(), "is running at") {
			return "http://" + addr, log
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("serve did not start:\n%s", log.String())
	return "", nil
}

// adultCitizen finds a living seeded adult with a full birth date.
func adultCitizen(t *testing.T, db string) *cancuoc.Citizen {
	t.Helper()
	s, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range admin.Current().Provinces() {
		cs, err := s.SearchCitizens(t.Context(), cancuoc.CitizenQuery{Province: p.Code, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			d := c.BirthDate
			if c.LifeStatus == cancuoc.Alive && d.Month != 0 && d.Day != 0 && d.Year > 1950 && d.Year < 2000 {
				return c
			}
		}
	}
	t.Fatal("no living adult with a full birth date in the demo population")
	return nil
}

var (
	devSMSRe     = regexp.MustCompile(`DEV SMS[^\n]*Ma xac thuc cancuoc: ([0-9]{6})`)
	clientSecRe  = regexp.MustCompile(`client secret \(shown once; store it safely\): (ccs_[A-Za-z0-9_-]+)`)
	hiddenInput  = regexp.MustCompile(`name="(id|csrf|ar)" value="([^"]*)"`)
	claimCellRe  = regexp.MustCompile(`data-claim="([a-z_]+)">([^<]*)<`)
	codeSubRe    = regexp.MustCompile(`id="sub">([^<]+)<`)
	codeACRRe    = regexp.MustCompile(`id="acr">([^<]+)<`)
	consentAllow = `value="allow"`
)

func postJSON(t *testing.T, u string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func formFields(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

// TestPortalAgainstServe is the example portal's end-to-end proof against
// the real binary: `cancuoc serve` on a fresh SQLite directory with a small
// demo population, `cancuoc admin create-client` registering the portal, a
// level-1 account opened through the public API with the code read from
// the development SMS sender's log, and a login through examples/portal
// (go-oidc + x/oauth2) whose received claims must be the registry's.
func TestPortalAgainstServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	port := freePort(t)
	base, log := serveBinary(t, bin, dir, port)
	issuer := base + "/oidc"

	// The portal listens first: its callback URL is what gets registered.
	mux := http.NewServeMux()
	ps := httptest.NewServer(mux)
	defer ps.Close()
	redirect := ps.URL + "/callback"

	out, err := exec.Command(bin, "admin", "create-client", "--data-dir", dir, "--id", "portal",
		"--name", "Cổng dịch vụ công", "--purpose", "Giải quyết thủ tục hành chính trực tuyến",
		"--redirect-uri", redirect).CombinedOutput()
	if err != nil {
		t.Fatalf("create-client: %v\n%s", err, out)
	}
	m := clientSecRe.FindSubmatch(out)
	if m == nil {
		t.Fatalf("create-client printed no secret:\n%s", out)
	}
	secret := string(m[1])
	var printed cancuoc.Client
	if err := json.NewDecoder(bytes.NewReader(out)).Decode(&printed); err != nil || printed.ID != "portal" {
		t.Fatalf("create-client output %v: %s", err, out)
	}
	if bytes.Contains(out[:bytes.Index(out, []byte("client secret"))], []byte(secret)) {
		t.Error("the client's JSON carries its secret")
	}

	// A level-1 account through the real API.
	c := adultCitizen(t, filepath.Join(dir, "cancuoc.db"))
	const phone, password = "0912345678", "mật khẩu đủ dài 42"
	code, body := postJSON(t, base+"/v1/eid/registrations", map[string]any{"pin": c.PIN, "full_name": c.FullName,
		"birth_date": c.BirthDate.String(), "phone": phone})
	if code != http.StatusAccepted {
		t.Fatalf("registration: %d %s", code, body)
	}
	var pend struct {
		ChallengeID string `json:"challenge_id"`
	}
	_ = json.Unmarshal(body, &pend)
	var otp string
	for deadline := time.Now().Add(10 * time.Second); otp == "" && time.Now().Before(deadline); {
		if m := devSMSRe.FindStringSubmatch(log.String()); m != nil {
			otp = m[1]
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if otp == "" {
		t.Fatalf("no code in the development sender's log:\n%s", log.String())
	}
	var photo bytes.Buffer
	_ = png.Encode(&photo, image.NewGray(image.Rect(0, 0, 64, 64)))
	code, body = postJSON(t, base+"/v1/eid/registrations/"+pend.ChallengeID+"/confirm", map[string]any{"code": otp,
		"password": password, "photo": map[string]any{"content_type": "image/png", "data": photo.Bytes()}})
	if code != http.StatusCreated {
		t.Fatalf("confirm registration: %d %s", code, body)
	}

	if h := passwordHash(t, filepath.Join(dir, "cancuoc.db"), c.PIN); !strings.HasPrefix(h, "$argon2id$v=19$m=9216,t=1,p=1$") {
		t.Errorf("stored hash %.40q… does not carry CANCUOC_ARGON2_* (m=9216,t=1,p=1)", h)
	}

	// The portal, as its command runs it.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	p, err := portal.New(ctx, portal.Config{Issuer: issuer, ClientID: "portal", ClientSecret: secret,
		RedirectURL: redirect, Scopes: []string{"openid", "profile"}})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", p.Handler())

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	page := func(resp *http.Response, err error) (string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", resp.Request.URL, resp.StatusCode, b)
		}
		return string(b), resp.Request.URL.String()
	}
	login, at := page(browser.Get(ps.URL + "/login"))
	if !strings.HasPrefix(at, issuer) || !strings.Contains(login, `name="password"`) {
		t.Fatalf("the portal's login did not reach the provider's login page (%s):\n%s", at, login)
	}
	f := formFields(login)
	f.Set("pin", string(c.PIN))
	f.Set("password", password)
	consent, _ := page(browser.PostForm(base+"/oidc/login", f))
	if !strings.Contains(consent, consentAllow) || !strings.Contains(consent, "Giải quyết thủ tục hành chính trực tuyến") {
		t.Fatalf("no consent page with the portal's purpose:\n%s", consent)
	}
	f = formFields(consent)
	f.Set("decision", "allow")
	result, at := page(browser.PostForm(base+"/oidc/consent", f))
	if !strings.HasPrefix(at, ps.URL+"/callback") {
		t.Fatalf("consent did not land on the portal: %s\n%s", at, result)
	}
	claims := map[string]string{}
	for _, m := range claimCellRe.FindAllStringSubmatch(result, -1) {
		claims[m[1]] = html.UnescapeString(m[2])
	}
	if got := claims["name"]; got != c.FullName {
		t.Errorf("name claim %q, registry has %q (claims %v)", got, c.FullName, claims)
	}
	if got := claims["birthdate"]; got != c.BirthDate.String() {
		t.Errorf("birthdate claim %q, registry has %q", got, c.BirthDate)
	}
	if _, ok := claims["pid"]; ok {
		t.Error("the PIN was released to a client not registered for pid")
	}
	sub, acr := codeSubRe.FindStringSubmatch(result), codeACRRe.FindStringSubmatch(result)
	if sub == nil || sub[1] == "" || sub[1] == string(c.PIN) {
		t.Errorf("sub %v: want a pairwise subject, not the PIN", sub)
	}
	if acr == nil || acr[1] != "urn:cancuoc:eid:loa1" {
		t.Errorf("acr %v, want loa1 for a fresh level-1 account", acr)
	}
	if strings.Contains(log.String(), string(c.PIN)) {
		t.Error("the server log holds the citizen's PIN")
	}
}

// passwordHash reads the citizen's stored password hash.
func passwordHash(t *testing.T, db string, pin cancuoc.PIN) string {
	t.Helper()
	s, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acc, err := s.AccountByPIN(t.Context(), pin)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := s.Secrets(t.Context(), acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	return sec.PasswordHash
}
