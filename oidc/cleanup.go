package oidc

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Cleanup removes the authorization requests and login sessions that have
// expired. A request is kept until then even after its code was used, so
// that a replayed code is recognised; after expiry nothing needs it.
//
// A request's row outlives its expiry by sealedSkew: its sealed form
// (sealed.go) is refused once expired, and only the row's primary key
// refuses a second use of that form before then, so the row must not go
// while another node, whose clock is behind, could still take the form.
func (p *Provider) Cleanup(ctx context.Context) error {
	now := p.now()
	if err := p.store.DeleteExpiredAuthRequests(ctx, now.Add(-sealedSkew)); err != nil {
		return cancuoc.WithOp("oidc.Cleanup", err)
	}
	_, err := p.store.DeleteExpiredLoginSessions(ctx, now)
	return cancuoc.WithOp("oidc.Cleanup", err)
}

// sealedSkew is how long a request's row is kept past its expiry.
const sealedSkew = 5 * time.Minute

// RunCleanup calls Cleanup every interval until ctx ends. Every node may
// run it: the deletes are idempotent.
func (p *Provider) RunCleanup(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := p.Cleanup(ctx); err != nil && ctx.Err() == nil {
				p.log.Error("removing expired OpenID requests and sessions", "err", err)
			}
		}
	}
}
