package wallet_test

import (
	"testing"

	"github.com/cancuoc/cancuoc"
)

// TestStatusListOnlyIssued: the public status list is served only for
// list numbers that hold a slot handed out; any other number is NotFound
// without a list being built or signed.
func TestStatusListOnlyIssued(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, _, err := e.w.StatusListToken(ctx, "transport", 0); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Fatalf("list 0 before any document: %v, want NotFound", err)
	}
	an := e.citizen(1, cancuoc.Level1, "")
	e.registerKey(an, "")
	doc, err := e.w.Issue(ctx, transport, licence(an.pin))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.w.StatusListToken(ctx, "transport", doc.StatusList); err != nil {
		t.Fatalf("the document's own list: %v", err)
	}
	for _, n := range []int64{doc.StatusList + 1, 999999, 1 << 40, -1} {
		if _, _, err := e.w.StatusListToken(ctx, "transport", n); cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Errorf("list %d: %v, want NotFound", n, err)
		}
		if _, err := e.w.List(ctx, "transport", n); cancuoc.KindOf(err) != cancuoc.NotFound {
			t.Errorf("List(%d): %v, want NotFound", n, err)
		}
	}
	if _, _, err := e.w.StatusListToken(ctx, "health", 0); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("another agency's list 0 with no document: %v, want NotFound", err)
	}
}

// TestPlatformCheckerBindsListToIssuer: the platform's own checker reads a
// status list only for documents of the list's own issuer: a document of
// transport that pointed at health's list would not get health's answer.
func TestPlatformCheckerBindsListToIssuer(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		an := e.citizen(1, cancuoc.Level1, "")
		e.registerKey(an, "")
		doc, err := e.w.Issue(ctx, transport, licence(an.pin))
		if err != nil {
			t.Fatal(err)
		}
		chk := e.w.Checker(ctx)
		uri := e.w.StatusURI("transport", doc.StatusList)
		if _, err := chk.Status(uri, e.w.IssuerURL("transport")); err != nil {
			t.Fatalf("own list: %v", err)
		}
		var ce *cancuoc.Error
		if _, err := chk.Status(uri, e.w.IssuerURL("health")); !errorsAs(err, &ce) || ce.Code != "statuslist_issuer" {
			t.Errorf("transport's list for a health document: %v", err)
		}
	})
}
