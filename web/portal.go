package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/auditlog"
)

// portal is the citizen portal: the citizen logs in through the OpenID
// provider (client cfg), and sees their record, who accessed it, their
// consents and their account.
type portal struct {
	rp   *rp
	deps PortalDeps
	more PortalServices // documents, online procedures, stays (portal_more.go)
}

const (
	portalCookie = "cancuoc_portal"
	portalPath   = "/portal"
)

// WithPortal mounts the citizen portal, logging in with the registered
// client cfg.
func (s *Site) WithPortal(cfg RPConfig, deps PortalDeps) *Site {
	s.portal = &portal{rp: &rp{cfg: cfg, cookie: "cancuoc_portal_login", path: "/portal/callback"}, deps: deps}
	return s
}

func (s *Site) portalRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /portal", s.portalHome)
	mux.HandleFunc("GET /portal/login", s.portalLogin)
	mux.HandleFunc("GET /portal/callback", s.portalCallback)
	mux.HandleFunc("POST /portal/logout", s.citizen(s.portalLogout))
	mux.HandleFunc("GET /portal/record", s.citizen(s.portalRecord))
	mux.HandleFunc("GET /portal/access-log", s.citizen(s.portalAccessLog))
	mux.HandleFunc("GET /portal/consents", s.citizen(s.portalConsents))
	mux.HandleFunc("POST /portal/consents/revoke", s.citizen(s.portalRevoke))
	mux.HandleFunc("GET /portal/account", s.citizen(s.portalAccount))
	mux.HandleFunc("POST /portal/account/lock", s.citizen(s.portalLock))
	s.portalAppRoutes(mux)
	s.portalMoreRoutes(mux)
}

// citizen runs h for a signed-in citizen: pages send others to the login
// page, forms also need the session's CSRF token.
func (s *Site) citizen(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss := s.readSession(r, portalCookie)
		if ss == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/portal", http.StatusSeeOther)
				return
			}
			s.fail(w, r, errForm)
			return
		}
		if r.Method == http.MethodPost && !s.checkCSRF(r, ss) {
			s.fail(w, r, errForm)
			return
		}
		// An account locked, suspended or closed since the login (by an
		// officer, or a death recorded) ends the session at once.
		if acc, err := s.portal.deps.EID.Account(r.Context(), ss.Account); err != nil || acc.Status != cancuoc.AccountActive {
			s.setCookie(w, portalCookie, portalPath, "", -1)
			http.Redirect(w, r, "/portal", http.StatusSeeOther)
			return
		}
		h(w, r, ss)
	}
}

// portalView is a portal page's view with the portal's own navigation:
// the sections that exist, later ones only when their capability is wired.
func (s *Site) portalView(w http.ResponseWriter, r *http.Request, ss *session, title string) *view {
	v := s.newView(w, r, title)
	v.Nav = s.nav("/portal")
	v.CSRF = s.csrf(ss)
	return v
}

type portalPage struct {
	Sub  []navItem
	Data any
}

func (s *Site) portalSub(current string) []navItem {
	items := []navItem{
		{Path: "/portal/record", VI: "Hồ sơ của tôi", EN: "My record"},
		{Path: "/portal/access-log", VI: "Ai đã xem dữ liệu của tôi", EN: "Who accessed my data"},
		{Path: "/portal/consents", VI: "Sự đồng ý của tôi", EN: "My consents"},
		{Path: "/portal/account", VI: "Tài khoản", EN: "My account"},
	}
	items = append(items, s.portalMoreNav()...)
	for _, sec := range s.sections {
		items = append(items, navItem{Path: sec.Path, VI: sec.VI, EN: sec.EN})
	}
	for i := range items {
		items[i].Current = items[i].Path == current
	}
	return items
}

func (s *Site) portalHome(w http.ResponseWriter, r *http.Request) {
	if s.readSession(r, portalCookie) != nil {
		http.Redirect(w, r, "/portal/record", http.StatusSeeOther)
		return
	}
	v := s.newView(w, r, "Cổng công dân")
	v.Nav = s.nav("/portal")
	if r.URL.Query().Get("error") != "" {
		v.ErrVI, v.ErrEN = "Đăng nhập không thành công hoặc đã bị huỷ. Hãy thử lại.", "The login failed or was cancelled. Please try again."
	}
	s.render(w, http.StatusOK, "portal_login.html", v)
}

func (s *Site) portalLogin(w http.ResponseWriter, r *http.Request) {
	u, err := s.portal.rp.start(s, w, r)
	if err != nil {
		s.fail(w, r, errProvider(err))
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

func errProvider(err error) error {
	return &cancuoc.Error{Kind: cancuoc.Unavailable, Op: "web.login", Code: "provider_unavailable",
		MessageVI: "Không kết nối được dịch vụ định danh điện tử; vui lòng thử lại sau.",
		MessageEN: "The electronic identity service cannot be reached; please try again later.", Err: err}
}

// portalCallback finishes the login and opens the session for the
// citizen's eID account, which must be active.
func (s *Site) portalCallback(w http.ResponseWriter, r *http.Request) {
	id, err := s.portal.rp.finish(s, w, r)
	if err != nil {
		s.log.Info("portal login failed", "err", err)
		http.Redirect(w, r, "/portal?error=login", http.StatusSeeOther)
		return
	}
	pin, err := cancuoc.ParsePIN(id.PIN, s.now().Year())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	acc, err := s.portal.deps.EID.AccountByPIN(r.Context(), pin)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if acc.Status != cancuoc.AccountActive {
		s.fail(w, r, cancuoc.E(cancuoc.Forbidden, "web.portal", "account_"+string(acc.Status),
			"Tài khoản định danh điện tử của bạn không hoạt động.", "Your electronic identity account is not active."))
		return
	}
	if err := s.startSession(w, r, portalCookie, portalPath, &session{PIN: pin, Account: acc.ID, ACR: id.ACR, AMR: id.AMR, AuthTime: id.AuthTime}); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, portalNext(id.Next), http.StatusSeeOther)
}

func (s *Site) portalLogout(w http.ResponseWriter, r *http.Request, ss *session) {
	s.endSession(w, r, portalCookie, portalPath, ss)
	http.Redirect(w, r, "/portal", http.StatusSeeOther)
}

func me(ss *session) *cancuoc.Principal { return cancuoc.CitizenPrincipal(ss.Account, ss.PIN) }

func (s *Site) portalRecord(w http.ResponseWriter, r *http.Request, ss *session) {
	c, err := s.portal.deps.Registry.Own(r.Context(), me(ss))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.portalView(w, r, ss, "Hồ sơ của tôi")
	v.Data = portalPage{Sub: s.portalSub("/portal/record"), Data: recordView(v.Lang, c)}
	s.render(w, http.StatusOK, "portal_record.html", v)
}

// accessRow is one line of the access log as the citizen reads it.
type accessRow struct {
	ID                 int64
	At                 time.Time
	Actor, ActorID     string
	ActionVI, ActionEN string
	Fields             []string
	Purpose, Outcome   string
	OK                 bool
}

type accessPage struct {
	Rows            []accessRow
	Actors          []actorOption
	Actor, From, To string
	Next            int64
}

type actorOption struct{ ID, Name string }

// portalAccessLog shows the access log about the citizen, newest first,
// filtered by reader (?actor=) and period (?from=, ?to=, dates). Reading it
// is itself recorded by the log.
func (s *Site) portalAccessLog(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	q := r.URL.Query()
	aq := auditlog.AccessQuery{Actor: q.Get("actor"), Limit: 50, Purpose: "Công dân xem nhật ký truy cập của mình"}
	pg := accessPage{Actor: aq.Actor, From: q.Get("from"), To: q.Get("to")}
	var err error
	if pg.From != "" {
		if aq.From, err = day("from", pg.From); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if pg.To != "" {
		if aq.To, err = day("to", pg.To); err != nil {
			s.fail(w, r, err)
			return
		}
		aq.To = aq.To.Add(24 * time.Hour) // the whole last day
	}
	if b := q.Get("before"); b != "" {
		if aq.Before, err = auditlogInt("before", b); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	page, err := s.portal.deps.AccessLog.AccessLog(ctx, me(ss), ss.PIN, aq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.portalView(w, r, ss, "Ai đã xem dữ liệu của tôi")
	names := map[string]string{}
	for _, e := range page.Entries {
		pg.Rows = append(pg.Rows, s.accessRow(r, ss, e.AuditEntry, names, v.Lang))
	}
	pg.Next = page.Next
	if aq.Actor == "" && aq.From.IsZero() && aq.To.IsZero() && aq.Before == 0 {
		pg.Actors = actorsOf(page.Entries, func(id string) string { return s.actorName(r, ss, id, names, v.Lang) })
	} else {
		pg.Actors = s.actorOptions(r, ss, names, v.Lang)
	}
	v.Data = portalPage{Sub: s.portalSub("/portal/access-log"), Data: pg}
	s.render(w, http.StatusOK, "portal_access.html", v)
}

// actorOptions are the readers the filter offers: those of the latest
// entries, so a citizen picks a bank by name rather than typing its ID.
// This reading of the log is recorded like any other.
func (s *Site) actorOptions(r *http.Request, ss *session, names map[string]string, lang string) []actorOption {
	page, err := s.portal.deps.AccessLog.AccessLog(r.Context(), me(ss), ss.PIN,
		auditlog.AccessQuery{Limit: auditlog.MaxPage, Purpose: "Công dân lọc nhật ký truy cập của mình"})
	if err != nil {
		return nil
	}
	return actorsOf(page.Entries, func(id string) string { return s.actorName(r, ss, id, names, lang) })
}

// actorsOf lists the distinct readers of entries by name. An unfiltered
// first page serves as is, so that showing the log reads it only once
// (each reading is itself an entry).
func actorsOf(entries []auditlog.Entry, name func(string) string) []actorOption {
	var out []actorOption
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Actor] {
			continue
		}
		seen[e.Actor] = true
		out = append(out, actorOption{ID: e.Actor, Name: name(e.Actor)})
	}
	slices.SortFunc(out, func(a, b actorOption) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

func (s *Site) accessRow(r *http.Request, ss *session, e *cancuoc.AuditEntry, names map[string]string, lang string) accessRow {
	row := accessRow{ID: e.ID, At: e.At, ActorID: e.Actor, Actor: s.actorName(r, ss, e.Actor, names, lang),
		Fields: e.Fields, Purpose: e.Purpose, Outcome: e.Outcome, OK: e.Outcome == "ok"}
	if _, bulk := cancuoc.ParseTouched(e); bulk {
		row.OK = true // a bulk job's chunk entry: its outcome names the block of citizens, not a refusal
	}
	row.ActionVI, row.ActionEN = e.Action, e.Action
	if l, ok := actionLabels[e.Action]; ok {
		row.ActionVI, row.ActionEN = l[0], l[1]
	}
	return row
}

// actorName names a reader: the citizen themself, an officer or system
// (principal, with its agency), or a service (OpenID client).
func (s *Site) actorName(r *http.Request, ss *session, id string, names map[string]string, lang string) string {
	if n, ok := names[id]; ok {
		return n
	}
	n := id
	switch {
	case id == "eid:"+ss.Account || id == "account:"+ss.Account: // the wallet names the account so
		n = "Bạn"
		if lang == "en" {
			n = "You"
		}
	default:
		if p, err := s.portal.deps.Directory.Principal(r.Context(), id); err == nil {
			n = p.Name
			if p.Agency != "" {
				n += " (" + p.Agency + ")"
			}
		} else if c, err := s.portal.deps.Directory.Client(r.Context(), id); err == nil {
			n = c.Name
		}
	}
	names[id] = n
	return n
}

// actionLabels say in words what an access was.
var actionLabels = map[string][2]string{
	"citizen.read":          {"Xem hồ sơ", "Read the record"},
	"citizen.read_own":      {"Bạn xem hồ sơ", "You read your record"},
	"citizen.search":        {"Tìm kiếm thấy hồ sơ", "Found in a search"},
	"citizen.update":        {"Cập nhật hồ sơ", "Updated the record"},
	"citizen.reconcile":     {"Đối soát dữ liệu hàng loạt", "Bulk reconciliation"},
	"citizen.history":       {"Xem lịch sử hồ sơ", "Read the record's history"},
	"audit.read_access_log": {"Xem nhật ký truy cập", "Read the access log"},
	"oidc.consent":          {"Đồng ý chia sẻ", "Consent given"},
	"oidc.consent_revoke":   {"Rút lại đồng ý", "Consent withdrawn"},
	"oidc.authorize":        {"Đăng nhập dịch vụ", "Logged in to a service"},
	"oidc.userinfo":         {"Dịch vụ nhận thông tin", "A service received data"},
	"eid.login":             {"Đăng nhập", "Login"},
	"eid.lock":              {"Khoá tài khoản", "Account locked"},
	"application.file":      {"Nộp hồ sơ đề nghị", "Application filed"},
	"application.read_own":  {"Bạn xem hồ sơ đề nghị", "You read your applications"},
	"application.read":      {"Cán bộ xem hồ sơ đề nghị", "An officer read an application"},
	"application.queue":     {"Hồ sơ đề nghị trong hàng đợi cán bộ", "An application in an officer's queue"},
	"application.approve":   {"Phê duyệt hồ sơ đề nghị", "Application approved"},
	"application.reject":    {"Từ chối hồ sơ đề nghị", "Application rejected"},
	"application.withdraw":  {"Rút hồ sơ đề nghị", "Application withdrawn"},
	"guardian.read_child":   {"Người giám hộ xem tài khoản", "Your guardian read your account"},
	"document.list":         {"Xem danh sách giấy tờ", "Listed the documents"},
	"document.read":         {"Xem giấy tờ", "Read a document"},
	"document.present":      {"Trình bày giấy tờ", "Presented a document"},
}

func day(field, s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", s, vnTime)
	if err != nil {
		return time.Time{}, cancuoc.InvalidField("web.access_log", field, "date_invalid",
			"Ngày phải có dạng năm-tháng-ngày, ví dụ 2026-07-01.", "A date must be year-month-day, e.g. 2026-07-01.")
	}
	return t, nil
}

func auditlogInt(field, s string) (int64, error) {
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' || n > 1e15 {
			return 0, cancuoc.InvalidField("web.access_log", field, "integer_invalid",
				field+" phải là số nguyên không âm.", field+" must be a non-negative integer.")
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

type consentsPage struct {
	Rows    []consentView
	Revoked string // the client just revoked, to confirm it
}

type consentView struct {
	ClientID, Name, Purpose string
	Scopes                  []string
	Granted                 time.Time
	Revoked                 *time.Time
}

func (s *Site) portalConsents(w http.ResponseWriter, r *http.Request, ss *session) {
	list, err := s.portal.deps.Consents.Consents(r.Context(), ss.PIN)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rows []consentView
	for _, c := range list {
		cv := consentView{ClientID: c.ClientID, Name: c.ClientID, Scopes: c.Scopes, Granted: c.GrantedAt, Revoked: c.RevokedAt}
		if cl, err := s.portal.deps.Directory.Client(r.Context(), c.ClientID); err == nil {
			cv.Name, cv.Purpose = cl.Name, cl.Purpose
		}
		rows = append(rows, cv)
	}
	v := s.portalView(w, r, ss, "Sự đồng ý của tôi")
	v.Data = portalPage{Sub: s.portalSub("/portal/consents"), Data: consentsPage{Rows: rows, Revoked: r.URL.Query().Get("revoked")}}
	s.render(w, http.StatusOK, "portal_consents.html", v)
}

// portalRevoke withdraws a consent in one click: the service's tokens for
// the citizen are revoked and its next login asks again.
func (s *Site) portalRevoke(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PostFormValue("client_id")
	if err := s.portal.deps.Consents.RevokeConsent(r.Context(), ss.PIN, id); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal/consents?revoked="+urlQueryEscape(id), http.StatusSeeOther)
}

type accountView struct {
	Account  *cancuoc.Account
	TOTP     bool
	Passkeys []*cancuoc.Passkey
	Logins   []*cancuoc.LoginRecord
	Locked   bool
	Strong   strength // may add a factor now (portal_factors.go)
	Added    string   // the factor just added
}

func (s *Site) portalAccount(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx := r.Context()
	e := s.portal.deps.EID
	acc, err := e.Account(ctx, ss.Account)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	av := accountView{Account: acc}
	if av.TOTP, err = e.HasTOTP(ctx, acc.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	if av.Passkeys, err = s.portal.deps.Accounts.Passkeys(ctx, acc.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	if av.Logins, err = e.Logins(ctx, acc.ID, 10); err != nil {
		s.fail(w, r, err)
		return
	}
	if av.Strong, err = s.strong(ctx, ss, acc); err != nil {
		s.fail(w, r, err)
		return
	}
	av.Added = r.URL.Query().Get("added")
	v := s.portalView(w, r, ss, "Tài khoản")
	v.Data = portalPage{Sub: s.portalSub("/portal/account"), Data: av}
	s.render(w, http.StatusOK, "portal_account.html", v)
}

// portalLock locks the citizen's own account (a lost phone, a suspected
// theft) and ends the session: only an officer can unlock it.
func (s *Site) portalLock(w http.ResponseWriter, r *http.Request, ss *session) {
	if r.PostFormValue("confirm") != "yes" {
		s.fail(w, r, cancuoc.InvalidField("web.lock", "confirm", "confirm_required",
			"Hãy đánh dấu ô xác nhận để khoá tài khoản.", "Tick the confirmation box to lock the account."))
		return
	}
	ctx := r.Context()
	acc, err := s.portal.deps.EID.Account(ctx, ss.Account)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.portal.deps.EID.Lock(ctx, acc, ss.PIN); err != nil {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, portalCookie, portalPath, "", -1)
	v := s.newView(w, r, "Tài khoản đã khoá")
	v.Nav = s.nav("/portal")
	s.render(w, http.StatusOK, "portal_locked.html", v)
}
