package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunChip checks the chip-challenge store: a challenge round-trips, is
// taken once even by racing callers, rolls back with its transaction, and
// purging removes only expired ones.
func RunChip(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	t.Run("ChipChallengeTakeOnce", func(t *testing.T) { testChipTakeOnce(t, open(t)) })
	t.Run("ChipChallengeRace", func(t *testing.T) { testChipRace(t, open(t)) })
	t.Run("ChipChallengePurge", func(t *testing.T) { testChipPurge(t, open(t)) })
	t.Run("ChipChallengeRollback", func(t *testing.T) { testChipRollback(t, open(t)) })
}

func chipChallenge(id string, expires time.Time) *cancuoc.ChipChallenge {
	return &cancuoc.ChipChallenge{ID: id, Challenge: []byte{0, 1, 2, 0xff, 4, 5, 6, 7}, IssuedTo: "bank-1",
		CreatedAt: T0, ExpiresAt: expires}
}

func testChipTakeOnce(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	in := chipChallenge("c1", T0.Add(time.Minute))
	if err := s.InsertChipChallenge(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertChipChallenge(ctx, chipChallenge("c1", T0)); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Fatalf("duplicate insert: %v, want Conflict", err)
	}
	got, err := s.TakeChipChallenge(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != in.ID || !bytes.Equal(got.Challenge, in.Challenge) || got.IssuedTo != in.IssuedTo ||
		!got.CreatedAt.Equal(in.CreatedAt) || !got.ExpiresAt.Equal(in.ExpiresAt) {
		t.Fatalf("took %+v, stored %+v", got, in)
	}
	if _, err := s.TakeChipChallenge(ctx, "c1"); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Fatalf("second take: %v, want NotFound", err)
	}
	if _, err := s.TakeChipChallenge(ctx, "never"); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Fatalf("unknown: %v, want NotFound", err)
	}
}

func testChipRace(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	const n = 5
	for i := range n {
		if err := s.InsertChipChallenge(ctx, chipChallenge(fmt.Sprint("r", i), T0.Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	var wins atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8*n)
	for range 8 {
		wg.Go(func() {
			for i := range n {
				_, err := s.TakeChipChallenge(ctx, fmt.Sprint("r", i))
				if err == nil {
					wins.Add(1)
				} else if cancuoc.KindOf(err) != cancuoc.NotFound {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if wins.Load() != n {
		t.Fatalf("%d successful takes of %d challenges, want exactly one each", wins.Load(), n)
	}
}

func testChipPurge(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	for i, exp := range []time.Duration{-time.Minute, 0, time.Minute} {
		if err := s.InsertChipChallenge(ctx, chipChallenge(fmt.Sprint("p", i), T0.Add(exp))); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PurgeChipChallenges(ctx, T0)
	if err != nil || n != 2 {
		t.Fatalf("purge: %d, %v; want 2", n, err)
	}
	if _, err := s.TakeChipChallenge(ctx, "p2"); err != nil {
		t.Fatalf("unexpired challenge purged: %v", err)
	}
}

func testChipRollback(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	if err := s.InsertChipChallenge(ctx, chipChallenge("k", T0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	boom := fmt.Errorf("boom")
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if _, err := tx.TakeChipChallenge(ctx, "k"); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("InTx: %v", err)
	}
	if _, err := s.TakeChipChallenge(ctx, "k"); err != nil {
		t.Fatalf("a rolled-back take consumed the challenge: %v", err)
	}
}

// Holder returns Citizen(pin) changed where the fixture's unit codes do not
// nest, so that the registry's validation accepts the record and it can be
// updated through registry.Update (issuing cards, in the chip tests): the
// origin is free text and the person lives at their permanent residence.
// The valid card on record is the fixture's can_cuoc card.
func Holder(pin cancuoc.PIN) *cancuoc.Citizen {
	c := Citizen(pin)
	c.Origin = &cancuoc.Place{Detail: "xóm Đông, Nghệ An"}
	c.TemporaryResidence = nil
	cur := *c.PermanentResidence
	c.CurrentResidence = &cur
	return c
}
