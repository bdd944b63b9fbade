package oidc

import (
	"context"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// clientCacheTTL bounds how long a node uses a client registration it has
// read: a login reads its client a dozen times (authorize, pages, consent,
// token, userinfo, every access record's purpose), and the profile of the
// login benchmark showed those reads as the largest single cost. A change
// to a registration reaches every node within this time.
const clientCacheTTL = 30 * time.Second

// clientCache keeps registered clients by ID. Only clients that exist are
// kept, so unknown IDs from requests cannot fill it.
type clientCache struct {
	mu sync.Mutex
	m  map[string]cachedClient
}

type cachedClient struct {
	c  *cancuoc.Client
	at time.Time
}

// client returns a registered client, from the cache when fresh; a copy,
// so that no caller can change what others see. NotFound if absent.
func (p *Provider) client(ctx context.Context, id string) (*cancuoc.Client, error) {
	now := time.Now()
	p.clients.mu.Lock()
	e, ok := p.clients.m[id]
	p.clients.mu.Unlock()
	if !ok || now.Sub(e.at) > clientCacheTTL {
		c, err := p.store.Client(ctx, id)
		if err != nil {
			return nil, err
		}
		e = cachedClient{c: c, at: now}
		p.clients.mu.Lock()
		if p.clients.m == nil {
			p.clients.m = map[string]cachedClient{}
		}
		p.clients.m[id] = e
		p.clients.mu.Unlock()
	}
	c := *e.c
	return &c, nil
}
