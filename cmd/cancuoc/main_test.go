package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a server goroutine writing while
// the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

var (
	addrRe = regexp.MustCompile(`is running at (http://[0-9.:]+)`)
	keyRe  = regexp.MustCompile(`cck_[a-z0-9]+_[a-z0-9]+`)
)

// startServe runs `cancuoc serve` on dir (with extra flags) until the returned stop is called,
// and returns its base URL and printed output.
func startServe(t *testing.T, dir string, demo string, extra ...string) (base string, out *syncBuffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--demo-citizens", demo, "--log-level", "error"}
		done <- run(ctx, append(args, extra...), noEnv, out)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m := addrRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if base == "" {
		t.Fatalf("serve did not print its address:\n%s", out.String())
	}
	return base, out, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v after shutdown, want nil", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not shut down within 20s")
		}
	}
}

func get(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func population(t *testing.T, base, key string) int64 {
	t.Helper()
	code, body := get(t, base+"/v1/population", key)
	if code != 200 {
		t.Fatalf("population: %d %s", code, body)
	}
	var r struct {
		Counts []struct{ Alive, Dead, Missing int64 }
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range r.Counts {
		n += c.Alive + c.Dead + c.Missing
	}
	return n
}

// TestServeNewcomer is the README's first command: a first start on an
// empty directory seeds the demo population, prints a bootstrap key once,
// serves the API and the operator endpoints, and shuts down cleanly; a
// second start keeps the data and prints no new key.
func TestServeNewcomer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	base, out, stop := startServe(t, dir, "300")
	key := keyRe.FindString(out.String())
	if key == "" {
		t.Fatalf("no bootstrap key printed:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "cancuoc.db")); err != nil {
		t.Fatalf("no SQLite file in the data directory: %v", err)
	}
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/": "cancuoc", "/openapi.json": `"openapi"`} {
		if code, body := get(t, base+path, ""); code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d %.200q, want 200 containing %q", path, code, body, want)
		}
	}
	if n := population(t, base, key); n != 300 {
		t.Errorf("population after first start = %d, want the 300 demo citizens", n)
	}
	if code, body := get(t, base+"/metrics", ""); code != 200 || !strings.Contains(body, "cancuoc_http_requests_total") {
		t.Errorf("metrics: %d, missing the request counter", code)
	}
	if code, _ := get(t, base+"/v1/population", ""); code != 401 {
		t.Errorf("population without a key = %d, want 401", code)
	}
	stop()

	base, out, stop = startServe(t, dir, "300")
	defer stop()
	if keyRe.MatchString(out.String()) {
		t.Errorf("second start printed a key again:\n%s", out.String())
	}
	if n := population(t, base, key); n != 300 {
		t.Errorf("population after restart = %d, want 300 (no second seeding)", n)
	}
}

func TestAdminCreatePrincipalAndSeed(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	err := run(context.Background(), []string{"admin", "create-principal", "--data-dir", dir, "--name", "Cán bộ phường Ba Đình",
		"--role", "commune_officer", "--province", "01", "--commune", "00004"}, noEnv, &out)
	if err != nil {
		t.Fatalf("create-principal: %v", err)
	}
	if !keyRe.MatchString(out.String()) || !strings.Contains(out.String(), `"commune_officer"`) {
		t.Errorf("unexpected output:\n%s", out.String())
	}
	err = run(context.Background(), []string{"admin", "create-principal", "--data-dir", dir, "--name", "x", "--role", "commune_officer"}, noEnv, &out)
	if err == nil || !strings.Contains(err.Error(), "commune") {
		t.Errorf("a commune officer without a commune: err = %v, want it to name the commune", err)
	}

	out.Reset()
	if err := run(context.Background(), []string{"seed", "--data-dir", dir, "--citizens", "200", "--seed", "5"}, noEnv, &out); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if !strings.Contains(out.String(), "seeded 200 citizens") {
		t.Errorf("seed output: %s", out.String())
	}
	err = run(context.Background(), []string{"seed", "--data-dir", dir, "--citizens", "200", "--seed", "5"}, noEnv, &out)
	if err == nil || !strings.Contains(err.Error(), "another --seed") {
		t.Errorf("seeding the same seed twice: err = %v, want advice to use another --seed", err)
	}
}

func TestConfig(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "db")
	if err := os.WriteFile(secret, []byte("postgres://app:s3cret@db.example/reg\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CANCUOC_DATABASE_FILE": secret, "CANCUOC_ADDR": "127.0.0.1:9999", "CANCUOC_LOG_FORMAT": "json"}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c, validate := bindConfig(fs, func(k string) string { return env[k] })
	if err := fs.Parse([]string{"--addr", "127.0.0.1:7777"}); err != nil {
		t.Fatal(err)
	}
	if err := validate(); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7777" {
		t.Errorf("flag should win over environment: addr = %s", c.Addr)
	}
	if !c.IsPostgres() || c.LogFormat != "json" {
		t.Errorf("config from environment not applied: %+v", c)
	}
	if m := c.Masked(); strings.Contains(m, "s3cret") || !strings.Contains(m, "app:") {
		t.Errorf("Masked() = %q: the password must be hidden, the user kept", m)
	}

	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	_, validate = bindConfig(fs, noEnv)
	_ = fs.Parse([]string{"--log-format", "xml"})
	if err := validate(); err == nil || !strings.Contains(err.Error(), "text or json") {
		t.Errorf("bad log format: err = %v", err)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, noEnv, &out); err == nil || !strings.Contains(out.String(), "usage") {
		t.Errorf("unknown command: err = %v, output %q", err, out.String())
	}
}
