package oidc

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/cancuoc/cancuoc"
)

//go:embed templates/*.html static/*
var assets embed.FS

// pageFuncs: t picks a page's text in its language (vi unless "en").
var pageFuncs = template.FuncMap{
	"t": func(lang, vi, en string) string {
		if lang == "en" {
			return en
		}
		return vi
	},
}

// pagesVI and pagesEN are the pages of each language, parsed with their
// fixed texts already chosen: a {{t .Lang "…" "…"}} of two literal
// strings is replaced by the one of the language, escaped as the template
// would escape it (they stand only in text and quoted attribute values).
// Each of those was two calls through reflection at every rendering (t,
// then its escaper), and a login page has ten: the template's function
// calls were about half of its rendering, which was 6 % of the server's
// CPU in a passkey login. Texts from the page's data still go through t.
var pagesVI, pagesEN = parsePages("vi"), parsePages("en")

// literalT is a t call whose texts are both literal strings without
// escapes.
var literalT = regexp.MustCompile(`{{t \$?\.Lang "([^"\\]*)" "([^"\\]*)"}}`)

func parsePages(lang string) *template.Template {
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	set := template.New("").Funcs(pageFuncs)
	for _, f := range files {
		src, err := fs.ReadFile(assets, f)
		if err != nil {
			panic(err)
		}
		text := literalT.ReplaceAllStringFunc(string(src), func(call string) string {
			m := literalT.FindStringSubmatch(call)
			if lang == "en" {
				return template.HTMLEscapeString(m[2])
			}
			return template.HTMLEscapeString(m[1])
		})
		template.Must(set.New(path.Base(f)).Parse(text))
	}
	return set
}

// pagesOf is the page set of a language.
func pagesOf(lang string) *template.Template {
	if lang == "en" {
		return pagesEN
	}
	return pagesVI
}

// Cookie names. The binding cookie ties a login to the browser that
// started it; the session cookie (sealed) lets a citizen who logged in a
// moment ago skip the password on the next service and manage consents.
const (
	cookieBinding = "cancuoc_oidc_b"
	cookieSession = "cancuoc_oidc_s"
	cookieLang    = "cancuoc_lang"
)

// routes assembles the provider's protocol endpoints (op) and the pages.
func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.loginPassword)
	mux.HandleFunc("POST /login/otp", p.loginOTP)
	mux.HandleFunc("POST /login/passkey/begin", p.passkeyBegin)
	mux.HandleFunc("POST /login/passkey", p.passkeyFinish)
	mux.HandleFunc("GET /consent", p.consentPage)
	mux.HandleFunc("POST /consent", p.consentSubmit)
	mux.HandleFunc("POST /cancel", p.cancel)
	mux.HandleFunc("GET /consents", p.consentsPage)
	mux.HandleFunc("POST /consents/revoke", p.consentsRevoke)
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	// Codes are issued by the consent step itself, never by op's callback,
	// which would hand a code to anyone who knows a finished request's ID.
	mux.HandleFunc("/authorize/callback", http.NotFound)
	mux.HandleFunc("/authorize", p.authorize)
	mux.HandleFunc("/oauth/token", p.token)
	mux.HandleFunc("/end_session", p.endSession)
	mux.Handle("/", p.op)
	var h http.Handler = mux
	h = securityHeaders(h)
	if p.base != "" {
		h = http.StripPrefix(p.base, h)
	}
	return h
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// token passes the token endpoint to op with the signing algorithm of the
// requesting client in the context. The client named here is not yet
// authenticated; op authenticates it, and the name only picks an algorithm.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	id, _, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
	} else if err := r.ParseForm(); err == nil {
		id = r.PostForm.Get("client_id")
		if id == "" {
			id = assertionIssuer(r.PostForm.Get("client_assertion"))
		}
	}
	alg := AlgES256
	if id != "" {
		if c, err := p.client(r.Context(), id); err == nil && c.IDTokenAlg == AlgRS256 {
			alg = AlgRS256
		}
	}
	_ = r.ParseForm()
	if r.PostForm.Get("client_assertion") != "" && r.PostForm.Get("grant_type") != string(oidc.GrantTypeClientCredentials) {
		if err := p.storage.checkOtherAssertion(r.Context(), r.PostForm.Get("client_assertion")); err != nil {
			op.RequestError(w, r, err, nil)
			return
		}
	}
	p.op.ServeHTTP(w, withClientAssertion(r.WithContext(withAlg(r.Context(), alg))))
}

// authorize passes the authorization endpoint to op with the browser's
// binding cookie (set here when the browser has none), so that the request
// is stored already bound to the browser that started it: one write fewer
// than binding it when the login page is first shown.
//
// Once op has stored a valid request, its last act is a redirect to the
// login page; that redirect is held back and the login page answered
// here instead, from the request just stored: one round trip, one read of
// the request and its decoding fewer per login. Every other answer of op
// (its errors, at the client or on a page) passes through untouched.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	binding := ""
	if c, err := r.Cookie(cookieBinding); err == nil && len(c.Value) >= 32 && len(c.Value) <= 64 {
		binding = c.Value
	} else {
		binding = randomID(32)
		p.setCookie(w, cookieBinding, binding, 0)
	}
	held := &loginRedirect{ResponseWriter: w, login: p.base + "/login"}
	ctx := context.WithValue(context.WithValue(r.Context(), keyBinding, hashValue(binding)), keyCreated, &held.created)
	p.op.ServeHTTP(held, r.WithContext(ctx))
	if held.held {
		h := w.Header()
		h.Del("Location")
		h.Del("Content-Type")
		p.showLogin(w, r, held.created, binding)
	}
}

// loginRedirect passes op's answer at /authorize through, except the
// redirect to the login page of the request op has just stored (created,
// set by CreateAuthRequest), which it holds back.
type loginRedirect struct {
	http.ResponseWriter
	login   string // the login page's path
	created *authRequest
	held    bool
}

func (w *loginRedirect) WriteHeader(status int) {
	if w.created != nil && status == http.StatusFound &&
		w.Header().Get("Location") == (&client{login: w.login}).LoginURL(w.created.id) {
		w.held = true
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *loginRedirect) Write(b []byte) (int, error) {
	if w.held {
		return len(b), nil // the redirect's little HTML body
	}
	return w.ResponseWriter.Write(b)
}

// assertionIssuer reads iss from a JWT without verifying it.
func assertionIssuer(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	_ = json.Unmarshal(b, &c)
	return c.Iss
}

// endSession ends the provider's session (in the store, and its cookie)
// before op handles the logout.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieSession); err == nil && c.Value != "" {
		if err := p.store.EndLoginSession(r.Context(), hashValue(c.Value), p.now()); err != nil {
			p.fail(w, r, http.StatusInternalServerError, err)
			return
		}
	}
	p.setCookie(w, cookieSession, "", -1)
	p.op.ServeHTTP(w, r)
}

// page is what every template gets.
type page struct {
	Lang, Other  string // current language, and the other one's switch URL
	Base         string
	ID, CSRF     string
	Client       *cancuoc.Client
	Fields       []consentField
	ErrVI, ErrEN string
	LevelNeeded  int
	Consents     []consentRow
	PINHint      string
	AskOrg       bool // the org scope: choose among Orgs (org.go)
	Orgs         []orgChoice
	Release      *partnerRelease // a partner consent offered with this one (partnerconsent.go)
	// PasskeyOptions: the discoverable passkey ceremony's options (JSON),
	// for the login page's script.
	PasskeyOptions string
	// Sealed is the login page's request, sealed, while no step has
	// stored it (sealed.go).
	Sealed string
	// SwitchLang, set with Sealed (and Other then empty), is the language
	// the login page's switch asks for by posting the login form, which
	// carries the sealed request, instead of a link that would carry it
	// a second time (loginForm).
	SwitchLang string
}

type consentRow struct {
	ClientID, Name, Purpose string
	Fields                  []consentField
	Granted                 string
	Revoked                 bool
}

func (p *Provider) lang(w http.ResponseWriter, r *http.Request) string {
	l := r.URL.Query().Get("lang")
	if l == "" && r.Method == http.MethodPost {
		l = r.PostFormValue("lang") // the login page's switch (page.SwitchLang)
	}
	if l == "en" || l == "vi" {
		http.SetCookie(w, &http.Cookie{Name: cookieLang, Value: l, Path: p.cookiePath(), MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(cookieLang); err == nil && c.Value == "en" {
		return "en"
	}
	return "vi"
}

// newPage is a page in the request's language, its language switch a
// link to the same URL in the other (to the same request's page, for a
// form's answer). The login page's switch is loginForm's instead.
func (p *Provider) newPage(w http.ResponseWriter, r *http.Request) *page {
	pg := &page{Lang: p.lang(w, r), Base: p.base}
	q := r.URL.Query()
	other := otherLang(pg.Lang)
	q.Set("lang", other)
	pg.Other = p.base + r.URL.Path + "?" + q.Encode()
	if r.Method == http.MethodPost {
		pg.Other = p.base + r.URL.Path + "?id=" + url.QueryEscape(r.FormValue("id")) + "&lang=" + other
	}
	return pg
}

// otherLang is the language a page's switch offers.
func otherLang(lang string) string {
	if lang == "en" {
		return "vi"
	}
	return "en"
}

// render answers with a page and its headers (no caching, a strict CSP).
//
// The page is rendered into a buffer and written at once, with its length:
// the template writes it in dozens of small pieces, each of which went
// through the response's writers, and a login page (its sealed request
// three times, its passkey options) is longer than the server's 4 KB
// buffer, so it went out chunked in more than one write. A page that
// fails to render is answered with a 500 instead of a truncated page.
func (p *Provider) render(w http.ResponseWriter, status int, name string, pg *page) {
	buf := pageBufs.Get().(*bytes.Buffer)
	defer putPageBuf(buf)
	buf.Reset()
	if err := pagesOf(pg.Lang).ExecuteTemplate(buf, name, pg); err != nil {
		p.log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", pg.Lang)
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self' *; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageBufs holds the buffers pages are rendered into.
var pageBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putPageBuf returns a buffer to the pool unless a rare page made it
// large, so that the pool does not keep that memory.
func putPageBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		pageBufs.Put(b)
	}
}

// fail shows an error page with a *cancuoc.Error's message.
func (p *Provider) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	pg := p.newPage(w, r)
	var e *cancuoc.Error
	if errors.As(err, &e) && e.Kind != cancuoc.Internal {
		pg.ErrVI, pg.ErrEN = e.MessageVI, e.MessageEN
	} else {
		p.log.Error("oidc page", "err", err)
		pg.ErrVI, pg.ErrEN = "Lỗi hệ thống; vui lòng thử lại sau.", "Internal error; please try again later."
		status = http.StatusInternalServerError
	}
	p.render(w, status, "error.html", pg)
}

func (p *Provider) cookiePath() string {
	if p.base == "" {
		return "/"
	}
	return p.base + "/"
}

func (p *Provider) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: p.cookiePath(), MaxAge: maxAge,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

// csrf is the form token of a request in a browser: an HMAC of the request
// ID and the binding cookie, which a page of another site cannot read.
func (p *Provider) csrf(id, binding string) string {
	m := hmac.New(sha256.New, p.cookie)
	m.Write([]byte("csrf\x00" + id + "\x00" + binding))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var errBrowser = cancuoc.E(cancuoc.Forbidden, "oidc.login", "browser_mismatch",
	"Phiên đăng nhập này được bắt đầu ở trình duyệt khác, hoặc biểu mẫu đã hết hạn. Hãy quay lại dịch vụ và thử lại.",
	"This login was started in another browser, or the form has expired. Go back to the service and try again.")

// request loads the request named by the id parameter and checks that this
// browser owns it; with post, also the CSRF token. On a first GET it binds
// the request to this browser. A request the store does not hold may come
// sealed in the form (sealed.go): a step before any was saved.
func (p *Provider) request(w http.ResponseWriter, r *http.Request, post bool) (*authRequest, string, error) {
	id := r.FormValue("id")
	a, err := p.storage.authRequest(r.Context(), id)
	if sealed := r.FormValue(sealedField); err != nil && sealed != "" && errorsAsKind(err, cancuoc.NotFound) {
		a, err = p.unseal(id, sealed)
	}
	if err != nil {
		return nil, "", err
	}
	return p.owned(w, r, a, post)
}

// sealedRequest is request for the passkey login's finish, whose form
// carries the request sealed while no step has stored it: opened without
// reading the store, whose primary key refuses a second use when the
// login inserts it (saveAuthRequest). Without the sealed form, request.
func (p *Provider) sealedRequest(w http.ResponseWriter, r *http.Request) (*authRequest, string, error) {
	sealed := r.PostFormValue(sealedField)
	if sealed == "" {
		return p.request(w, r, true)
	}
	a, err := p.unseal(r.PostFormValue("id"), sealed)
	if err != nil {
		return nil, "", err
	}
	return p.owned(w, r, a, true)
}

// owned checks that this browser owns a (the binding cookie; with post,
// the CSRF token), binding a request not yet bound on a GET.
func (p *Provider) owned(w http.ResponseWriter, r *http.Request, a *authRequest, post bool) (*authRequest, string, error) {
	id := a.id
	var binding string
	if c, err := r.Cookie(cookieBinding); err == nil {
		binding = c.Value
	}
	if len(a.d.Browser) == 0 && !post {
		if binding == "" {
			binding = randomID(32)
			p.setCookie(w, cookieBinding, binding, 0)
		}
		a.d.Browser = hashValue(binding)
		if err := p.storage.saveAuthRequest(r.Context(), p.store, a); err != nil {
			return nil, "", err
		}
	}
	if binding == "" || subtle.ConstantTimeCompare(hashValue(binding), a.d.Browser) != 1 {
		return nil, "", errBrowser
	}
	if post && !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(p.csrf(id, binding))) {
		return nil, "", errBrowser
	}
	return a, binding, nil
}

// source is the client's address for lockout: the peer, or behind the
// configured trusted proxies the address they forwarded.
func (p *Provider) source(r *http.Request) string { return p.cfg.TrustedProxies.Addr(r) }

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	a, binding, err := p.request(w, r, false)
	if err != nil {
		p.fail(w, r, http.StatusForbidden, err)
		return
	}
	if a.d.Step != "" {
		p.resume(w, r, a)
		return
	}
	p.showLogin(w, r, a, binding)
}

// showLogin answers a request not yet logged in, in the browser bound to
// it: from a live session that suffices, with the code (or consent);
// else the login page, or login_required for prompt=none.
func (p *Provider) showLogin(w http.ResponseWriter, r *http.Request, a *authRequest, binding string) {
	// A live session spares the password, unless the client asks for a
	// fresh login (prompt=login, or max_age older than the session's
	// login) or for another citizen (id_token_hint).
	if s := p.readSession(r); s != nil && p.sessionSatisfies(r.Context(), s, a) {
		if acc, err := p.accounts.AccountByPIN(r.Context(), s.PIN); err == nil && acc.Status == cancuoc.AccountActive && acc.ID == s.Account {
			a.d.AuthTime = s.At
			p.finishLogin(w, r, a, acc, s.AMR, false)
			return
		}
	}
	// prompt=none: the client wants an answer without any page; without a
	// usable session that answer is login_required (OpenID Connect Core
	// 1.0, section 3.1.2.6).
	if promptNone(a) {
		p.redirectError(w, r, a, "login_required", "no current login session satisfies the request")
		return
	}
	pg, err := p.loginForm(w, r, a, binding)
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	pg.Client, _ = p.client(r.Context(), a.d.ClientID)
	pg.PINHint = a.d.LoginHint
	if len(a.d.Passkey) > 0 && a.d.PasskeyPIN == "" {
		pg.PasskeyOptions = string(a.d.PasskeyOptions)
	}
	p.render(w, http.StatusOK, "login.html", pg)
}

// loginForm makes the login page of a request, with what its form and its
// language switch carry of it: its ID, the CSRF token and, while no step has
// stored it, the request sealed (sealed.go). The language switch names the
// request (the page may be the answer of /authorize, whose URL would
// start another request): a link to the stored request's page, or, for a
// sealed one, a button of the login form (SwitchLang), which posts the
// sealed request the form already carries. The sealed request (over 1 KB)
// is thus once in the page: with it three times (two forms and the link)
// the page and its headers were over the server's 4 KB write buffer and
// went out in two writes. The page is not newPage's, whose switch (the
// /authorize URL with all its parameters, parsed and encoded again) would
// only be replaced.
func (p *Provider) loginForm(w http.ResponseWriter, r *http.Request, a *authRequest, binding string) (*page, error) {
	pg := &page{Lang: p.lang(w, r), Base: p.base, ID: a.id, CSRF: p.csrf(a.id, binding)}
	if a.sealed {
		var err error
		if pg.Sealed, err = p.seal(a); err != nil {
			return nil, err
		}
		pg.SwitchLang = otherLang(pg.Lang)
		return pg, nil
	}
	pg.Other = p.base + "/login?" + url.Values{"id": {a.id}, "lang": {otherLang(pg.Lang)}}.Encode()
	return pg, nil
}

// resume shows the page of the step a request is at, e.g. after a reload.
func (p *Provider) resume(w http.ResponseWriter, r *http.Request, a *authRequest) {
	switch a.d.Step {
	case stepOTP:
		p.showOTP(w, r, a, "", "")
	case stepConsent:
		http.Redirect(w, r, p.base+"/consent?id="+url.QueryEscape(a.id), http.StatusSeeOther)
	default:
		p.fail(w, r, http.StatusConflict, cancuoc.E(cancuoc.Conflict, "oidc.login", "login_finished",
			"Lượt đăng nhập này đã hoàn tất.", "This login is already finished."))
	}
}

var errCredentials = cancuoc.E(cancuoc.Unauthenticated, "oidc.login", "bad_credentials",
	"Số định danh hoặc mật khẩu không đúng.", "Wrong identification number or password.")

func (p *Provider) loginPassword(w http.ResponseWriter, r *http.Request) {
	a, binding, err := p.request(w, r, true)
	if err != nil {
		p.fail(w, r, http.StatusForbidden, err)
		return
	}
	if a.d.Step != "" {
		p.resume(w, r, a)
		return
	}
	if r.PostFormValue("lang") != "" {
		// The language switch of a login page (SwitchLang), not a
		// password: the same page in the other language (lang sets its
		// cookie), as the link to a stored request's page gives it.
		p.showLogin(w, r, a, binding)
		return
	}
	ctx := r.Context()
	pin, perr := cancuoc.ParsePIN(strings.TrimSpace(r.PostFormValue("pin")), p.now().Year())
	var acc *cancuoc.Account
	if perr == nil {
		acc, err = p.accounts.VerifyPassword(ctx, pin, r.PostFormValue("password"), p.source(r))
	}
	if perr != nil || err != nil {
		shown := errCredentials
		var e *cancuoc.Error
		if err != nil && errors.As(err, &e) && (e.Kind == cancuoc.Forbidden || e.Kind == cancuoc.Unavailable) {
			shown = e // locked out: the holder should know why and for how long
		} else if err != nil && !errorsAsKind(err, cancuoc.Unauthenticated) && !errorsAsKind(err, cancuoc.NotFound) {
			p.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		if perr == nil {
			p.auditEntry(ctx, p.store, pin, "eid.login", a.d.ClientID, nil, "failed")
		}
		p.loginAgain(w, r, a, binding, http.StatusUnauthorized, shown)
		return
	}
	has, err := p.accounts.HasTOTP(ctx, acc.ID)
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	a.pin, a.d.AccountID, a.d.AMR = acc.PIN, acc.ID, []string{"pwd"}
	if has {
		a.d.Step = stepOTP
		if err := p.storage.saveAuthRequest(ctx, p.store, a); err != nil {
			p.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		p.showOTP(w, r, a, "", "")
		return
	}
	a.d.AuthTime = p.now()
	p.finishLogin(w, r, a, acc, a.d.AMR, true)
}

func (p *Provider) showOTP(w http.ResponseWriter, r *http.Request, a *authRequest, errVI, errEN string) {
	binding := ""
	if c, err := r.Cookie(cookieBinding); err == nil {
		binding = c.Value
	}
	pg := p.newPage(w, r)
	pg.ID, pg.CSRF = a.id, p.csrf(a.id, binding)
	pg.Client, _ = p.client(r.Context(), a.d.ClientID)
	pg.ErrVI, pg.ErrEN = errVI, errEN
	status := http.StatusOK
	if errVI != "" {
		status = http.StatusUnauthorized
	}
	p.render(w, status, "otp.html", pg)
}

func (p *Provider) loginOTP(w http.ResponseWriter, r *http.Request) {
	a, _, err := p.request(w, r, true)
	if err != nil {
		p.fail(w, r, http.StatusForbidden, err)
		return
	}
	if a.d.Step != stepOTP {
		p.resume(w, r, a)
		return
	}
	ctx := r.Context()
	if err := p.accounts.VerifyTOTP(ctx, a.d.AccountID, strings.TrimSpace(r.PostFormValue("code")), p.source(r)); err != nil {
		var e *cancuoc.Error
		if !errors.As(err, &e) || e.Kind == cancuoc.Internal {
			p.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		p.auditEntry(ctx, p.store, a.pin, "eid.login", a.d.ClientID, nil, "failed_otp")
		vi, en := "Mã xác thực không đúng.", "Wrong authentication code."
		if e.Kind == cancuoc.Forbidden || e.Kind == cancuoc.Unavailable {
			vi, en = e.MessageVI, e.MessageEN
		}
		p.showOTP(w, r, a, vi, en)
		return
	}
	acc, err := p.accounts.AccountByPIN(ctx, a.pin)
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	a.d.AuthTime = p.now()
	p.finishLogin(w, r, a, acc, []string{"pwd", "otp", "mfa"}, true)
}

// levelNeeded is the assurance level a request demands: the client's
// registration, raised by acr_values asking for level 2 only.
func levelNeeded(c *cancuoc.Client, a *authRequest) int {
	need := max(c.MinLevel, 1)
	if len(a.d.ACRValues) > 0 && !slices.Contains(a.d.ACRValues, ACRLevel1) && slices.Contains(a.d.ACRValues, ACRLevel2) {
		need = 2
	}
	return need
}

// finishLogin records who logged in and how, refuses a level too low for
// the client, and goes on to consent, or straight to the code when a
// consent is in force.
func (p *Provider) finishLogin(w http.ResponseWriter, r *http.Request, a *authRequest, acc *cancuoc.Account, amr []string, fresh bool) {
	ctx := r.Context()
	c, err := p.client(ctx, a.d.ClientID)
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	a.pin, a.d.AccountID, a.d.AMR, a.d.Level = acc.PIN, acc.ID, amr, int(acc.Level)
	a.d.Subject = p.pairwiseSubject(c, acc.PIN)
	need := levelNeeded(c, a)
	// prompt=consent asks again even when a consent is in force.
	issue := int(acc.Level) >= need && !slices.Contains(a.d.Prompt, "consent") && p.consented(ctx, a)
	if fresh {
		lw := p.newLoginWrites(r, acc, c.ID, amr, a.d.AuthTime)
		lw.passkey, a.passkey = a.passkey, nil
		if _, ok := p.accounts.(TxLoginRecorder); ok {
			// Written with the request's next step, in one transaction:
			// the code (SaveAuthCode), the consent step or the level page.
			a.login = lw
		} else if err := p.writeLogin(ctx, lw); err != nil {
			p.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		p.setCookie(w, cookieSession, lw.value, int(p.cfg.SessionLifetime.Seconds()))
	}
	if int(acc.Level) < need {
		p.auditEntry(ctx, p.store, acc.PIN, "oidc.authorize", c.ID, nil, "level_insufficient")
		if promptNone(a) {
			p.redirectError(w, r, a, "interaction_required", "the account's assurance level is too low for this service")
			return
		}
		a.d.Step = ""
		if err := p.storage.commitAuthRequest(ctx, a); err != nil {
			p.failStep(w, r, err)
			return
		}
		pg := p.newPage(w, r)
		pg.Client, pg.LevelNeeded, pg.ID = c, need, a.id
		if b, err := r.Cookie(cookieBinding); err == nil {
			pg.CSRF = p.csrf(a.id, b.Value)
		}
		p.render(w, http.StatusForbidden, "level.html", pg)
		return
	}
	if issue {
		p.issue(w, r, a)
		return
	}
	if promptNone(a) {
		p.redirectError(w, r, a, "consent_required", "the citizen has not consented to this client's scopes")
		return
	}
	a.d.Step = stepConsent
	if err := p.storage.commitAuthRequest(ctx, a); err != nil {
		p.failStep(w, r, err)
		return
	}
	http.Redirect(w, r, p.base+"/consent?id="+url.QueryEscape(a.id), http.StatusSeeOther)
}

// failStep answers a step that could not be saved: 409 when another
// request took the step first (SwapAuthRequest), else the error page.
func (p *Provider) failStep(w http.ResponseWriter, r *http.Request, err error) {
	if errorsAsKind(err, cancuoc.Conflict) {
		p.fail(w, r, http.StatusConflict, err)
		return
	}
	p.fail(w, r, http.StatusInternalServerError, err)
}

// TxLoginRecorder is implemented by Accounts that can record a login
// inside the caller's transaction (*eid.Service). With it, a fresh login
// whose consent is in force writes its login record, its session and its
// code in one transaction instead of three.
type TxLoginRecorder interface {
	RecordLoginTx(ctx context.Context, tx cancuoc.Tx, accountID, clientID string, amr []string, source string) error
}

// loginWrites are the records of a fresh login: the login on the account
// (eid's history) and the new provider session, which replaces the one the
// browser had.
type loginWrites struct {
	account, client, source string
	amr                     []string
	old                     []byte // the hash of the browser's previous session, if any
	value                   string // the new session cookie's value
	session                 *cancuoc.LoginSession
	passkey                 *cancuoc.Passkey // the passkey's new counter and last use, if it was the factor
}

// newLoginWrites prepares a fresh login's records: a new session value at
// each login, so a value planted before the login never becomes a session.
func (p *Provider) newLoginWrites(r *http.Request, acc *cancuoc.Account, clientID string, amr []string, at time.Time) *loginWrites {
	now := p.now()
	lw := &loginWrites{account: acc.ID, client: clientID, source: p.source(r), amr: amr, value: randomID(32)}
	if c, err := r.Cookie(cookieSession); err == nil && c.Value != "" {
		lw.old = hashValue(c.Value)
	}
	lw.session = &cancuoc.LoginSession{Hash: hashValue(lw.value), PIN: acc.PIN, AccountID: acc.ID, AMR: amr,
		AuthTime: at, CreatedAt: now, ExpiresAt: now.Add(p.cfg.SessionLifetime)}
	return lw
}

// writeLogin writes a fresh login's records now: in one transaction when
// the accounts can join it, else one by one.
func (p *Provider) writeLogin(ctx context.Context, lw *loginWrites) error {
	if _, ok := p.accounts.(TxLoginRecorder); ok {
		return p.store.InTx(ctx, func(tx cancuoc.Tx) error { return p.writeLoginTx(ctx, tx, lw) })
	}
	if err := p.accounts.RecordLogin(ctx, lw.account, lw.client, lw.amr, lw.source); err != nil {
		return err
	}
	return p.writeSession(ctx, p.store, lw)
}

// writeLoginTx writes a fresh login's records in tx; the accounts must be
// a TxLoginRecorder.
func (p *Provider) writeLoginTx(ctx context.Context, tx cancuoc.Tx, lw *loginWrites) error {
	if err := p.accounts.(TxLoginRecorder).RecordLoginTx(ctx, tx, lw.account, lw.client, lw.amr, lw.source); err != nil {
		return err
	}
	if lw.passkey != nil {
		if err := tx.UpdatePasskey(ctx, lw.passkey); err != nil {
			return err
		}
	}
	return p.writeSession(ctx, tx, lw)
}

// writeSession ends the browser's previous session and stores the new one.
func (p *Provider) writeSession(ctx context.Context, tx cancuoc.Tx, lw *loginWrites) error {
	if lw.old != nil {
		if err := tx.EndLoginSession(ctx, lw.old, lw.session.CreatedAt); err != nil {
			return err
		}
	}
	return tx.InsertLoginSession(ctx, lw.session)
}

// consented reports whether a consent in force covers every scope asked.
func (p *Provider) consented(ctx context.Context, a *authRequest) bool {
	if slices.Contains(a.d.Scopes, ScopeOrg) {
		return false // which organisation is asked at every login (org.go)
	}
	var (
		cs  *cancuoc.Consent
		err error
	)
	if a.consentRead {
		cs = a.consent // read with the passkey's account
	} else {
		cs, err = p.store.Consent(ctx, a.pin, a.d.ClientID)
	}
	if err != nil || cs == nil || cs.RevokedAt != nil {
		return false
	}
	for _, s := range a.d.Scopes {
		if s != "offline_access" && !slices.Contains(cs.Scopes, s) {
			return false
		}
	}
	return true
}

// issue finishes the request: op creates the code and redirects to the
// registered redirect URI.
//
// The finished request is written once, by SaveAuthCode with the code's
// hash: the request travels to it in the context rather than being saved
// here and read back there (the login benchmark's profile).
func (p *Provider) issue(w http.ResponseWriter, r *http.Request, a *authRequest) {
	a.d.Step = stepDone
	op.AuthResponse(a, p.op, w, r.WithContext(context.WithValue(r.Context(), keyFinished, a)))
}

func (p *Provider) consentPage(w http.ResponseWriter, r *http.Request) {
	a, binding, err := p.request(w, r, false)
	if err != nil {
		p.fail(w, r, http.StatusForbidden, err)
		return
	}
	if a.d.Step != stepConsent {
		p.resume(w, r, a)
		return
	}
	pg := p.newPage(w, r)
	pg.ID, pg.CSRF = a.id, p.csrf(a.id, binding)
	if pg.Client, err = p.client(r.Context(), a.d.ClientID); err != nil {
		p.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	pg.Fields = consentFields(a.d.Scopes)
	if wantsOrg(pg.Client, a.d.Scopes) {
		if pg.Orgs, err = p.orgChoices(r.Context(), a.d.AccountID); err != nil {
			p.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		pg.AskOrg = true
	}
	pg.Release = p.releaseFor(r.Context(), pg.Client)
	p.render(w, http.StatusOK, "consent.html", pg)
}

func (p *Provider) consentSubmit(w http.ResponseWriter, r *http.Request) {
	a, _, err := p.request(w, r, true)
	if err != nil {
		p.fail(w, r, http.StatusForbidden, err)
		return
	}
	if a.d.Step != stepConsent {
		p.resume(w, r, a)
		return
	}
	ctx := r.Context()
	if r.PostFormValue("decision") != "allow" {
		p.auditEntry(ctx, p.store, a.pin, "oidc.consent", a.d.ClientID, claimNames(a.d.Scopes), "denied")
		p.redirectError(w, r, a, "access_denied", "the citizen declined")
		return
	}
	if c, err := p.client(ctx, a.d.ClientID); err == nil && wantsOrg(c, a.d.Scopes) {
		if err := p.chooseOrg(ctx, a, r.PostFormValue("org")); err != nil {
			p.fail(w, r, http.StatusBadRequest, err)
			return
		}
	}
	var rel *partnerRelease
	if c, err := p.client(ctx, a.d.ClientID); err == nil {
		rel = p.releaseFor(ctx, c)
	}
	scopes := slices.DeleteFunc(slices.Clone(a.d.Scopes), func(s string) bool { return s == "offline_access" })
	err = p.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.PutConsent(ctx, &cancuoc.Consent{PIN: a.pin, ClientID: a.d.ClientID, Scopes: scopes, GrantedAt: p.now()}); err != nil {
			return err
		}
		if rel != nil {
			if err := p.grantRelease(ctx, tx, a.pin, rel); err != nil {
				return err
			}
		}
		p.auditEntry(ctx, tx, a.pin, "oidc.consent", a.d.ClientID, claimNames(scopes), "ok")
		return nil
	})
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	p.issue(w, r, a)
}

// cancel sends the citizen back to the client with access_denied (the
// level page's way out).
func (p *Provider) cancel(w http.ResponseWriter, r *http.Request) {
	a, _, err := p.request(w, r, true)
	if err != nil {
		p.fail(w, r, http.StatusForbidden, err)
		return
	}
	p.redirectError(w, r, a, "access_denied", "the account's assurance level is too low for this service")
}

// redirectError ends a request with an error at its (registered) redirect
// URI, and ends the request (stepEnded).
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, a *authRequest, code, desc string) {
	u, err := url.Parse(a.d.RedirectURI)
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", desc)
	if a.d.State != "" {
		q.Set("state", a.d.State)
	}
	u.RawQuery = q.Encode()
	// The request ends, but its row stays (until Cleanup) as ended: were
	// it deleted, the store would no longer refuse the sealed form its
	// login page carried (sealed.go), which would open it again, fresh.
	// A request never stored has no row, and the step that first stores
	// it inserts it by its primary key.
	if !a.sealed {
		a.d.Step = stepEnded
		_ = p.storage.saveAuthRequest(r.Context(), p.store, a)
	}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func promptNone(a *authRequest) bool { return slices.Contains(a.d.Prompt, "none") }

// sessionSatisfies reports whether a login session may stand for the login
// a request asks for: not when the client demands a fresh one
// (prompt=login), when the login is older than max_age, or when an
// id_token_hint names another citizen.
func (p *Provider) sessionSatisfies(ctx context.Context, s *session, a *authRequest) bool {
	if slices.Contains(a.d.Prompt, "login") {
		return false
	}
	if a.d.MaxAge != nil && p.now().Sub(s.At) > time.Duration(*a.d.MaxAge)*time.Second {
		return false
	}
	if a.d.HintSubject != "" {
		c, err := p.client(ctx, a.d.ClientID)
		if err != nil || p.pairwiseSubject(c, s.PIN) != a.d.HintSubject {
			return false
		}
	}
	return true
}

// session is the provider's login session as the pages use it. The
// browser holds a random value in an HttpOnly, SameSite=Lax cookie (Secure
// on https); the store keeps its SHA-256 with who logged in, how and when
// (cancuoc.LoginSession), so that a logout or a new login ends it on every
// node, and a copied cookie dies with it.
type session struct {
	PIN     cancuoc.PIN
	Account string
	AMR     []string
	At      time.Time // when the citizen proved who they are
}

// readSession returns the browser's session if it stands: known, not
// ended, not expired.
func (p *Provider) readSession(r *http.Request) *session {
	c, err := r.Cookie(cookieSession)
	if err != nil || len(c.Value) < 32 || len(c.Value) > 64 {
		return nil
	}
	ls, err := p.store.LoginSession(r.Context(), hashValue(c.Value))
	if err != nil {
		if !errorsAsKind(err, cancuoc.NotFound) {
			p.log.Error("reading a login session", "err", err)
		}
		return nil
	}
	if ls.EndedAt != nil || !p.now().Before(ls.ExpiresAt) {
		return nil
	}
	return &session{PIN: ls.PIN, Account: ls.AccountID, AMR: ls.AMR, At: ls.AuthTime}
}

// sessionCSRF protects the consents page's forms: an HMAC of the session
// cookie.
func (p *Provider) sessionCSRF(r *http.Request) string {
	c, err := r.Cookie(cookieSession)
	if err != nil {
		return ""
	}
	return p.csrf("consents", c.Value)
}

func (p *Provider) consentsPage(w http.ResponseWriter, r *http.Request) {
	s := p.readSession(r)
	if s == nil {
		p.fail(w, r, http.StatusUnauthorized, cancuoc.E(cancuoc.Unauthenticated, "oidc.consents", "login_required",
			"Hãy đăng nhập bằng tài khoản định danh điện tử (qua một dịch vụ) rồi mở lại trang này.",
			"Log in with your electronic identity (through a service), then open this page again."))
		return
	}
	list, err := p.Consents(r.Context(), s.PIN)
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	pg := p.newPage(w, r)
	pg.CSRF = p.sessionCSRF(r)
	for _, c := range list {
		row := consentRow{ClientID: c.ClientID, Name: c.ClientID, Fields: consentFields(c.Scopes),
			Granted: c.GrantedAt.In(vnTime).Format("02/01/2006 15:04"), Revoked: c.RevokedAt != nil}
		if cl, err := p.client(r.Context(), c.ClientID); err == nil {
			row.Name, row.Purpose = cl.Name, cl.Purpose
		}
		pg.Consents = append(pg.Consents, row)
	}
	p.render(w, http.StatusOK, "consents.html", pg)
}

var vnTime = time.FixedZone("ICT", 7*3600)

func (p *Provider) consentsRevoke(w http.ResponseWriter, r *http.Request) {
	s := p.readSession(r)
	if s == nil || !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(p.sessionCSRF(r))) {
		p.fail(w, r, http.StatusForbidden, errBrowser)
		return
	}
	if err := p.RevokeConsent(r.Context(), s.PIN, r.PostFormValue("client_id")); err != nil &&
		!errorsAsKind(err, cancuoc.NotFound) {
		p.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	http.Redirect(w, r, p.base+"/consents", http.StatusSeeOther)
}

// Consents lists a citizen's consents to clients, newest first, revoked
// ones included (marked).
func (p *Provider) Consents(ctx context.Context, pin cancuoc.PIN) ([]*cancuoc.Consent, error) {
	return p.store.Consents(ctx, pin)
}

// RevokeConsent withdraws a citizen's consent to a client and revokes the
// client's tokens for them; the client's next login asks again. NotFound
// if no consent is in force.
func (p *Provider) RevokeConsent(ctx context.Context, pin cancuoc.PIN, clientID string) error {
	now := p.now()
	return p.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.RevokeConsent(ctx, pin, clientID, now); err != nil {
			return cancuoc.WithOp("oidc.RevokeConsent", err)
		}
		if err := tx.RevokeClientTokens(ctx, pin, clientID, now); err != nil {
			return err
		}
		p.auditEntry(ctx, tx, pin, "oidc.consent_revoke", clientID, nil, "ok")
		return nil
	})
}
