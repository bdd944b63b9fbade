package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunLoginSessions runs the conformance tests of LoginSessionStore.
func RunLoginSessions(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	t.Run("LoginSessions", func(t *testing.T) { testLoginSessions(t, open(t)) })
	t.Run("LoginSessionTxRollback", func(t *testing.T) { testLoginSessionRollback(t, open(t)) })
}

func sessionHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testLoginSessions(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	pin := PIN(41)
	a := &cancuoc.LoginSession{Hash: sessionHash("a"), PIN: pin, AccountID: "a_1", AMR: []string{"pwd", "otp", "mfa"},
		AuthTime: at, CreatedAt: at.Add(time.Second), ExpiresAt: at.Add(30 * time.Minute)}
	if err := s.InsertLoginSession(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertLoginSession(ctx, a); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("second insert of one hash: %v, want Conflict", err)
	}
	got, err := s.LoginSession(ctx, a.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Hash, a.Hash) || got.PIN != pin || got.AccountID != "a_1" || !slices.Equal(got.AMR, a.AMR) ||
		!got.AuthTime.Equal(a.AuthTime) || !got.CreatedAt.Equal(a.CreatedAt) || !got.ExpiresAt.Equal(a.ExpiresAt) || got.EndedAt != nil {
		t.Errorf("read back %+v, want %+v", got, a)
	}
	if _, err := s.LoginSession(ctx, sessionHash("none")); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
	// Ending one session leaves the citizen's others; ending again keeps
	// the first end.
	b := &cancuoc.LoginSession{Hash: sessionHash("b"), PIN: pin, AccountID: "a_1", AMR: []string{"hwk"},
		AuthTime: at, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	c := &cancuoc.LoginSession{Hash: sessionHash("c"), PIN: PIN(42), AccountID: "a_2", AMR: nil,
		AuthTime: at, CreatedAt: at, ExpiresAt: at.Add(time.Minute)}
	for _, x := range []*cancuoc.LoginSession{b, c} {
		if err := s.InsertLoginSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	end := at.Add(5 * time.Minute)
	if err := s.EndLoginSession(ctx, a.Hash, end); err != nil {
		t.Fatal(err)
	}
	if err := s.EndLoginSession(ctx, a.Hash, end.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.EndLoginSession(ctx, sessionHash("none"), end); err != nil {
		t.Errorf("ending an unknown session: %v", err)
	}
	if got, _ := s.LoginSession(ctx, a.Hash); got.EndedAt == nil || !got.EndedAt.Equal(end) {
		t.Errorf("ended at %v, want %v", got.EndedAt, end)
	}
	if got, _ := s.LoginSession(ctx, b.Hash); got.EndedAt != nil {
		t.Error("ending one session ended another")
	}
	// All of a citizen's open sessions end at once; others' stay.
	n, err := s.EndLoginSessions(ctx, pin, end.Add(time.Minute))
	if err != nil || n != 1 {
		t.Errorf("EndLoginSessions: %d, %v; want 1 (a had ended)", n, err)
	}
	if got, _ := s.LoginSession(ctx, b.Hash); got.EndedAt == nil {
		t.Error("the citizen's session is still open")
	}
	if got, _ := s.LoginSession(ctx, c.Hash); got.EndedAt != nil || len(got.AMR) != 0 {
		t.Errorf("another citizen's session: %+v", got)
	}
	// Expired sessions are deleted, others kept.
	n, err = s.DeleteExpiredLoginSessions(ctx, at.Add(31*time.Minute))
	if err != nil || n != 2 {
		t.Errorf("DeleteExpiredLoginSessions: %d, %v; want 2", n, err)
	}
	if _, err := s.LoginSession(ctx, b.Hash); err != nil {
		t.Errorf("a session not yet expired was deleted: %v", err)
	}
	if _, err := s.LoginSession(ctx, a.Hash); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("an expired session was kept: %v", err)
	}
}

func testLoginSessionRollback(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	h := sessionHash("rolled back")
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertLoginSession(ctx, &cancuoc.LoginSession{Hash: h, PIN: PIN(43), AccountID: "a_3",
			AuthTime: at, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx: %v", err)
	}
	if _, err := s.LoginSession(ctx, h); !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("a rolled-back session exists: %v", err)
	}
}
