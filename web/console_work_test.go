package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/workflow"
)

// granter is a national administrator (no eID) that raises officers to
// level 2 in the tests.
func (e *env) granter() *cancuoc.Principal {
	e.t.Helper()
	p, _, err := e.reg.CreatePrincipal(e.t.Context(), nil, registry.NewPrincipal{Name: "Quản trị cấp mức 2", Role: cancuoc.RoleNationalAdmin})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// officerAt makes pin an officer: a citizen living at home (added when
// not in the registry yet), with a level-2 eID account, linked to a new
// principal np.
func (e *env) officerAt(pin cancuoc.PIN, home cancuoc.UnitRef, np registry.NewPrincipal) *cancuoc.Principal {
	t, ctx := e.t, e.t.Context()
	t.Helper()
	if _, err := e.store.Citizen(ctx, pin); cancuoc.KindOf(err) == cancuoc.NotFound {
		full := storetest.Citizen(pin)
		c := storetest.Minimal(pin, full.FullName, full.NameKey)
		c.BirthDate, c.Phone, c.Home = full.BirthDate, full.Phone, home
		c.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era34, Province: home.Province, Commune: home.Commune}
		if err := e.store.InsertCitizen(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	e.register(pin)
	if _, err := e.eid.GrantLevel2(ctx, e.granter(), pin, "Kiểm tra trực tiếp thẻ căn cước"); err != nil {
		t.Fatal(err)
	}
	np.OfficerPIN = string(pin)
	p, _, err := e.reg.CreatePrincipal(ctx, nil, np)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// moveWithinWard registers the permanent residence of me (c) at another
// address of the same ward, through the residence procedure: the record's
// version 3 changes the address's detail (and links the new household).
func (e *env) moveWithinWard(t *testing.T, c *cancuoc.Citizen) {
	t.Helper()
	addr := *c.PermanentResidence
	addr.Detail = "số 5 phố Phan Đình Phùng"
	if _, err := e.res.CreateHousehold(t.Context(), e.officer, residence.NewHousehold{Address: addr, HeadPIN: e.me,
		Request: &cancuoc.HeadConsent{By: e.me, At: time.Now(), Method: "in_person"},
		Meta:    registry.Meta{Reason: "Chuyển chỗ ở trong phường", LegalBasis: "Luật Cư trú 2020, điều 22"}}); err != nil {
		t.Fatal(err)
	}
}

// submitBirth files a birth online by citizen me (the father), handled in
// Ba Đình; me heads a household so the child's residence can follow.
func (e *env) submitBirth(t *testing.T) *workflow.File {
	t.Helper()
	ctx := t.Context()
	c, err := e.store.Citizen(ctx, e.me)
	if err != nil {
		t.Fatal(err)
	}
	if c.Household == nil {
		// Through the residence procedure, as the household must be in the
		// register for the police step to register the child in it.
		_, err := e.res.CreateHousehold(ctx, e.officer, residence.NewHousehold{Address: *c.PermanentResidence, HeadPIN: e.me,
			Request: &cancuoc.HeadConsent{By: e.me, At: time.Now(), Method: "in_person"},
			Meta:    registry.Meta{Reason: "Lập hộ", LegalBasis: "Luật Cư trú 2020"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	born := cancuoc.DateOf(time.Now().AddDate(0, -1, 0))
	f, err := e.wf.Submit(ctx, workflow.Applicant{PIN: e.me}, workflow.Submission{Kind: cancuoc.ProcedureBirth,
		Birth: &workflow.BirthApplication{FullName: "Nguyễn Minh An", BirthDate: born, Sex: cancuoc.Male,
			Father: &cancuoc.Relative{PIN: e.me}, Registration: cancuoc.Place{Province: "01", Commune: "00004"}, Ethnicity: "01"}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// drain runs the workflow's event handler over the outbox, as the
// dispatcher does in the server: completed steps create the next ones.
func (e *env) drain(t *testing.T) {
	t.Helper()
	evs, err := e.store.EventsAfter(t.Context(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := e.wf.HandleEvent(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

// formKey is the idempotency key of a step form on a file page.
func formKey(t *testing.T, body string, no, action string) string {
	t.Helper()
	m := regexp.MustCompile(`steps/` + no + `/` + action + `" class="` + action + `">\s*<input type="hidden" name="csrf" value="([^"]+)"><input type="hidden" name="key" value="([^"]+)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s form for step %s:\n%s", action, no, body)
	}
	return m[2]
}

// TestConsoleProcedures: a civil-status officer of Ba Đình sees the
// birth file filed there in the home page's count and the queue, opens
// it (the reading is logged), claims and completes its step through the
// console's forms (CSRF, POST only, idempotent on resubmission), which
// registers the child; the police step that follows is not theirs; an
// overdue step is flagged; an officer of another commune sees nothing
// of the file and cannot act on it.
func TestConsoleProcedures(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	f := e.submitBirth(t)
	u := e.user()
	p := u.login("/console/login", storetest.PIN(2))
	if p.status != 200 || !strings.Contains(p.body, `id="queue-procedures"`) || !strings.Contains(p.body, `data-open="1"`) ||
		strings.Contains(p.body, `data-overdue=`) {
		t.Fatalf("home with the procedure queue's count: %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "partners-link") {
		t.Error("a commune officer is offered the partner administration")
	}
	p = u.get("/console/procedures")
	if p.status != 200 || !strings.Contains(p.body, `data-file="`+f.ID+`" data-step="1"`) || !strings.Contains(p.body, "Đăng ký khai sinh") {
		t.Fatalf("queue: %d\n%s", p.status, p.body)
	}
	page := "/console/procedures/" + f.ID
	p = u.get(page)
	if p.status != 200 || !strings.Contains(p.body, `id="step-1"`) || !strings.Contains(p.body, "Nguyễn Minh An") {
		t.Fatalf("file page: %d\n%s", p.status, p.body)
	}
	log, _ := e.store.AuditFor(ctx, e.me, 100)
	read := false
	for _, a := range log {
		read = read || (a.Actor == e.officer.ID && a.Action == "procedure.read" && a.Outcome == "ok")
	}
	if !read {
		t.Error("reading the file is not in the access log")
	}
	csrf, claimKey := csrfOf(t, p.body), formKey(t, p.body, "1", "claim")
	completeKey, rejectKey := formKey(t, p.body, "1", "complete"), formKey(t, p.body, "1", "reject")

	// State changes are POST only, with the session's token.
	if p := u.get(page + "/steps/1/claim"); p.status != 405 {
		t.Errorf("GET on an action: %d", p.status)
	}
	if p := u.post(page+"/steps/1/claim", url.Values{"csrf": {"forged"}, "key": {claimKey}}); p.status != 403 {
		t.Errorf("claim with a forged token: %d", p.status)
	}
	if p := u.post(page+"/steps/1/launch", url.Values{"csrf": {csrf}}); p.status != 404 {
		t.Errorf("unknown action: %d", p.status)
	}
	p = u.post(page+"/steps/1/claim", url.Values{"csrf": {csrf}, "key": {claimKey}})
	if p.status != 200 || !strings.Contains(p.body, `id="done"`) || !strings.Contains(p.body, "Đang xử lý") || !strings.Contains(p.body, "Cán bộ Ba Đình") {
		t.Fatalf("after claiming: %d %s\n%s", p.status, p.url, p.body)
	}
	// A rejection needs a reason; the service's message is shown.
	if p := u.post(page+"/steps/1/reject", url.Values{"csrf": {csrf}, "key": {rejectKey}, "text": {"  "}}); p.status != 400 ||
		!strings.Contains(p.body, "Cần ghi lý do") || !strings.Contains(p.body, `<a href="`+page+`#step-1" id="back">`) {
		t.Errorf("reject without a reason: %d\n%s", p.status, p.body)
	}
	done := url.Values{"csrf": {csrf}, "key": {completeKey}, "text": {"Đã đối chiếu giấy chứng sinh"}}
	p = u.post(page+"/steps/1/complete", done)
	if p.status != 200 || !strings.Contains(p.body, `data-status="completed"`) || !strings.Contains(p.body, "KS.") ||
		!strings.Contains(p.body, "Đã đối chiếu giấy chứng sinh") {
		t.Fatalf("after completing: %d\n%s", p.status, p.body)
	}
	// The same form sent again gets the stored answer: no second effect.
	if p := u.post(page+"/steps/1/complete", done); p.status != 200 || !strings.Contains(p.body, `id="done"`) {
		t.Errorf("completing again with the same form: %d\n%s", p.status, p.body)
	}
	file, err := e.store.Procedure(ctx, f.ID)
	if err != nil || file.Subject == "" {
		t.Fatalf("the child was not registered: %v %+v", err, file)
	}
	if child, err := e.store.Citizen(ctx, file.Subject); err != nil || child.FullName != "Nguyễn Minh An" {
		t.Fatalf("child: %v %+v", err, child)
	}

	// The next step is the police's: shown, without forms, and refused.
	e.drain(t)
	p = u.get(page)
	if !strings.Contains(p.body, `id="step-2"`) || strings.Contains(p.body, "steps/2/claim") {
		t.Errorf("the police step should be shown without actions:\n%s", p.body)
	}
	if p := u.post(page+"/steps/2/claim", url.Values{"csrf": {csrf}}); p.status != 403 || !strings.Contains(p.body, "cơ quan khác") {
		t.Errorf("claiming another agency's step: %d\n%s", p.status, p.body)
	}

	// Overdue: a second file, three days later, is past its due time.
	f2 := e.submitBirth(t)
	e.shift.Store(int64(72 * time.Hour))
	t.Cleanup(func() { e.shift.Store(0) })
	p = u.get("/console")
	if !strings.Contains(p.body, `data-open="1"`) || !strings.Contains(p.body, `data-overdue="1"`) {
		t.Errorf("home should count one overdue step:\n%s", p.body)
	}
	p = u.get("/console/procedures")
	if !strings.Contains(p.body, `data-file="`+f2.ID+`" data-step="1" class="overdue"`) || !strings.Contains(p.body, "Quá hạn") {
		t.Errorf("queue should flag the overdue step:\n%s", p.body)
	}

	// An officer of the same agency in another commune.
	e.officerAt(storetest.PIN(4), cancuoc.UnitRef{Province: "01", Commune: "00008"}, registry.NewPrincipal{Name: "Cán bộ Ngọc Hà",
		Role: cancuoc.RoleCommuneOfficer, Agency: workflow.AgencyCivilStatus, Jurisdiction: cancuoc.Jurisdiction{Province: "01", Commune: "00008"}})
	o := e.user()
	p = o.login("/console/login", storetest.PIN(4))
	if !strings.Contains(p.body, `data-open="0"`) {
		t.Errorf("another commune's officer should count nothing:\n%s", p.body)
	}
	if p := o.get("/console/procedures"); p.status != 200 || strings.Contains(p.body, f2.ID) {
		t.Errorf("another commune's queue: %d\n%s", p.status, p.body)
	}
	p = o.get("/console/procedures/" + f2.ID)
	if p.status != 403 || !strings.Contains(p.body, "địa bàn") {
		t.Errorf("another commune's file: %d\n%s", p.status, p.body)
	}
	home := o.get("/console")
	if p := o.post("/console/procedures/"+f2.ID+"/steps/1/claim", url.Values{"csrf": {csrfOf(t, home.body)}}); p.status != 403 {
		t.Errorf("claim outside the jurisdiction: %d", p.status)
	}
	st, _ := e.store.Step(ctx, f2.ID, 1)
	if st.Status != cancuoc.StepPending {
		t.Errorf("step after refused claim: %s", st.Status)
	}
}
