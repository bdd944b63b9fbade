package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
)

func call(t *testing.T, method, u, key string, body any) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func problemCode(b []byte) string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(b, &p)
	return p.Code
}

// TestClientsAPI is the administrators' client registration as served by
// `cancuoc serve`: 201 with the secret shown once (never in the list, only
// its hash stored), 403 for other roles, 401 without a key, a conflict on
// a taken ID, and the registered redirect URI matched exactly at the
// authorization endpoint.
func TestClientsAPI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	base, out, stop := startServe(t, dir, "0")
	defer stop()
	admin := keyRe.FindString(out.String())
	if admin == "" {
		t.Fatalf("no bootstrap key:\n%s", out.String())
	}
	reg := map[string]any{"id": "dvc.gov", "name": "Cổng dịch vụ công", "purpose": "Nộp hồ sơ trực tuyến",
		"redirect_uris": []string{"https://dichvucong.example.vn/callback"}}

	// A non-admin principal.
	code, b, _ := call(t, "POST", base+"/v1/principals", admin, map[string]any{"name": "Hệ thống BHXH", "role": "ministry_system", "agency": "BHXH"})
	if code != http.StatusCreated {
		t.Fatalf("principal: %d %s", code, b)
	}
	var ministry struct {
		APIKey string `json:"api_key"`
	}
	_ = json.Unmarshal(b, &ministry)

	code, b, _ = call(t, "POST", base+"/v1/clients", "", reg)
	if code != http.StatusUnauthorized {
		t.Errorf("no key: %d %s", code, b)
	}
	code, b, _ = call(t, "POST", base+"/v1/clients", ministry.APIKey, reg)
	if code != http.StatusForbidden || problemCode(b) != "role_forbidden" {
		t.Errorf("ministry creates a client: %d %s", code, b)
	}
	code, b, _ = call(t, "GET", base+"/v1/clients", ministry.APIKey, nil)
	if code != http.StatusForbidden || problemCode(b) != "role_forbidden" {
		t.Errorf("ministry lists clients: %d %s", code, b)
	}

	code, b, h := call(t, "POST", base+"/v1/clients", admin, reg)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, b)
	}
	var created struct {
		cancuoc.Client
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(b, &created); err != nil {
		t.Fatal(err)
	}
	if created.ID != "dvc.gov" || created.AuthMethod != cancuoc.ClientAuthSecretBasic || !strings.HasPrefix(created.Secret, "ccs_") ||
		created.MinLevel != 1 || created.IDTokenAlg != "ES256" {
		t.Errorf("created: %s", b)
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("the secret's answer is cacheable: Cache-Control %q", h.Get("Cache-Control"))
	}
	code, b, _ = call(t, "POST", base+"/v1/clients", admin, reg)
	if code != http.StatusConflict {
		t.Errorf("taken ID: %d %s", code, b)
	}
	code, b, _ = call(t, "GET", base+"/v1/clients", admin, nil)
	if code != http.StatusOK || !strings.Contains(string(b), `"dvc.gov"`) {
		t.Fatalf("list: %d %s", code, b)
	}
	if strings.Contains(string(b), created.Secret) || strings.Contains(string(b), `"client_secret"`) {
		t.Errorf("the list shows a secret: %s", b)
	}
	for _, bad := range []map[string]any{
		{"id": "x", "name": "n", "purpose": "p", "redirect_uris": []string{"https://a.example/cb"}},
		{"id": "nopurpose", "name": "n", "redirect_uris": []string{"https://a.example/cb"}},
		{"id": "plainhttp", "name": "n", "purpose": "p", "redirect_uris": []string{"http://a.example/cb"}},
		{"id": "fragment", "name": "n", "purpose": "p", "redirect_uris": []string{"https://a.example/cb#x"}},
		{"id": "unknown", "name": "n", "purpose": "p", "redirect_uris": []string{"https://a.example/cb"}, "colour": "red"},
	} {
		if code, b, _ := call(t, "POST", base+"/v1/clients", admin, bad); code != http.StatusBadRequest {
			t.Errorf("%v: %d %s", bad, code, b)
		}
	}

	// The registered URI is matched exactly: anything else gets no redirect.
	authorize := func(redirect string) (int, string) {
		q := url.Values{"client_id": {"dvc.gov"}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s1"},
			"redirect_uri": {redirect}, "code_challenge": {"E9Melhoe2OwvFrEMTJguCH4j2pD6mK3U2j5FDsY8wKc"}, "code_challenge_method": {"S256"}}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(base + "/oidc/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	if code, loc := authorize("https://dichvucong.example.vn/callback"); code >= 400 {
		t.Errorf("the registered redirect URI is refused: %d %s", code, loc)
	}
	for _, evil := range []string{"https://dichvucong.example.vn/callback/", "https://dichvucong.example.vn/callback?x=1",
		"https://DICHVUCONG.example.vn/callback", "https://dichvucong.example.vn/callbackx", "https://evil.example/callback"} {
		code, loc := authorize(evil)
		if code < 400 || strings.Contains(loc, "example") {
			t.Errorf("redirect_uri %q: %d Location %q", evil, code, loc)
		}
	}
}

// TestCreateClientCommand is `cancuoc admin create-client` from the
// console: the secret printed once after the client's JSON (which has no
// secret), a private_key_jwt client without a secret, and clear errors.
func TestCreateClientCommand(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		if k == "CANCUOC_DATA_DIR" {
			return dir
		}
		return ""
	}
	var out bytes.Buffer
	err := run(t.Context(), []string{"admin", "create-client", "--id", "bank.vn", "--name", "Ngân hàng", "--purpose", "Mở tài khoản",
		"--redirect-uri", "https://bank.example.vn/cb", "--redirect-uri", "https://bank.example.vn/cb2", "--min-level", "2", "--scope", "pid"}, env, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`(?m)^client secret \(shown once; store it safely\): (ccs_\S+)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no secret printed:\n%s", out.String())
	}
	var c cancuoc.Client
	if err := json.NewDecoder(strings.NewReader(out.String())).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.ID != "bank.vn" || c.MinLevel != 2 || len(c.RedirectURIs) != 2 || len(c.Scopes) != 1 || c.Scopes[0] != "pid" {
		t.Errorf("client %+v", c)
	}
	if strings.Count(out.String(), m[1]) != 1 {
		t.Error("the secret is printed more than once")
	}

	out.Reset()
	err = run(t.Context(), []string{"admin", "create-client", "--id", "bank.vn", "--name", "n", "--purpose", "p",
		"--redirect-uri", "https://bank.example.vn/cb"}, env, &out)
	if err == nil {
		t.Error("a taken ID was accepted")
	}
	err = run(t.Context(), []string{"admin", "create-client", "--id", "jwtclient", "--name", "n", "--purpose", "p",
		"--auth-method", "private_key_jwt", "--redirect-uri", "https://a.example.vn/cb"}, env, &out)
	if err == nil || !strings.Contains(err.Error(), "JWKS") {
		t.Errorf("private_key_jwt without keys: %v", err)
	}
	err = run(t.Context(), []string{"admin", "create-client", "--id", "badmin", "--name", "n", "--purpose", "p",
		"--min-level", "3", "--redirect-uri", "https://a.example.vn/cb"}, env, &out)
	if err == nil || !strings.Contains(err.Error(), "level") {
		t.Errorf("min level 3: %v", err)
	}
}
