package mrtd

import (
	"context"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/synth"
)

// Personalize → parse → verify for thousands of synthetic citizens, and
// the chip data agrees with the record it was made from.
func TestSyntheticRoundTrip(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	ca := testCA(t, ECDSAP256)
	store := NewChallengeStore(time.Minute, 16)
	seen := 0
	err := synth.Generate(context.Background(), synth.Config{Citizens: n, Seed: 7, Now: testNow, BatchSize: 500},
		func(batch []*cancuoc.Citizen) error {
			for _, c := range batch {
				card, err := ca.Personalize(c, CardOptions{Now: testNow})
				if err != nil {
					t.Fatalf("personalize %d: %v", seen, err)
				}
				r := mustVerify(t, card.Chip, ca.Trust, testNow)
				id, ch, err := store.Issue(testNow)
				if err != nil {
					t.Fatal(err)
				}
				sig, _ := card.RespondActive(ch)
				ch, err = store.Take(id, testNow)
				if err != nil {
					t.Fatal(err)
				}
				r.CheckActive(ch, sig)
				if !r.OK() {
					t.Fatalf("citizen %d: %s", seen, failedNames(r))
				}
				if r.MRZ.PIN != string(c.PIN) || r.VN.PIN != string(c.PIN) || r.VN.FullName != c.FullName {
					t.Fatalf("citizen %d: PIN or name differs", seen)
				}
				if d, err := ParseChipDate(r.VN.BirthDate); err != nil || d != c.BirthDate {
					t.Fatalf("citizen %d: birth date %q (%v) for %v", seen, r.VN.BirthDate, err, c.BirthDate)
				}
				if got := r.MRZ.Birth(testNow); !got.Compatible(c.BirthDate) {
					t.Fatalf("citizen %d: MRZ birth date %v for %v", seen, got, c.BirthDate)
				}
				want := map[cancuoc.Sex]string{cancuoc.Male: "M", cancuoc.Female: "F", cancuoc.SexUnknown: "<"}[c.Sex]
				if r.MRZ.Sex != want {
					t.Fatalf("citizen %d: sex %s", seen, r.MRZ.Sex)
				}
				seen++
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if seen != n {
		t.Fatalf("%d of %d", seen, n)
	}
}
