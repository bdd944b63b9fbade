package oidc

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// TestTokenCrypto: a sealed token opens to what was sealed, nothing
// altered or sealed under another key opens, two seals of one value
// differ, and values in zitadel/oidc's formats under the old key still
// open, so that tokens issued before this sealer keep working.
func TestTokenCrypto(t *testing.T) {
	key, other, old := make([]byte, 32), make([]byte, 32), [32]byte{}
	_, _ = rand.Read(key)
	_, _ = rand.Read(other)
	_, _ = rand.Read(old[:])
	legacy := op.NewAES256GCMCrypto(old, "1")
	c, err := newTokenCrypto(key, legacy, op.NewAESDecrypter(old))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := c.Encrypt("tok123:subject")
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(sealed, ".+/=") {
		t.Fatalf("sealed value %q is not plain base64url", sealed)
	}
	if plain, err := c.Decrypt(sealed); err != nil || plain != "tok123:subject" {
		t.Fatalf("Decrypt = %q, %v", plain, err)
	}
	again, _ := c.Encrypt("tok123:subject")
	if again == sealed {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	// Every changed byte is refused: the tag covers nonce and text.
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		if _, err := c.Decrypt(base64.RawURLEncoding.EncodeToString(b)); err == nil {
			t.Fatalf("a value altered at byte %d opened", i)
		}
	}
	o, _ := newTokenCrypto(other)
	if _, err := o.Decrypt(sealed); err == nil {
		t.Fatal("a token sealed under another key opened")
	}
	for _, bad := range []string{"", "abc", "a.b.c.d.e", sealed[:10]} {
		if _, err := c.Decrypt(bad); err == nil {
			t.Errorf("Decrypt(%q) succeeded", bad)
		}
	}
	jwe, err := legacy.Encrypt("old:subject")
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := c.Decrypt(jwe); err != nil || plain != "old:subject" {
		t.Fatalf("a token in zitadel/oidc's format: %q, %v", plain, err)
	}
	if _, err := o.Decrypt(jwe); err == nil {
		t.Fatal("a JWE opened without a fallback decrypter")
	}
}
