package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestDataSecret: a given secret must be ≥ 32 bytes of hex (the error names
// the flag); otherwise one is made on first start, kept, and the same one
// is returned to processes starting at once and after a restart.
func TestDataSecret(t *testing.T) {
	if _, err := dataSecret("abcd", "wallet-secret", t.TempDir(), "x", "x"); err == nil || !strings.Contains(err.Error(), "-wallet-secret") {
		t.Errorf("short secret: %v", err)
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Go(func() {
			b, err := dataSecret("", "oidc-secret", dir, "oidc-secret", "OpenID secret")
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		})
	}
	wg.Wait()
	for _, b := range got {
		if len(b) != 32 || !bytes.Equal(b, got[0]) {
			t.Fatalf("concurrent first starts disagree: %x vs %x", b, got[0])
		}
	}
	again, err := dataSecret("", "oidc-secret", dir, "oidc-secret", "OpenID secret")
	if err != nil || !bytes.Equal(again, got[0]) {
		t.Errorf("after a restart: %x, %v", again, err)
	}
}

// TestDataSecretDamaged: a kept secret that is not 32 bytes of hex stops
// the start with what to do, rather than running with a weak key.
func TestDataSecretDamaged(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wallet-secret"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := dataSecret("", "wallet-secret", dir, "wallet-secret", "wallet secret"); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("empty secret file: %v", err)
	}
}
