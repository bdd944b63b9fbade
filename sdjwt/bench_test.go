package sdjwt

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// BenchmarkIssue issues as wallet.mint does: the holder key as the
// registered JSON, a status reference, 8 claims, 2 decoys.
func BenchmarkIssue(b *testing.B) {
	f := newFixture(b)
	jwk, _ := json.Marshal(&jose.JSONWebKey{Key: f.holder.Public()})
	claims := map[string]any{"family_name": "Nguyễn", "given_name": "Văn An", "birth_date": "1990-02-01",
		"licence_number": "790123456789", "categories": []any{"A1", "B2"}, "issue_date": "2024-05-06",
		"expiry_date": "2034-05-06", "issuing_authority": "Cục Cảnh sát giao thông"}
	k := Key{ID: "transport-abcdefghijkl", Signer: f.issuer}
	for b.Loop() {
		plain := map[string]any{"iss": "https://id.example.vn/issuers/transport", "iat": f.now.Unix(), "exp": f.now.Add(time.Hour).Unix(),
			"vct": "https://id.example.vn/vct/driver_licence", "cnf": map[string]any{"jwk": json.RawMessage(jwk)},
			"status": map[string]any{"status_list": map[string]any{"idx": 12345, "uri": "https://id.example.vn/statuslists/transport/0"}}}
		if _, err := Issue(k, plain, claims, IssueOptions{Decoys: 2}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPresentation(b *testing.B) {
	f := newFixture(b)
	p := f.present(b, f.issue(b, f.now.Add(time.Hour), licence), "n", "aud", "given_name", "categories")
	o := f.opts("n", "aud")
	for b.Loop() {
		if _, err := Verify(p, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawSign is the reference: SHA-256 and ECDSA P-256 over a
// signing input of an issued document's size.
func BenchmarkRawSign(b *testing.B) {
	f := newFixture(b)
	in := make([]byte, 900)
	for b.Loop() {
		h := sha256.Sum256(in)
		if _, err := ecdsa.SignASN1(rand.Reader, f.issuer, h[:]); err != nil {
			b.Fatal(err)
		}
	}
}
