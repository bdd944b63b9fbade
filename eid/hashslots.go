package eid

import (
	"context"
	"runtime"

	"github.com/cancuoc/cancuoc"
)

// hashSlots bounds the argon2id computations running at once to the
// processors there are. A hash holds its memory (19 MiB by default) for
// its whole run, so a burst of logins would otherwise need memory in
// proportion to the burst, and every login in it would finish late, since
// the processors are shared; with the slots a burst waits in line and
// each hash runs at full speed. Measured in bench/oidc.sh: 8 logins at
// once on 2 cores took seconds each without the bound.
type hashSlots chan struct{}

func newHashSlots() hashSlots { return make(hashSlots, runtime.GOMAXPROCS(0)) }

// do runs fn in a slot, or gives up when ctx ends first.
func (h hashSlots) do(ctx context.Context, op string, fn func()) error {
	select {
	case h <- struct{}{}:
	case <-ctx.Done():
		return cancuoc.E(cancuoc.Unavailable, op, "busy", "Hệ thống đang bận; vui lòng thử lại.",
			"The service is busy; try again.")
	}
	defer func() { <-h }()
	fn()
	return nil
}

// hash makes a new password hash in a slot.
func (s *Service) hash(ctx context.Context, op, password string) (string, error) {
	var (
		h   string
		err error
	)
	if serr := s.slots.do(ctx, op, func() { h, err = HashPassword(password, s.cfg.Password) }); serr != nil {
		return "", serr
	}
	return h, err
}
