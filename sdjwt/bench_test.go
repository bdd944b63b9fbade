package sdjwt

import (
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
