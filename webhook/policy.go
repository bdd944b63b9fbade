package webhook

import (
	"context"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"os"
	"slices"

	"github.com/cancuoc/cancuoc"
)

// Policy says what a partner may receive. The partner registry (issue of
// partners and their policies) implements it at merge; StaticPolicy
// serves the command line and tests meanwhile.
type Policy interface {
	// MayReceive is nil when the partner may receive events of eventType,
	// Forbidden otherwise.
	MayReceive(ctx context.Context, partnerID, eventType string) error
	// Fields lists the event fields the partner may receive (see Payload);
	// nil or empty: none beyond the envelope.
	Fields(ctx context.Context, partnerID string) []string
}

// Receivable is a Policy that can tell ahead of any subscription which
// event types a partner could ever receive: the types themselves or
// "prefix.>" for every type under a prefix. The fan-out then takes those
// only (EventTypes).
type Receivable interface {
	ReceivableTypes() []string
}

// PartnerRule is one partner's part of a StaticPolicy.
type PartnerRule struct {
	EventTypes []string `json:"event_types"`
	Fields     []string `json:"fields"`
}

// StaticPolicy is a Policy from configuration: partner ID → rule. A
// partner it does not name may receive nothing.
type StaticPolicy map[string]PartnerRule

// MayReceive implements Policy.
func (p StaticPolicy) MayReceive(_ context.Context, partnerID, eventType string) error {
	if r, ok := p[partnerID]; ok && slices.Contains(r.EventTypes, eventType) {
		return nil
	}
	return cancuoc.E(cancuoc.Forbidden, "webhook.MayReceive", "event_type_not_allowed",
		"Đối tác không được phép nhận loại sự kiện "+eventType+"; xin cấp quyền trong chính sách đối tác.",
		"The partner may not receive events of type "+eventType+"; ask for it in the partner's policy.")
}

// Fields implements Policy.
func (p StaticPolicy) Fields(_ context.Context, partnerID string) []string {
	return p[partnerID].Fields
}

// ReceivableTypes implements Receivable: every type some partner's rule
// names.
func (p StaticPolicy) ReceivableTypes() []string {
	var out []string
	for _, r := range p {
		out = append(out, r.EventTypes...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ParsePolicy reads a StaticPolicy from JSON:
// {"partner-id": {"event_types": [...], "fields": [...]}}.
func ParsePolicy(b []byte) (StaticPolicy, error) {
	var p StaticPolicy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("webhook policy: %w (want {\"partner\": {\"event_types\": [...], \"fields\": [...]}})", err)
	}
	for id, r := range p {
		for _, f := range r.Fields {
			if !slices.Contains(PayloadFields, f) {
				return nil, fmt.Errorf("webhook policy: partner %q: unknown field %q (known: %v)", id, f, PayloadFields)
			}
		}
	}
	return p, nil
}

// LoadPolicy reads a StaticPolicy from a file.
func LoadPolicy(path string) (StaticPolicy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePolicy(b)
}
