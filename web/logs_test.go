package web

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestErrorLogHasNoPIN: a record page that fails with an internal error
// logs its route pattern and request ID, never the path that holds the
// PIN nor the query that holds a name.
func TestErrorLogHasNoPIN(t *testing.T) {
	var logs bytes.Buffer
	s, err := NewSite(SiteConfig{Secret: bytes.Repeat([]byte("w"), 32), Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /console/citizens/{pin}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", "req-42")
		s.fail(w, r, errors.New("store: timeout"))
	})
	const pin = "001090012345"
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/console/citizens/"+pin+"?name=Nguyen+Van+An", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	out := logs.String()
	for _, want := range []string{"web page", "route=\"GET /console/citizens/{pin}\"", "request_id=req-42", "store: timeout"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log should hold %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{pin, "Nguyen", "/console/citizens/0"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
}

// The session cookies' AES key and the CSRF tokens' HMAC key are distinct
// keys derived from the secret (never one key for two primitives).
func TestSessionAndCSRFKeysDiffer(t *testing.T) {
	s, err := NewSite(SiteConfig{Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.key) != 32 || len(s.csrfKey) != 32 || bytes.Equal(s.key, s.csrfKey) {
		t.Fatalf("keys: session %x, csrf %x", s.key, s.csrfKey)
	}
}
