package chipcheck_test

import (
	"testing"
	"time"

	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/chipcheck"
	"github.com/cancuoc/cancuoc/mrtd"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// BenchmarkVerify times one verification on SQLite in memory (challenge,
// verification, audit entry), for profiling; bench/chip.sh is the
// benchmark with its reference.
func BenchmarkVerify(b *testing.B) {
	s, err := sqlite.Open(b.Context(), ":memory:")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	w := audit.NewWriter(s, 0)
	defer w.Close()
	ca, _ := mrtd.NewTestCA(mrtd.ECDSAP256, time.Now())
	c := storetest.Holder(storetest.PIN(1))
	if err := s.InsertCitizen(b.Context(), c); err != nil {
		b.Fatal(err)
	}
	k, _ := ca.Personalize(c, mrtd.CardOptions{Now: time.Now()})
	check := chipcheck.New(s, w, ca.Trust)
	for b.Loop() {
		ch, err := check.NewChallenge(b.Context(), bank)
		if err != nil {
			b.Fatal(err)
		}
		sig, _ := k.RespondActive(ch.Challenge)
		v, err := check.Verify(b.Context(), bank, &chipcheck.Request{Chip: k.Chip, ChallengeID: ch.ID, AASignature: sig})
		if err != nil || !v.Accepted {
			b.Fatal(err, v)
		}
	}
}
