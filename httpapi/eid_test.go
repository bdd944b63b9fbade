package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/httpapi"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// outbox stands for the SMS gateway (the edge of the system).
type outbox struct {
	mu   sync.Mutex
	last map[string]string
}

func (o *outbox) Send(_ context.Context, phone, msg string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last == nil {
		o.last = map[string]string{}
	}
	o.last[phone] = regexp.MustCompile(`\d{6}`).FindString(msg)
	return nil
}

func (o *outbox) code(phone string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last[phone]
}

type eidEnv struct {
	t       testing.TB
	srv     *httptest.Server
	store   *sqlite.Store
	sms     *outbox
	officer string // API key of Ba Đình's commune officer
	far     string // API key of an officer in Hồ Chí Minh City
	adult   *cancuoc.Citizen
	child   *cancuoc.Citizen
	xff     string // X-Forwarded-For sent with each request, when set
	otp     string // X-OTP sent with each request, when set
}

// envOption changes the eID configuration or the API of a test env.
type envOption struct {
	cfg func(*eid.Config)
	api func(*httpapi.API)
}

func newEIDEnv(t testing.TB, opts ...envOption) *eidEnv {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w := audit.NewWriter(store, 0)
	t.Cleanup(func() { w.Close() })
	reg := registry.New(store, w)
	sms := &outbox{}
	cfg := eid.DefaultConfig()
	cfg.Password = eid.FastTestPasswordParams()
	for _, o := range opts {
		if o.cfg != nil {
			o.cfg(&cfg)
		}
	}
	es, err := eid.New(store, sms, cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	api := httpapi.New(reg, log).WithEID(es)
	for _, o := range opts {
		if o.api != nil {
			o.api(api)
		}
	}
	api.Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	t.Cleanup(srv.Close)
	e := &eidEnv{t: t, srv: srv, store: store, sms: sms}
	for _, x := range []struct {
		dst *string
		np  registry.NewPrincipal
	}{
		{&e.officer, registry.NewPrincipal{Name: "Cán bộ Ba Đình", Role: cancuoc.RoleCommuneOfficer, Jurisdiction: cancuoc.Jurisdiction{Province: "01", Commune: "00004"}}},
		{&e.far, registry.NewPrincipal{Name: "Cán bộ TP HCM", Role: cancuoc.RoleProvinceOfficer, Jurisdiction: cancuoc.Jurisdiction{Province: "79"}}},
	} {
		if _, *x.dst, err = reg.CreatePrincipal(ctx, nil, x.np); err != nil {
			t.Fatal(err)
		}
	}
	e.adult = storetest.Citizen(storetest.PIN(1))
	e.child = storetest.Minimal(storetest.PINFor("001", cancuoc.Female, 2018, 3), "Nguyễn Thị Mai", "nguyen thi mai")
	e.child.BirthDate = cancuoc.Date{Year: 2018, Month: 3, Day: 1}
	e.child.Father = &cancuoc.Relative{PIN: e.adult.PIN}
	for _, c := range []*cancuoc.Citizen{e.adult, e.child} {
		if err := store.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

type eidResp struct {
	status int
	body   []byte
}

// do sends a request; auth is "" (none), "key:<api key>" or "basic:<pin>:<password>".
func (e *eidEnv) do(method, path, auth string, body any) eidResp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if e.xff != "" {
		req.Header.Set("X-Forwarded-For", e.xff)
	}
	if e.otp != "" {
		req.Header.Set("X-OTP", e.otp)
	}
	if k, ok := strings.CutPrefix(auth, "key:"); ok {
		req.Header.Set("Authorization", "Bearer "+k)
	} else if up, ok := strings.CutPrefix(auth, "basic:"); ok {
		u, p, _ := strings.Cut(up, ":")
		req.SetBasicAuth(u, p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return eidResp{resp.StatusCode, b}
}

func (r eidResp) want(t testing.TB, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
	}
}

func (r eidResp) problem(t *testing.T, status int, code string) {
	t.Helper()
	var p httpapi.Problem
	r.want(t, status, &p)
	if p.Code != code {
		t.Errorf("problem %q (%s), want %q", p.Code, p.Detail, code)
	}
}

func pngPhoto() []byte {
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, 64, 64)))
	return buf.Bytes()
}

const pw = "mật khẩu dài 123"

func (e *eidEnv) registerAdult(t testing.TB) string {
	t.Helper()
	var p eid.Pending
	e.do("POST", "/v1/eid/registrations", "", map[string]any{"pin": e.adult.PIN, "full_name": "nguyen van duc",
		"birth_date": "1990-05-17", "phone": "0912345678"}).want(t, http.StatusAccepted, &p)
	var a cancuoc.Account
	e.do("POST", "/v1/eid/registrations/"+p.ChallengeID+"/confirm", "", map[string]any{"code": e.sms.code("+84912345678"),
		"password": pw, "photo": map[string]any{"content_type": "image/png", "data": pngPhoto()}}).want(t, http.StatusCreated, &a)
	return "basic:" + string(e.adult.PIN) + ":" + pw
}

func TestEIDFlows(t *testing.T) {
	e := newEIDEnv(t)
	holder := e.registerAdult(t)
	pin := string(e.adult.PIN)

	var view struct {
		cancuoc.Account
		TOTP bool `json:"totp"`
	}
	e.do("GET", "/v1/eid/account", holder, nil).want(t, http.StatusOK, &view)
	if view.Level != 1 || view.Status != cancuoc.AccountActive || view.TOTP {
		t.Errorf("account %+v", view)
	}
	e.do("GET", "/v1/eid/account", "", nil).problem(t, http.StatusUnauthorized, "credentials_missing")
	e.do("GET", "/v1/eid/account", "basic:"+pin+":sai", nil).problem(t, http.StatusUnauthorized, "invalid_credentials")
	e.do("GET", "/v1/eid/account", "basic:12:x", nil).problem(t, http.StatusUnauthorized, "invalid_credentials")

	// Level 2 by an officer of the right commune only.
	e.do("POST", "/v1/eid/accounts/"+pin+"/level2", "key:"+e.far, map[string]string{"reason": "x"}).problem(t, http.StatusForbidden, "outside_jurisdiction")
	e.do("POST", "/v1/eid/accounts/"+pin+"/level2", holder, map[string]string{"reason": "x"}).problem(t, http.StatusUnauthorized, "api_key_missing")
	var a cancuoc.Account
	e.do("POST", "/v1/eid/accounts/"+pin+"/level2", "key:"+e.officer, map[string]string{"reason": "Kiểm tra trực tiếp"}).want(t, http.StatusOK, &a)
	if a.Level != 2 || a.Level2 == nil {
		t.Errorf("after level 2: %+v", a)
	}

	// Passkey registration begins (the ceremony itself is tested in eid).
	var pr struct {
		ChallengeID string          `json:"challenge_id"`
		Options     json.RawMessage `json:"options"`
	}
	e.do("POST", "/v1/eid/account/passkeys", holder, nil).want(t, http.StatusOK, &pr)
	if pr.ChallengeID == "" || !bytes.Contains(pr.Options, []byte(`"challenge"`)) {
		t.Errorf("passkey options %s", pr.Options)
	}
	e.do("POST", "/v1/eid/account/passkeys/"+pr.ChallengeID, holder, []byte(`{"id":"x"}`)).problem(t, http.StatusBadRequest, "passkey_invalid")

	// A child's account, its logins, and an organisation.
	var child cancuoc.Account
	e.do("POST", "/v1/eid/children", holder, map[string]string{"pin": string(e.child.PIN), "password": "mật khẩu của con"}).want(t, http.StatusCreated, &child)
	var kids struct{ Children []cancuoc.Account }
	e.do("GET", "/v1/eid/children", holder, nil).want(t, http.StatusOK, &kids)
	if len(kids.Children) != 1 || kids.Children[0].ID != child.ID {
		t.Errorf("children %+v", kids)
	}
	e.do("GET", "/v1/eid/children/"+string(e.child.PIN)+"/logins", holder, nil).want(t, http.StatusOK, nil)
	var org cancuoc.Account
	e.do("POST", "/v1/eid/organisations", holder, map[string]string{"name": "Công ty TNHH Một Thành Viên"}).want(t, http.StatusCreated, &org)
	e.do("POST", "/v1/eid/organisations/"+org.ID+"/members", holder, map[string]string{"pin": string(e.child.PIN), "role": "member"}).want(t, http.StatusCreated, nil)
	var ms struct{ Members []cancuoc.OrgMembership }
	e.do("GET", "/v1/eid/organisations/"+org.ID+"/members", holder, nil).want(t, http.StatusOK, &ms)
	if len(ms.Members) != 2 {
		t.Errorf("members %+v", ms)
	}

	// TOTP enrolment (after the actions above: with a second factor they
	// want it too, see TestCitizenStrong).
	var en eid.TOTPEnrolment
	e.do("POST", "/v1/eid/account/totp", holder, nil).want(t, http.StatusOK, &en)
	if !strings.HasPrefix(en.URI, "otpauth://totp/") {
		t.Errorf("URI %q", en.URI)
	}
	code, _ := eid.TOTPCode(en.Secret, time.Now(), 6)
	e.do("POST", "/v1/eid/account/totp/confirm", holder, map[string]string{"challenge_id": en.ChallengeID, "code": code}).want(t, http.StatusNoContent, nil)
	e.do("GET", "/v1/eid/account", holder, nil).want(t, http.StatusOK, &view)
	if !view.TOTP {
		t.Error("TOTP not shown as enrolled")
	}

	// Password reset through the phone.
	var p eid.Pending
	e.do("POST", "/v1/eid/password-resets", "", map[string]string{"pin": pin}).want(t, http.StatusAccepted, &p)
	e.do("POST", "/v1/eid/password-resets/"+p.ChallengeID+"/confirm", "", map[string]string{"code": e.sms.code("+84912345678"), "password": "mật khẩu mới 456"}).want(t, http.StatusNoContent, nil)
	holder = "basic:" + pin + ":mật khẩu mới 456"

	// Lock, then an officer unlocks.
	e.do("POST", "/v1/eid/account/lock", holder, nil).want(t, http.StatusOK, &a)
	e.do("GET", "/v1/eid/account", holder, nil).problem(t, http.StatusForbidden, "account_locked")
	e.do("POST", "/v1/eid/accounts/"+pin+"/unlock", "key:"+e.officer, map[string]string{"reason": ""}).problem(t, http.StatusBadRequest, "reason_required")
	e.do("POST", "/v1/eid/accounts/"+pin+"/unlock", "key:"+e.officer, map[string]string{"reason": "Đã kiểm tra CCCD"}).want(t, http.StatusOK, &a)
	e.do("GET", "/v1/eid/account", holder, nil).want(t, http.StatusOK, nil)
}

func TestEIDNotWired(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	httpapi.New(nil, log).Routes(mux)
	srv := httptest.NewServer(httpapi.Handler(mux, log, nil))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/eid/registrations", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
}

// FuzzEIDBodies posts arbitrary bodies to every route that decodes JSON:
// whatever arrives, the answer is a client error or success, never a 500.
func FuzzEIDBodies(f *testing.F) {
	for _, s := range []string{`{}`, `{"pin":"001090000001","full_name":"A","birth_date":"1990-05-17","phone":"0912345678"}`,
		`{"code":"123456","password":"12345678","photo":{"content_type":"image/png","data":"iVBORw0KGgo="}}`,
		`{"reason":"x"}`, `{"pin":"x","role":"admin"}`, `{"challenge_id":"c","code":"1"}`, `[`, `null`, `{"photo":{"data":"!"}}`} {
		for i := range 8 {
			f.Add(uint8(i), []byte(s))
		}
	}
	env := newEIDEnv(f)
	holder := env.registerAdult(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		env.t = t
		routes := []struct{ path, auth string }{
			{"/v1/eid/registrations", ""},
			{"/v1/eid/registrations/c_x/confirm", ""},
			{"/v1/eid/password-resets", ""},
			{"/v1/eid/password-resets/c_x/confirm", ""},
			{"/v1/eid/account/totp/confirm", holder},
			{"/v1/eid/children", holder},
			{"/v1/eid/organisations", holder},
			{"/v1/eid/accounts/" + string(env.adult.PIN) + "/level2", "key:" + env.officer},
		}
		r := routes[int(route)%len(routes)]
		resp := env.do("POST", r.path, r.auth, body)
		if resp.status >= 500 {
			t.Fatalf("%s: status %d for %q: %s", r.path, resp.status, body, resp.body)
		}
	})
}
