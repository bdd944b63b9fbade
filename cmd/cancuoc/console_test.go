package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestServeConsoleRoutes: `serve` wires the console's procedure queue,
// version pages and administration: without a session each sends the
// visitor to the console's login page (a route left unwired would be 404).
func TestServeConsoleRoutes(t *testing.T) {
	base, _, stop := startServe(t, filepath.Join(t.TempDir(), "data"), "0")
	defer stop()
	for _, path := range []string{"/console/procedures", "/console/procedures/x", "/console/citizens/001090000001/versions/1",
		"/console/admin/partners", "/console/admin/partners/x", "/console/admin/clients"} {
		if code, body := get(t, base+path, ""); code != 200 || !strings.Contains(body, `id="login"`) {
			t.Errorf("GET %s without a session = %d, want the login page\n%.300s", path, code, body)
		}
	}
}
