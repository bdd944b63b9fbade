// Package webhook tells partners about registry events with signed HTTP
// callbacks: subscriptions, the fan-out of outbox events into one delivery
// per subscription, and the worker that sends them with retries, in order
// per citizen, and puts what never arrives on a dead-letter list.
//
// The fan-out is a dispatch handler: for each event it writes, in one
// transaction, a delivery row per matching active subscription, keyed by
// (subscription, event ID) so a redelivered event adds nothing. Each row
// carries the payload already reduced to what the partner's Policy allows.
// The worker then claims due rows (FOR UPDATE SKIP LOCKED on PostgreSQL,
// so several nodes share the work), POSTs them signed by the Standard
// Webhooks v1a scheme (see sign.go), and records each attempt.
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Store is what the webhook service needs from the database.
type Store interface {
	cancuoc.WebhookStore
	InTx(ctx context.Context, fn func(cancuoc.Tx) error) error
}

// Config tunes the service and its worker.
type Config struct {
	FirstRetry   time.Duration // delay before the first retry (1 s)
	MaxRetry     time.Duration // the longest delay between retries (1 h)
	MaxAttempts  int           // attempts before a delivery goes to the dead-letter list (20)
	MaxAge       time.Duration // age after which a failing delivery is given up (72 h)
	Timeout      time.Duration // per HTTP request (10 s)
	Concurrency  int           // requests in flight per worker (16)
	Poll         time.Duration // how often an idle worker looks for due deliveries (1 s)
	AllowHTTPDev bool          // accept http:// URLs to localhost (development)
	// AllowNets are private networks webhooks may reach besides the public
	// internet (see reach.go); none by default.
	AllowNets []netip.Prefix
	// Now is the clock (time.Now when nil): when deliveries are due, how
	// old they are, and which signing keys are live.
	Now func() time.Time
}

// DefaultConfig is the configuration of a production server.
func DefaultConfig() Config {
	return Config{FirstRetry: time.Second, MaxRetry: time.Hour, MaxAttempts: 20, MaxAge: 72 * time.Hour,
		Timeout: 10 * time.Second, Concurrency: 16, Poll: time.Second}
}

// Service manages subscriptions and turns events into deliveries.
type Service struct {
	store  Store
	policy Policy
	keys   keySource // a fixed key (New) or the stored, rotating ones (UseStoredKeys)
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	wake   chan struct{} // tells the worker new deliveries exist
	subs   subsCache
}

// subsTTL is how long the fan-out keeps the list of subscriptions: every
// event (ten per birth procedure) needs it, and it changes rarely. This
// node's own changes clear it at once; another node's are seen within
// subsTTL, and a delivery enqueued meanwhile for a subscription deleted
// there goes with it (the deliveries of a subscription are deleted with
// it; the worker reads the subscription again before sending).
const subsTTL = time.Second

// subsCache is the fan-out's copy of the subscriptions.
type subsCache struct {
	mu   sync.Mutex
	list []*cancuoc.WebhookSubscription
	at   time.Time // monotonic; zero: empty
	gen  uint64    // bumped by each local change, so a read begun before it is not kept
}

// subscriptions returns every subscription, from the cache when fresh.
func (s *Service) subscriptions(ctx context.Context) ([]*cancuoc.WebhookSubscription, error) {
	c := &s.subs
	c.mu.Lock()
	if !c.at.IsZero() && time.Since(c.at) < subsTTL {
		list := c.list
		c.mu.Unlock()
		return list, nil
	}
	gen := c.gen
	c.mu.Unlock()
	list, err := s.store.WebhookSubscriptions(ctx, "")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.list, c.at = list, time.Now()
	}
	c.mu.Unlock()
	return list, nil
}

// forgetSubscriptions clears the cache after a change of this node.
func (s *Service) forgetSubscriptions() {
	s.subs.mu.Lock()
	s.subs.list, s.subs.at = nil, time.Time{}
	s.subs.gen++
	s.subs.mu.Unlock()
}

// New returns the service, signing with signer until UseStoredKeys makes
// it sign with the stored, rotating keys. Start its worker with Run.
func New(st Store, policy Policy, signer *Signer, cfg Config, log *slog.Logger) *Service {
	d := DefaultConfig()
	if cfg.FirstRetry <= 0 {
		cfg.FirstRetry = d.FirstRetry
	}
	if cfg.MaxRetry < cfg.FirstRetry {
		cfg.MaxRetry = max(d.MaxRetry, cfg.FirstRetry)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = d.MaxAttempts
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = d.MaxAge
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = d.Timeout
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = d.Concurrency
	}
	if cfg.Poll <= 0 {
		cfg.Poll = d.Poll
	}
	if log == nil {
		log = slog.Default()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, policy: policy, keys: staticKey{signer}, cfg: cfg, log: log, now: now,
		wake: make(chan struct{}, 1)}
}

// newID returns a time-ordered random ID: 12 hex digits of milliseconds,
// then 16 of randomness, so listings "newest first" follow the ID.
func newID(prefix string, now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s%012x%s", prefix, now.UnixMilli(), hex.EncodeToString(b[:]))
}

// NewSubscription is what a caller asks for.
type NewSubscription struct {
	PartnerID  string   `json:"partner_id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
}

// mayManage: a national administrator manages every partner's
// subscriptions; any other principal only its own (partner ID = its
// principal ID until partners have their own records).
func mayManage(p *cancuoc.Principal, partnerID string) error {
	if p != nil && !p.Disabled && (p.Role == cancuoc.RoleNationalAdmin || p.ID == partnerID) {
		return nil
	}
	return cancuoc.E(cancuoc.Forbidden, "webhook", "webhook_not_yours",
		"Chỉ quản trị viên quốc gia hoặc chính đối tác được quản lý webhook của đối tác.",
		"Only a national administrator or the partner itself may manage the partner's webhooks.")
}

// CheckURL accepts an https URL without credentials or fragment, whose
// host, when an IP address, is one webhooks may reach; http only to
// localhost when AllowHTTPDev.
func (c Config) CheckURL(raw string) error {
	if err := CheckURL(raw, c.AllowHTTPDev); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	return c.checkHost(u.Hostname())
}

// CheckURL accepts an https URL without credentials or fragment; http only
// to localhost when allowDev.
func CheckURL(raw string, allowDev bool) error {
	bad := func(code, vi, en string) error { return cancuoc.InvalidField("webhook.CheckURL", "url", code, vi, en) }
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return bad("url_invalid", "Địa chỉ webhook phải là URL tuyệt đối, ví dụ https://doitac.vn/webhook.",
			"The webhook URL must be absolute, e.g. https://partner.example/webhook.")
	}
	if u.User != nil || u.Fragment != "" {
		return bad("url_invalid", "Địa chỉ webhook không được chứa tên đăng nhập, mật khẩu hay phần #.",
			"The webhook URL may not hold a user name, password or #fragment.")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowDev && isLocal(u.Hostname()) {
			return nil
		}
	}
	return bad("url_not_https", "Địa chỉ webhook phải dùng https (http chỉ cho localhost khi phát triển).",
		"The webhook URL must use https (http only to localhost in development).")
}

func isLocal(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Subscribe creates a subscription for p (a national administrator, or the
// partner itself), after checking the URL and that the partner's policy
// allows every event type.
func (s *Service) Subscribe(ctx context.Context, p *cancuoc.Principal, ns NewSubscription) (*cancuoc.WebhookSubscription, error) {
	const op = "webhook.Subscribe"
	if ns.PartnerID == "" && p != nil {
		ns.PartnerID = p.ID
	}
	if ns.PartnerID == "" {
		return nil, cancuoc.InvalidField(op, "partner_id", "partner_id_required", "Cần mã đối tác.", "partner_id is required.")
	}
	if err := mayManage(p, ns.PartnerID); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.cfg.CheckURL(ns.URL); err != nil {
		return nil, err
	}
	if len(ns.EventTypes) == 0 || len(ns.EventTypes) > 32 {
		return nil, cancuoc.InvalidField(op, "event_types", "event_types_required",
			"Cần từ 1 đến 32 loại sự kiện, ví dụ [\"citizen.died\"].", "Give 1 to 32 event types, e.g. [\"citizen.died\"].")
	}
	types := slices.Clone(ns.EventTypes)
	slices.Sort(types)
	types = slices.Compact(types)
	for _, t := range types {
		if err := s.policy.MayReceive(ctx, ns.PartnerID, t); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
	}
	now := s.now().UTC()
	sub := &cancuoc.WebhookSubscription{ID: newID("wh_", now), PartnerID: ns.PartnerID, URL: ns.URL, EventTypes: types,
		Status: cancuoc.WebhookActive, CreatedBy: actor(p), CreatedAt: now, UpdatedAt: now}
	defer s.forgetSubscriptions()
	if err := s.store.InsertWebhookSubscription(ctx, sub); err != nil {
		return nil, err
	}
	return sub, nil
}

func actor(p *cancuoc.Principal) string {
	if p == nil {
		return "system"
	}
	return p.ID
}

// Subscriptions lists what p may see: every subscription for a national
// administrator (of one partner when partnerID is set), its own otherwise.
func (s *Service) Subscriptions(ctx context.Context, p *cancuoc.Principal, partnerID string) ([]*cancuoc.WebhookSubscription, error) {
	partnerID, err := scope(p, partnerID)
	if err != nil {
		return nil, err
	}
	return s.store.WebhookSubscriptions(ctx, partnerID)
}

// scope is the partner a listing covers for p.
func scope(p *cancuoc.Principal, partnerID string) (string, error) {
	if p != nil && p.Role == cancuoc.RoleNationalAdmin && !p.Disabled {
		return partnerID, nil
	}
	if p == nil || (partnerID != "" && partnerID != p.ID) {
		return "", mayManage(p, partnerID)
	}
	return p.ID, nil
}

// Unsubscribe deletes a subscription and its deliveries.
func (s *Service) Unsubscribe(ctx context.Context, p *cancuoc.Principal, id string) error {
	sub, err := s.store.WebhookSubscription(ctx, id)
	if err != nil {
		return err
	}
	if err := mayManage(p, sub.PartnerID); err != nil {
		return err
	}
	defer s.forgetSubscriptions()
	return s.store.DeleteWebhookSubscription(ctx, id)
}

// DeadLetters lists the deliveries given up, newest first, that p may
// see (all for a national administrator, its own for a partner).
func (s *Service) DeadLetters(ctx context.Context, p *cancuoc.Principal, partnerID, before string, limit int) ([]*cancuoc.WebhookDelivery, error) {
	partnerID, err := scope(p, partnerID)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	return s.store.WebhookDeliveries(ctx, cancuoc.DeliveryDead, partnerID, before, limit)
}

// Retry puts a dead delivery back in line (a re-drive), for the national
// administrator or the partner once the receiver is fixed.
func (s *Service) Retry(ctx context.Context, p *cancuoc.Principal, id string) (*cancuoc.WebhookDelivery, error) {
	d, err := s.store.WebhookDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := mayManage(p, d.PartnerID); err != nil {
		return nil, err
	}
	if err := s.store.RedriveWebhookDelivery(ctx, id, s.now().UTC()); err != nil {
		return nil, err
	}
	s.Notify()
	return s.store.WebhookDelivery(ctx, id)
}

// keeps tells whether the fan-out writes deliveries for sub: always while
// it is active; while it is disabled (a 410, or an operator), for MaxAge
// after it was disabled, so that enabling it again within that time loses
// nothing (the deliveries wait, pending, and are sent in order once it is
// enabled). A subscription disabled longer is taken as abandoned: events
// after that are not kept for it, so a forgotten one does not grow
// without end.
func (s *Service) keeps(sub *cancuoc.WebhookSubscription, now time.Time) bool {
	return sub.Status == cancuoc.WebhookActive || now.Sub(sub.UpdatedAt) < s.cfg.MaxAge
}

// Enable makes a disabled subscription active again, for a national
// administrator or the partner itself (once its receiver is back): its
// pending deliveries, the one the 410 answered included, are sent again,
// in order; dead letters stay where they are until re-driven. The change
// and its audit entry commit together. Enabling an active subscription
// changes nothing.
func (s *Service) Enable(ctx context.Context, p *cancuoc.Principal, id string) (*cancuoc.WebhookSubscription, error) {
	const op = "webhook.Enable"
	sub, err := s.store.WebhookSubscription(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := mayManage(p, sub.PartnerID); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if sub.Status == cancuoc.WebhookActive {
		return sub, nil
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.SetWebhookStatus(ctx, id, cancuoc.WebhookActive, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: now, Actor: actor(p), Action: "webhook.enable",
			Purpose: "subscription " + id + " of " + sub.PartnerID + ", disabled since " + sub.UpdatedAt.UTC().Format(time.RFC3339),
			Outcome: "ok"})
	})
	if err != nil {
		return nil, err
	}
	s.Notify()
	return s.store.WebhookSubscription(ctx, id)
}

// Notify wakes the worker; it never blocks.
func (s *Service) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// PayloadFields are the event fields a policy may grant, beyond the
// envelope (id, type, timestamp) every webhook has.
var PayloadFields = []string{"pin", "version", "changed_fields", "count"}

// Payload is the JSON body of a webhook, as the Standard Webhooks
// specification suggests: type, timestamp and data.
type Payload struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// payload reduces e to the allowed fields. The event's actor (an officer)
// is never sent.
func payload(e cancuoc.Event, allowed []string) ([]byte, error) {
	var data struct {
		Fields []string `json:"fields"`
		Count  *int     `json:"count"`
	}
	if len(e.Data) > 0 {
		_ = json.Unmarshal(e.Data, &data) // an event without these keys just has none to give
	}
	out := map[string]any{}
	for _, f := range allowed {
		switch f {
		case "pin":
			if e.PIN != "" {
				out[f] = e.PIN
			}
		case "version":
			if e.Version != 0 {
				out[f] = e.Version
			}
		case "changed_fields":
			if data.Fields != nil {
				out[f] = data.Fields
			}
		case "count":
			if data.Count != nil {
				out[f] = *data.Count
			}
		}
	}
	return json.Marshal(Payload{ID: e.ID, Type: e.Type, Timestamp: e.At.UTC(), Data: out})
}

// EventTypes are the event types the fan-out needs to see (HandleEvent
// skips every other): those the policy says a partner could ever receive
// (Receivable), or nil, every type, when the policy cannot tell or names
// none (which delivers nothing either way).
func (s *Service) EventTypes() []string {
	if r, ok := s.policy.(Receivable); ok {
		if ts := r.ReceivableTypes(); len(ts) > 0 {
			return ts
		}
	}
	return nil
}

// HandleEvent is the dispatch handler of the fan-out: one delivery per
// active subscription to e's type that the partner's policy still allows,
// all in one transaction, none twice for the same event. Giving a partner
// a citizen's PIN is a disclosure, so it is written to the access log in
// the same transaction.
func (s *Service) HandleEvent(ctx context.Context, e cancuoc.Event) error {
	subs, err := s.subscriptions(ctx)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	var ds []*cancuoc.WebhookDelivery
	var audits []*cancuoc.AuditEntry
	for _, sub := range subs {
		if !slices.Contains(sub.EventTypes, e.Type) || !s.keeps(sub, now) {
			continue
		}
		if s.policy.MayReceive(ctx, sub.PartnerID, e.Type) != nil {
			continue // the policy changed since the subscription: nothing leaves
		}
		fields := s.policy.Fields(ctx, sub.PartnerID)
		body, err := payload(e, fields)
		if err != nil {
			return err
		}
		ds = append(ds, &cancuoc.WebhookDelivery{ID: newID("dl_", now), SubscriptionID: sub.ID, PartnerID: sub.PartnerID,
			EventID: e.ID, EventSeq: e.Seq, EventType: e.Type, OrderKey: string(e.PIN), Payload: body,
			Status: cancuoc.DeliveryPending, NextAt: now, EnqueuedAt: now})
		if e.PIN != "" && slices.Contains(fields, "pin") {
			audits = append(audits, &cancuoc.AuditEntry{At: now, Actor: sub.PartnerID, Action: "webhook.enqueue", PIN: e.PIN,
				Fields: disclosed(fields), Purpose: "webhook " + sub.ID + " " + e.Type, Outcome: "ok"})
		}
	}
	if len(ds) == 0 {
		return nil
	}
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var fresh []*cancuoc.AuditEntry
		for i, d := range ds {
			ok, err := tx.InsertWebhookDelivery(ctx, d)
			if err != nil {
				return err
			}
			if ok {
				fresh = append(fresh, auditOf(audits, ds[i])...)
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		return tx.AppendAudit(ctx, fresh...)
	})
	if err != nil {
		return err
	}
	s.Notify()
	return nil
}

// disclosed are the field names a webhook discloses, for the access log.
func disclosed(fields []string) []string {
	out := []string{}
	for _, f := range fields {
		if f == "pin" || f == "version" || f == "changed_fields" {
			out = append(out, f)
		}
	}
	return out
}

// auditOf finds the audit entry written for delivery d (by subscription).
func auditOf(audits []*cancuoc.AuditEntry, d *cancuoc.WebhookDelivery) []*cancuoc.AuditEntry {
	for _, a := range audits {
		if a.Actor == d.PartnerID && strings.HasPrefix(a.Purpose, "webhook "+d.SubscriptionID+" ") {
			return []*cancuoc.AuditEntry{a}
		}
	}
	return nil
}
