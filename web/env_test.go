package web_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/auditlog"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/partner"
	qualitylists "github.com/cancuoc/cancuoc/quality"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/verifypage"
	"github.com/cancuoc/cancuoc/wallet"
	"github.com/cancuoc/cancuoc/web"
	"github.com/cancuoc/cancuoc/workday"
	"github.com/cancuoc/cancuoc/workflow"
)

const password = "một mật khẩu đủ dài 2026"

// env is the whole product on one test server at localhost: registry, eID,
// the OpenID provider, the access log, statistics, the JSON API and the
// site. Citizen me (storetest.PIN(1), in Ba Đình, Hà Nội) has an eID
// account, a bank read their record, and they consented to the bank.
type env struct {
	t       *testing.T
	stats   *stats.Service
	store   cancuoc.Store
	reg     *registry.Service
	eid     *eid.Service
	prov    *oidc.Provider
	srv     *httptest.Server
	root    string
	me      cancuoc.PIN
	bank    *cancuoc.Principal
	officer *cancuoc.Principal
	sms     *smsBox
	// wf runs the interlinked procedures on a clock moved by shift
	// (overdue steps); partners is the partners capability.
	wf       *workflow.Service
	shift    atomic.Int64
	partners *partner.Service
	wallet   *wallet.Service
	res      *residence.Service
}

type smsBox struct {
	mu   sync.Mutex
	last string
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func (b *smsBox) Send(_ context.Context, _, msg string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = sixDigits.FindString(msg)
	return nil
}

// newEnv builds the env; each of extra mounts more on the site before its
// routes are registered (a capability's pages).
func newEnv(t *testing.T, extra ...func(e *env, site *web.Site)) *env {
	t.Helper()
	ctx := t.Context()
	// A file in WAL mode, as served: the in-memory database has no WAL, so
	// a read outside a write transaction waits for that transaction to end
	// (the wallet reloads issuer keys that way when reissuing, once its
	// one-minute key cache has expired).
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := audit.NewWriter(st, 0)
	t.Cleanup(func() { w.Close() })
	e := &env{t: t, store: st, reg: registry.New(st, w), me: storetest.PIN(1), sms: &smsBox{}}

	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.root = "http://localhost:" + strconv.Itoa(e.srv.Listener.Addr().(*net.TCPAddr).Port)

	cfg := eid.DefaultConfig()
	cfg.Password = eid.FastTestPasswordParams()
	cfg.RPID, cfg.RPOrigins = "localhost", []string{e.root}
	if e.eid, err = eid.New(st, e.sms, cfg); err != nil {
		t.Fatal(err)
	}
	issuer := e.root + "/oidc"
	if e.prov, err = oidc.New(st, e.eid, oidc.Config{Issuer: issuer, Secret: []byte(strings.Repeat("k", 32)), Insecure: true}); err != nil {
		t.Fatal(err)
	}
	mux.Handle("/oidc/", e.prov.Handler())
	portalSecret := e.client(oidc.NewClient{ID: "cancuoc-portal", Name: "Cổng công dân", Purpose: "Cho công dân xem dữ liệu của mình",
		RedirectURIs: []string{e.root + "/portal/callback"}, Scopes: []string{oidc.ScopePID}})
	consoleSecret := e.client(oidc.NewClient{ID: "cancuoc-console", Name: "Giao diện cán bộ", Purpose: "Cán bộ đăng nhập",
		RedirectURIs: []string{e.root + "/console/callback"}, Scopes: []string{oidc.ScopePID}, MinLevel: 2})
	e.client(oidc.NewClient{ID: "bank-app", Name: "Ngân hàng Ví dụ", Purpose: "Mở tài khoản (eKYC)",
		RedirectURIs: []string{"http://localhost/bank/callback"}})

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.partners = partner.New(st, w, partner.WithPolicyCache(0))
	sts := stats.New(stats.WithTTL(0), stats.WithSnapshots(st)).Builtin(st)
	e.stats = sts
	httpapi.New(e.reg, log).WithStats(sts).Routes(mux)
	alog := auditlog.New(st, nil, w, auditlog.WithCitizenPrincipal(cancuoc.SelfPIN))
	site, err := web.NewSite(web.SiteConfig{Secret: []byte(strings.Repeat("w", 32)), Log: log, Sessions: st})
	if err != nil {
		t.Fatal(err)
	}
	hc := e.srv.Client()
	if e.wallet, err = wallet.New(st, wallet.Config{BaseURL: e.root, Secret: []byte("web test wallet secret"), ListSize: 1024}); err != nil {
		t.Fatal(err)
	}
	e.res = residence.New(e.reg, w)
	e.wf = workflow.New(st, e.reg, residenceSteps{e.res}, workday.Default(), workflow.WithAuditWriter(w),
		workflow.WithClock(func() time.Time { return time.Now().Add(time.Duration(e.shift.Load())) }))
	verifypage.Routes(mux, e.wallet, log)
	site.WithDashboard(sts).
		WithPortal(web.RPConfig{Issuer: issuer, ClientID: "cancuoc-portal", ClientSecret: portalSecret,
			RedirectURL: e.root + "/portal/callback", HTTPClient: hc},
			web.PortalDeps{Registry: e.reg, AccessLog: alog, EID: e.eid, Consents: e.prov, Directory: st, Accounts: st}).
		WithPortalServices(web.PortalServices{Wallet: e.wallet, Workflow: e.wf, Residence: e.res, Audit: w}).
		WithConsole(web.RPConfig{Issuer: issuer, ClientID: "cancuoc-console", ClientSecret: consoleSecret,
			RedirectURL: e.root + "/console/callback", ACRValues: oidc.ACRLevel2, HTTPClient: hc},
			web.ConsoleDeps{Registry: e.reg, Principals: st, Quality: quality(st),
				Workflow: e.wf,
				Partners: e.partners,
				Clients:  e.prov,
				Audit:    st,
				Lists:    qualitylists.New(st, w)})
	for _, f := range extra {
		f(e, site)
	}
	site.Routes(mux)
	web.Routes(mux, func(*http.Request) (web.Status, error) { return web.Status{}, nil })
	e.seed()
	return e
}

func (e *env) client(n oidc.NewClient) string {
	e.t.Helper()
	_, secret, err := e.prov.CreateClient(e.t.Context(), nil, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// seed stores the citizen and neighbours, opens the citizen's eID
// account, makes a bank read the record and records the citizen's consent
// to the bank's app.
func (e *env) seed() {
	t, ctx := e.t, e.t.Context()
	for i, home := range []cancuoc.UnitRef{{Province: "01", Commune: "00004"}, {Province: "01", Commune: "00004"}, {Province: "79", Commune: "26732"}} {
		full := storetest.Citizen(storetest.PIN(1 + i))
		c := storetest.Minimal(full.PIN, full.FullName, full.NameKey)
		c.BirthDate, c.Ethnicity, c.Religion, c.Nationality = full.BirthDate, "01", "00", "VNM"
		c.Cards, c.Father, c.Mother, c.Phone = full.Cards, full.Father, full.Mother, full.Phone
		c.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: home.Province, Commune: home.Commune, Detail: "số 12 phố Quán Thánh"}
		c.Home = home
		if err := e.store.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	e.register(e.me)
	e.register(storetest.PIN(2))
	var err error
	admin := &cancuoc.Principal{ID: "root", Role: cancuoc.RoleNationalAdmin}
	e.bank, _, err = e.reg.CreatePrincipal(ctx, admin, registry.NewPrincipal{Name: "Ngân hàng Ví dụ", Role: cancuoc.RoleMinistrySystem, Agency: "NHVD"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Get(ctx, e.bank, e.me, "Mở tài khoản thanh toán"); err != nil {
		t.Fatal(err)
	}
	e.officer, _, err = e.reg.CreatePrincipal(ctx, admin, registry.NewPrincipal{Name: "Cán bộ Ba Đình", Role: cancuoc.RoleCommuneOfficer,
		Jurisdiction: cancuoc.Jurisdiction{Province: "01", Commune: "00004"}, OfficerPIN: string(storetest.PIN(2)), Agency: workflow.AgencyCivilStatus})
	if err != nil {
		t.Fatal(err)
	}
	// The officer (PIN 2) is raised to level 2 in person, and corrects
	// the citizen's phone, which gives the record a version with a diff.
	if _, err := e.eid.GrantLevel2(ctx, e.officer, storetest.PIN(2), "Kiểm tra trực tiếp thẻ căn cước"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Update(ctx, e.officer, e.me, 1, registry.Meta{Reason: "Công dân báo số điện thoại mới", LegalBasis: "Luật Căn cước, điều 9"},
		func(c *cancuoc.Citizen) error { c.Phone = "+84987654321"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutConsent(ctx, &cancuoc.Consent{PIN: e.me, ClientID: "bank-app", Scopes: []string{"openid", "profile"}, GrantedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// register opens an eID account (level 1) for pin with password.
func (e *env) register(pin cancuoc.PIN) {
	t, ctx := e.t, e.t.Context()
	pend, err := e.eid.StartRegistration(ctx, eid.Registration{PIN: pin, FullName: "Nguyễn Văn Đức", BirthDate: cancuoc.Date{Year: 1990, Month: 5, Day: 17}, Phone: "0912345678"}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e.sms.mu.Lock()
	code := e.sms.last
	e.sms.mu.Unlock()
	if _, err := e.eid.ConfirmRegistration(ctx, pend.ChallengeID, code, password, facePhoto(t)); err != nil {
		t.Fatal(err)
	}
}

func facePhoto(t *testing.T) eid.Photo {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return eid.Photo{ContentType: "image/png", Data: buf.Bytes()}
}

// user is a cookie-keeping HTTP client, like a browser without scripts.
type user struct {
	t *testing.T
	c *http.Client
	e *env
}

func (e *env) user() *user {
	jar, _ := cookiejar.New(nil)
	return &user{t: e.t, e: e, c: &http.Client{Jar: jar}}
}

type page struct {
	status int
	body   string
	url    string
}

func (u *user) do(req *http.Request) page {
	u.t.Helper()
	res, err := u.c.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	// A template that fails half-way still answers 200 with half a page.
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") && !strings.Contains(string(b), "</html>") {
		u.t.Fatalf("%s: the page is cut short (a template error?):\n%s", req.URL.Path, b)
	}
	return page{res.StatusCode, string(b), res.Request.URL.String()}
}

func (u *user) get(path string) page {
	req, _ := http.NewRequest(http.MethodGet, u.e.root+path, nil)
	return u.do(req)
}

func (u *user) post(path string, form url.Values) page {
	req, _ := http.NewRequest(http.MethodPost, u.e.root+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return u.do(req)
}

var hidden = regexp.MustCompile(`name="(id|csrf|ar)" value="([^"]*)"`)

func hiddenFields(body string) url.Values {
	v := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
	}
	return v
}

// login goes through the portal's (or console's) login: the provider's
// password page and consent, back to the site.
func (u *user) login(start string, pin cancuoc.PIN) page {
	u.t.Helper()
	p := u.get(start)
	if !strings.Contains(p.body, `name="password"`) {
		u.t.Fatalf("login page: %d %s", p.status, p.body)
	}
	f := hiddenFields(p.body)
	f.Set("pin", string(pin))
	f.Set("password", password)
	p = u.post("/oidc/login", f)
	if strings.Contains(p.body, `value="allow"`) {
		f = hiddenFields(p.body)
		f.Set("decision", "allow")
		p = u.post("/oidc/consent", f)
	}
	return p
}

func consentToBank(e *env) *cancuoc.Consent {
	return &cancuoc.Consent{PIN: e.me, ClientID: "bank-app", Scopes: []string{"openid", "profile"}, GrantedAt: time.Now()}
}

func quality(st cancuoc.Store) *stats.Service {
	s := stats.New(stats.WithTTL(0), stats.WithMinCount(1))
	s.Register(stats.Quality(st))
	return s
}

// residenceSteps adapts residence.Service to workflow.Residence (as
// cmd/cancuoc does): the deregistration cause is a plain string there.
type residenceSteps struct{ *residence.Service }

func (r residenceSteps) DeregisterTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, pin cancuoc.PIN, cause string) error {
	return r.Service.DeregisterTx(ctx, tx, actor, pin, residence.DeregistrationCause(cause))
}
