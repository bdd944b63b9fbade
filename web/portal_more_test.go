package web_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/wallet"
	"github.com/cancuoc/cancuoc/workflow"
)

// postJSON posts a script's JSON request with the session's CSRF header.
func (u *user) postJSON(path, csrf string, body any) (int, map[string]any) {
	u.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, u.e.root+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	p := u.do(req)
	var out map[string]any
	_ = json.Unmarshal([]byte(p.body), &out)
	return p.status, out
}

func attr(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in %s", name, body)
	}
	return html.UnescapeString(m[1])
}

// issueRecord issues a judicial-record certificate to the citizen, as the
// justice ministry's system would once the wallet has a key.
func (e *env) issueRecord() *cancuoc.Document {
	e.t.Helper()
	doc, err := e.wallet.Issue(e.t.Context(), &cancuoc.Principal{ID: "root", Role: cancuoc.RoleNationalAdmin}, wallet.IssueRequest{Type: "judicial_record", PIN: e.me.String(),
		Claims: map[string]any{"full_name": "Nguyễn Văn Đức", "birth_date": "1990-05-17", "pin": e.me.String(), "certificate_number": "123/LLTP",
			"form": "1", "criminal_record": "Không có án tích", "issued_on": "2026-01-05", "issuing_authority": "Sở Tư pháp Hà Nội"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return doc
}

// es256 signs a key-binding JWT's input the way WebCrypto does (r||s).
func es256(key *ecdsa.PrivateKey, input string) string {
	h := sha256.Sum256([]byte(input))
	r, s, _ := ecdsa.Sign(rand.Reader, key, h[:])
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return base64.RawURLEncoding.EncodeToString(sig)
}

var svgRe = regexp.MustCompile(`(?s)<svg .*?</svg>`)

// TestPortalDocuments: the web wallet's key is registered from the
// documents page (CSRF header, fresh login), a document is listed and
// shown with its Vietnamese labels, and a presentation of two ticked
// claims, signed by the holder's key outside the server, becomes a QR code
// of exactly that presentation, which the checker and the /verify page
// accept; a wrong nonce or no claim is refused with a reason.
func TestPortalDocuments(t *testing.T) {
	e := newEnv(t)
	u := e.user()
	u.login("/portal/login", e.me)
	p := u.get("/portal/documents")
	if p.status != 200 || !strings.Contains(p.body, `id="use-browser"`) || !strings.Contains(p.body, "Chưa có giấy tờ nào") {
		t.Fatalf("documents page: %d %s", p.status, p.body)
	}
	csrf := attr(t, p.body, "data-csrf")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := jose.JSONWebKey{Key: key.Public()}
	if st, _ := u.postJSON("/portal/documents/key", "", map[string]any{"jwk": jwk}); st != http.StatusForbidden {
		t.Fatalf("key without the CSRF header: %d", st)
	}
	if st, out := u.postJSON("/portal/documents/key", csrf, map[string]any{"jwk": "nonsense"}); st != http.StatusBadRequest || out["code"] != "jwk_invalid" {
		t.Fatalf("bad key: %d %v", st, out)
	}
	if st, out := u.postJSON("/portal/documents/key", csrf, map[string]any{"jwk": jwk}); st != 200 || out["reissued"] != 0.0 {
		t.Fatalf("key: %d %v", st, out)
	}
	doc := e.issueRecord()

	p = u.get("/portal/documents")
	if !strings.Contains(p.body, `data-doc="`+doc.ID+`"`) || !strings.Contains(p.body, "Phiếu lý lịch tư pháp") {
		t.Fatalf("list: %s", p.body)
	}
	p = u.get("/portal/documents/" + doc.ID)
	if !strings.Contains(p.body, "Tình trạng án tích") || !strings.Contains(p.body, `data-claim="criminal_record">Không có án tích`) {
		t.Fatalf("document: %s", p.body)
	}
	form := url.Values{"csrf": {csrf}, "claim": {"full_name", "criminal_record"}, "aud": {"employer-1"}, "nonce": {"nonce-portal-1"}}
	p = u.post("/portal/documents/"+doc.ID+"/present", form)
	if p.status != 200 {
		t.Fatalf("present: %d %s", p.status, p.body)
	}
	sd, input := attr(t, p.body, "data-sdjwt"), attr(t, p.body, "data-input")
	pres := sd + input + "." + es256(key, input)

	p = u.post("/portal/documents/"+doc.ID+"/qr", url.Values{"csrf": {csrf}, "presentation": {pres}, "nonce": {"nonce-portal-1"}, "aud": {"employer-1"}})
	if p.status != 200 {
		t.Fatalf("qr: %d %s", p.status, p.body)
	}
	want, err := wallet.QRSVG(pres)
	if err != nil {
		t.Fatal(err)
	}
	if got := svgRe.FindString(p.body); got != string(want) {
		t.Fatalf("the page's QR code is not the presentation's")
	}
	if strings.Contains(p.body, `data-claim="birth_date"`) || !strings.Contains(p.body, `data-claim="criminal_record"`) {
		t.Fatalf("disclosed claims: %s", p.body)
	}
	v := e.wallet.Checker(t.Context()).Check(pres, wallet.Expect{Nonce: "nonce-portal-1", Audience: "employer-1", RequireKB: true})
	if !v.Valid || len(v.Claims) != 2 {
		t.Fatalf("checker: %+v", v)
	}
	res, err := http.PostForm(e.root+"/verify", url.Values{"presentation": {pres}, "nonce": {"nonce-portal-1"}, "aud": {"employer-1"}, "require_kb": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	var vb bytes.Buffer
	_, _ = vb.ReadFrom(res.Body)
	res.Body.Close()
	if !strings.Contains(vb.String(), "Tài liệu hợp lệ") {
		t.Fatalf("/verify: %s", vb.String())
	}

	// Another nonce than the one signed: no QR code, the checker's reason.
	p = u.post("/portal/documents/"+doc.ID+"/qr", url.Values{"csrf": {csrf}, "presentation": {pres}, "nonce": {"nonce-portal-2"}, "aud": {"employer-1"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="not-valid"`) || svgRe.MatchString(p.body) {
		t.Fatalf("wrong nonce: %d %s", p.status, p.body)
	}
	p = u.post("/portal/documents/"+doc.ID+"/qr", url.Values{"csrf": {csrf}, "presentation": {strings.Repeat("x", wallet.MaxQR+1)}, "nonce": {"n"}, "aud": {"a"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "quá lớn cho một mã QR") {
		t.Fatalf("oversized presentation: %d %s", p.status, p.body)
	}
	p = u.post("/portal/documents/"+doc.ID+"/present", url.Values{"csrf": {csrf}, "aud": {"employer-1"}, "nonce": {"nonce-portal-1"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "chọn ít nhất một thông tin") {
		t.Fatalf("no claim: %d %s", p.status, p.body)
	}
	// The wallet's reads are in the citizen's own access log, as theirs.
	if p := u.get("/portal/access-log"); !strings.Contains(p.body, "Trình bày giấy tờ") || !strings.Contains(p.body, "Xem danh sách giấy tờ") || strings.Contains(p.body, ">account:") {
		t.Fatalf("access log: %s", p.body)
	}
	// Another citizen's session sees nothing of it.
	other := e.user()
	other.login("/portal/login", storetest.PIN(2))
	if p := other.get("/portal/documents/" + doc.ID); p.status != http.StatusNotFound {
		t.Fatalf("another citizen: %d", p.status)
	}
}

// TestPortalFactorsStepUp: the first factor (TOTP) is enrolled after a
// fresh password login; from then on a password-only session may add
// neither a factor nor a wallet key, until a step-up login through the
// provider (prompt=login) with the TOTP code.
func TestPortalFactorsStepUp(t *testing.T) {
	e := newEnv(t)
	u := e.user()
	u.login("/portal/login", e.me)
	p := u.get("/portal/account")
	if !strings.Contains(p.body, `id="add-totp"`) || !strings.Contains(p.body, `id="add-passkey"`) {
		t.Fatalf("account page: %s", p.body)
	}
	csrf := hiddenFields(p.body).Get("csrf")
	p = u.post("/portal/account/totp", url.Values{"csrf": {csrf}})
	if p.status != 200 || !strings.Contains(p.body, `id="totp-qr"`) {
		t.Fatalf("totp: %d %s", p.status, p.body)
	}
	secret := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(p.body)[1]
	challenge := attr(t, p.body, `name="challenge_id" value`)
	p = u.post("/portal/account/totp/confirm", url.Values{"csrf": {csrf}, "challenge_id": {challenge}, "code": {"000000"}})
	if p.status != http.StatusBadRequest && p.status != http.StatusUnauthorized && p.status != http.StatusNotFound {
		t.Fatalf("wrong code: %d %s", p.status, p.body)
	}
	// A wrong code uses the challenge up: start again.
	p = u.post("/portal/account/totp", url.Values{"csrf": {csrf}})
	secret = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(p.body)[1]
	challenge = attr(t, p.body, `name="challenge_id" value`)
	code, _ := eid.TOTPCode(secret, time.Now(), 6)
	p = u.post("/portal/account/totp/confirm", url.Values{"csrf": {csrf}, "challenge_id": {challenge}, "code": {code}})
	if !strings.Contains(p.url, "/portal/account?added=totp") || !strings.Contains(p.body, `id="factor-added"`) {
		t.Fatalf("confirm: %s %s", p.url, p.body)
	}

	// The account has a second factor now; this session used a password.
	if !strings.Contains(p.body, `id="step-up"`) || strings.Contains(p.body, `id="add-totp"`) {
		t.Fatalf("account page after TOTP: %s", p.body)
	}
	if p := u.post("/portal/account/totp", url.Values{"csrf": {csrf}}); p.status != http.StatusForbidden || !strings.Contains(p.body, "mã TOTP hoặc khoá truy cập") {
		t.Fatalf("second factor with a password session: %d %s", p.status, p.body)
	}
	if st, out := u.postJSON("/portal/account/passkey/begin", csrf, nil); st != http.StatusForbidden || out["code"] != "step_up_required" {
		t.Fatalf("passkey with a password session: %d %v", st, out)
	}
	if st, out := u.postJSON("/portal/documents/key", csrf, map[string]any{"jwk": map[string]string{}}); st != http.StatusForbidden || out["code"] != "step_up_required" {
		t.Fatalf("wallet key with a password session: %d %v", st, out)
	}

	// Step up: the provider asks for the password again although its
	// session is live (prompt=login), then for the TOTP code.
	p = u.get("/portal/reauth?next=/portal/account")
	if !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("reauth: %d %s", p.status, p.body)
	}
	f := hiddenFields(p.body)
	f.Set("pin", string(e.me))
	f.Set("password", password)
	p = u.post("/oidc/login", f)
	if !strings.Contains(p.body, `name="code"`) {
		t.Fatalf("OTP page: %s", p.body)
	}
	f = hiddenFields(p.body)
	code, _ = eid.TOTPCode(secret, time.Now().Add(30*time.Second), 6) // the next step: the last one is used
	f.Set("code", code)
	p = u.post("/oidc/login/otp", f)
	if !strings.Contains(p.url, "/portal/account") || !strings.Contains(p.body, `id="add-totp"`) {
		t.Fatalf("after step-up: %s %s", p.url, p.body)
	}
	csrf = hiddenFields(p.body).Get("csrf")
	if st, out := u.postJSON("/portal/account/passkey/begin", csrf, nil); st != 200 || out["challenge_id"] == nil {
		t.Fatalf("passkey after step-up: %d %v", st, out)
	}
}

// TestPortalApply: a stay notification as a host with its deadline
// verdict; a death filed online, rejected by the civil-status office with
// a reason the applicant reads, and resubmitted; a birth refused with the
// workflow's message shown on the form.
func TestPortalApply(t *testing.T) {
	e := newEnv(t)
	u := e.user()
	u.login("/portal/login", e.me)

	p := u.get("/portal/stay")
	if !strings.Contains(p.body, `id="province" name="province" value="01"`) {
		t.Fatalf("stay form: %s", p.body)
	}
	csrf := hiddenFields(p.body).Get("csrf")
	stay := func(arrival time.Time) page {
		return u.post("/portal/stay", url.Values{"csrf": {csrf}, "host": {"Nguyễn Văn Đức"}, "province": {"01"}, "commune": {"00004"},
			"detail": {"số 12 phố Quán Thánh"}, "arrival": {arrival.In(residence.Zone).Format("2006-01-02T15:04")},
			"guest_name": {"John Smith"}, "guest_document": {"P1234567"}})
	}
	p = stay(time.Now().Add(-5 * time.Minute))
	if p.status != 200 || !strings.Contains(p.body, `data-on-time="true"`) {
		t.Fatalf("stay on time: %d %s", p.status, p.body)
	}
	p = stay(time.Now().Add(-50 * time.Hour))
	if p.status != 200 || !strings.Contains(p.body, `data-on-time="false"`) || !strings.Contains(p.body, "Trễ hạn") {
		t.Fatalf("late stay: %d %s", p.status, p.body)
	}
	p = u.post("/portal/stay", url.Values{"csrf": {csrf}, "province": {"79"}, "commune": {"26732"}, "arrival": {time.Now().In(residence.Zone).Format("2006-01-02T15:04")}, "guest_name": {"A"}, "guest_document": {"P1"}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "xã/phường nơi mình cư trú") {
		t.Fatalf("stay elsewhere: %d %s", p.status, p.body)
	}
	p = u.post("/portal/stay", url.Values{"csrf": {csrf}, "province": {"01"}, "commune": {"00004"}, "arrival": {"yesterday"}, "guest_name": {"A"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `data-field="arrival"`) || !strings.Contains(p.body, `value="yesterday"`) {
		t.Fatalf("bad arrival: %d %s", p.status, p.body)
	}

	// A birth: the citizen has no household, which the form says.
	p = u.post("/portal/apply/birth", url.Values{"csrf": {csrf}, "full_name": {"Nguyễn Văn An"}, "birth_date": {"2026-01-02"}, "sex": {"male"},
		"role": {"father"}, "province": {"01"}, "commune": {"00004"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "chưa có hộ thường trú") {
		t.Fatalf("birth: %d %s", p.status, p.body)
	}

	// A death: the citizen's father (PIN 4) in Ba Đình.
	dad := e.father()
	p = u.post("/portal/apply/death", url.Values{"csrf": {csrf}, "deceased": {string(dad.PIN)}, "date": {"2099-01-01"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "không sau hôm nay") {
		t.Fatalf("death in the future: %d %s", p.status, p.body)
	}
	yesterday := time.Now().In(residence.Zone).AddDate(0, 0, -1).Format("2006-01-02")
	p = u.post("/portal/apply/death", url.Values{"csrf": {csrf}, "deceased": {string(dad.PIN)}, "date": {yesterday}})
	if p.status != 200 || !strings.Contains(p.body, `data-step="1" data-status="pending"`) || !strings.Contains(p.body, "Tư pháp – hộ tịch") {
		t.Fatalf("death file: %d %s", p.status, p.body)
	}
	id := strings.TrimPrefix(p.url, e.root+"/portal/files/")
	if p := u.get("/portal/files"); !strings.Contains(p.body, `data-file="`+id+`"`) {
		t.Fatalf("files: %s", p.body)
	}
	e.reject(id)
	p = u.get("/portal/files/" + id)
	if !strings.Contains(p.body, `data-status="rejected"`) || !strings.Contains(p.body, "Thiếu giấy báo tử của bệnh viện") ||
		!strings.Contains(p.body, `id="resubmit-by"`) {
		t.Fatalf("rejected file (with the date to resubmit by): %s", p.body)
	}
	p = u.post("/portal/files/"+id+"/resubmit", url.Values{"csrf": {csrf}, "step": {"1"}, "note": {"Đã tải lên giấy báo tử"}})
	if !strings.Contains(p.body, `id="resubmitted"`) || !strings.Contains(p.body, `data-step="1" data-status="pending"`) {
		t.Fatalf("resubmitted: %s", p.body)
	}
	if p := u.get("/portal/files/" + id + "?lang=en"); !strings.Contains(p.body, "Death file") || !strings.Contains(p.body, "Civil status office") {
		t.Fatalf("the file in English: %s", p.body)
	}
	u.get("/portal/files?lang=vi")
	// Another citizen cannot read the file.
	other := e.user()
	other.login("/portal/login", storetest.PIN(2))
	if p := other.get("/portal/files/" + id); p.status != http.StatusNotFound {
		t.Fatalf("another citizen's file: %d", p.status)
	}
}

// father stores the citizen's father (PIN 4, in Ba Đình), whose death the
// citizen may file.
func (e *env) father() *cancuoc.Citizen {
	e.t.Helper()
	dad := storetest.Minimal(storetest.PIN(4), "Nguyễn Văn Bố", "nguyen van bo")
	dad.BirthDate = cancuoc.Date{Year: 1950, Month: 1, Day: 1}
	dad.Children = []cancuoc.Relative{{PIN: e.me, Name: "Nguyễn Văn Đức"}}
	dad.Home = cancuoc.UnitRef{Province: "01", Commune: "00004"}
	if err := e.store.InsertCitizen(e.t.Context(), dad); err != nil {
		e.t.Fatal(err)
	}
	return dad
}

// deathFile files the father's death as the citizen, through the
// workflow service, and returns the file's ID.
func (e *env) deathFile() string {
	e.t.Helper()
	dad := e.father()
	f, err := e.wf.Submit(e.t.Context(), workflow.Applicant{PIN: e.me}, workflow.Submission{Kind: cancuoc.ProcedureDeath,
		Death: &workflow.DeathApplication{Deceased: dad.PIN, Date: cancuoc.DateOf(time.Now().In(residence.Zone).AddDate(0, 0, -1))}})
	if err != nil {
		e.t.Fatal(err)
	}
	return f.ID
}

// reject has Ba Đình's civil-status office send step 1 of file id back
// to the applicant.
func (e *env) reject(id string) {
	e.t.Helper()
	ctx := e.t.Context()
	civil, _, err := e.reg.CreatePrincipal(ctx, &cancuoc.Principal{ID: "root", Role: cancuoc.RoleNationalAdmin}, registry.NewPrincipal{Name: "Tư pháp Ba Đình",
		Role: cancuoc.RoleCommuneOfficer, Agency: workflow.AgencyCivilStatus, Jurisdiction: cancuoc.Jurisdiction{Province: "01", Commune: "00004"}})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.wf.Claim(ctx, civil, id, 1); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.wf.Reject(ctx, civil, id, 1, workflow.Rejection{Reason: "Thiếu giấy báo tử của bệnh viện"}); err != nil {
		e.t.Fatal(err)
	}
}

// TestPortalGuardian: a parent sees the child's account they manage, its
// logins, consents and documents; another citizen and another child's
// PIN see nothing.
func TestPortalGuardian(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	child := storetest.PINFor("001", cancuoc.Female, time.Now().Year()-8, 7)
	c := storetest.Minimal(child, "Nguyễn Thị Bé", "nguyen thi be")
	c.BirthDate = cancuoc.Date{Year: time.Now().Year() - 8, Month: 3, Day: 3}
	c.Father = &cancuoc.Relative{PIN: e.me, Name: "Nguyễn Văn Đức"}
	c.Home = cancuoc.UnitRef{Province: "01", Commune: "00004"}
	if err := e.store.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eid.GrantLevel2(ctx, e.officer, e.me, "Kiểm tra trực tiếp thẻ căn cước"); err != nil {
		t.Fatal(err)
	}
	g, err := e.eid.AccountByPIN(ctx, e.me)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eid.CreateChildAccount(ctx, g, eid.ChildRequest{PIN: child, Password: password}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutConsent(ctx, &cancuoc.Consent{PIN: child, ClientID: "bank-app", Scopes: []string{"openid"}, GrantedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	u := e.user()
	u.login("/portal/login", e.me)
	p := u.get("/portal/children")
	if !strings.Contains(p.body, `data-child="`+string(child)+`"`) {
		t.Fatalf("children: %s", p.body)
	}
	p = u.get("/portal/children/" + string(child))
	if p.status != 200 || !strings.Contains(p.body, `id="child-logins"`) || !strings.Contains(p.body, `data-client="bank-app"`) || !strings.Contains(p.body, `id="child-documents"`) {
		t.Fatalf("child: %d %s", p.status, p.body)
	}
	n := 0
	entries, err := e.store.AuditFor(ctx, child, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range entries {
		if a.Action == "guardian.read_child" && a.Actor == "account:"+g.ID {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d entries of the guardian's reading in the child's access log", n)
	}
	if p := u.get("/portal/documents?for=" + string(child)); p.status != 200 || !strings.Contains(p.body, "Giấy tờ của con") {
		t.Fatalf("child's documents: %d %s", p.status, p.body)
	}
	if p := u.get("/portal/children/" + string(storetest.PIN(2))); p.status != http.StatusNotFound {
		t.Fatalf("an adult's page: %d", p.status)
	}
	other := e.user()
	other.login("/portal/login", storetest.PIN(2))
	if p := other.get("/portal/children/" + string(child)); p.status != http.StatusNotFound {
		t.Fatalf("another citizen: %d", p.status)
	}
	if p := other.get("/portal/documents?for=" + string(child)); p.status != http.StatusForbidden {
		t.Fatalf("another citizen's view of the child's documents: %d", p.status)
	}
	if p := other.get("/portal/children"); !strings.Contains(p.body, "Bạn không quản lý tài khoản của trẻ nào") {
		t.Fatalf("no children: %s", p.body)
	}
}
