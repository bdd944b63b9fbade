package partner_test

import (
	"slices"
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
