package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/sqlite"
)

// validCardHolder finds a seeded citizen whose card is valid.
func validCardHolder(t *testing.T, db string) cancuoc.PIN {
	t.Helper()
	s, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range admin.Current().Provinces() {
		cs, err := s.SearchCitizens(t.Context(), cancuoc.CitizenQuery{Province: p.Code, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.LifeStatus == cancuoc.Alive && len(c.Cards) > 0 && c.Cards[len(c.Cards)-1].Status == cancuoc.CardValid {
				return c.PIN
			}
		}
	}
	t.Fatal("no seeded citizen holds a valid card")
	return ""
}

// TestChipPersonalizeAndVerify is the integration partner's path: a
// development server trusts its own test CSCA, `cancuoc chip personalize`
// writes a test card for a seeded citizen, and the written request body
// verifies over HTTP.
func TestChipPersonalizeAndVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	base, out, stop := startServe(t, dir, "200")
	defer stop()
	key := keyRe.FindString(out.String())
	pin := validCardHolder(t, filepath.Join(dir, "cancuoc.db"))

	cardDir := filepath.Join(t.TempDir(), "card")
	var buf bytes.Buffer
	if err := run(context.Background(), []string{"chip", "personalize", string(pin), "--data-dir", dir, "--out", cardDir}, noEnv, &buf); err != nil {
		t.Fatalf("personalize: %v", err)
	}
	for _, f := range []string{"EF.COM", "EF.SOD", "DG1", "DG13", "DG15", "mrz.txt", "aa-key.pem", "csca.pem", "verification.json"} {
		if _, err := os.Stat(filepath.Join(cardDir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	body, err := os.ReadFile(filepath.Join(cardDir, "verification.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/v1/chip/verifications", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Accepted bool `json:"accepted"`
		Reasons  []struct{ Code string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d %v", resp.StatusCode, err)
	}
	if !v.Accepted {
		t.Fatalf("test card refused: %+v", v.Reasons)
	}

	if err := run(context.Background(), []string{"chip", "personalize", "001090000001", "--data-dir", dir, "--out", cardDir}, noEnv, &buf); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Fatalf("unknown PIN: %v", err)
	}
	if err := run(context.Background(), []string{"chip", "personalize", string(pin), "--data-dir", dir}, noEnv, &buf); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Fatalf("without --out: %v", err)
	}
	buf.Reset()
	if err := run(context.Background(), []string{"chip", "expire-cards", "--data-dir", dir, "--province", "01"}, noEnv, &buf); err != nil ||
		!strings.Contains(buf.String(), "newly marked expired") {
		t.Fatalf("expire-cards: %v %s", err, buf.String())
	}
}
