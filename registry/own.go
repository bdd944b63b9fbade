package registry

import (
	"context"

	"github.com/cancuoc/cancuoc"
)

// ActReadOwn is a citizen reading their own record.
const ActReadOwn Action = "citizen.read_own"

// Own returns the record of the citizen principal p (see
// cancuoc.CitizenPrincipal): every field, since it is their own data. The
// reading is logged like any other, so it shows in their access log.
// Forbidden "not_own_record" for any other principal.
func (s *Service) Own(ctx context.Context, p *cancuoc.Principal) (*cancuoc.Citizen, error) {
	const op = "registry.Own"
	pin, ok := cancuoc.SelfPIN(p)
	if !ok {
		return nil, cancuoc.E(cancuoc.Forbidden, op, "not_own_record",
			"Chỉ công dân đã đăng nhập mới xem được hồ sơ của chính mình.", "Only a signed-in citizen may read their own record.")
	}
	c, err := s.store.Citizen(ctx, pin)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.logAccess(ctx, p, ActReadOwn, pin, []string{"*"}, "Công dân xem hồ sơ của mình", "ok"); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return c, nil
}
