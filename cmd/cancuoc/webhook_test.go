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
	if b, err := os.ReadFile(filepath.Join(dir, "webhook.key")); err != nil || !strings.HasPrefix(string(b), "whsk_") {
		t.Errorf("signing key file: %q, %v", b, err)
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
