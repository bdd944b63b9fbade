package wallet_test

import (
	"encoding/json"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/wallet"
)

// TestProcedureDocumentsLandInWallet: the birth certificate and the health
// card a procedure issued become wallet documents of the subject, once
// however often the event is delivered, verifiable; a subject without a
// wallet key is skipped without error; malformed events are ignored.
func TestProcedureDocumentsLandInWallet(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	child := e.citizen(1, cancuoc.Level1, "")
	e.registerKey(child, "")
	nokey := e.citizen(2, cancuoc.Level1, "")
	at := e.clock.Now()
	for _, pr := range []struct {
		id  string
		pin cancuoc.PIN
	}{{"HS1", child.pin}, {"HS2", nokey.pin}} {
		err := e.store.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertProcedure(ctx, &cancuoc.Procedure{ID: pr.id, Kind: cancuoc.ProcedureKind("birth"), Status: cancuoc.ProcedureOpen,
				Applicant: pr.pin, Subject: pr.pin, Province: "01", Commune: "00004", SubmittedBy: "x", Application: json.RawMessage(`{}`),
				SubmittedAt: at, Deadline: at.AddDate(0, 0, 9), Version: 1}); err != nil {
				return err
			}
			for kind, number := range map[string]string{"birth_certificate": "KS." + string(pr.pin), "health_insurance_card": "TE1" + string(pr.pin)[2:]} {
				if err := tx.InsertIssuedDocument(ctx, &cancuoc.IssuedDocument{Kind: kind, Number: number, PIN: pr.pin, ProcedureID: pr.id, IssuedAt: at}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ev := func(id string) cancuoc.Event {
		data, _ := json.Marshal(map[string]any{"procedure": id, "name": "health_card"})
		return cancuoc.Event{Type: wallet.EventProcedureStepCompleted, Data: data}
	}
	for range 2 { // at-least-once delivery
		for _, id := range []string{"HS1", "HS2", "missing"} {
			if err := e.w.HandleProcedureEvent(ctx, ev(id)); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
		}
	}
	if err := e.w.HandleProcedureEvent(ctx, cancuoc.Event{Type: wallet.EventProcedureStepCompleted, Data: json.RawMessage(`{`)}); err != nil {
		t.Errorf("malformed: %v", err)
	}
	docs, err := e.store.DocumentsByHolder(ctx, child.pin)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, d := range docs {
		types[d.Type]++
		if d.IssuedBy != "procedure:HS1" || d.Status != cancuoc.DocumentValid {
			t.Errorf("document %+v", d)
		}
		if v := e.w.Checker(ctx).Check(d.SDJWT, wallet.Expect{}); !v.Valid {
			t.Errorf("%s does not verify: %s", d.Type, v.MessageEN)
		}
	}
	if len(docs) != 2 || types["birth_certificate"] != 1 || types["health_insurance_card"] != 1 {
		t.Fatalf("wallet holds %v", types)
	}
	if docs, err := e.store.DocumentsByHolder(ctx, nokey.pin); err != nil || len(docs) != 0 {
		t.Errorf("subject without a key: %d documents, %v", len(docs), err)
	}
	// Once a key is registered, the pending documents are issued; a second
	// key reissues them to it (the old ones revoked), and adds none.
	e.registerKey(nokey, "")
	if docs, err := e.store.DocumentsByHolder(ctx, nokey.pin); err != nil || len(docs) != 2 {
		t.Errorf("after the key: %d documents, %v", len(docs), err)
	}
	e.registerKey(nokey, "")
	docs, err = e.store.DocumentsByHolder(ctx, nokey.pin)
	valid := 0
	for _, d := range docs {
		if d.Status == cancuoc.DocumentValid {
			valid++
		}
	}
	if err != nil || len(docs) != 4 || valid != 2 {
		t.Errorf("after a second key: %d documents, %d valid, %v", len(docs), valid, err)
	}
}

// TestProcedureEventWithoutKeyWritesNothing: the subject of nearly every
// procedure event is a newborn without a wallet key; the handler settles
// it without a write transaction (on SQLite each one waited for the single
// writer), on both stores.
func TestProcedureEventWithoutKeyWritesNothing(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		nokey := e.citizen(3, cancuoc.Level1, "")
		at := e.clock.Now()
		err := e.store.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertProcedure(ctx, &cancuoc.Procedure{ID: "HS3", Kind: cancuoc.ProcedureKind("birth"), Status: cancuoc.ProcedureOpen,
				Applicant: nokey.pin, Subject: nokey.pin, Province: "01", Commune: "00004", SubmittedBy: "x", Application: json.RawMessage(`{}`),
				SubmittedAt: at, Deadline: at.AddDate(0, 0, 9), Version: 1}); err != nil {
				return err
			}
			return tx.InsertIssuedDocument(ctx, &cancuoc.IssuedDocument{Kind: "birth_certificate", Number: "KS." + string(nokey.pin),
				PIN: nokey.pin, ProcedureID: "HS3", IssuedAt: at})
		})
		if err != nil {
			t.Fatal(err)
		}
		counted := &storetest.TxCounter{Store: e.store}
		w, err := wallet.New(counted, wallet.Config{BaseURL: base, Secret: []byte("a server secret of test"), ListSize: 1 << 12}, wallet.WithClock(e.clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		before := counted.Count()
		data, _ := json.Marshal(map[string]any{"procedure": "HS3", "name": "birth_registration"})
		if err := w.HandleProcedureEvent(ctx, cancuoc.Event{Type: wallet.EventProcedureStepCompleted, Data: data}); err != nil {
			t.Fatal(err)
		}
		if n := counted.Count() - before; n != 0 {
			t.Errorf("%d write transactions for a subject without a wallet key, want 0", n)
		}
		if docs, err := e.store.DocumentsByHolder(ctx, nokey.pin); err != nil || len(docs) != 0 {
			t.Errorf("subject without a key: %d documents, %v", len(docs), err)
		}
	})
}

// TestRegistryEventWithoutDocumentsWritesNothing: a registry event about a
// person holding no wallet document (most of them) is settled on a read.
func TestRegistryEventWithoutDocumentsWritesNothing(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		none := e.citizen(4, cancuoc.Level1, "")
		counted := &storetest.TxCounter{Store: e.store}
		w, err := wallet.New(counted, wallet.Config{BaseURL: base, Secret: []byte("a server secret of test"), ListSize: 1 << 12}, wallet.WithClock(e.clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		before := counted.Count()
		for _, typ := range []string{cancuoc.EventCitizenUpdated, cancuoc.EventCitizenMissing, cancuoc.EventCitizenDied} {
			if err := w.HandleRegistryEvent(ctx, cancuoc.Event{Type: typ, PIN: none.pin}); err != nil {
				t.Fatal(err)
			}
		}
		if n := counted.Count() - before; n != 0 {
			t.Errorf("%d write transactions for a person without documents, want 0", n)
		}
	})
}
