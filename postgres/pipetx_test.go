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
	now, tok, exists := tokens(s)
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

	t.Run("rows read to the end after queued writes", func(t *testing.T) {
		// A query that carries held writes reads its rows from their
		// batch; read to the end without Close (as collectCitizens does,
		// and pgx allows), the batch must close too, or the next
		// statement finds the connection busy.
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertToken(ctx, tok("rows1")); err != nil {
				return err
			}
			if _, err := tx.HouseholdMembers(ctx, "HH-none"); err != nil {
				return err
			}
			_, err := tx.Token(ctx, "rows1")
			return err
		})
		if err != nil {
			t.Fatal(err)
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

// A queued write whose check refuses it (an update of no row: the server
// raises nothing) must be judged before a savepoint statement rides with
// it: were SAVEPOINT or RELEASE sent in the same round trip, the server
// would have run it before the refusal is known, and the savepoint's
// rollback would then undo the wrong savepoint (or none), committing
// writes whose savepoint reported failure.
func TestPipelinedSavepointAfterRefusedCheck(t *testing.T) {
	s := pgtest.OpenAsync(t, "cancuoc_pipetx")
	t.Parallel()
	ctx := t.Context()
	_, tok, exists := tokens(s)
	noSuchPasskey := &cancuoc.Passkey{ID: []byte("no such passkey"), Credential: []byte(`{}`)}

	t.Run("refused at RELEASE", func(t *testing.T) {
		// The item's update is refused: only the item is rolled back
		// and the transaction goes on, as when the update answered at once.
		var spErr error
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertToken(ctx, tok("r1")); err != nil {
				return err
			}
			spErr = tx.(cancuoc.Savepointer).Savepoint(ctx, func(tx cancuoc.Tx) error {
				if err := tx.InsertToken(ctx, tok("r2")); err != nil {
					return err
				}
				return tx.UpdatePasskey(ctx, noSuchPasskey)
			})
			return tx.InsertToken(ctx, tok("r3"))
		})
		if err != nil {
			t.Fatalf("InTx: %v (the refused item should not fail the transaction)", err)
		}
		if cancuoc.KindOf(spErr) != cancuoc.NotFound {
			t.Errorf("savepoint: %v, want the update's NotFound", spErr)
		}
		for id, want := range map[string]bool{"r1": true, "r2": false, "r3": true} {
			if got := exists(t, id); got != want {
				t.Errorf("%s committed: %v, want %v", id, got, want)
			}
		}
	})

	t.Run("refused at a nested SAVEPOINT", func(t *testing.T) {
		// Every error is returned as handed; the outer item fails, so
		// its insert must not commit.
		var outerErr error
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			outerErr = tx.(cancuoc.Savepointer).Savepoint(ctx, func(tx cancuoc.Tx) error {
				if err := tx.InsertToken(ctx, tok("n1")); err != nil {
					return err
				}
				if err := tx.UpdatePasskey(ctx, noSuchPasskey); err != nil {
					return err
				}
				return tx.(cancuoc.Savepointer).Savepoint(ctx, func(tx cancuoc.Tx) error {
					return tx.InsertToken(ctx, tok("n2"))
				})
			})
			if outerErr != nil && cancuoc.KindOf(outerErr) != cancuoc.NotFound {
				return outerErr
			}
			return tx.InsertToken(ctx, tok("n3"))
		})
		if cancuoc.KindOf(outerErr) != cancuoc.NotFound {
			t.Errorf("outer savepoint: %v, want the update's NotFound", outerErr)
		}
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		for id, want := range map[string]bool{"n1": false, "n2": false, "n3": true} {
			if got := exists(t, id); got != want {
				t.Errorf("%s committed: %v, want %v", id, got, want)
			}
		}
	})
}

// When the transaction's last round trip fails — its context ends while a
// queued write waits for a lock, COMMIT itself refuses (a deferred
// constraint), or the connection dies — the caller must be told, the
// answer must be true (an error means nothing committed), and the pool
// must go on with clean connections.
func TestPipelinedTxLastRoundTripFails(t *testing.T) {
	s := pgtest.OpenAsync(t, "cancuoc_pipetx")
	t.Parallel()
	ctx := t.Context()
	_, tok, exists := tokens(s)
	// poolWorks runs more transactions than the pool has connections, so
	// that one left in a transaction or busy would be met.
	poolWorks := func(t *testing.T, prefix string) {
		t.Helper()
		for i := range 40 {
			id := fmt.Sprintf("%s-ok%d", prefix, i)
			if err := s.InTx(ctx, func(tx cancuoc.Tx) error {
				if err := tx.InsertToken(ctx, tok(id)); err != nil {
					return err
				}
				_, err := tx.Token(ctx, id)
				return err
			}); err != nil {
				t.Fatalf("transaction %d after the failure: %v", i, err)
			}
		}
	}

	t.Run("deadline while a queued write waits", func(t *testing.T) {
		// Another transaction inserts d1 without committing: the round
		// trip carrying BEGIN, the insert of d1 and COMMIT waits on the
		// server for it until the deadline, and it gives d1 up (rolls
		// back) only after InTx returned.
		if err := s.InsertToken(ctx, tok("template")); err != nil {
			t.Fatal(err)
		}
		locker, err := s.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer locker.Rollback(ctx)
		if _, err := locker.Exec(ctx, `INSERT INTO oidc_tokens SELECT (jsonb_populate_record(NULL::oidc_tokens,
			to_jsonb(t) || '{"id": "d1"}')).* FROM oidc_tokens t WHERE id = 'template'`); err != nil {
			t.Fatal(err)
		}
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		err = s.InTx(dctx, func(tx cancuoc.Tx) error { return tx.InsertToken(dctx, tok("d1")) })
		if err == nil {
			t.Fatal("InTx succeeded past its deadline with the table locked")
		}
		if err := locker.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // the abandoned backend, if alive, runs what it was sent
		if exists(t, "d1") {
			t.Errorf("InTx answered %v, yet d1 committed", err)
		}
		poolWorks(t, "d")
	})

	t.Run("deadline while a read waits behind queued writes", func(t *testing.T) {
		// No COMMIT in this round trip: pgx gives it up and closes the
		// connection, whose transaction the server then rolls back.
		locker, err := s.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer locker.Rollback(ctx)
		if _, err := locker.Exec(ctx, `INSERT INTO oidc_tokens SELECT (jsonb_populate_record(NULL::oidc_tokens,
			to_jsonb(t) || '{"id": "d2"}')).* FROM oidc_tokens t WHERE id = 'template'`); err != nil {
			t.Fatal(err)
		}
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		var readErr error
		err = s.InTx(dctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertToken(dctx, tok("d3")); err != nil {
				return err
			}
			if err := tx.InsertToken(dctx, tok("d2")); err != nil {
				return err
			}
			_, readErr = tx.Token(dctx, "d3")
			return nil // the read's error dropped: COMMIT must still not succeed
		})
		if readErr == nil || err == nil {
			t.Fatalf("read %v, InTx %v: want both to fail", readErr, err)
		}
		if err := locker.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if exists(t, "d2") || exists(t, "d3") {
			t.Error("a write of the abandoned transaction committed")
		}
		poolWorks(t, "d2")
	})

	t.Run("panic in fn", func(t *testing.T) {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("the panic was swallowed")
				}
			}()
			_ = s.InTx(ctx, func(tx cancuoc.Tx) error {
				if err := tx.InsertToken(ctx, tok("p1")); err != nil {
					return err
				}
				if _, err := tx.Token(ctx, "p1"); err != nil { // p1 sent
					return err
				}
				_ = tx.InsertToken(ctx, tok("p2")) // p2 waits
				panic("fn fails")
			})
		}()
		if exists(t, "p1") || exists(t, "p2") {
			t.Error("a write of the panicked transaction committed")
		}
		poolWorks(t, "p")
	})

	t.Run("deferred constraint refuses COMMIT", func(t *testing.T) {
		if _, err := s.Pool().Exec(ctx, `CREATE TABLE h6rv_clients (id text PRIMARY KEY);
			ALTER TABLE oidc_tokens ADD CONSTRAINT h6rv_client_fk FOREIGN KEY (client_id)
				REFERENCES h6rv_clients (id) DEFERRABLE INITIALLY DEFERRED NOT VALID`); err != nil {
			t.Fatal(err)
		}
		err := s.InTx(ctx, func(tx cancuoc.Tx) error { return tx.InsertToken(ctx, tok("f1")) })
		if err == nil {
			t.Fatal("InTx succeeded although COMMIT refused the deferred foreign key")
		}
		if exists(t, "f1") {
			t.Error("f1 committed")
		}
		if _, err := s.Pool().Exec(ctx, `ALTER TABLE oidc_tokens DROP CONSTRAINT h6rv_client_fk`); err != nil {
			t.Fatal(err)
		}
		poolWorks(t, "f")
	})

	t.Run("connection killed before the last round trip", func(t *testing.T) {
		err := s.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertToken(ctx, tok("k1")); err != nil {
				return err
			}
			if _, err := tx.Token(ctx, "k1"); err != nil { // BEGIN and k1 go now
				return err
			}
			// The transaction's backend is the one holding a lock on
			// this schema's table.
			var killed bool
			if err := s.Pool().QueryRow(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
				WHERE relation = 'oidc_tokens'::regclass AND pid <> pg_backend_pid() LIMIT 1`).Scan(&killed); err != nil || !killed {
				t.Fatalf("terminate: %v %v", killed, err)
			}
			return tx.InsertToken(ctx, tok("k2")) // waits: goes with COMMIT
		})
		if err == nil {
			t.Fatal("InTx succeeded on a killed connection")
		}
		if exists(t, "k1") || exists(t, "k2") {
			t.Error("a write of the killed transaction committed")
		}
		poolWorks(t, "k")
	})
}

// tokens gives the pipelined-transaction tests their writes: tok makes an
// access token (its insert is held by the pipe), exists tells whether one
// committed.
func tokens(s cancuoc.Store) (now time.Time, tok func(id string) *cancuoc.Token, exists func(t *testing.T, id string) bool) {
	now = time.Now().UTC().Truncate(time.Microsecond)
	tok = func(id string) *cancuoc.Token {
		return &cancuoc.Token{ID: id, Kind: cancuoc.TokenAccess, ClientID: "c", CreatedAt: now,
			ExpiresAt: now.Add(time.Hour), Doc: json.RawMessage(`{}`)}
	}
	exists = func(t *testing.T, id string) bool {
		t.Helper()
		_, err := s.Token(t.Context(), id)
		if err != nil && cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Fatal(err)
		}
		return err == nil
	}
	return now, tok, exists
}

// A held write the server refuses by itself (an insert whose key is
// taken: no check of its own, not holdRaising's) must not ride with a
// savepoint's SAVEPOINT either: its failure would be taken for the
// item's, the rollback would name a savepoint the server never made, and
// the transaction's error would lose its kind (Conflict).
func TestPipelinedSavepointAfterRaisedWrite(t *testing.T) {
	s := pgtest.OpenAsync(t, "cancuoc_pipetx")
	t.Parallel()
	ctx := t.Context()
	_, tok, exists := tokens(s)
	if err := s.InsertToken(ctx, tok("sr-taken")); err != nil {
		t.Fatal(err)
	}
	var spErr error
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertToken(ctx, tok("sr-taken")); err != nil {
			return err
		}
		spErr = tx.(cancuoc.Savepointer).Savepoint(ctx, func(tx cancuoc.Tx) error {
			return tx.InsertToken(ctx, tok("sr-item"))
		})
		if spErr != nil && cancuoc.KindOf(spErr) != cancuoc.Conflict {
			return nil // the item is taken for the failure; the batch goes on
		}
		return spErr
	})
	if cancuoc.KindOf(spErr) != cancuoc.Conflict {
		t.Errorf("savepoint: %v, want the earlier insert's Conflict", spErr)
	}
	if cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("InTx: %v, want the earlier insert's Conflict", err)
	}
	if exists(t, "sr-item") {
		t.Error("sr-item committed")
	}
}
