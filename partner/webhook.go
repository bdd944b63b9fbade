package partner

import (
	"context"
	"slices"

	"github.com/cancuoc/cancuoc"
)

// webhookTypePrefixes are the beginnings of the event types a partner's
// policy may name for webhooks (checked in validatePolicy): the registry's
// events about a citizen and its bulk imports.
var webhookTypePrefixes = []string{"citizen.", "citizens."}

// ReceivableTypes are the event types any partner could ever receive, as
// the event dispatcher takes them ("citizen.>"): whatever a policy may
// name (webhookTypePrefixes). The webhook fan-out subscribes to these
// only, so the stream does not hand it the other events to skip.
func (s *Service) ReceivableTypes() []string {
	out := make([]string, len(webhookTypePrefixes))
	for i, p := range webhookTypePrefixes {
		out[i] = p + ">"
	}
	return out
}

// MayReceive tells the webhook fan-out whether a partner may receive events
// of a type: its policy must allow subscriptions and name the type.
func (s *Service) MayReceive(ctx context.Context, partnerID, eventType string) error {
	const op = "partner.MayReceive"
	p, err := s.Check(ctx, partnerID, cancuoc.OpSubscribe)
	if err != nil {
		return err
	}
	if !slices.Contains(p.Policy.EventTypes, eventType) {
		return cancuoc.E(cancuoc.Forbidden, op, "event_type_not_allowed",
			"Chính sách của đối tác không cho nhận loại sự kiện "+eventType+".",
			"The partner's policy does not allow receiving events of type "+eventType+".")
	}
	return nil
}

// Fields are the parts of an event a partner's webhooks carry: the PIN only
// when its policy names the "pin" field; the version, the names of the
// changed fields and counts always (they are not personal data).
func (s *Service) Fields(ctx context.Context, partnerID string) []string {
	fields := []string{"version", "changed_fields", "count"}
	if p, err := s.partner(ctx, partnerID); err == nil && slices.Contains(p.Policy.Fields, "pin") {
		fields = append(fields, "pin")
	}
	return fields
}
