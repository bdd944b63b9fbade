package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc/oidc"
	"github.com/cancuoc/cancuoc/storetest"
)

// TestPartnerCommands registers a bank with its system's key from the
// console, changes its policy, then has the system get a client
// credentials token from a running server and make a match check.
func TestPartnerCommands(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "bank-1", Algorithm: "ES256", Use: "sig"}}})
	jwksFile := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(jwksFile, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out bytes.Buffer
	err = run(ctx, []string{"admin", "create-partner", "--data-dir", dir, "--id", "vcb", "--name", "Vietcombank", "--kind", "bank",
		"--operation", "match", "--field", "full_name,birth_date", "--purpose", "eKYC", "--legal-basis", "Thông tư 17/2024/TT-NHNN",
		"--per-minute", "100", "--client-id", "vcb-core", "--jwks", jwksFile}, noEnv, &out)
	if err != nil {
		t.Fatalf("create-partner: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), `"partner_id": "vcb"`) || !strings.Contains(out.String(), `"client_credentials"`) {
		t.Errorf("create-partner output:\n%s", out.String())
	}
	err = run(ctx, []string{"admin", "create-partner", "--data-dir", dir, "--id", "bad", "--name", "x", "--kind", "bank",
		"--operation", "match", "--field", "salary", "--purpose", "p", "--legal-basis", "l"}, noEnv, &out)
	if err == nil || !strings.Contains(err.Error(), "salary") {
		t.Errorf("unknown field: err = %v, want it named", err)
	}
	out.Reset()
	if err := run(ctx, []string{"admin", "update-partner", "--data-dir", dir, "--id", "vcb", "--field", "full_name,birth_date,sex"}, noEnv, &out); err != nil {
		t.Fatalf("update-partner: %v", err)
	}
	if !strings.Contains(out.String(), `"sex"`) || !strings.Contains(out.String(), `"per_minute": 100`) || !strings.Contains(out.String(), `"version": 2`) {
		t.Errorf("update kept the rest of the policy? %s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"admin", "partners", "--data-dir", dir}, noEnv, &out); err != nil || !strings.Contains(out.String(), "vcb") {
		t.Fatalf("partners: %v %s", err, out.String())
	}

	base, _, stop := startServe(t, dir, "0")
	defer stop()
	a, err := oidc.SignClientAssertion(key, jose.ES256, "bank-1", "vcb-core", "http://127.0.0.1:0/oidc", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.PostForm(base+"/oidc/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("token: %d", res.StatusCode)
	}
	body := `{"pin":"` + string(storetest.PIN(5)) + `","sex":"male"}`
	req, _ := http.NewRequest("POST", base+"/v1/partner/match", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Found  bool            `json:"found"`
		Fields map[string]bool `json:"fields"`
	}
	_ = json.NewDecoder(res.Body).Decode(&m)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || m.Found || len(m.Fields) != 1 {
		t.Fatalf("match: %d %+v", res.StatusCode, m)
	}
}
