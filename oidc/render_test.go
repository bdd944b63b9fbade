package oidc

import (
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// TestRenderWholePage: a page is written at once with its length — a login
// page longer than the server's write buffer too — and its headers; a page
// that fails to render is answered 500 with no part of it.
func TestRenderWholePage(t *testing.T) {
	p := &Provider{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sealed := strings.Repeat("Ab0-_", 1200) // larger than net/http's 4 KB buffer
	for range 3 {                           // the pooled buffer is reset between pages
		rec := httptest.NewRecorder()
		pg := &page{Lang: "en", Base: "/oidc", ID: "req-1", CSRF: "tok", Sealed: sealed, SwitchLang: "vi"}
		p.render(rec, http.StatusUnauthorized, "login.html", pg)
		body := rec.Body.String()
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", rec.Code)
		}
		if n, err := strconv.Atoi(rec.Header().Get("Content-Length")); err != nil || n != len(body) {
			t.Errorf("Content-Length %q for a body of %d bytes", rec.Header().Get("Content-Length"), len(body))
		}
		if strings.Count(body, sealed) != 1 || !strings.HasPrefix(body, "<!doctype html>") || !strings.HasSuffix(strings.TrimSpace(body), "</html>") {
			t.Errorf("page not whole, or without its sealed field: %d bytes", len(body))
		}
		h := rec.Header()
		if h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("Cache-Control") != "no-store" ||
			h.Get("Content-Language") != "en" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("headers %v", h)
		}
	}
	rec := httptest.NewRecorder()
	p.render(rec, http.StatusOK, "no-such-page.html", &page{Lang: "vi"})
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "<html") ||
		rec.Header().Get("Content-Security-Policy") != "" {
		t.Errorf("failed page: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}

// TestPagesLiteralTexts: the pages parsed with their literal texts chosen
// per language (parsePages) render exactly as the templates do with t
// called at every rendering, every page in both languages, with and
// without the optional parts; and no literal t call is left in them.
func TestPagesLiteralTexts(t *testing.T) {
	plain := template.Must(template.New("").Funcs(pageFuncs).ParseFS(assets, "templates/*.html"))
	client := &cancuoc.Client{ID: "portal", Name: "Cổng dịch vụ <công>", Purpose: "Thủ tục"}
	rich := page{Base: "/oidc", Other: "/oidc/login?id=r&lang=x", ID: "req-1", CSRF: "c<s>rf", Client: client,
		Fields: []consentField{{"Họ tên", "Name"}, {"Ngày sinh", "Birth date"}}, ErrVI: "Lỗi \"x\"", ErrEN: "Error 'x'",
		LevelNeeded: 2, PINHint: "001090000001", AskOrg: true, Orgs: []orgChoice{{ID: "o1", Name: "Công ty A", Role: "admin"}},
		Consents:       []consentRow{{ClientID: "portal", Name: "Cổng", Purpose: "p", Fields: []consentField{{"Họ tên", "Name"}}, Granted: "2026-11-24"}},
		Release:        &partnerRelease{Partner: &cancuoc.Partner{ID: "bank", Name: "Ngân hàng"}, Fields: []string{"name"}, Purpose: "KYC", Until: time.Unix(1e9, 0)},
		PasskeyOptions: `{"publicKey":{"challenge":"abc"}}`, Sealed: "Ab0-_sealed", SwitchLang: "en"}
	for _, name := range []string{"consent.html", "consents.html", "error.html", "level.html", "login.html", "otp.html"} {
		for _, lang := range []string{"vi", "en"} {
			for _, pg := range []page{{Base: "/oidc"}, rich} {
				pg.Lang = lang
				var want, got strings.Builder
				errWant := plain.ExecuteTemplate(&want, name, &pg)
				errGot := pagesOf(lang).ExecuteTemplate(&got, name, &pg)
				if (errWant == nil) != (errGot == nil) || got.String() != want.String() {
					t.Errorf("%s in %s differs (%v, %v):\n%s\nwant\n%s", name, lang, errGot, errWant, got.String(), want.String())
				}
			}
		}
	}
	for _, f := range []string{"consent.html", "consents.html", "layout.html", "level.html", "login.html", "otp.html"} {
		src, _ := fs.ReadFile(assets, "templates/"+f)
		calls := len(regexp.MustCompile(`{{t \$?\.Lang "`).FindAllString(string(src), -1))
		if n := len(literalT.FindAllString(string(src), -1)); n != calls {
			t.Errorf("%s: %d of its %d t calls with literal texts match the pattern", f, n, calls)
		}
	}
	for _, set := range []*template.Template{pagesVI, pagesEN} {
		for _, tm := range set.Templates() {
			if tm.Tree != nil && literalT.MatchString(tm.Tree.Root.String()) {
				t.Errorf("%s still calls t with literal texts", tm.Name())
			}
		}
	}
}
