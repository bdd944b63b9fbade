package web

import (
	"strings"
	"testing"
)

// FuzzSessionCookie: whatever a browser sends as a session cookie, opening
// it never panics and never yields a session this site did not seal.
func FuzzSessionCookie(f *testing.F) {
	s, err := NewSite(SiteConfig{Secret: []byte(strings.Repeat("f", 32))})
	if err != nil {
		f.Fatal(err)
	}
	good := s.seal(portalCookie, &session{PIN: "001090000001", Account: "a", Nonce: "n"})
	f.Add(good)
	f.Add("")
	f.Add("AAAA")
	f.Add(good[:len(good)-2] + "xx")
	f.Add(strings.Repeat("_", 200))
	f.Fuzz(func(t *testing.T, v string) {
		// Only this site seals cookies, and it sealed only this session
		// (each fuzzing process seals its own, with its own nonce).
		var ss session
		if s.open(portalCookie, v, &ss) && (ss.Account != "a" || ss.PIN != "001090000001" || ss.Nonce != "n") {
			t.Fatalf("accepted a cookie it did not seal: %q", v)
		}
		if s.open(consoleCookie, v, &ss) {
			t.Fatalf("a portal cookie opened as a console cookie: %q", v)
		}
	})
}

// FuzzAccessLogParams: the access log's query parameters are parsed into
// a date or a number, or refused with a clear error; never a panic.
func FuzzAccessLogParams(f *testing.F) {
	for _, s := range []string{"2026-07-01", "2026-13-01", "", "99999999999999999999", "12", "-1", "２０２６", "2026-07-01T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := day("from", s); err == nil && d.Format("2006-01-02") != s {
			t.Fatalf("day(%q) = %v", s, d)
		} else if err != nil && !strings.Contains(err.Error(), "year-month-day") {
			t.Fatalf("unclear error %v", err)
		}
		if n, err := auditlogInt("before", s); err == nil && (n < 0 || s == "") && s != "" {
			t.Fatalf("auditlogInt(%q) = %d", s, n)
		}
	})
}

// FuzzJSONText: any stored diff value is shown without a panic.
func FuzzJSONText(f *testing.F) {
	for _, s := range []string{`"a"`, `null`, ``, `{"x":[1,2]}`, `"\u00e9"`, `{`, `1e999`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { _ = jsonText([]byte(s)) })
}
