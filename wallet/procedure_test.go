package wallet_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
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

// readCounter counts the reads of files and wallet keys made through it
// (keys: one by one; keyBatches: several at once).
type readCounter struct {
	cancuoc.Store
	files, keys, keyBatches atomic.Int64
}

func (c *readCounter) HolderKeys(ctx context.Context, pins []cancuoc.PIN) ([]*cancuoc.HolderKey, error) {
	c.keyBatches.Add(1)
	return c.Store.HolderKeys(ctx, pins)
}

func (c *readCounter) Procedure(ctx context.Context, id string) (*cancuoc.Procedure, error) {
	c.files.Add(1)
	return c.Store.Procedure(ctx, id)
}

func (c *readCounter) HolderKey(ctx context.Context, pin cancuoc.PIN) (*cancuoc.HolderKey, error) {
	c.keys.Add(1)
	return c.Store.HolderKey(ctx, pin)
}

// TestProcedureEventNamingSubjectReadsNoFile: a completion that names its
// subject and the document it issued (as the workflow writes them) is
// handled without reading the file back, and one whose step issued no
// wallet document (the newborn's residence) without any read; the
// documents still land in the wallet, once.
// countedWallet is a wallet on e's store whose reads readCounter counts.
func countedWallet(t *testing.T, e *env) (*wallet.Service, *readCounter) {
	t.Helper()
	counted := &readCounter{Store: e.store}
	w, err := wallet.New(counted, wallet.Config{BaseURL: base, Secret: []byte("a server secret of test"), ListSize: 1 << 12}, wallet.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return w, counted
}

// completedStep is the event of a completed step of file that names its
// subject and the document it issued ("" for none).
func completedStep(file, name string, subject cancuoc.PIN, document string) cancuoc.Event {
	data, _ := json.Marshal(map[string]any{"procedure": file, "name": name, "subject": subject, "document": document, "advanced": true})
	return cancuoc.Event{Type: wallet.EventProcedureStepCompleted, Data: data}
}

func TestProcedureEventNamingSubjectReadsNoFile(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		child := e.citizen(5, cancuoc.Level1, "")
		e.registerKey(child, "")
		at := e.clock.Now()
		err := e.store.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := tx.InsertProcedure(ctx, &cancuoc.Procedure{ID: "HS5", Kind: cancuoc.ProcedureKind("birth"), Status: cancuoc.ProcedureOpen,
				Applicant: child.pin, Subject: child.pin, Province: "01", Commune: "00004", SubmittedBy: "x", Application: json.RawMessage(`{}`),
				SubmittedAt: at, Deadline: at.AddDate(0, 0, 9), Version: 1}); err != nil {
				return err
			}
			return tx.InsertIssuedDocument(ctx, &cancuoc.IssuedDocument{Kind: "birth_certificate", Number: "KS." + string(child.pin),
				PIN: child.pin, ProcedureID: "HS5", IssuedAt: at})
		})
		if err != nil {
			t.Fatal(err)
		}
		w, counted := countedWallet(t, e)
		ev := func(name, document string) cancuoc.Event { return completedStep("HS5", name, child.pin, document) }
		if err := w.HandleProcedureEvent(ctx, ev("newborn_residence", "")); err != nil {
			t.Fatal(err)
		}
		if f, k := counted.files.Load(), counted.keys.Load(); f != 0 || k != 0 {
			t.Errorf("a step without a wallet document: %d file reads, %d key reads, want none", f, k)
		}
		for range 2 {
			if err := w.HandleProcedureEvent(ctx, ev("birth_registration", "birth_certificate")); err != nil {
				t.Fatal(err)
			}
		}
		if f := counted.files.Load(); f != 0 {
			t.Errorf("%d file reads for completions that name their subject, want 0", f)
		}
		docs, err := e.store.DocumentsByHolder(ctx, child.pin)
		if err != nil || len(docs) != 1 || docs[0].Type != "birth_certificate" || docs[0].IssuedBy != "procedure:HS5" {
			t.Fatalf("wallet holds %d documents (%v), want the birth certificate once", len(docs), err)
		}
	})
}

// TestProcedureEventsPreparedByBatch: a batch of completions reads its
// subjects' wallet keys in one query and no key event by event; the
// subject with a key gets its documents, once however often the batch is
// handled; the one without gets none, and gets them when a key is
// registered, even between the batch's read and its handling; a
// completion of the older form (no subject) still reads its file and key.
func TestProcedureEventsPreparedByBatch(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		child, nokey := e.citizen(6, cancuoc.Level1, ""), e.citizen(7, cancuoc.Level1, "")
		e.registerKey(child, "")
		at := e.clock.Now()
		files := map[string]cancuoc.PIN{"HS6": child.pin, "HS7": nokey.pin}
		for id, pin := range files {
			err := e.store.InTx(ctx, func(tx cancuoc.Tx) error {
				if err := tx.InsertProcedure(ctx, &cancuoc.Procedure{ID: id, Kind: cancuoc.ProcedureKind("birth"), Status: cancuoc.ProcedureOpen,
					Applicant: pin, Subject: pin, Province: "01", Commune: "00004", SubmittedBy: "x", Application: json.RawMessage(`{}`),
					SubmittedAt: at, Deadline: at.AddDate(0, 0, 9), Version: 1}); err != nil {
					return err
				}
				for kind, number := range map[string]string{"birth_certificate": "KS." + string(pin), "health_insurance_card": "TE1" + string(pin)[2:]} {
					if err := tx.InsertIssuedDocument(ctx, &cancuoc.IssuedDocument{Kind: kind, Number: number, PIN: pin, ProcedureID: id, IssuedAt: at}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		w, counted := countedWallet(t, e)
		ev := func(file, name, document string) cancuoc.Event {
			return completedStep(file, name, files[file], document)
		}
		batch := []cancuoc.Event{ev("HS7", "birth_registration", "birth_certificate"), ev("HS6", "birth_registration", "birth_certificate"),
			ev("HS6", "newborn_residence", ""), ev("HS6", "health_card", "health_insurance_card"), ev("HS7", "health_card", "health_insurance_card")}
		// Nothing for the wallet in a batch: no read at all.
		if _, err := w.PrepareProcedureEvents(ctx, batch[2:3]); err != nil {
			t.Fatal(err)
		}
		if n := counted.keyBatches.Load(); n != 0 {
			t.Errorf("%d key reads for a batch with no wallet document", n)
		}
		for round := range 2 { // at-least-once delivery
			h, err := w.PrepareProcedureEvents(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			if round == 1 {
				// A key registered after the batch's read: its documents come
				// with the key, and the handler, which read none, adds none.
				e.registerKey(nokey, "")
			}
			for _, x := range batch {
				if err := h(ctx, x); err != nil {
					t.Fatal(err)
				}
			}
			if docs, err := e.store.DocumentsByHolder(ctx, nokey.pin); round == 0 && (err != nil || len(docs) != 0) {
				t.Errorf("subject without a key: %d documents, %v", len(docs), err)
			}
		}
		if b, k, f := counted.keyBatches.Load(), counted.keys.Load(), counted.files.Load(); b != 2 || k != 0 || f != 0 {
			t.Errorf("two batches read keys %d times at once, %d one by one and %d files; want 2, 0, 0", b, k, f)
		}
		for _, h := range []*holder{child, nokey} {
			docs, err := e.store.DocumentsByHolder(ctx, h.pin)
			types := map[string]int{}
			for _, d := range docs {
				types[d.Type]++
			}
			if err != nil || len(docs) != 2 || types["birth_certificate"] != 1 || types["health_insurance_card"] != 1 {
				t.Errorf("%s holds %v (%v), want the birth certificate and the health card once", h.pin, types, err)
			}
		}
		// A completion of the older form names no subject: its file tells,
		// and its key is read on its own.
		old, _ := json.Marshal(map[string]any{"procedure": "HS6", "name": "health_card"})
		h, err := w.PrepareProcedureEvents(ctx, []cancuoc.Event{{Type: wallet.EventProcedureStepCompleted, Data: old}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h(ctx, cancuoc.Event{Type: wallet.EventProcedureStepCompleted, Data: old}); err != nil {
			t.Fatal(err)
		}
		if b, k, f := counted.keyBatches.Load(), counted.keys.Load(), counted.files.Load(); b != 2 || k != 1 || f != 1 {
			t.Errorf("an older completion: %d batch key reads, %d key reads, %d file reads; want 2, 1, 1", b, k, f)
		}
		if docs, err := e.store.DocumentsByHolder(ctx, child.pin); err != nil || len(docs) != 2 {
			t.Errorf("after an older completion: %d documents, %v", len(docs), err)
		}
	})
}
