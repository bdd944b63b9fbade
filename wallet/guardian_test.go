package wallet_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/wallet"
)

// TestGuardianshipEnds: a guardian acts for a child's wallet only while
// the child is under 14 and the registry still lists them; once the child
// has turned 14, or custody has moved, the former guardian can neither
// list, read, present nor re-key the documents (review finding 2), while
// the holder still can.
func TestGuardianshipEnds(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	mum := e.citizen(1, cancuoc.Level2, "")
	teen := e.citizen(2, cancuoc.Level1, mum.pin) // seven today
	e.registerKey(mum, teen.pin)
	doc, err := e.w.Issue(ctx, transport, licence(teen.pin))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.w.MyDocuments(ctx, mum.acc, teen.pin); err != nil {
		t.Fatalf("guardian of a child of seven: %v", err)
	}

	// Seven years and a day after her seventh birthday this year: 14.
	birthday := time.Date(e.clock.Now().Year(), 3, 1, 12, 0, 0, 0, time.UTC)
	e.clock.Add(birthday.AddDate(7, 0, 1).Sub(e.clock.Now()))
	refused := func(what string, err error) {
		t.Helper()
		if err == nil || cancuoc.KindOf(err) == cancuoc.Internal {
			t.Errorf("%s: %v, want a refusal", what, err)
		}
	}
	_, err = e.w.MyDocuments(ctx, mum.acc, teen.pin)
	refused("list", err)
	_, err = e.w.MyDocument(ctx, mum.acc, doc.ID)
	refused("read", err)
	_, err = e.w.PreparePresentation(ctx, mum.acc, doc.ID, wallet.PresentRequest{Nonce: "nonce-mum-123", Audience: "a"})
	refused("present", err)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := json.Marshal(&jose.JSONWebKey{Key: k.Public()})
	_, _, err = e.w.RegisterHolderKey(ctx, mum.acc, teen.pin, raw)
	refused("re-key", err)
	if d, _ := e.store.Document(ctx, doc.ID); d.Status != cancuoc.DocumentValid {
		t.Errorf("the teen's document after the refusals: %s", d.Status)
	}
	if list, err := e.w.MyDocuments(ctx, teen.acc, ""); err != nil || len(list) != 1 {
		t.Errorf("the holder's own view: %v %v", list, err)
	}
}

// TestGuardianshipFollowsRegistry: an account opened by someone the
// registry no longer lists as the child's parent or representative gives
// them nothing, even for a young child.
func TestGuardianshipFollowsRegistry(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	dad := e.citizen(1, cancuoc.Level2, "")
	// The account names dad, the registry names nobody (custody moved).
	c := e.child(5, "", e.clock.Now().Year()-5)
	if err := e.store.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := e.store.InsertAccount(ctx, &cancuoc.Account{ID: "acc-kid", Kind: cancuoc.AccountCitizen, PIN: c.PIN, Level: cancuoc.Level1,
		Status: cancuoc.AccountActive, GuardianPIN: dad.pin, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(), Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.w.MyDocuments(ctx, dad.acc, c.PIN); cancuoc.KindOf(err) != cancuoc.Forbidden {
		t.Errorf("former guardian lists: %v", err)
	}
}
