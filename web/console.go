package web

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/partner"
	"github.com/cancuoc/cancuoc/quality"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/stats"
	"github.com/cancuoc/cancuoc/workflow"
)

// console is the officers' console. Officers log in with their own eID
// through the OpenID provider; the role and jurisdiction they act with
// come from the registry principal linked to their PIN (OfficerPIN), read
// again on every request so that disabling it takes effect at once.
type console struct {
	rp   *rp
	deps ConsoleDeps
}

// ConsoleDeps are what the console works with.
type ConsoleDeps struct {
	Registry   *registry.Service
	Principals interface {
		Principal(ctx context.Context, id string) (*cancuoc.Principal, error)
		Principals(ctx context.Context) ([]*cancuoc.Principal, error)
	}
	// RequirePasskey refuses logins without a passkey (amr "swk" or
	// "hwk"; the provider says swk, as it does not check attestation).
	RequirePasskey bool
	// Quality answers the data-quality measure (stats.Quality) for the
	// jurisdiction's page; nil hides it.
	Quality *stats.Service
	// Workflow is the interlinked procedures: officers of an agency work
	// its steps from the console (same rules as the API: the service
	// checks agency, role and jurisdiction). nil hides the queue.
	Workflow *workflow.Service
	// Partners and Clients are the national administrators' pages
	// (partners and their policies, OpenID clients); nil hides them.
	Partners *partner.Service
	Clients  ClientAdmin
	// Audit finds who did what for the administration pages
	// (cancuoc.Store).
	Audit interface {
		AuditSearch(ctx context.Context, q cancuoc.AuditQuery) ([]*cancuoc.AuditEntry, error)
	}
	// Lists answers the data-quality work lists (records by missing
	// field, suspected duplicates); nil hides them.
	Lists *quality.Service
}

const (
	consoleCookie = "cancuoc_console"
	consolePath   = "/console"
)

// WithConsole mounts the officers' console, logging in with the registered
// client cfg (which should ask for level 2).
func (s *Site) WithConsole(cfg RPConfig, deps ConsoleDeps) *Site {
	s.console = &console{rp: &rp{cfg: cfg, cookie: "cancuoc_console_login", path: "/console/callback"}, deps: deps}
	if deps.Workflow != nil {
		s.WithWorkQueue(s.procedureQueue())
	}
	return s
}

func (s *Site) consoleRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /console", s.consoleHome)
	mux.HandleFunc("GET /console/login", s.consoleLogin)
	mux.HandleFunc("GET /console/callback", s.consoleCallback)
	mux.HandleFunc("POST /console/logout", s.officer(s.consoleLogout))
	mux.HandleFunc("GET /console/citizens/{pin}", s.officer(s.consoleCitizen))
	mux.HandleFunc("GET /console/citizens/{pin}/versions/{n}", s.officer(s.consoleVersion))
	if s.console.deps.Quality != nil {
		mux.HandleFunc("GET /console/quality", s.officer(s.consoleQuality))
	}
	s.consoleAppRoutes(mux)
	if s.console.deps.Workflow != nil {
		s.procedureRoutes(mux)
	}
	if s.console.deps.Partners != nil || s.console.deps.Clients != nil {
		s.adminRoutes(mux)
	}
	if s.console.deps.Lists != nil {
		s.qualityRoutes(mux)
	}
}

// consoleQuality shows the records to complete in the officer's
// jurisdiction: by province for the nation, by commune for a province,
// the one commune for a commune officer. Counts only.
func (s *Site) consoleQuality(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	f, err := s.console.deps.Quality.Figures(r.Context(), "data-quality", p.Jurisdiction.Province)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c := p.Jurisdiction.Commune; c != "" {
		g := *f
		g.Rows = nil
		for _, row := range f.Rows {
			if row.Code == c {
				g.Rows = append(g.Rows, row)
				g.Total = row
			}
		}
		f = &g
	}
	v := s.newView(w, r, "Chất lượng dữ liệu")
	v.Nav, v.CSRF = s.nav("/console"), s.csrf(ss)
	v.Data = struct {
		Officer *cancuoc.Principal
		Where   string
		Figures *stats.Figures
		Lists   []listLink
	}{p, jurisdictionText(v.Lang, p.Jurisdiction), f, s.listLinks(v.Lang)}
	s.render(w, http.StatusOK, "console_quality.html", v)
}

// officer runs h for a signed-in officer with an active principal.
func (s *Site) officer(h func(http.ResponseWriter, *http.Request, *session, *cancuoc.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss := s.readSession(r, consoleCookie)
		if ss == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console", http.StatusSeeOther)
				return
			}
			s.fail(w, r, errForm)
			return
		}
		if r.Method == http.MethodPost && !s.checkCSRF(r, ss) {
			s.fail(w, r, errForm)
			return
		}
		if crossSiteRead(r) {
			s.confirmNavigation(w, r)
			return
		}
		p, err := s.console.deps.Principals.Principal(r.Context(), ss.Principal)
		if err != nil || p.Disabled || p.OfficerPIN != ss.PIN {
			s.setCookie(w, consoleCookie, consolePath, "", -1)
			s.fail(w, r, errNoOfficer)
			return
		}
		h(w, r, ss, p)
	}
}

var errNoOfficer = cancuoc.E(cancuoc.Forbidden, "web.console", "not_an_officer",
	"Số định danh của bạn không gắn với tài khoản cán bộ đang hoạt động. Liên hệ quản trị viên.",
	"Your identification number is not linked to an active officer account. Contact an administrator.")

func (s *Site) consoleLogin(w http.ResponseWriter, r *http.Request) {
	u, err := s.console.rp.start(s, w, r)
	if err != nil {
		s.fail(w, r, errProvider(err))
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

// consoleCallback finishes the officer's login and finds the principal
// linked to their PIN.
func (s *Site) consoleCallback(w http.ResponseWriter, r *http.Request) {
	id, err := s.console.rp.finish(s, w, r)
	if err != nil {
		s.log.Info("console login failed", "err", err)
		http.Redirect(w, r, "/console?error=login", http.StatusSeeOther)
		return
	}
	if s.console.deps.RequirePasskey && !slices.Contains(id.AMR, "swk") && !slices.Contains(id.AMR, "hwk") {
		s.fail(w, r, cancuoc.E(cancuoc.Forbidden, "web.console", "passkey_required",
			"Cán bộ phải đăng nhập bằng khoá truy cập (passkey).", "Officers must log in with a passkey."))
		return
	}
	pin := cancuoc.PIN(id.PIN)
	p, err := s.officerPrincipal(r.Context(), pin)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.startSession(w, r, consoleCookie, consolePath, &session{PIN: pin, Principal: p.ID, ACR: id.ACR, AMR: id.AMR}); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

// officerPrincipal is the active principal linked to pin (the first by ID
// if several are). Principals are few (officers and systems), and this
// runs once per login.
func (s *Site) officerPrincipal(ctx context.Context, pin cancuoc.PIN) (*cancuoc.Principal, error) {
	all, err := s.console.deps.Principals.Principals(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range all {
		if p.OfficerPIN == pin && !p.Disabled && pin != "" {
			return p, nil
		}
	}
	return nil, errNoOfficer
}

func (s *Site) consoleLogout(w http.ResponseWriter, r *http.Request, ss *session, _ *cancuoc.Principal) {
	s.endSession(w, r, consoleCookie, consolePath, ss)
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

type consoleHomeData struct {
	Officer  *cancuoc.Principal
	Where    string
	Name     string
	Birth    string
	Results  []*cancuoc.Citizen
	Searched bool
	Quality  bool
	// Queues are the officer's work queues with their counts (queues.go).
	Queues []queueSummary
	Admin  bool
}

// consoleHome is the login page, or the officer's home with a search of
// citizens in their jurisdiction (the registry confines it and logs every
// record found).
func (s *Site) consoleHome(w http.ResponseWriter, r *http.Request) {
	ss := s.readSession(r, consoleCookie)
	if ss == nil {
		v := s.newView(w, r, "Cán bộ")
		v.Nav = s.nav("/console")
		if r.URL.Query().Get("error") != "" {
			v.ErrVI, v.ErrEN = "Đăng nhập không thành công hoặc đã bị huỷ (cán bộ cần tài khoản mức 2).",
				"The login failed or was cancelled (officers need a level-2 account)."
		}
		s.render(w, http.StatusOK, "console_login.html", v)
		return
	}
	s.officer(func(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
		v := s.newView(w, r, "Cán bộ")
		v.Nav, v.CSRF = s.nav("/console"), s.csrf(ss)
		d := consoleHomeData{Officer: p, Where: jurisdictionText(v.Lang, p.Jurisdiction), Quality: s.console.deps.Quality != nil,
			Queues: s.queueSummaries(r, p), Admin: s.isAdmin(p)}
		q := r.URL.Query()
		d.Name, d.Birth = strings.TrimSpace(q.Get("name")), strings.TrimSpace(q.Get("birth"))
		if d.Name != "" || d.Birth != "" {
			search := registry.Search{Name: d.Name, NamePrefix: true, Limit: 50, Purpose: "Tra cứu trên giao diện cán bộ"}
			if d.Birth != "" {
				bd, err := cancuoc.ParseDate(d.Birth)
				if err != nil {
					s.fail(w, r, err)
					return
				}
				search.BirthDate = bd
			}
			res, err := s.console.deps.Registry.Search(r.Context(), p, search)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			d.Results, d.Searched = res, true
		}
		v.Data = d
		s.render(w, http.StatusOK, "console_home.html", v)
	})(w, r)
}

func jurisdictionText(lang string, j cancuoc.Jurisdiction) string {
	if j.National() {
		return pick(lang, [2]string{"Toàn quốc", "Whole country"})
	}
	return placeText(lang, &cancuoc.Place{Era: cancuoc.Era34, Province: j.Province, Commune: j.Commune})
}

type versionView struct {
	*cancuoc.CitizenVersion
	ActorName string
}

type citizenPageData struct {
	Record   *record
	Versions []versionView
}

// consoleCitizen shows a record with its history, newest version first,
// and the fields each version changed (old and new values). Both reads
// are the registry's, with role, jurisdiction and the access log.
func (s *Site) consoleCitizen(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	ctx := r.Context()
	pin, err := cancuoc.ParsePIN(r.PathValue("pin"), s.now().Year())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	const purpose = "Xem hồ sơ trên giao diện cán bộ"
	c, err := s.console.deps.Registry.Get(ctx, p, pin, purpose)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hist, err := s.console.deps.Registry.History(ctx, p, pin, purpose)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.newView(w, r, c.FullName)
	v.Nav, v.CSRF = s.nav("/console"), s.csrf(ss)
	d := citizenPageData{Record: recordView(v.Lang, c)}
	names := map[string]string{}
	for i := len(hist) - 1; i >= 0; i-- {
		h := hist[i]
		n, ok := names[h.Actor]
		if !ok {
			n = h.Actor
			if a, err := s.console.deps.Principals.Principal(ctx, h.Actor); err == nil {
				n = a.Name
			}
			names[h.Actor] = n
		}
		d.Versions = append(d.Versions, versionView{CitizenVersion: h, ActorName: n})
	}
	v.Data = d
	s.render(w, http.StatusOK, "console_citizen.html", v)
}
