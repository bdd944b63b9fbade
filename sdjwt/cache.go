package sdjwt

import (
	"crypto/sha256"
	"sync"
	"time"
)

// SigCache remembers issuer-signed JWTs whose signature verified, by the
// SHA-256 of their bytes, for a short while. A document is presented again
// and again with the same issuer-signed JWT (only the disclosures and the
// key binding change), so a busy verifier checks each document's issuer
// signature once per TTL instead of once per presentation. The key
// binding, disclosures, expiry and status are checked every time.
// Entries expire after TTL, so a key the issuer stops publishing stops
// being relied on within it.
type SigCache struct {
	TTL time.Duration
	Max int

	mu    sync.Mutex
	m     map[[32]byte]cached
	order [][32]byte
}

// cached is a verified JWT's decoded payload. It is shared by concurrent
// verifications, which only read it (process builds new maps).
type cached struct {
	payload map[string]any
	kid     string
	at      time.Time
}

// NewSigCache returns a cache of up to max entries living ttl.
func NewSigCache(max int, ttl time.Duration) *SigCache {
	return &SigCache{TTL: ttl, Max: max, m: make(map[[32]byte]cached, max)}
}

func (c *SigCache) get(jwt, kid string, now time.Time) (map[string]any, bool) {
	if c == nil {
		return nil, false
	}
	k := sha256.Sum256([]byte(jwt))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || e.kid != kid || now.Sub(e.at) > c.TTL || now.Before(e.at) {
		return nil, false
	}
	return e.payload, true
}

func (c *SigCache) put(jwt, kid string, payload map[string]any, now time.Time) {
	if c == nil || c.Max <= 0 {
		return
	}
	k := sha256.Sum256([]byte(jwt))
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok {
		if len(c.order) >= c.Max {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, k)
	}
	c.m[k] = cached{payload: payload, kid: kid, at: now}
}
