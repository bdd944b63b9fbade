package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
)

// In InTx's transaction, writes whose answer is not needed at once wait
// and go with the next round trip, the last of them with COMMIT
// (pipetx.go). These are the promises that must survive it: a read sees
// the writes before it, a write that fails — raised by the server or
// refused by its check of the rows it touched — never commits, even when
// the caller drops the error, and a savepoint still rolls back only its own.
func TestPipelinedTx(t *testing.T) {
	s := open(t)
	t.Parallel()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	tok := func(id string) *cancuoc.Token {
		return &cancuoc.Token{ID: id, Kind: cancuoc.TokenAccess, ClientID: "c", CreatedAt: now,
			ExpiresAt: now.Add(time.Hour), Doc: json.RawMessage(`{}`)}
	}
	exists := func(t *testing.T, id string) bool {
		t.Helper()
		_, err := s.Token(ctx, id)
		if err != nil && cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Fatal(err)
		}
		return err == nil
	}
	if err := s.InsertToken(ctx, tok("taken")); err != nil {
		t.Fatal(err)
	}

	t.Run("read after queued writes", func(t *testing.T) {
		login := &cancuoc.LoginRecord{AccountID: "acc", At: now, ClientID: "c"}
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertToken(ctx, tok("r1")); err != nil {
				return err
			}
			if err := tx.AppendLogin(ctx, login); err != nil {
				return err
			}
			got, err := tx.Token(ctx, "r1")
			if err != nil {
				return err
			}
			if got.ClientID != "c" {
				t.Errorf("read back %+v", got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if login.ID == 0 {
			t.Error("AppendLogin's ID not set once the transaction committed")
		}
		if !exists(t, "r1") {
			t.Error("r1 not committed")
		}
	})

	t.Run("raised error with COMMIT", func(t *testing.T) {
		// Both inserts wait; the second raises unique_violation in the
		// round trip that carries COMMIT.
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertToken(ctx, tok("w1")); err != nil {
				return err
			}
			_ = tx.InsertToken(ctx, tok("taken"))
			return nil
		})
		if cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Fatalf("err %v, want Conflict (duplicate)", err)
		}
		if exists(t, "w1") {
			t.Error("w1 committed beside a failed write")
		}
	})

	t.Run("refused check, error dropped", func(t *testing.T) {
		// The server runs the update of no row without complaint; only
		// its check refuses it, once the answer is read.
		var readErr error
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertToken(ctx, tok("w2")); err != nil {
				return err
			}
			_ = tx.UpdatePasskey(ctx, &cancuoc.Passkey{ID: []byte("no such passkey"), Credential: []byte(`{}`)})
			_, readErr = tx.Token(ctx, "w2")
			return nil // the caller ignores what it was told
		})
		if cancuoc.KindOf(readErr) != cancuoc.NotFound {
			t.Errorf("the read after the refused update: %v, want its NotFound", readErr)
		}
		if cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Fatalf("InTx: %v, want the update's NotFound", err)
		}
		if exists(t, "w2") {
			t.Error("w2 committed although an update of the transaction was refused")
		}
	})

	t.Run("savepoint", func(t *testing.T) {
		var spErr error
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertToken(ctx, tok("s1")); err != nil {
				return err
			}
			spErr = tx.(cancuoc.Savepointer).Savepoint(ctx, func(tx cancuoc.Tx) error {
				if err := tx.InsertToken(ctx, tok("s2")); err != nil {
					return err
				}
				return tx.InsertToken(ctx, tok("taken")) // waits: fails at RELEASE
			})
			if err := tx.(cancuoc.Savepointer).Savepoint(ctx, func(tx cancuoc.Tx) error {
				if err := tx.InsertToken(ctx, tok("s3")); err != nil {
					return err
				}
				return errors.New("the item's own refusal") // its waiting insert is dropped
			}); err == nil {
				t.Error("the second savepoint's error was lost")
			}
			return tx.InsertToken(ctx, tok("s4"))
		})
		if err != nil {
			t.Fatal(err)
		}
		if cancuoc.KindOf(spErr) != cancuoc.Conflict {
			t.Errorf("savepoint: %v, want Conflict", spErr)
		}
		for id, want := range map[string]bool{"s1": true, "s2": false, "s3": false, "s4": true} {
			if got := exists(t, id); got != want {
				t.Errorf("%s committed: %v, want %v", id, got, want)
			}
		}
	})

	t.Run("fn's error", func(t *testing.T) {
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertToken(ctx, tok("e1")); err != nil {
				return err
			}
			return context.Canceled
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
		if exists(t, "e1") {
			t.Error("e1 committed although fn failed")
		}
	})

	t.Run("nothing written", func(t *testing.T) {
		for range 3 { // the connection goes back to the pool clean each time
			if err := s.InTx(ctx, func(tx cancuoc.Tx) error {
				_, err := tx.Token(ctx, "taken")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if err := s.InTx(ctx, func(tx cancuoc.Tx) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A transaction gives its connection back before it waits for the
// sequencer (WithWaitSequenced): were it held, more concurrent
// transactions than the pool has connections would each wait for a
// connection none of them gives back.
func TestInTxReleasesBeforeWaitingForSequencer(t *testing.T) {
	s := pgtest.Open(t, "cancuoc_pipetx") // waits for the sequencer
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	const writers = 80 // the pool has 32 connections
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			errs <- s.InTx(ctx, func(tx cancuoc.Tx) error {
				return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: time.Now(), Actor: "t",
					Action: "test.write", Outcome: fmt.Sprint(i)})
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
