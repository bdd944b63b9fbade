package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestIDVerifier: the generator's own check of an ID token accepts what a
// provider's key signs with the expected claims and refuses a forged
// signature, another key, a changed payload and wrong claims.
func TestIDVerifier(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}}
	v, err := newIDVerifier(set, "https://op", "client")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(k *ecdsa.PrivateKey, kid string, claims map[string]any) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(claims)
		jws, err := s.Sign(b)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := jws.CompactSerialize()
		return raw
	}
	exp := time.Now().Add(time.Hour).Unix()
	good := map[string]any{"iss": "https://op", "aud": []string{"client"}, "nonce": "n1", "exp": exp}
	raw := sign(key, "k1", good)
	if err := v.check(raw, "n1"); err != nil {
		t.Fatalf("a good token refused: %v", err)
	}
	single := map[string]any{"iss": "https://op", "aud": "client", "nonce": "n1", "exp": exp}
	if err := v.check(sign(key, "k1", single), "n1"); err != nil {
		t.Fatalf("a single audience refused: %v", err)
	}
	parts := strings.Split(raw, ".")
	tampered, _ := json.Marshal(map[string]any{"iss": "https://op", "aud": []string{"client"}, "nonce": "n2", "exp": exp})
	sig := []byte(parts[2])
	sig[5] ^= 1
	bad := map[string]string{
		"wrong nonce":      raw + "|n2",
		"other key":        sign(other, "k1", good) + "|n1",
		"unknown key ID":   sign(key, "k2", good) + "|n1",
		"changed payload":  parts[0] + "." + b64(tampered) + "." + parts[2] + "|n2",
		"changed sig":      parts[0] + "." + parts[1] + "." + string(sig) + "|n1",
		"not three parts":  parts[0] + "." + parts[1] + "|n1",
		"wrong issuer":     sign(key, "k1", map[string]any{"iss": "https://x", "aud": "client", "nonce": "n1", "exp": exp}) + "|n1",
		"wrong audience":   sign(key, "k1", map[string]any{"iss": "https://op", "aud": "x", "nonce": "n1", "exp": exp}) + "|n1",
		"expired":          sign(key, "k1", map[string]any{"iss": "https://op", "aud": "client", "nonce": "n1", "exp": time.Now().Unix() - 1}) + "|n1",
		"alg none, no sig": b64([]byte(`{"alg":"none","kid":"k1"}`)) + "." + parts[1] + ".|n1",
	}
	for name, c := range bad {
		tok, nonce, _ := strings.Cut(c, "|")
		if err := v.check(tok, nonce); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
