package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/workflow"
)

// The procedure-step queue: officers whose principal has an agency work
// its steps of the interlinked birth and death procedures in their
// jurisdiction. Every rule (agency, role, jurisdiction, claims, versions)
// is the workflow service's, the same the JSON API applies; the pages only
// show and forward. Writes go through workflow.Do with a key per rendered
// form, so a form sent twice (a double click, the back button) does its
// effect once.

func (s *Site) procedureRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/procedures", s.officer(s.procedureQueuePage))
	mux.HandleFunc("GET /console/procedures/{id}", s.officer(s.procedureFile))
	mux.HandleFunc("POST /console/procedures/{id}/steps/{no}/{action}", s.officer(s.procedureAction))
}

// queuePageSize is how many steps the queue page shows at once.
const queuePageSize = 100

// procedureQueue is the procedure steps' entry on the console home: the
// steps waiting (pending or claimed) in the officer's agency queue and
// jurisdiction, and how many are past their due time. Officers without an
// agency have no such queue.
func (s *Site) procedureQueue() WorkQueue {
	return WorkQueue{ID: "procedures", Path: "/console/procedures", VI: "Thủ tục liên thông (khai sinh, khai tử)",
		EN: "Interlinked procedures (birth, death)",
		Count: func(ctx context.Context, p *cancuoc.Principal) (QueueCount, bool, error) {
			open, overdue, err := s.console.deps.Workflow.QueueCount(ctx, p)
			if cancuoc.KindOf(err) == cancuoc.Forbidden {
				return QueueCount{}, false, nil // no agency, or a role that does not act
			}
			return QueueCount{Open: open, Overdue: overdue}, err == nil, err
		}}
}

// Labels of the workflow's names, [Vietnamese, English].
var (
	stepNames = map[string][2]string{
		workflow.StepBirthRegistration: {"Đăng ký khai sinh", "Birth registration"},
		workflow.StepNewbornResidence:  {"Đăng ký thường trú cho trẻ", "Child's permanent residence"},
		workflow.StepHealthCard:        {"Cấp thẻ BHYT trẻ em dưới 6 tuổi", "Health-insurance card (under 6)"},
		workflow.StepDeathRegistration: {"Đăng ký khai tử", "Death registration"},
		workflow.StepDeregistration:    {"Xoá đăng ký thường trú", "Residence deregistration"},
		workflow.StepFuneralAllowance:  {"Trợ cấp mai táng", "Funeral allowance"},
		workflow.StepSurvivorBenefit:   {"Trợ cấp tuất", "Survivor benefit"},
	}
	// stepEffects say what completing a step does, shown beside the
	// completion form: the agency supplies no values, the effect derives
	// them from the file (a PIN, a certificate or card number).
	stepEffects = map[string][2]string{
		workflow.StepBirthRegistration: {"Hoàn thành sẽ đăng ký khai sinh vào CSDL dân cư, cấp số định danh cá nhân và giấy khai sinh điện tử.",
			"Completing registers the birth in the registry, issues the child's PIN and the electronic birth certificate."},
		workflow.StepNewbornResidence: {"Hoàn thành sẽ đăng ký thường trú cho trẻ vào hộ của cha/mẹ đã chọn.",
			"Completing registers the child's permanent residence in the chosen parent's household."},
		workflow.StepHealthCard: {"Hoàn thành sẽ cấp thẻ BHYT (mã TE1) cho trẻ.", "Completing issues the child's health-insurance card (group TE1)."},
		workflow.StepDeathRegistration: {"Hoàn thành sẽ ghi nhận việc khai tử vào CSDL dân cư.",
			"Completing records the death in the registry."},
		workflow.StepDeregistration:   {"Hoàn thành sẽ xoá đăng ký thường trú của người mất.", "Completing removes the deceased's permanent residence."},
		workflow.StepFuneralAllowance: {"Hoàn thành sẽ ban hành quyết định trợ cấp mai táng.", "Completing issues the funeral allowance decision."},
		workflow.StepSurvivorBenefit:  {"Hoàn thành sẽ ban hành quyết định trợ cấp tuất.", "Completing issues the survivor benefit decision."},
	}
	agencyNames = map[string][2]string{
		workflow.AgencyCivilStatus:     {"Tư pháp – hộ tịch", "Civil status"},
		workflow.AgencyPolice:          {"Công an (cư trú)", "Police (residence)"},
		workflow.AgencySocialInsurance: {"Bảo hiểm xã hội", "Social insurance"},
		workflow.AgencyLabour:          {"Lao động – Thương binh và Xã hội", "Labour, invalids and social affairs"},
	}
	stepStatuses = map[cancuoc.StepStatus][2]string{
		cancuoc.StepPending: {"Chờ xử lý", "Waiting"}, cancuoc.StepClaimed: {"Đang xử lý", "In progress"},
		cancuoc.StepCompleted: {"Đã xong", "Done"}, cancuoc.StepRejected: {"Trả lại người nộp", "Sent back"},
		cancuoc.StepCancelled: {"Đã huỷ", "Cancelled"},
	}
	fileStatuses = map[cancuoc.ProcedureStatus][2]string{
		cancuoc.ProcedureOpen: {"Đang giải quyết", "Open"}, cancuoc.ProcedureCompleted: {"Đã hoàn thành", "Completed"},
		cancuoc.ProcedureRefused: {"Từ chối (không bổ sung đúng hạn)", "Refused (not resubmitted in time)"},
	}
	procedureKinds = map[cancuoc.ProcedureKind][2]string{
		cancuoc.ProcedureBirth: {"Khai sinh", "Birth"}, cancuoc.ProcedureDeath: {"Khai tử", "Death"},
	}
	// doneMessages confirm an action after the redirect; only these
	// values of ?done= are shown.
	doneMessages = map[string][2]string{
		"claim":    {"Bạn đã nhận xử lý bước này.", "You have claimed this step."},
		"complete": {"Đã hoàn thành bước; bước tiếp theo được chuyển cho cơ quan kế tiếp.", "The step is done; the next one goes to the next agency."},
		"reject":   {"Đã trả hồ sơ cho người nộp kèm lý do.", "The file went back to the applicant with the reason."},
	}
)

// labelOf picks a label in lang, or the raw name when none is known.
func labelOf[K comparable](lang string, m map[K][2]string, k K) string {
	if l, ok := m[k]; ok {
		return pick(lang, l)
	}
	return fmt.Sprint(k)
}

// stepRow is a step as the pages show it.
type stepRow struct {
	*workflow.StepView
	Step, AgencyText, StatusText, KindText string
	ClaimedName                            string
	Result                                 []field
	Effect                                 string
	// Mine: the step is the officer's agency's and can still be worked.
	Mine, Claimable bool
	Key             string // idempotency key of this page's forms
}

func (s *Site) stepRow(ctx context.Context, lang string, names map[string]string, sv *workflow.StepView) stepRow {
	st := sv.ProcedureStep
	row := stepRow{StepView: sv, Step: labelOf(lang, stepNames, st.Name), AgencyText: labelOf(lang, agencyNames, st.Agency),
		StatusText: labelOf(lang, stepStatuses, st.Status), KindText: labelOf(lang, procedureKinds, st.Kind),
		Effect: labelOf(lang, stepEffects, st.Name)}
	if st.ClaimedBy != "" {
		row.ClaimedName = s.nameOf(ctx, names, st.ClaimedBy)
	}
	row.Result = resultFields(st.Result)
	return row
}

// resultFields lays out a step's result (PIN, document, number, note).
func resultFields(raw json.RawMessage) []field {
	if len(raw) == 0 {
		return nil
	}
	var r struct {
		PIN      string `json:"pin"`
		Document string `json:"document"`
		Number   string `json:"number"`
		Agency   string `json:"agency"`
		Note     string `json:"note"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return []field{{"Kết quả", "Result", jsonText(raw)}}
	}
	var out []field
	add := func(vi, en, v string) {
		if v != "" {
			out = append(out, field{vi, en, v})
		}
	}
	add("Số định danh", "PIN", r.PIN)
	add("Giấy tờ", "Document", r.Document)
	add("Số", "Number", r.Number)
	add("Cơ quan chi trả", "Paying agency", r.Agency)
	add("Ghi chú", "Note", r.Note)
	return out
}

// nameOf is a principal's display name (its ID when unknown), cached in
// names for one page.
func (s *Site) nameOf(ctx context.Context, names map[string]string, id string) string {
	if n, ok := names[id]; ok {
		return n
	}
	n := id
	if a, err := s.console.deps.Principals.Principal(ctx, id); err == nil {
		n = a.Name
	}
	names[id] = n
	return n
}

type procQueueData struct {
	Officer  *cancuoc.Principal
	Where    string
	Agency   string
	Status   string // waiting or rejected
	Rows     []stepRow
	Overdue  int
	Next     string // the next page's cursor
	NoAgency bool
}

// procedureQueuePage lists the steps of the officer's agency in their
// jurisdiction: those waiting (pending or claimed) or, with
// ?status=rejected, those sent back to applicants. Tasks carry no personal
// data; the file's page does, and its reading is logged.
func (s *Site) procedureQueuePage(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	v := s.newView(w, r, pick(s.lang(w, r), [2]string{"Hàng đợi thủ tục liên thông", "Procedure queue"}))
	v.Nav, v.CSRF = s.nav("/console"), s.csrf(ss)
	q := r.URL.Query()
	d := procQueueData{Officer: p, Where: jurisdictionText(v.Lang, p.Jurisdiction), Agency: labelOf(v.Lang, agencyNames, p.Agency), Status: "waiting"}
	qq := workflow.QueueQuery{Limit: queuePageSize}
	if q.Get("status") == "rejected" {
		d.Status, qq.Statuses = "rejected", []cancuoc.StepStatus{cancuoc.StepRejected}
	}
	if c := q.Get("after"); c != "" {
		id, no, ok := strings.Cut(c, ":")
		n, err := strconv.Atoi(no)
		if !ok || err != nil || id == "" {
			s.fail(w, r, cancuoc.InvalidField("web.console", "after", "cursor_invalid",
				"Liên kết trang không hợp lệ; hãy quay lại trang đầu của hàng đợi.", "Invalid page link; go back to the queue's first page."))
			return
		}
		qq.AfterProcedure, qq.AfterNo = id, n
	}
	items, err := s.console.deps.Workflow.Queue(r.Context(), p, qq)
	if cancuoc.KindOf(err) == cancuoc.Forbidden {
		// An officer with no agency: the page says so rather than failing.
		d.NoAgency = true
		v.Data = d
		s.render(w, http.StatusForbidden, "console_procedures.html", v)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := map[string]string{}
	for _, it := range items {
		d.Rows = append(d.Rows, s.stepRow(r.Context(), v.Lang, names, it))
		if it.Overdue {
			d.Overdue++
		}
	}
	if len(items) == qq.Limit {
		last := items[len(items)-1]
		d.Next = last.ProcedureID + ":" + strconv.Itoa(last.No)
	}
	v.Data = d
	s.render(w, http.StatusOK, "console_procedures.html", v)
}

type procFileData struct {
	File        *workflow.File
	Kind        string
	Status      string
	Application []field
	Steps       []stepRow
	Remaining   []string
	Done        string
	Submitter   string
}

// procedureFile shows a file with its steps: who claimed and completed
// each and when, due times and overdue flags, and, on the officer's
// agency's open steps, the forms to claim, complete or reject. The
// workflow service decides who may read it and logs the reading.
func (s *Site) procedureFile(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	ctx := r.Context()
	f, err := s.console.deps.Workflow.File(ctx, p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.newView(w, r, f.ID)
	v.Nav, v.CSRF = s.nav("/console"), s.csrf(ss)
	names := map[string]string{}
	d := procFileData{File: f, Kind: labelOf(v.Lang, procedureKinds, f.Kind), Status: labelOf(v.Lang, fileStatuses, f.Status),
		Application: applicationFields(v.Lang, f.Procedure)}
	d.Submitter = pick(v.Lang, [2]string{"Công dân nộp trực tuyến", "Submitted online by the applicant"})
	if !f.Online {
		d.Submitter = s.nameOf(ctx, names, f.SubmittedBy)
	}
	if m, ok := doneMessages[r.URL.Query().Get("done")]; ok {
		d.Done = pick(v.Lang, m)
	}
	for _, sv := range f.Steps {
		row := s.stepRow(ctx, v.Lang, names, sv)
		open := f.Status == cancuoc.ProcedureOpen && (sv.Status == cancuoc.StepPending || sv.Status == cancuoc.StepClaimed)
		row.Mine = open && sv.Agency == p.Agency
		row.Claimable = row.Mine && !(sv.Status == cancuoc.StepClaimed && sv.ClaimedBy == p.ID)
		row.Key = randomString()
		d.Steps = append(d.Steps, row)
	}
	for _, name := range f.Remaining {
		d.Remaining = append(d.Remaining, labelOf(v.Lang, stepNames, name))
	}
	v.Data = d
	s.render(w, http.StatusOK, "console_procedure.html", v)
}

// applicationFields lays out a file's application for reading. A
// ministry's reduced view holds fewer fields; absent ones are left out.
func applicationFields(lang string, p *cancuoc.Procedure) []field {
	var out []field
	add := func(vi, en, v string) {
		if v != "" {
			out = append(out, field{vi, en, v})
		}
	}
	add("Người nộp (số định danh)", "Applicant (PIN)", string(p.Applicant))
	add("Người được khai (số định danh)", "Subject (PIN)", string(p.Subject))
	yes := func(b bool) string {
		if b {
			return pick(lang, [2]string{"Có", "Yes"})
		}
		return ""
	}
	switch p.Kind {
	case cancuoc.ProcedureBirth:
		var a workflow.BirthApplication
		if json.Unmarshal(p.Application, &a) != nil {
			break
		}
		add("Họ tên trẻ", "Child's name", a.FullName)
		add("Ngày sinh", "Date of birth", a.BirthDate.String())
		add("Giới tính", "Sex", pick(lang, sexes[a.Sex]))
		add("Nơi sinh", "Place of birth", placeText(lang, a.BirthPlace))
		add("Nơi đăng ký", "Registered at", placeText(lang, &a.Registration))
		if a.Father != nil {
			add("Cha (số định danh)", "Father (PIN)", string(a.Father.PIN))
		}
		if a.Mother != nil {
			add("Mẹ (số định danh)", "Mother (PIN)", string(a.Mother.PIN))
		}
		add("Thường trú theo", "Residence with", string(a.ResidenceParent))
	case cancuoc.ProcedureDeath:
		var a workflow.DeathApplication
		if json.Unmarshal(p.Application, &a) != nil {
			break
		}
		add("Người mất (số định danh)", "Deceased (PIN)", string(a.Deceased))
		add("Ngày mất", "Date of death", a.Date.String())
		add("Tham gia BHXH / hưởng lương hưu", "Insured or pensioner", yes(a.Insured))
		add("Đề nghị trợ cấp mai táng", "Funeral allowance asked", yes(a.FuneralAllowance))
		add("Đề nghị trợ cấp tuất", "Survivor benefit asked", yes(a.SurvivorBenefit))
		add("Cơ quan chi trả mai táng", "Funeral allowance paid by", labelOf(lang, agencyNames, a.FuneralAgency))
	}
	return out
}

var errNoAction = cancuoc.E(cancuoc.NotFound, "web.console", "action_unknown",
	"Không có thao tác này; các thao tác là nhận xử lý, hoàn thành, trả lại.", "No such action; the actions are claim, complete and reject.")

// procedureAction claims, completes or rejects a step. The text field is
// the completion's note or the rejection's reason (required by the
// service). The form's key makes the action idempotent through the same
// stored answers as the API's Idempotency-Key.
func (s *Site) procedureAction(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	ctx, wf := r.Context(), s.console.deps.Workflow
	id, action := r.PathValue("id"), r.PathValue("action")
	no, err := strconv.Atoi(r.PathValue("no"))
	if err != nil || no < 1 || no > 20 {
		s.fail(w, r, cancuoc.InvalidField("web.console", "no", "step_number_invalid",
			"Số thứ tự bước không hợp lệ.", "The step number is invalid."))
		return
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	var fn func(tx cancuoc.Tx) (any, error)
	switch action {
	case "claim":
		fn = func(tx cancuoc.Tx) (any, error) { return wf.ClaimTx(ctx, tx, p, id, no) }
	case "complete":
		fn = func(tx cancuoc.Tx) (any, error) {
			return wf.CompleteTx(ctx, tx, p, id, no, workflow.Completion{Note: text})
		}
	case "reject":
		fn = func(tx cancuoc.Tx) (any, error) {
			return wf.RejectTx(ctx, tx, p, id, no, workflow.Rejection{Reason: text})
		}
	default:
		s.fail(w, r, errNoAction)
		return
	}
	key := ""
	if k := r.PostFormValue("key"); k != "" {
		key = "console:" + k
	}
	req := []byte("console POST " + r.URL.Path + "\n" + text)
	if _, err := wf.Do(ctx, p.ID, key, req, http.StatusOK, fn); err != nil {
		s.failBack(w, r, err, "/console/procedures/"+url.PathEscape(id)+"#step-"+strconv.Itoa(no))
		return
	}
	http.Redirect(w, r, "/console/procedures/"+url.PathEscape(id)+"?done="+action+"#step-"+strconv.Itoa(no), http.StatusSeeOther)
}
