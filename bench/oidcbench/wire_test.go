package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestWire: the generator's HTTP/1.1 client reads answers framed by
// Content-Length and chunked, keeps the connection between them, and hands
// back the status, Location and every Set-Cookie.
func TestWire(t *testing.T) {
	big := strings.Repeat("0123456789", 2000) // larger than net/http's buffer: sent chunked
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			fmt.Fprint(w, big)
		case "/redirect":
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
			http.SetCookie(w, &http.Cookie{Name: "b", Value: "", MaxAge: -1})
			http.Redirect(w, r, "https://rp/cb?code=x", http.StatusFound)
		case "/echo":
			_ = r.ParseForm()
			fmt.Fprintf(w, "%s %s %s", r.Method, r.Form.Get("k"), r.Header.Get("Cookie"))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	w := &wire{addr: strings.TrimPrefix(srv.URL, "http://")}
	a, err := w.roundTrip(&request{method: "GET", target: "/big"})
	if err != nil || a.status != 200 || string(a.body) != big {
		t.Fatalf("big: %v %v (%d bytes)", a.status, err, len(a.body))
	}
	a, err = w.roundTrip(&request{method: "GET", target: "/redirect"})
	if err != nil || a.status != 302 || a.location != "https://rp/cb?code=x" || len(a.cookies) != 2 {
		t.Fatalf("redirect: %v %v %q %q", a, err, a.location, a.cookies)
	}
	a, err = w.roundTrip(&request{method: "POST", target: "/echo", header: []string{"Cookie: a=1\r\n"},
		ctype: "application/x-www-form-urlencoded", body: "k=v%2B"})
	if err != nil || string(a.body) != "POST v+ a=1" {
		t.Fatalf("echo: %v %v", a, err)
	}
	if conns.Load() != 1 {
		t.Errorf("%d connections for three requests, want one kept alive", conns.Load())
	}
}
