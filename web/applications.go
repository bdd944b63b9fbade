package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
	"github.com/cancuoc/cancuoc/residence"
)

// WithApplications mounts the online applications: the portal's "apply
// online" forms and "my applications" list, and the console's work queue
// with its approve and reject forms. The portal's navigation gets an entry.
func (s *Site) WithApplications(svc *application.Service) *Site {
	s.apps = svc
	return s.WithSection(Section{Path: "/portal/applications", VI: "Hồ sơ trực tuyến", EN: "Online applications"})
}

func (s *Site) portalAppRoutes(mux *http.ServeMux) {
	if s.apps == nil {
		return
	}
	mux.HandleFunc("GET /portal/applications", s.citizen(s.portalApplications))
	mux.HandleFunc("GET /portal/applications/new", s.citizen(s.portalApplicationForm))
	mux.HandleFunc("POST /portal/applications", s.citizen(s.portalFile))
	mux.HandleFunc("POST /portal/applications/{id}/withdraw", s.citizen(s.portalWithdraw))
}

func (s *Site) consoleAppRoutes(mux *http.ServeMux) {
	if s.apps == nil {
		return
	}
	mux.HandleFunc("GET /console/applications", s.officer(s.consoleQueue))
	mux.HandleFunc("GET /console/applications/{id}", s.officer(s.consoleApplication))
	mux.HandleFunc("POST /console/applications/{id}/approve", s.officer(s.consoleDecide))
	mux.HandleFunc("POST /console/applications/{id}/reject", s.officer(s.consoleDecide))
}

var kindLabels = map[cancuoc.ApplicationKind][2]string{
	cancuoc.AppTemporaryResidence: {"Đăng ký tạm trú", "Temporary residence"},
	cancuoc.AppPermanentResidence: {"Đăng ký thường trú", "Permanent residence"},
	cancuoc.AppEIDLevel2:          {"Định danh điện tử mức 2", "eID level 2"},
	cancuoc.AppCorrection:         {"Điều chỉnh thông tin", "Correction of the record"},
}

var statusLabels = map[cancuoc.ApplicationStatus][2]string{
	cancuoc.AppSubmitted: {"Đang giải quyết", "Submitted"},
	cancuoc.AppApproved:  {"Đã duyệt", "Approved"},
	cancuoc.AppRejected:  {"Bị từ chối", "Rejected"},
	cancuoc.AppWithdrawn: {"Đã rút", "Withdrawn"},
}

// appRow is an application as the pages show it.
type appRow struct {
	*cancuoc.Application
	Kind, Status string
	Where        string
	Overdue      bool
	Details      []field
}

func (s *Site) appRow(lang string, a *cancuoc.Application, details bool) appRow {
	row := appRow{Application: a, Kind: pick(lang, kindLabels[a.Kind]), Status: pick(lang, statusLabels[a.Status]),
		Where:   placeText(lang, &cancuoc.Place{Era: cancuoc.Era34, Province: a.Unit.Province, Commune: a.Unit.Commune}),
		Overdue: a.Overdue(s.apps.Now())}
	if details {
		row.Details = payloadFields(lang, a)
	}
	return row
}

// payloadFields lists what the applicant asked for, in words.
func payloadFields(lang string, a *cancuoc.Application) []field {
	req, err := application.Payload(a)
	if err != nil {
		return nil
	}
	var out []field
	add := func(vi, en, v string) {
		if v != "" {
			out = append(out, field{VI: vi, EN: en, Value: v})
		}
	}
	switch r := req.(type) {
	case *application.TemporaryRequest:
		add("Nơi tạm trú", "Place", placeText(lang, &r.Place))
		add("Từ ngày", "From", r.From.String())
		add("Đến ngày", "Until", r.Until.String())
		add("Lý do", "Why", r.Note)
	case *application.PermanentRequest:
		if r.Join() {
			add("Nhập vào hộ", "Join household", r.HouseholdID)
			add("Quan hệ với chủ hộ", "Relation to the head", r.Relation)
			if r.Consent != nil {
				add("Chủ hộ đồng ý", "Head's consent", string(r.Consent.By)+" · "+r.Consent.Method+" · "+r.Consent.At.In(vnTime).Format("02/01/2006"))
			}
		} else {
			add("Lập hộ mới tại", "New household at", placeText(lang, r.Address))
		}
		add("Giấy tờ chỗ ở hợp pháp", "Proof of lawful residence", r.Proof)
	case *application.Level2Request:
		add("Ghi chú", "Note", r.Note)
	case *application.CorrectionRequest:
		for f, v := range r.Changes {
			add(fieldLabel(f, "vi"), fieldLabel(f, "en"), jsonText(v))
		}
		add("Lý do", "Reason", r.Reason)
	}
	return out
}

// fieldLabel names a record field for a correction, by its JSON name.
func fieldLabel(f, lang string) string {
	l, ok := correctionFields[f]
	if !ok {
		return f
	}
	return pick(lang, l)
}

var correctionFields = map[string][2]string{
	"full_name": {"Họ, chữ đệm và tên", "Full name"}, "other_names": {"Tên gọi khác", "Other names"},
	"birth_date": {"Ngày sinh", "Date of birth"}, "sex": {"Giới tính", "Sex"}, "ethnicity": {"Dân tộc (mã)", "Ethnicity (code)"},
	"religion": {"Tôn giáo (mã)", "Religion (code)"}, "nationality": {"Quốc tịch (mã)", "Nationality (code)"},
	"blood_type": {"Nhóm máu", "Blood type"}, "old_id_number": {"Số CMND cũ", "Old ID number"},
	"phone": {"Số điện thoại", "Phone"}, "email": {"Thư điện tử", "Email"},
	"birth_place": {"Nơi sinh", "Place of birth"}, "birth_registration": {"Nơi đăng ký khai sinh", "Place of birth registration"},
	"origin": {"Quê quán", "Place of origin"},
}

// formFields are the fields the portal's correction form offers: the
// text-valued ones (places are corrected at the commune police).
var formFields = []string{"full_name", "other_names", "birth_date", "sex", "ethnicity", "religion", "nationality",
	"blood_type", "old_id_number", "phone", "email"}

type myAppsPage struct {
	Rows  []appRow
	Filed string
}

func (s *Site) portalApplications(w http.ResponseWriter, r *http.Request, ss *session) {
	list, err := s.apps.Mine(r.Context(), me(ss))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.portalView(w, r, ss, "Hồ sơ trực tuyến")
	pg := myAppsPage{Filed: r.URL.Query().Get("filed")}
	for _, a := range list {
		pg.Rows = append(pg.Rows, s.appRow(v.Lang, a, true))
	}
	v.Data = portalPage{Sub: s.portalSub("/portal/applications"), Data: pg}
	s.render(w, http.StatusOK, "portal_applications.html", v)
}

type appForm struct {
	Kind      string
	Title     string
	Form      url.Values
	Relations []string
	Fields    []field // the correctable fields: VI/EN labels, Value = JSON name
}

func (s *Site) portalApplicationForm(w http.ResponseWriter, r *http.Request, ss *session) {
	s.renderAppForm(w, r, ss, r.URL.Query().Get("kind"), url.Values{}, nil, http.StatusOK)
}

func (s *Site) renderAppForm(w http.ResponseWriter, r *http.Request, ss *session, kind string, form url.Values, fail error, status int) {
	k := cancuoc.ApplicationKind(kind)
	l, ok := kindLabels[k]
	if !ok {
		s.fail(w, r, cancuoc.InvalidField("web.applications", "kind", "kind_unknown",
			"Chọn loại hồ sơ trong danh sách.", "Choose a kind of application from the list."))
		return
	}
	v := s.portalView(w, r, ss, l[0])
	var e *cancuoc.Error
	if errors.As(fail, &e) {
		v.ErrVI, v.ErrEN = e.MessageVI, e.MessageEN
		if e.Field != "" {
			v.ErrVI, v.ErrEN = v.ErrVI+" ("+e.Field+")", v.ErrEN+" ("+e.Field+")"
		}
	}
	f := appForm{Kind: kind, Title: pick(v.Lang, l), Form: form, Relations: residence.Relations}
	for _, name := range formFields {
		f.Fields = append(f.Fields, field{VI: correctionFields[name][0], EN: correctionFields[name][1], Value: name})
	}
	v.Data = portalPage{Sub: s.portalSub("/portal/applications"), Data: f}
	s.render(w, status, "portal_application_new.html", v)
}

// portalFile files an application from the form: the form's fields become
// the kind's JSON request, checked by the application capability.
func (s *Site) portalFile(w http.ResponseWriter, r *http.Request, ss *session) {
	kind := r.PostFormValue("kind")
	f := application.Filing{Kind: cancuoc.ApplicationKind(kind)}
	var err error
	if pin := strings.TrimSpace(r.PostFormValue("pin")); pin != "" {
		if f.PIN, err = cancuoc.ParsePIN(pin, s.now().Year()); err != nil {
			s.renderAppForm(w, r, ss, kind, r.PostForm, err, http.StatusBadRequest)
			return
		}
	}
	if f.Payload, err = formPayload(f.Kind, r.PostFormValue); err != nil {
		s.renderAppForm(w, r, ss, kind, r.PostForm, err, http.StatusBadRequest)
		return
	}
	a, err := s.apps.File(r.Context(), me(ss), f)
	if err != nil {
		var e *cancuoc.Error
		if !errors.As(err, &e) || e.Kind == cancuoc.Internal {
			s.fail(w, r, err)
			return
		}
		s.renderAppForm(w, r, ss, kind, r.PostForm, e, kindStatus[e.Kind])
		return
	}
	http.Redirect(w, r, "/portal/applications?filed="+urlQueryEscape(a.ID), http.StatusSeeOther)
}

// formPayload builds a kind's request from the form's values.
func formPayload(kind cancuoc.ApplicationKind, get func(string) string) (json.RawMessage, error) {
	val := func(k string) string { return strings.TrimSpace(get(k)) }
	place := func(prefix string) map[string]string {
		return map[string]string{"province": val(prefix + "province"), "commune": val(prefix + "commune"), "detail": val(prefix + "detail")}
	}
	m := map[string]any{}
	date := func(field string) {
		if d := val(field); d != "" {
			m[field] = d
		}
	}
	switch kind {
	case cancuoc.AppTemporaryResidence:
		m["place"], m["note"] = place(""), val("note")
		date("from")
		date("until")
	case cancuoc.AppPermanentResidence:
		m["proof"] = val("proof")
		if val("mode") == "join" {
			m["household_id"], m["relation"] = val("household_id"), val("relation")
			consent := map[string]any{"by": val("consent_by"), "method": val("consent_method")}
			if d := val("consent_at"); d != "" {
				t, err := time.ParseInLocation("2006-01-02", d, vnTime)
				if err != nil {
					return nil, cancuoc.InvalidField("web.applications", "consent_at", "date_invalid",
						"Ngày đồng ý phải có dạng năm-tháng-ngày.", "The consent date must be year-month-day.")
				}
				consent["at"] = t
			}
			m["consent"] = consent
		} else {
			m["address"] = place("")
		}
	case cancuoc.AppEIDLevel2:
		m["note"] = val("note")
	case cancuoc.AppCorrection:
		field, value := val("field"), val("value")
		var raw any = value
		if field == "other_names" {
			var names []string
			for _, n := range strings.Split(value, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, n)
				}
			}
			raw = names
		}
		changes := map[string]any{}
		if field != "" {
			changes[field] = raw
		}
		m["changes"], m["reason"] = changes, val("reason")
	}
	return json.Marshal(m)
}

func (s *Site) portalWithdraw(w http.ResponseWriter, r *http.Request, ss *session) {
	if _, err := s.apps.Withdraw(r.Context(), me(ss), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal/applications", http.StatusSeeOther)
}

type queuePage struct {
	Officer         *cancuoc.Principal
	Where           string
	Rows            []appRow
	Kind, Status    string
	Overdue         bool
	Kinds, Statuses []field // VI/EN labels, Value = code
}

// consoleQueue is the work queue of the officer's jurisdiction, soonest
// due first, overdue ones flagged.
func (s *Site) consoleQueue(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	q := r.URL.Query()
	pg := queuePage{Officer: p, Kind: q.Get("kind"), Status: q.Get("status"), Overdue: q.Get("overdue") == "1"}
	list, err := s.apps.Queue(r.Context(), p, application.Queue{Kind: cancuoc.ApplicationKind(pg.Kind),
		Status: cancuoc.ApplicationStatus(pg.Status), Overdue: pg.Overdue, Limit: 200, Purpose: "Hàng đợi hồ sơ trên giao diện cán bộ"})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.newView(w, r, "Hồ sơ đề nghị")
	v.Nav, v.CSRF = s.nav("/console"), s.csrf(ss)
	pg.Where = jurisdictionText(v.Lang, p.Jurisdiction)
	for _, a := range list {
		pg.Rows = append(pg.Rows, s.appRow(v.Lang, a, false))
	}
	for _, k := range cancuoc.ApplicationKinds {
		pg.Kinds = append(pg.Kinds, field{VI: kindLabels[k][0], EN: kindLabels[k][1], Value: string(k)})
	}
	for _, st := range []cancuoc.ApplicationStatus{cancuoc.AppSubmitted, cancuoc.AppApproved, cancuoc.AppRejected, cancuoc.AppWithdrawn} {
		pg.Statuses = append(pg.Statuses, field{VI: statusLabels[st][0], EN: statusLabels[st][1], Value: string(st)})
	}
	v.Data = pg
	s.render(w, http.StatusOK, "console_applications.html", v)
}

type appDetailPage struct {
	Row  appRow
	Done string
}

// consoleApplication shows one application with the approve and reject
// forms; an officer of another place is refused (and the refusal logged).
func (s *Site) consoleApplication(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	a, err := s.apps.Get(r.Context(), p, r.PathValue("id"), "Xem hồ sơ đề nghị trên giao diện cán bộ")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.newView(w, r, "Hồ sơ "+a.ID)
	v.Nav, v.CSRF = s.nav("/console"), s.csrf(ss)
	v.Data = appDetailPage{Row: s.appRow(v.Lang, a, true), Done: r.URL.Query().Get("done")}
	s.render(w, http.StatusOK, "console_application.html", v)
}

func (s *Site) consoleDecide(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	id := r.PathValue("id")
	d := application.Decision{Reason: r.PostFormValue("reason")}
	if vs := r.PostFormValue("version"); vs != "" {
		n, err := strconv.ParseInt(vs, 10, 64)
		if err != nil {
			s.fail(w, r, errForm)
			return
		}
		d.Version = n
	}
	decide, done := s.apps.Approve, "approved"
	if strings.HasSuffix(r.URL.Path, "/reject") {
		decide, done = s.apps.Reject, "rejected"
	}
	if _, err := decide(r.Context(), p, id, d); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/applications/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
}
