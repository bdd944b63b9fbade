package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/webhook"
)

func TestAdminCreateWebhook(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(policy, []byte(`{"bank1": {"event_types": ["citizen.died"], "fields": ["pin"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	args := []string{"admin", "create-webhook", "--data-dir", dir, "--webhook-policy", policy, "--partner", "bank1",
		"--url", "https://bank1.example/hooks", "--events", "citizen.died"}
	if err := run(context.Background(), args, noEnv, &out); err != nil {
		t.Fatalf("create-webhook: %v", err)
	}
	var sub cancuoc.WebhookSubscription
	if err := json.Unmarshal(out.Bytes(), &sub); err != nil || sub.PartnerID != "bank1" || sub.Status != "active" {
		t.Fatalf("output %s: %v", out.String(), err)
	}
	// The signing key is in the database, sealed under the secret kept in
	// the data directory; no key file is written.
	if _, err := os.Stat(filepath.Join(dir, "webhook.key")); err == nil {
		t.Error("a webhook.key file was written")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "webhook-secret")); err != nil || len(strings.TrimSpace(string(b))) != 64 {
		t.Errorf("webhook secret file: %q, %v", b, err)
	}
	// The policy does not allow births to bank1.
	args[len(args)-1] = "citizen.born"
	if err := run(context.Background(), args, noEnv, &out); err == nil || !strings.Contains(err.Error(), "citizen.born") {
		t.Errorf("a type outside the policy: %v", err)
	}
	if err := run(context.Background(), []string{"admin", "create-webhook", "--data-dir", dir}, noEnv, &out); err == nil ||
		!strings.Contains(err.Error(), "usage") {
		t.Errorf("no flags: %v", err)
	}
}

// TestAdminRotateWebhookKey: the key file of an older deployment becomes
// the first stored key; rotate-webhook-key adds a new one and keeps both
// published; enable-webhook needs an ID and finds the subscription.
func TestAdminRotateWebhookKey(t *testing.T) {
	dir := t.TempDir()
	old, err := webhook.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "webhook.key"), []byte(old.MarshalSecret()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"admin", "rotate-webhook-key", "--data-dir", dir, "--by", "ops-lan"}, noEnv, &out); err != nil {
		t.Fatalf("rotate-webhook-key: %v", err)
	}
	first, rest, _ := strings.Cut(out.String(), "\n")
	var keys []webhook.PublishedKey
	if err := json.Unmarshal([]byte(rest), &keys); err != nil || len(keys) != 2 {
		t.Fatalf("output %s: %v", out.String(), err)
	}
	if !strings.Contains(first, keys[0].KeyID) || keys[1].KeyID != webhook.KeyID(old.PublicKey()) || keys[1].Retire == nil {
		t.Errorf("after rotating: %s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"admin", "rotate-webhook-key", "--data-dir", dir}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	if _, rest, _ := strings.Cut(out.String(), "\n"); json.Unmarshal([]byte(rest), &keys) != nil || len(keys) != 3 {
		t.Errorf("after a second rotation: %s", out.String())
	}
	if err := run(context.Background(), []string{"admin", "enable-webhook", "--data-dir", dir}, noEnv, &out); err == nil ||
		!strings.Contains(err.Error(), "usage") {
		t.Errorf("enable-webhook without --id: %v", err)
	}
	if err := run(context.Background(), []string{"admin", "enable-webhook", "--data-dir", dir, "--id", "wh_nope"}, noEnv, &out); err == nil ||
		cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("enable-webhook of an unknown subscription: %v", err)
	}
	// Another secret does not open the stored keys.
	err = run(context.Background(), []string{"admin", "rotate-webhook-key", "--data-dir", dir, "--webhook-secret", strings.Repeat("ab", 32)}, noEnv, &out)
	if err == nil || !strings.Contains(err.Error(), "server secret") {
		t.Errorf("rotating with another secret: %v", err)
	}
}
