package workflow

import (
	"context"

	"github.com/cancuoc/cancuoc"
)

// QueueCount is the size of actor's queue: the steps waiting (pending or
// claimed) for actor's agency in its jurisdiction, and how many of them
// are past their due time. The rights are Queue's; the steps are counted
// by the store, not read.
func (s *Service) QueueCount(ctx context.Context, actor *cancuoc.Principal) (open, overdue int, err error) {
	const op = "workflow.QueueCount"
	if err := queueRight(op, actor); err != nil {
		return 0, 0, err
	}
	q := cancuoc.StepQuery{Agency: actor.Agency, Statuses: []cancuoc.StepStatus{cancuoc.StepPending, cancuoc.StepClaimed},
		Province: actor.Jurisdiction.Province, Commune: actor.Jurisdiction.Commune}
	open, overdue, err = s.store.CountSteps(ctx, q, s.clock())
	return open, overdue, cancuoc.WithOp(op, err)
}

// queueRight checks that actor has a queue: an active principal of a
// participating agency, in a role that acts.
func queueRight(op string, actor *cancuoc.Principal) error {
	if actor == nil || actor.Disabled {
		return unauthenticated(op)
	}
	if !agencyRoles[actor.Role] || actor.Agency == "" {
		return cancuoc.E(cancuoc.Forbidden, op, "no_agency",
			"Chỉ cơ quan tham gia liên thông có hàng đợi.", "Only a participating agency's principal has a queue.")
	}
	return nil
}
