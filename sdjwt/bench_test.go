package sdjwt

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"
)

func BenchmarkIssue(b *testing.B) {
	f := newFixture(b)
	for b.Loop() {
		f.issue(b, f.now.Add(time.Hour), licence)
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
