package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/workflow"
)

// Online procedures: the birth and death files of the workflow capability,
// followed step by step, and stay notifications as a host (residence).
// Forms post back to themselves: an invalid one is shown again with the
// capability's message and what was typed.

type filesPage struct {
	Files []*cancuoc.Procedure
	Done  string // the file just submitted
}

func (s *Site) portalFiles(w http.ResponseWriter, r *http.Request, ss *session) {
	files, err := s.portal.more.Workflow.MyFiles(r.Context(), ss.PIN, "", 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.portalView(w, r, ss, "Hồ sơ thủ tục")
	v.Data = portalPage{Sub: s.portalSub("/portal/files"), Data: filesPage{Files: files, Done: r.URL.Query().Get("submitted")}}
	s.render(w, http.StatusOK, "portal_files.html", v)
}

type filePage struct {
	File        *workflow.File
	Steps       []fileStepRow
	Remaining   []label
	Resubmitted bool
}

// fileStepRow is a step with its name and agency in words.
type fileStepRow struct {
	*workflow.StepView
	Label, Agency label
}

type label struct{ VI, EN string }

// stepLabels and agencyLabels say in words what the workflow names by code.
var stepLabels = map[string]label{
	workflow.StepBirthRegistration: {"Đăng ký khai sinh", "Birth registration"},
	workflow.StepNewbornResidence:  {"Đăng ký thường trú cho trẻ", "The child's permanent residence"},
	workflow.StepHealthCard:        {"Cấp thẻ bảo hiểm y tế", "Health-insurance card"},
	workflow.StepDeathRegistration: {"Đăng ký khai tử", "Death registration"},
	workflow.StepDeregistration:    {"Xoá đăng ký thường trú", "Residence deregistration"},
	workflow.StepFuneralAllowance:  {"Trợ cấp mai táng", "Funeral allowance"},
	workflow.StepSurvivorBenefit:   {"Trợ cấp tuất", "Survivor benefit"},
}

var agencyLabels = map[string]label{
	workflow.AgencyCivilStatus:     {"Tư pháp – hộ tịch", "Civil status office"},
	workflow.AgencyPolice:          {"Công an", "Police"},
	workflow.AgencySocialInsurance: {"Bảo hiểm xã hội", "Social insurance"},
	workflow.AgencyLabour:          {"Lao động – Thương binh và Xã hội", "Labour and social affairs"},
}

func fileLabel(m map[string]label, code string) label {
	if l, ok := m[code]; ok {
		return l
	}
	return label{code, code}
}

func (s *Site) portalProcedureFile(w http.ResponseWriter, r *http.Request, ss *session) {
	f, err := s.portal.more.Workflow.MyFile(r.Context(), ss.PIN, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.portalView(w, r, ss, "Hồ sơ "+f.ID)
	pg := filePage{File: f, Resubmitted: r.URL.Query().Get("resubmitted") != ""}
	for _, st := range f.Steps {
		pg.Steps = append(pg.Steps, fileStepRow{StepView: st, Label: fileLabel(stepLabels, st.Name), Agency: fileLabel(agencyLabels, st.Agency)})
	}
	for _, name := range f.Remaining {
		pg.Remaining = append(pg.Remaining, fileLabel(stepLabels, name))
	}
	v.Data = portalPage{Sub: s.portalSub("/portal/files"), Data: pg}
	s.render(w, http.StatusOK, "portal_file.html", v)
}

// portalResubmit sends a rejected step back to its agency with the
// applicant's note (what they supplied).
func (s *Site) portalResubmit(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	no, err := auditlogInt("step", r.PostFormValue("step"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sup := workflow.Supplement{Note: strings.TrimSpace(r.PostFormValue("note"))}
	if _, err := s.portal.more.Workflow.Resubmit(r.Context(), workflow.Applicant{PIN: ss.PIN}, id, int(no), sup); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal/files/"+urlPathEscape(id)+"?resubmitted=1", http.StatusSeeOther)
}

// applyPage is a procedure or stay form: what was typed, and the error of
// the last try.
type applyPage struct {
	Form       map[string]string
	ErrVI      string
	ErrEN      string
	ErrField   string
	Stay       *cancuoc.StayNotification
	LateMin    int64 // minutes past the stay's deadline
	MaxArrival string
}

func formOf(r *http.Request, names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = strings.TrimSpace(r.PostFormValue(n))
	}
	return m
}

// home is the citizen's residence unit, to fill the commune fields.
func (s *Site) home(r *http.Request, ss *session) cancuoc.UnitRef {
	c, err := s.portal.deps.Registry.Own(r.Context(), me(ss))
	if err != nil {
		return cancuoc.UnitRef{}
	}
	return c.Home
}

// showForm renders page with the error of a refused submission (its
// message and field), or fails for errors that are not about the form.
func (s *Site) showForm(w http.ResponseWriter, r *http.Request, ss *session, page, title, nav string, pg applyPage, err error) {
	status := http.StatusOK
	if err != nil {
		e, ok := err.(*cancuoc.Error)
		if !ok || e.Kind == cancuoc.Internal {
			s.fail(w, r, err)
			return
		}
		pg.ErrVI, pg.ErrEN, pg.ErrField, status = e.MessageVI, e.MessageEN, e.Field, kindStatus[e.Kind]
	}
	v := s.portalView(w, r, ss, title)
	v.Data = portalPage{Sub: s.portalSub(nav), Data: pg}
	s.render(w, status, page, v)
}

var birthFields = []string{"full_name", "birth_date", "sex", "role", "other_pin", "other_name", "province", "commune", "ethnicity"}

// portalApplyBirth: a parent registers their child's birth online, which
// opens the interlinked file (birth registration, permanent residence,
// health-insurance card).
func (s *Site) portalApplyBirth(w http.ResponseWriter, r *http.Request, ss *session) {
	pg := applyPage{Form: formOf(r, birthFields...)}
	if r.Method == http.MethodGet {
		h := s.home(r, ss)
		pg.Form["province"], pg.Form["commune"], pg.Form["role"] = h.Province, h.Commune, "mother"
		s.showForm(w, r, ss, "portal_apply_birth.html", "Đăng ký khai sinh", "/portal/files", pg, nil)
		return
	}
	f := pg.Form
	app := &workflow.BirthApplication{FullName: f["full_name"], Sex: cancuoc.Sex(f["sex"]), Ethnicity: f["ethnicity"],
		Registration: cancuoc.Place{Era: cancuoc.Era34, Province: f["province"], Commune: f["commune"]}}
	var err error
	if app.BirthDate, err = formDate("birth.birth_date", f["birth_date"]); err != nil {
		s.showForm(w, r, ss, "portal_apply_birth.html", "Đăng ký khai sinh", "/portal/files", pg, err)
		return
	}
	self := &cancuoc.Relative{PIN: ss.PIN}
	var other *cancuoc.Relative
	if f["other_pin"] != "" || f["other_name"] != "" {
		other = &cancuoc.Relative{PIN: cancuoc.PIN(f["other_pin"]), Name: f["other_name"]}
	}
	if f["role"] == "father" {
		app.Father, app.Mother = self, other
	} else {
		app.Mother, app.Father = self, other
	}
	app.ResidenceParent = ss.PIN
	file, err := s.portal.more.Workflow.Submit(r.Context(), workflow.Applicant{PIN: ss.PIN}, workflow.Submission{Kind: cancuoc.ProcedureBirth, Birth: app})
	if err != nil {
		s.showForm(w, r, ss, "portal_apply_birth.html", "Đăng ký khai sinh", "/portal/files", pg, err)
		return
	}
	http.Redirect(w, r, "/portal/files/"+urlPathEscape(file.ID), http.StatusSeeOther)
}

var deathFields = []string{"deceased", "date", "insured", "funeral_allowance", "survivor_benefit"}

// portalApplyDeath: a relative registers a death online (death
// registration, deregistration, and the allowances asked for).
func (s *Site) portalApplyDeath(w http.ResponseWriter, r *http.Request, ss *session) {
	pg := applyPage{Form: formOf(r, deathFields...)}
	if r.Method == http.MethodGet {
		s.showForm(w, r, ss, "portal_apply_death.html", "Đăng ký khai tử", "/portal/files", pg, nil)
		return
	}
	f := pg.Form
	app := &workflow.DeathApplication{Deceased: cancuoc.PIN(f["deceased"]), Insured: f["insured"] == "yes",
		FuneralAllowance: f["funeral_allowance"] == "yes", SurvivorBenefit: f["survivor_benefit"] == "yes"}
	var err error
	if app.Date, err = formDate("death.date", f["date"]); err == nil {
		var file *workflow.File
		file, err = s.portal.more.Workflow.Submit(r.Context(), workflow.Applicant{PIN: ss.PIN}, workflow.Submission{Kind: cancuoc.ProcedureDeath, Death: app})
		if err == nil {
			http.Redirect(w, r, "/portal/files/"+urlPathEscape(file.ID), http.StatusSeeOther)
			return
		}
	}
	s.showForm(w, r, ss, "portal_apply_death.html", "Đăng ký khai tử", "/portal/files", pg, err)
}

func formDate(field, v string) (cancuoc.Date, error) {
	d, err := cancuoc.ParseDate(v)
	if err != nil || !d.Complete() {
		return cancuoc.Date{}, cancuoc.InvalidField("web.apply", field, "date_invalid",
			"Ngày phải có dạng năm-tháng-ngày, ví dụ 2026-07-01.", "A date must be year-month-day, e.g. 2026-07-01.")
	}
	return d, nil
}

var stayFields = []string{"host", "province", "commune", "detail", "arrival", "departure", "guest_name", "guest_pin", "guest_document"}

// portalStay: a citizen hosting a guest at home notifies the stay, and
// sees whether the notification met its deadline (23:00 the same day, or
// 08:00 the next for a late arrival).
func (s *Site) portalStay(w http.ResponseWriter, r *http.Request, ss *session) {
	pg := applyPage{Form: formOf(r, stayFields...), MaxArrival: s.now().In(residence.Zone).Format("2006-01-02T15:04")}
	if r.Method == http.MethodGet {
		h := s.home(r, ss)
		pg.Form["province"], pg.Form["commune"] = h.Province, h.Commune
		s.showForm(w, r, ss, "portal_stay.html", "Thông báo lưu trú", "/portal/stay", pg, nil)
		return
	}
	f := pg.Form
	st := residence.Stay{Host: f["host"], Place: cancuoc.Place{Era: cancuoc.Era34, Province: f["province"], Commune: f["commune"], Detail: f["detail"]},
		Guests: []cancuoc.StayGuest{{Name: f["guest_name"], PIN: cancuoc.PIN(f["guest_pin"]), Document: f["guest_document"]}}}
	var err error
	if st.Arrival, err = time.ParseInLocation("2006-01-02T15:04", f["arrival"], residence.Zone); err != nil {
		err = cancuoc.InvalidField("web.stay", "arrival", "arrival_invalid",
			"Thời điểm đến phải có dạng ngày và giờ, ví dụ 2026-07-01 21:30.", "The arrival must be a date and time, e.g. 2026-07-01 21:30.")
	}
	if err == nil && f["departure"] != "" {
		st.Departure, err = formDate("departure", f["departure"])
	}
	if err == nil {
		if pg.Stay, err = s.portal.more.Residence.NotifyStayAsCitizen(r.Context(), ss.PIN, st); err == nil {
			pg.LateMin = (pg.Stay.LateBy + 59) / 60
		}
	}
	s.showForm(w, r, ss, "portal_stay.html", "Thông báo lưu trú", "/portal/stay", pg, err)
}

func urlPathEscape(s string) string { return strings.ReplaceAll(urlQueryEscape(s), "+", "%20") }
