package web

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
	"github.com/cancuoc/cancuoc/auditlog"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/stats"
)

// Site is the web product: the national dashboard, the citizen portal and
// the officers' console, each mounted when its capabilities are wired.
// Pages are rendered on the server in Vietnamese, or English when asked
// (?lang=en, remembered in a cookie).
type Site struct {
	log    *slog.Logger
	secure bool   // cookies only over HTTPS
	key    []byte // seals session cookies (AES-GCM)
	// csrfKey signs CSRF tokens (HMAC): a key of its own, so that no
	// output of one primitive is ever computed under the other's key.
	csrfKey []byte
	now     func() time.Time
	// sessions keeps each session server-side so that it can end (nil:
	// sealed cookies alone, which only expire).
	sessions cancuoc.LoginSessionStore

	stats   *stats.Service
	portal  *portal
	console *console
	// sections are the portal's later pages (documents, applications,
	// corrections): a nav entry each, shown only when registered.
	sections []Section
	// apps serves the online applications' pages; see WithApplications.
	apps *application.Service
	// queues are the officers' work queues summarised on the console
	// home, one per capability (WithWorkQueue).
	queues []WorkQueue
}

// Section is a page of the portal that another capability serves under
// /portal/ (its handler is registered by that capability).
type Section struct {
	Path   string // e.g. /portal/documents
	VI, EN string
}

// SiteConfig configures a Site. Secret (≥32 bytes) keys the session
// cookies; Secure marks cookies Secure (serve over HTTPS).
type SiteConfig struct {
	Secret []byte
	Secure bool
	Log    *slog.Logger
	// Sessions, when set, keeps the portal's and console's sessions
	// server-side (the store's login sessions, beside the provider's), so
	// that logout ends one for good and eid's lock, suspension, closure and
	// password reset (EndLoginSessions) end all of the holder's. Without it
	// a copied cookie works until it expires.
	Sessions cancuoc.LoginSessionStore
}

// NewSite returns a site with no page mounted; add them with the With
// methods and serve them with Routes.
func NewSite(cfg SiteConfig) (*Site, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("web: the site secret must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, cfg.Secret, nil, "cancuoc web sessions", 32)
	if err != nil {
		return nil, err
	}
	csrfKey, err := hkdf.Key(sha256.New, cfg.Secret, nil, "cancuoc web csrf", 32)
	if err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Site{log: log, secure: cfg.Secure, key: key, csrfKey: csrfKey, now: time.Now, sessions: cfg.Sessions}, nil
}

// WithDashboard mounts the national dashboard on s's figures.
func (s *Site) WithDashboard(st *stats.Service) *Site {
	s.stats = st
	return s
}

// WithSection adds a portal page's entry to the navigation.
func (s *Site) WithSection(sec Section) *Site {
	s.sections = append(s.sections, sec)
	return s
}

// Directory names who appears in an access log: principals and OpenID
// clients (cancuoc.Store is one).
type Directory interface {
	Principal(ctx context.Context, id string) (*cancuoc.Principal, error)
	Client(ctx context.Context, id string) (*cancuoc.Client, error)
}

// Consents is the OpenID provider's side of a citizen's consents
// (*oidc.Provider).
type Consents interface {
	Consents(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.Consent, error)
	RevokeConsent(ctx context.Context, pin cancuoc.PIN, clientID string) error
}

// PortalDeps are the capabilities the citizen portal shows.
type PortalDeps struct {
	Registry  *registry.Service
	AccessLog *auditlog.Log
	EID       *eid.Service
	Consents  Consents
	Directory Directory
	// Accounts lists a holder's factors (cancuoc.Store).
	Accounts interface {
		Passkeys(ctx context.Context, accountID string) ([]*cancuoc.Passkey, error)
	}
}

// Routes adds the mounted pages to mux.
func (s *Site) Routes(mux *http.ServeMux) {
	if s.stats != nil {
		mux.HandleFunc("GET /dashboard", s.dashboard)
		mux.HandleFunc("GET /dashboard/{province}", s.dashboard)
	}
	if s.portal != nil {
		s.portalRoutes(mux)
	}
	if s.console != nil {
		s.consoleRoutes(mux)
	}
	for _, area := range s.areas() {
		mux.HandleFunc("GET "+area+"/{$}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, area, http.StatusMovedPermanently)
		})
		// An unknown page of a mounted area is a person who followed a
		// stale link or mistyped one: they get the site's page, in their
		// language, with a way back, not the API's JSON problem.
		catchAll := area + "/"
		mux.HandleFunc(catchAll, func(w http.ResponseWriter, r *http.Request) {
			if allow := otherMethods(mux, r, catchAll); len(allow) > 0 {
				// A page that exists for another method (an action
				// reached by GET) keeps the mux's own answer.
				w.Header().Set("Allow", strings.Join(allow, ", "))
				http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
				return
			}
			s.failBack(w, r, errNoPage, area)
		})
	}
}

// otherMethods lists the methods for which mux has a route of r's path
// other than the catch-all pattern.
func otherMethods(mux *http.ServeMux, r *http.Request, catchAll string) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != catchAll {
			allow = append(allow, m)
		}
	}
	return allow
}

var errNoPage = cancuoc.E(cancuoc.NotFound, "web", "page_unknown",
	"Không có trang này; có thể đường dẫn đã cũ hoặc gõ nhầm.",
	"There is no such page; the link may be old or mistyped.")

// areas are the path prefixes of the mounted page areas.
func (s *Site) areas() []string {
	var out []string
	if s.stats != nil {
		out = append(out, "/dashboard")
	}
	if s.portal != nil {
		out = append(out, "/portal")
	}
	if s.console != nil {
		out = append(out, "/console")
	}
	return out
}

// view is what every page template gets.
type view struct {
	Lang, Other string // language, and the URL that switches to the other
	Title       string
	Nav         []navItem
	CSRF        string
	ErrVI       string
	ErrEN       string
	Data        any
}

type navItem struct {
	Path, VI, EN string
	Current      bool
}

const cookieLang = "cancuoc_lang"

// lang is the page language: ?lang= (remembered), else the cookie, else
// Vietnamese.
func (s *Site) lang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "vi" {
		http.SetCookie(w, &http.Cookie{Name: cookieLang, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(cookieLang); err == nil && c.Value == "en" {
		return "en"
	}
	return "vi"
}

func (s *Site) newView(w http.ResponseWriter, r *http.Request, title string) *view {
	v := &view{Lang: s.lang(w, r), Title: title}
	other := "en"
	if v.Lang == "en" {
		other = "vi"
	}
	q := r.URL.Query()
	q.Set("lang", other)
	path := r.URL.Path
	if r.Method != http.MethodGet {
		q = url.Values{"lang": {other}}
	}
	v.Other = path + "?" + q.Encode()
	return v
}

// render writes a page with the headers every page has: no caching of
// personal pages, a strict content security policy (all assets are ours).
func (s *Site) render(w http.ResponseWriter, status int, name string, v *view) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", v.Lang)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		s.log.Error("rendering a page", "page", name, "err", err)
	}
}

// fail shows an error page: the message of a *cancuoc.Error, or a generic
// one for internal errors (logged without personal data).
func (s *Site) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.failBack(w, r, err, "")
}

// failBack is fail with a link back to the page the action came from
// (back, a path of this site; "" for none).
func (s *Site) failBack(w http.ResponseWriter, r *http.Request, err error, back string) {
	v := s.newView(w, r, "")
	v.Data = back
	status := http.StatusInternalServerError
	var e *cancuoc.Error
	if errors.As(err, &e) && e.Kind != cancuoc.Internal {
		v.ErrVI, v.ErrEN = e.MessageVI, e.MessageEN
		status = kindStatus[e.Kind]
	} else {
		// The route pattern, never the path or query: paths and queries
		// hold PINs and names (/console/citizens/{pin}, ?name=).
		s.log.Error("web page", "route", r.Pattern, "request_id", w.Header().Get("X-Request-ID"), "err", err)
		v.ErrVI, v.ErrEN = "Lỗi hệ thống; vui lòng thử lại sau.", "Internal error; please try again later."
	}
	s.render(w, status, "error.html", v)
}

var kindStatus = map[cancuoc.Kind]int{
	cancuoc.Invalid: http.StatusBadRequest, cancuoc.NotFound: http.StatusNotFound,
	cancuoc.Conflict: http.StatusConflict, cancuoc.Unauthenticated: http.StatusUnauthorized,
	cancuoc.Forbidden: http.StatusForbidden, cancuoc.Unavailable: http.StatusServiceUnavailable,
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"t": func(lang, vi, en string) string {
		if lang == "en" {
			return en
		}
		return vi
	},
	"num":      formatNumber,
	"date":     func(t time.Time) string { return t.In(vnTime).Format("02/01/2006 15:04") },
	"join":     strings.Join,
	"jsonText": jsonText,
	// withLang passes the page language with data to a nested template.
	"withLang": func(lang string, data any) langData { return langData{lang, data} },
}

// langData is a nested template's data with the page language.
type langData struct {
	Lang string
	Data any
}

// jsonText shows a JSON value of a history diff: a string as itself,
// null or absent as a dash, anything else as compact JSON.
func jsonText(raw json.RawMessage) string {
	var str string
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "—"
	case json.Unmarshal(raw, &str) == nil:
		return str
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}

var vnTime = time.FixedZone("ICT", 7*3600)

// formatNumber groups thousands with dots, the Vietnamese way, or with
// commas in English.
func formatNumber(lang string, n int64) string {
	sep := "."
	if lang == "en" {
		sep = ","
	}
	neg := n < 0
	if neg {
		n = -n
	}
	s := []byte{}
	d := 0
	for {
		if d > 0 && d%3 == 0 {
			s = append(s, sep...)
		}
		s = append(s, byte('0'+n%10))
		n /= 10
		d++
		if n == 0 {
			break
		}
	}
	if neg {
		s = append(s, '-')
	}
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
	return string(s)
}
