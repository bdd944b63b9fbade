package oidc

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestRenderWholePage: a page is written at once with its length — a login
// page longer than the server's write buffer too — and its headers; a page
// that fails to render is answered 500 with no part of it.
func TestRenderWholePage(t *testing.T) {
	p := &Provider{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sealed := strings.Repeat("Ab0-_", 1200) // larger than net/http's 4 KB buffer
	for range 3 { // the pooled buffer is reset between pages
		rec := httptest.NewRecorder()
		pg := &page{Lang: "en", Base: "/oidc", ID: "req-1", CSRF: "tok", Sealed: sealed, Other: "/oidc/login?id=req-1&lang=vi"}
		p.render(rec, http.StatusUnauthorized, "login.html", pg)
		body := rec.Body.String()
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", rec.Code)
		}
		if n, err := strconv.Atoi(rec.Header().Get("Content-Length")); err != nil || n != len(body) {
			t.Errorf("Content-Length %q for a body of %d bytes", rec.Header().Get("Content-Length"), len(body))
		}
		if strings.Count(body, sealed) != 2 || !strings.HasPrefix(body, "<!doctype html>") || !strings.HasSuffix(strings.TrimSpace(body), "</html>") {
			t.Errorf("page not whole, or without its two sealed fields: %d bytes", len(body))
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
