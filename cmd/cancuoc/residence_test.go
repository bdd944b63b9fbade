package main

import (
	"strings"
	"testing"
)

// TestServeResidence: serve wires the residence service, so its routes
// answer rather than 503 residence_unavailable.
func TestServeResidence(t *testing.T) {
	base, out, stop := startServe(t, t.TempDir(), "0")
	defer stop()
	code, body := get(t, base+"/v1/residence/deregistration-causes", "")
	if code != 200 || !strings.Contains(body, "settled_abroad") {
		t.Fatalf("deregistration causes: %d %s", code, body)
	}
	key := keyRe.FindString(out.String())
	if key == "" {
		t.Fatalf("no admin key printed:\n%s", out.String())
	}
	code, body = get(t, base+"/v1/stays", key)
	if code != 200 || !strings.Contains(body, `"items"`) {
		t.Fatalf("stays: %d %s", code, body)
	}
}
