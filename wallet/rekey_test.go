package wallet_test

import (
	"encoding/json"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/wallet"
)

// TestRekeyRecorded: a wallet key change is an audited, published event
// naming the old and new keys and what became of the documents bound to
// the old key; registering the same key again changes nothing; a document
// that cannot be reissued (the identity card of an account no longer at
// level 2) is suspended rather than left usable with the old key, and the
// key change still goes through.
func TestRekeyRecorded(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		an := e.citizen(1, cancuoc.Level2, "")
		e.registerKey(an, "")
		lic, err := e.w.Issue(ctx, transport, licence(an.pin))
		if err != nil {
			t.Fatal(err)
		}
		card, err := e.w.Issue(ctx, police, idCard(an.pin))
		if err != nil {
			t.Fatal(err)
		}
		before, _ := e.store.HolderKey(ctx, an.pin)
		// The account drops to level 1: the identity card cannot be reissued.
		acc, _ := e.store.AccountByPIN(ctx, an.pin)
		acc.Level = cancuoc.Level1
		acc.Version++
		if err := e.store.UpdateAccount(ctx, acc, acc.Version-1); err != nil {
			t.Fatal(err)
		}
		_, reissued := e.registerKey(an, "")
		after, _ := e.store.HolderKey(ctx, an.pin)
		if len(reissued) != 1 || reissued[0].Type != "driver_licence" {
			t.Fatalf("reissued %+v", reissued)
		}
		if d, _ := e.store.Document(ctx, lic.ID); d.Status != cancuoc.DocumentRevoked || d.ReplacedBy != reissued[0].ID {
			t.Errorf("old licence %+v", d)
		}
		if d, _ := e.store.Document(ctx, card.ID); d.Status != cancuoc.DocumentSuspended || d.Reason != "holder_key_changed" {
			t.Errorf("identity card bound to the old key: %s %q", d.Status, d.Reason)
		}
		evs, _ := e.store.EventsAfter(ctx, 0, 100)
		var changed []cancuoc.Event
		for _, ev := range evs {
			if ev.Type == cancuoc.EventDocumentHolderBound {
				changed = append(changed, ev)
			}
		}
		if len(changed) != 1 || changed[0].PIN != an.pin {
			t.Fatalf("key change events %+v", changed)
		}
		var data struct {
			OldKey    string   `json:"old_key"`
			NewKey    string   `json:"new_key"`
			Reissued  []string `json:"reissued"`
			Suspended []string `json:"suspended"`
		}
		if err := json.Unmarshal(changed[0].Data, &data); err != nil {
			t.Fatal(err)
		}
		if data.OldKey != before.ID || data.NewKey != after.ID || len(data.Reissued) != 1 || data.Reissued[0] != lic.ID ||
			len(data.Suspended) != 1 || data.Suspended[0] != card.ID {
			t.Errorf("event data %+v", data)
		}
		audit, _ := e.store.AuditFor(ctx, an.pin, 100)
		var changes int
		for _, a := range audit {
			if a.Action == "wallet.key.change" {
				changes++
			}
		}
		if changes != 1 {
			t.Errorf("%d wallet.key.change audit entries, want 1", changes)
		}

		// The same key again: no event, no reissue.
		raw, _ := json.Marshal(json.RawMessage(after.JWK))
		if _, again, err := e.w.RegisterHolderKey(ctx, an.acc, "", raw); err != nil || len(again) != 0 {
			t.Fatalf("same key: %v %v", again, err)
		}
		evs2, _ := e.store.EventsAfter(ctx, 0, 100)
		if len(evs2) != len(evs) {
			t.Errorf("registering the same key again emitted %d events", len(evs2)-len(evs))
		}

		// Back at level 2, the same key again moves the card left behind:
		// reissued to the new key, valid (the key-change suspension does
		// not follow it), the old one revoked.
		acc, _ = e.store.AccountByPIN(ctx, an.pin)
		acc.Level = cancuoc.Level2
		acc.Version++
		if err := e.store.UpdateAccount(ctx, acc, acc.Version-1); err != nil {
			t.Fatal(err)
		}
		_, moved, err := e.w.RegisterHolderKey(ctx, an.acc, "", raw)
		if err != nil || len(moved) != 1 || moved[0].Type != "eid_card" || moved[0].Status != cancuoc.DocumentValid || moved[0].HolderKeyID != after.ID {
			t.Fatalf("card left behind: %+v %v", moved, err)
		}
		if d, _ := e.store.Document(ctx, card.ID); d.Status != cancuoc.DocumentRevoked {
			t.Errorf("old card %s", d.Status)
		}
	})
}

func idCard(pin cancuoc.PIN) wallet.IssueRequest {
	return wallet.IssueRequest{Type: "eid_card", PIN: pin.String()}
}
