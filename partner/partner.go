// Package partner is verification for partners: ministries, banks,
// hospitals, telecoms and portals whose systems ask the registry "does this
// match?" and, with a citizen's consent, receive named fields. Each partner
// has a policy (operations, fields, purpose, legal basis, event and
// document types, a rate quota); every call is checked against it with
// Authorize, which other capabilities (bulk reconciliation, subscriptions,
// document issuance) use too. Every match, release and consent is written
// to the citizen's access log.
package partner

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
)

// Service is the partners capability.
type Service struct {
	store cancuoc.Store
	audit *audit.Writer
	now   func() time.Time
	ttl   time.Duration
	quota *limiter

	mu    sync.Mutex
	cache map[string]cached

	proj atomic.Pointer[Projection]
}

// UseProjection makes match checks answer from p once it is loaded (and
// from the store for the PINs it does not hold).
func (s *Service) UseProjection(p *Projection) { s.proj.Store(p) }

type cached struct {
	p  *cancuoc.Partner
	at time.Time
}

// Option configures a Service.
type Option func(*Service)

// WithClock sets the clock (tests move it).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithPolicyCache sets how long a node keeps a partner's policy before
// reading it again (default 5 s): a change or a disabled partner takes
// effect on every node within it. Zero reads the policy on every call.
func WithPolicyCache(d time.Duration) Option { return func(s *Service) { s.ttl = d } }

// New returns the service. Audit entries of reads (match checks, releases)
// go through w, which makes them durable before the answer leaves.
func New(store cancuoc.Store, w *audit.Writer, opts ...Option) *Service {
	s := &Service{store: store, audit: w, now: time.Now, ttl: 5 * time.Second, cache: map[string]cached{}}
	for _, o := range opts {
		o(s)
	}
	s.quota = newLimiter()
	return s
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// newID returns a random identifier that cannot be guessed (consent IDs
// are shown to partners as proof).
func newID() string {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// partner returns a partner's current record, from the cache when fresh.
func (s *Service) partner(ctx context.Context, id string) (*cancuoc.Partner, error) {
	now := s.now()
	if s.ttl > 0 {
		s.mu.Lock()
		c, ok := s.cache[id]
		s.mu.Unlock()
		if ok && now.Sub(c.at) < s.ttl {
			return c.p, nil
		}
	}
	p, err := s.store.Partner(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.ttl > 0 {
		s.mu.Lock()
		s.cache[id] = cached{p: p, at: now}
		s.mu.Unlock()
	}
	return p, nil
}

// forget drops a partner from this node's cache after a change made here.
func (s *Service) forget(id string) {
	s.mu.Lock()
	delete(s.cache, id)
	s.mu.Unlock()
}

// Check verifies that partner id is active and its policy allows op on
// every one of fields, without counting the call against the quota.
// Forbidden "partner_unknown", "partner_disabled", "operation_not_allowed"
// or "field_not_allowed" (Field names the first field outside the policy).
func (s *Service) Check(ctx context.Context, id string, op cancuoc.PartnerOp, fields ...string) (*cancuoc.Partner, error) {
	p, err := s.partner(ctx, id)
	return allowed(p, err, op, fields)
}

// allowed applies Check's rules to a partner as read (with its read error).
func allowed(p *cancuoc.Partner, err error, op cancuoc.PartnerOp, fields []string) (*cancuoc.Partner, error) {
	const o = "partner.Authorize"
	if errors.Is(err, cancuoc.ErrNotFound) {
		return nil, cancuoc.E(cancuoc.Forbidden, o, "partner_unknown",
			"Ứng dụng không gắn với đối tác nào đã đăng ký.", "The client is not linked to a registered partner.")
	}
	if err != nil {
		return nil, cancuoc.WithOp(o, err)
	}
	if p.Disabled {
		return nil, cancuoc.E(cancuoc.Forbidden, o, "partner_disabled",
			"Đối tác đã bị tạm dừng.", "The partner is disabled.")
	}
	if !slices.Contains(p.Policy.Operations, op) {
		return nil, cancuoc.E(cancuoc.Forbidden, o, "operation_not_allowed",
			fmt.Sprintf("Chính sách của đối tác không cho phép thao tác %q.", op),
			fmt.Sprintf("The partner's policy does not allow the operation %q.", op))
	}
	for _, f := range fields {
		if !slices.Contains(p.Policy.Fields, f) {
			e := cancuoc.E(cancuoc.Forbidden, o, "field_not_allowed",
				fmt.Sprintf("Trường %q nằm ngoài chính sách của đối tác.", f),
				fmt.Sprintf("The field %q is outside the partner's policy.", f))
			e.Field = f
			return nil, e
		}
	}
	return p, nil
}

// Authorize is Check, then counts the call against the partner's quota:
// TooManyRequests "quota_exceeded" (with RetryAfter, the time to wait) when
// the quota is spent. Other capabilities ask the policy through it.
func (s *Service) Authorize(ctx context.Context, id string, op cancuoc.PartnerOp, fields ...string) error {
	_, err := s.authorize(ctx, id, op, fields...)
	return err
}

func (s *Service) authorize(ctx context.Context, id string, op cancuoc.PartnerOp, fields ...string) (*cancuoc.Partner, error) {
	p, err := s.Check(ctx, id, op, fields...)
	if err != nil {
		return nil, err
	}
	if wait, ok := s.quota.take(p.ID, p.Policy.Quota, s.now()); !ok {
		return nil, quotaExceeded(wait)
	}
	return p, nil
}

func quotaExceeded(wait time.Duration) error {
	secs := int((wait + time.Second - 1) / time.Second)
	e := cancuoc.E(cancuoc.TooManyRequests, "partner.Authorize", "quota_exceeded",
		fmt.Sprintf("Đối tác đã dùng hết hạn mức yêu cầu; thử lại sau %d giây.", secs),
		fmt.Sprintf("The partner's request quota is spent; retry after %d seconds.", secs))
	e.RetryAfter = wait
	return e
}
