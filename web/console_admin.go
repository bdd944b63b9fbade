package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cancuoc/cancuoc"
	op "github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/partner"
)

// ClientAdmin is the OpenID provider's client registry (*oidc.Provider):
// it checks the administrator's role itself and records every creation
// in the access log.
type ClientAdmin interface {
	CreateClient(ctx context.Context, actor *cancuoc.Principal, n op.NewClient) (*cancuoc.Client, string, error)
	Clients(ctx context.Context) ([]*cancuoc.Client, error)
}

// The national administrators' pages: partners with their policies, and
// OpenID clients. The services check the role again and write the access
// log entry of every change (who, when, what); the pages refuse other
// roles first, so that a commune officer sees a clear 403.
func (s *Site) adminRoutes(mux *http.ServeMux) {
	if s.console.deps.Partners != nil {
		mux.HandleFunc("GET /console/admin/partners", s.nationalAdmin(s.adminPartners))
		mux.HandleFunc("POST /console/admin/partners", s.nationalAdmin(s.adminCreatePartner))
		mux.HandleFunc("GET /console/admin/partners/{id}", s.nationalAdmin(s.adminPartner))
		mux.HandleFunc("POST /console/admin/partners/{id}", s.nationalAdmin(s.adminUpdatePartner))
		mux.HandleFunc("POST /console/admin/partners/{id}/disable", s.nationalAdmin(s.adminDisablePartner))
		mux.HandleFunc("POST /console/admin/partners/{id}/enable", s.nationalAdmin(s.adminEnablePartner))
	}
	if s.console.deps.Clients != nil {
		mux.HandleFunc("GET /console/admin/clients", s.nationalAdmin(s.adminClients))
		mux.HandleFunc("POST /console/admin/clients", s.nationalAdmin(s.adminCreateClient))
	}
}

func (s *Site) isAdmin(p *cancuoc.Principal) bool {
	return p != nil && !p.Disabled && p.Role == cancuoc.RoleNationalAdmin &&
		(s.console.deps.Partners != nil || s.console.deps.Clients != nil)
}

var errNotAdmin = cancuoc.E(cancuoc.Forbidden, "web.console", "role_forbidden",
	"Chỉ quản trị viên quốc gia được quản lý đối tác và ứng dụng.",
	"Only a national administrator may manage partners and clients.")

// nationalAdmin runs h for a signed-in national administrator (the
// officer check, CSRF on POST, then the role).
func (s *Site) nationalAdmin(h func(http.ResponseWriter, *http.Request, *session, *cancuoc.Principal)) http.HandlerFunc {
	return s.officer(func(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
		if !s.isAdmin(p) {
			s.fail(w, r, errNotAdmin)
			return
		}
		h(w, r, ss, p)
	})
}

// adminAction is one recorded administration action.
type adminAction struct {
	*cancuoc.AuditEntry
	ActorName string
}

// adminActionsPerActor bounds how far back each administrator's entries
// are read for the "recent actions" lists.
const adminActionsPerActor = 200

// adminActions lists recent administration actions that keep says to keep,
// newest first, from the access log. The log is indexed by actor, not by
// action, so it reads the latest entries of each national administrator
// and of the operator's command line ("console"): few actors, indexed.
func (s *Site) adminActions(ctx context.Context, keep func(*cancuoc.AuditEntry) bool, limit int) ([]adminAction, error) {
	if s.console.deps.Audit == nil {
		return nil, nil
	}
	all, err := s.console.deps.Principals.Principals(ctx)
	if err != nil {
		return nil, err
	}
	actors := []string{"console"}
	names := map[string]string{"console": "console"}
	for _, p := range all {
		if p.Role == cancuoc.RoleNationalAdmin {
			actors = append(actors, p.ID)
			names[p.ID] = p.Name
		}
	}
	var out []adminAction
	for _, a := range actors {
		es, err := s.console.deps.Audit.AuditSearch(ctx, cancuoc.AuditQuery{Actor: a, Limit: adminActionsPerActor})
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if keep(e) {
				out = append(out, adminAction{AuditEntry: e, ActorName: names[a]})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out[:min(len(out), limit)], nil
}

func isPartnerAction(e *cancuoc.AuditEntry) bool {
	return strings.HasPrefix(e.Action, "partner.") && e.PIN == ""
}

type partnerForm struct {
	partner.NewPartner
	Version int64
}

// parsePartnerForm reads a partner's form: id, name, kind, the policy's
// operations and fields (checkboxes), purpose, legal basis, event and
// document types (comma- or space-separated), and the quotas. The partner
// service validates the values; this only reports what is not a number.
func parsePartnerForm(f url.Values) (*partnerForm, error) {
	const o = "web.admin"
	out := &partnerForm{NewPartner: partner.NewPartner{ID: strings.TrimSpace(f.Get("id")), Name: f.Get("name"),
		Kind: cancuoc.PartnerKind(f.Get("kind"))}}
	pol := &out.Policy
	for _, v := range f["operation"] {
		pol.Operations = append(pol.Operations, cancuoc.PartnerOp(v))
	}
	pol.Fields = slices.Clone(f["field"])
	pol.Purpose, pol.LegalBasis = f.Get("purpose"), f.Get("legal_basis")
	pol.EventTypes, pol.DocumentTypes = words(f.Get("event_types")), words(f.Get("document_types"))
	var err error
	num := func(name string) int {
		v := strings.TrimSpace(f.Get(name))
		if v == "" || err != nil {
			return 0
		}
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 {
			err = cancuoc.InvalidField(o, name, "number_invalid", "Hạn mức phải là số nguyên không âm (để trống: không giới hạn).",
				"A quota is a whole number, zero or more (empty: no limit).")
		}
		return n
	}
	pol.Quota.PerMinute, pol.Quota.PerDay = num("per_minute"), num("per_day")
	if v := f.Get("version"); v != "" {
		if out.Version, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, cancuoc.InvalidField(o, "version", "version_invalid", "Biểu mẫu hỏng; hãy tải lại trang.", "The form is damaged; reload the page.")
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// words splits a list typed as "a, b c" into its items.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

type partnersPageData struct {
	Partners []*cancuoc.Partner
	Form     partnerFormView
	Actions  []adminAction
}

// partnerFormView is what the partner form shows: the values, and the
// choices (every kind, operation and record field).
type partnerFormView struct {
	Partner    *cancuoc.Partner
	Kinds      []cancuoc.PartnerKind
	Operations []cancuoc.PartnerOp
	Fields     []string
	Has        map[string]bool // operations and fields checked
}

func newPartnerFormView(p *cancuoc.Partner) partnerFormView {
	if p == nil {
		p = &cancuoc.Partner{}
	}
	has := map[string]bool{}
	for _, o := range p.Policy.Operations {
		has["op:"+string(o)] = true
	}
	for _, f := range p.Policy.Fields {
		has["field:"+f] = true
	}
	return partnerFormView{Partner: p, Kinds: cancuoc.PartnerKinds(), Operations: cancuoc.PartnerOps(), Fields: partner.RecordFields(), Has: has}
}

func (s *Site) adminView(w http.ResponseWriter, r *http.Request, ss *session, vi, en string) *view {
	v := s.newView(w, r, pick(s.lang(w, r), [2]string{vi, en}))
	v.Nav, v.CSRF = s.nav("/console"), s.csrf(ss)
	return v
}

// adminPartners lists the partners with a form to register one, and the
// latest partner administration actions.
func (s *Site) adminPartners(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	s.renderPartners(w, r, ss, p, http.StatusOK, nil, nil)
}

func (s *Site) renderPartners(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal, status int, form *cancuoc.Partner, ferr error) {
	ps, err := s.console.deps.Partners.List(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	acts, err := s.adminActions(r.Context(), isPartnerAction, 20)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.adminView(w, r, ss, "Quản trị đối tác", "Partner administration")
	setFormError(v, ferr)
	v.Data = partnersPageData{Partners: ps, Form: newPartnerFormView(form), Actions: acts}
	s.render(w, status, "console_partners.html", v)
}

// setFormError shows a form's error above it: the message of a
// *cancuoc.Error (Invalid, Conflict), whose fields say what to fix.
func setFormError(v *view, err error) {
	if err == nil {
		return
	}
	var e *cancuoc.Error
	if errors.As(err, &e) {
		v.ErrVI, v.ErrEN = e.MessageVI, e.MessageEN
	}
}

// formStatus is the status of a page showing a refused form again.
func formStatus(err error) int {
	if st, ok := kindStatus[cancuoc.KindOf(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

func (s *Site) adminCreatePartner(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	f, err := parsePartnerForm(r.PostForm)
	if err == nil {
		var created *cancuoc.Partner
		created, err = s.console.deps.Partners.Create(r.Context(), p, f.NewPartner)
		if err == nil {
			http.Redirect(w, r, "/console/admin/partners/"+url.PathEscape(created.ID)+"?done=created", http.StatusSeeOther)
			return
		}
	}
	if !formError(err) {
		s.fail(w, r, err)
		return
	}
	// The form again, with what was typed and what to fix.
	var typed *cancuoc.Partner
	if f != nil {
		typed = &cancuoc.Partner{ID: f.ID, Name: f.Name, Kind: f.Kind, Policy: f.Policy}
	}
	s.renderPartners(w, r, ss, p, formStatus(err), typed, err)
}

// formError: errors the administrator fixes in the form (shown beside
// it) rather than on an error page.
func formError(err error) bool {
	k := cancuoc.KindOf(err)
	return k == cancuoc.Invalid || k == cancuoc.Conflict
}

type partnerPageData struct {
	Form    partnerFormView
	Actions []adminAction
	Done    string
}

var partnerDone = map[string][2]string{
	"created":  {"Đã đăng ký đối tác.", "The partner is registered."},
	"updated":  {"Đã lưu chính sách.", "The policy is saved."},
	"disabled": {"Đã tạm dừng đối tác: mọi lời gọi của hệ thống đối tác bị từ chối.", "The partner is disabled: every call of its systems is refused."},
	"enabled":  {"Đã kích hoạt lại đối tác.", "The partner is enabled again."},
}

// adminPartner shows one partner's policy in a form, with its history of
// administration actions.
func (s *Site) adminPartner(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	s.renderPartner(w, r, ss, p, http.StatusOK, nil, nil)
}

func (s *Site) renderPartner(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal, status int, form *cancuoc.Partner, ferr error) {
	id := r.PathValue("id")
	cur, err := s.console.deps.Partners.Get(r.Context(), p, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if form == nil {
		form = cur
	}
	acts, err := s.adminActions(r.Context(), func(e *cancuoc.AuditEntry) bool { return isPartnerAction(e) && e.Purpose == id }, 50)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.adminView(w, r, ss, "Đối tác "+cur.Name, "Partner "+cur.Name)
	setFormError(v, ferr)
	d := partnerPageData{Form: newPartnerFormView(form), Actions: acts}
	if m, ok := partnerDone[r.URL.Query().Get("done")]; ok && ferr == nil {
		d.Done = pick(v.Lang, m)
	}
	v.Data = d
	s.render(w, status, "console_partner.html", v)
}

// adminUpdatePartner saves the form's name, kind and policy, against the
// version the form was read at (a change by someone else in between is a
// Conflict shown with the form).
func (s *Site) adminUpdatePartner(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	id := r.PathValue("id")
	f, err := parsePartnerForm(r.PostForm)
	if err == nil {
		_, err = s.console.deps.Partners.Update(r.Context(), p, id, partner.Change{Version: f.Version, Name: &f.Name, Kind: &f.Kind, Policy: &f.Policy})
		if err == nil {
			http.Redirect(w, r, "/console/admin/partners/"+url.PathEscape(id)+"?done=updated", http.StatusSeeOther)
			return
		}
	}
	if !formError(err) || cancuoc.KindOf(err) == cancuoc.NotFound {
		s.fail(w, r, err)
		return
	}
	var typed *cancuoc.Partner
	if f != nil {
		typed = &cancuoc.Partner{ID: id, Name: f.Name, Kind: f.Kind, Policy: f.Policy, Version: f.Version}
	}
	s.renderPartner(w, r, ss, p, formStatus(err), typed, err)
}

func (s *Site) adminDisablePartner(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	s.setPartnerDisabled(w, r, p, true)
}

func (s *Site) adminEnablePartner(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	s.setPartnerDisabled(w, r, p, false)
}

func (s *Site) setPartnerDisabled(w http.ResponseWriter, r *http.Request, p *cancuoc.Principal, disabled bool) {
	id := r.PathValue("id")
	if _, err := s.console.deps.Partners.Update(r.Context(), p, id, partner.Change{Disabled: &disabled}); err != nil {
		s.fail(w, r, err)
		return
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	http.Redirect(w, r, "/console/admin/partners/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
}

// parseClientForm reads the client form into a registration; the
// provider validates it (IDs, redirect URIs, methods, keys).
func parseClientForm(f url.Values) (op.NewClient, error) {
	n := op.NewClient{ID: strings.TrimSpace(f.Get("id")), Name: f.Get("name"), Purpose: f.Get("purpose"), Kind: f.Get("kind"),
		AuthMethod: f.Get("auth_method"), RedirectURIs: words(f.Get("redirect_uris")), GrantTypes: slices.Clone(f["grant"]),
		Sector: strings.TrimSpace(f.Get("sector")), IDTokenAlg: f.Get("id_token_alg"), PartnerID: f.Get("partner_id")}
	if f.Get("scope_pid") != "" {
		n.Scopes = []string{op.ScopePID}
	}
	if j := strings.TrimSpace(f.Get("jwks")); j != "" {
		n.JWKS = []byte(j)
	}
	if v := f.Get("min_level"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil {
			return n, cancuoc.InvalidField("web.admin", "min_level", "min_level_invalid", "Mức độ tối thiểu là 1 hoặc 2.", "The minimum level is 1 or 2.")
		}
		n.MinLevel = l
	}
	return n, nil
}

type clientRow struct {
	*cancuoc.Client
	CreatedBy string
}

type clientsPageData struct {
	Clients  []clientRow
	Partners []*cancuoc.Partner
	Form     op.NewClient
	Created  *cancuoc.Client
	Secret   string
}

// adminClients lists the OpenID clients, who registered each (from the
// access log) and a form to register one.
func (s *Site) adminClients(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	s.renderClients(w, r, ss, p, http.StatusOK, clientsPageData{Form: op.NewClient{MinLevel: 1}}, nil)
}

func (s *Site) renderClients(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal, status int, d clientsPageData, ferr error) {
	ctx := r.Context()
	cs, err := s.console.deps.Clients.Clients(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	acts, err := s.adminActions(ctx, func(e *cancuoc.AuditEntry) bool { return e.Action == "oidc.client.create" }, 1000)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	by := map[string]string{}
	for _, a := range acts {
		by[a.Purpose] = a.ActorName + " · " + a.At.In(vnTime).Format("02/01/2006 15:04")
	}
	for _, c := range cs {
		d.Clients = append(d.Clients, clientRow{Client: c, CreatedBy: by[c.ID]})
	}
	if s.console.deps.Partners != nil {
		if d.Partners, err = s.console.deps.Partners.List(ctx, p); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	v := s.adminView(w, r, ss, "Ứng dụng OpenID", "OpenID clients")
	setFormError(v, ferr)
	v.Data = d
	if d.Secret != "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	s.render(w, status, "console_clients.html", v)
}

// adminCreateClient registers a client and shows its secret on this
// answer only: the provider keeps a hash, and the page is not cached.
func (s *Site) adminCreateClient(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	n, err := parseClientForm(r.PostForm)
	if err == nil {
		var c *cancuoc.Client
		var secret string
		c, secret, err = s.console.deps.Clients.CreateClient(r.Context(), p, n)
		if err == nil {
			s.renderClients(w, r, ss, p, http.StatusCreated, clientsPageData{Form: op.NewClient{MinLevel: 1}, Created: c, Secret: secret}, nil)
			return
		}
	}
	if !formError(err) {
		s.fail(w, r, err)
		return
	}
	s.renderClients(w, r, ss, p, formStatus(err), clientsPageData{Form: n}, err)
}
