package chipcheck_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/chipcheck"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/mrtd"
	"github.com/cancuoc/cancuoc/storetest"
)

type fixture struct {
	s     cancuoc.Store
	ca    *mrtd.TestCA
	check *chipcheck.Checker
	now   *time.Time
	c     *cancuoc.Citizen
}

func setup(t *testing.T, s cancuoc.Store) *fixture {
	w := audit.NewWriter(s, 0)
	t.Cleanup(func() { w.Close() })
	now := time.Now()
	ca, err := mrtd.NewTestCA(mrtd.ECDSAP256, now)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{s: s, ca: ca, now: &now, c: storetest.Holder(storetest.PIN(1))}
	f.check = chipcheck.New(s, w, ca.Trust, chipcheck.WithClock(func() time.Time { return *f.now }))
	if err := s.InsertCitizen(t.Context(), f.c); err != nil {
		t.Fatal(err)
	}
	return f
}

var bank = chipcheck.Caller{ID: "bank", Role: cancuoc.RoleMinistrySystem}

func (f *fixture) verify(t *testing.T, k *mrtd.TestCard) *chipcheck.Verdict {
	t.Helper()
	ch, err := f.check.NewChallenge(t.Context(), bank)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := k.RespondActive(ch.Challenge)
	v, err := f.check.Verify(t.Context(), bank, &chipcheck.Request{Chip: k.Chip, ChallengeID: ch.ID, AASignature: sig})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func codes(v *chipcheck.Verdict) []string {
	var out []string
	for _, r := range v.Reasons {
		out = append(out, r.Code)
	}
	return out
}

func TestVerify(t *testing.T) {
	testkit.Stores(t, "chipcheck_test", func(t *testing.T, s cancuoc.Store) {
		f := setup(t, s)
		ctx := t.Context()
		k, err := f.ca.Personalize(f.c, mrtd.CardOptions{Now: *f.now})
		if err != nil {
			t.Fatal(err)
		}
		if v := f.verify(t, k); !v.Accepted {
			t.Fatalf("refused: %v", codes(v))
		}

		// Without DG13 the MRZ's expiry picks the card record.
		noDG13 := *k
		noDG13.Chip.DataGroups = map[int][]byte{}
		for n, b := range k.Chip.DataGroups {
			if n != 13 {
				noDG13.Chip.DataGroups[n] = b
			}
		}
		// The fixture's replaced card expires on the same day as the valid
		// one: without the issue date nothing tells them apart, and the
		// least valid decides.
		if v := f.verify(t, &noDG13); v.Accepted || !slices.Contains(codes(v), "card.replaced") {
			t.Fatalf("ambiguous without DG13: %v", codes(v))
		}
		c2 := f.c.Clone()
		c2.Cards[0].ExpiresOn, c2.Version = cancuoc.Date{Year: 2016, Month: 5, Day: 17}, 2
		if err := s.UpdateCitizen(ctx, c2, 1); err != nil {
			t.Fatal(err)
		}
		if v := f.verify(t, &noDG13); !v.Accepted || v.Card == nil || v.Card.Status != cancuoc.CardValid {
			t.Fatalf("without DG13: %v %+v", codes(v), v.Card)
		}

		// A card for a PIN the registry does not hold.
		stranger := storetest.Holder(storetest.PIN(9))
		ks, _ := f.ca.Personalize(stranger, mrtd.CardOptions{Now: *f.now})
		if v := f.verify(t, ks); v.Accepted || !slices.Contains(codes(v), "registry.not_found") {
			t.Fatalf("stranger: %v", codes(v))
		}

		// A dead holder's card is refused.
		dead := c2.Clone()
		dead.LifeStatus, dead.DeathDate, dead.Version = cancuoc.Dead, cancuoc.Date{Year: 2026, Month: 1, Day: 1}, 3
		if err := s.UpdateCitizen(ctx, dead, 2); err != nil {
			t.Fatal(err)
		}
		if v := f.verify(t, k); v.Accepted || !slices.Contains(codes(v), "registry.holder_dead") {
			t.Fatalf("dead holder: %v", codes(v))
		}
		entries, err := s.AuditFor(ctx, f.c.PIN, 1)
		if err != nil || len(entries) != 1 || entries[0].Outcome != "refused:registry.holder_dead" || entries[0].Actor != "bank" {
			t.Fatalf("audit %+v %v", entries, err)
		}
	})
}

func TestCallers(t *testing.T) {
	testkit.Stores(t, "chipcheck_test", func(t *testing.T, s cancuoc.Store) {
		f := setup(t, s)
		ctx := t.Context()
		if _, err := f.check.NewChallenge(ctx, chipcheck.Caller{}); cancuoc.KindOf(err) != cancuoc.Unauthenticated {
			t.Fatalf("nobody: %v", err)
		}
		aud := chipcheck.Caller{ID: "aud", Role: cancuoc.RoleAuditor}
		if _, err := f.check.NewChallenge(ctx, aud); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Fatalf("auditor: %v", err)
		}
		if _, err := f.check.Verify(ctx, aud, &chipcheck.Request{}); cancuoc.KindOf(err) != cancuoc.Forbidden {
			t.Fatalf("auditor verify: %v", err)
		}
		if _, err := f.check.NewChallenge(ctx, chipcheck.CitizenCaller(f.c.PIN)); err != nil {
			t.Fatalf("citizen: %v", err)
		}
	})
}

// TestChallengesArePurged checks that issuing a challenge a lifetime after
// the last purge removes expired ones from the store.
func TestChallengesArePurged(t *testing.T) {
	testkit.Stores(t, "chipcheck_test", func(t *testing.T, s cancuoc.Store) {
		f := setup(t, s)
		ctx := t.Context()
		old, err := f.check.NewChallenge(ctx, bank)
		if err != nil {
			t.Fatal(err)
		}
		*f.now = f.now.Add(chipcheck.DefaultChallengeTTL + time.Second)
		if _, err := f.check.NewChallenge(ctx, bank); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TakeChipChallenge(ctx, old.ID); cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Fatalf("expired challenge still stored: %v", err)
		}
	})
}
