package partner_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
)

// The webhook fan-out asks the partner's policy: subscriptions must be an
// allowed operation and the event type listed; the PIN travels only when
// the policy names it.
func TestWebhookPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.svc.Create(ctx, nil, bank("vcb", cancuoc.Quota{})); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "no subscribe operation", e.svc.MayReceive(ctx, "vcb", cancuoc.EventCitizenDied), cancuoc.Forbidden, "operation_not_allowed")

	n := bank("bhxh", cancuoc.Quota{})
	n.Policy.Operations = []cancuoc.PartnerOp{cancuoc.OpSubscribe}
	n.Policy.EventTypes = []string{cancuoc.EventCitizenDied}
	n.Policy.Fields = []string{"pin"}
	if _, err := e.svc.Create(ctx, nil, n); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.MayReceive(ctx, "bhxh", cancuoc.EventCitizenDied); err != nil {
		t.Fatalf("allowed event refused: %v", err)
	}
	wantCode(t, "event type outside the policy", e.svc.MayReceive(ctx, "bhxh", cancuoc.EventCitizenBorn), cancuoc.Forbidden, "event_type_not_allowed")
	wantCode(t, "unknown partner", e.svc.MayReceive(ctx, "nobody", cancuoc.EventCitizenDied), cancuoc.Forbidden, "partner_unknown")
	if f := e.svc.Fields(ctx, "bhxh"); !slices.Contains(f, "pin") {
		t.Errorf("fields %v lack the pin the policy names", f)
	}
	if f := e.svc.Fields(ctx, "vcb"); slices.Contains(f, "pin") {
		t.Errorf("fields %v carry a pin the policy does not name", f)
	}
}

// ReceivableTypes covers every type a policy may name for webhooks and
// nothing a policy may not: the webhook fan-out's consumer takes those
// types only.
func TestReceivableTypes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	covered := func(typ string) bool {
		for _, p := range e.svc.ReceivableTypes() {
			if pre, ok := strings.CutSuffix(p, ">"); ok && strings.HasPrefix(typ, pre) || p == typ {
				return true
			}
		}
		return false
	}
	for i, typ := range []string{cancuoc.EventCitizenDied, cancuoc.EventCitizenUpdated, cancuoc.EventCitizensLoaded, "procedure.completed", "citizenship.granted"} {
		n := bank(fmt.Sprintf("p%d", i), cancuoc.Quota{})
		n.Policy.Operations = []cancuoc.PartnerOp{cancuoc.OpSubscribe}
		n.Policy.EventTypes = []string{typ}
		_, err := e.svc.Create(ctx, nil, n)
		if (err == nil) != covered(typ) {
			t.Errorf("type %s: policy accepted = %v (%v), but covered by %v = %v", typ, err == nil, err, e.svc.ReceivableTypes(), covered(typ))
		}
	}
}
