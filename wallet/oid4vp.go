package wallet

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// VPRequest is a verifier's request for a presentation, in the style of
// OpenID for Verifiable Presentations with response_mode direct_post: the
// verifier creates it (a nonce, its client_id as the audience, what it
// wants); the wallet reads it, presents, and posts the vp_token to the
// response_uri; the verifier reads the verdict. A request is answered
// once: a second response is refused, so a captured vp_token cannot be
// replayed to it.
type VPRequest struct {
	ID           string    `json:"id"`
	ClientID     string    `json:"client_id"`
	Nonce        string    `json:"nonce"`
	ResponseMode string    `json:"response_mode"`
	ResponseURI  string    `json:"response_uri"`
	Type         string    `json:"type"`
	VCT          string    `json:"vct"`
	Claims       []string  `json:"claims"`
	ExpiresAt    time.Time `json:"expires_at"`
	State        string    `json:"state"` // pending, answered
	Verdict      *Verdict  `json:"verdict,omitempty"`
	createdBy    string
}

// vpTTL is how long a request waits for its answer.
const vpTTL = 10 * time.Minute

// vpRequests holds pending requests in memory. They live minutes and a
// lost one is simply asked again; on several nodes a verifier's requests
// must reach the node that holds them (sticky sessions) until requests
// move to the store.
type vpRequests struct {
	mu sync.Mutex
	m  map[string]*VPRequest
}

func newVPRequests() *vpRequests { return &vpRequests{m: map[string]*VPRequest{}} }

func (r *vpRequests) sweep(now time.Time) {
	for id, q := range r.m {
		if now.After(q.ExpiresAt.Add(vpTTL)) {
			delete(r.m, id)
		}
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateVPRequest makes a request for a document type and claims on behalf
// of a verifier (an API-key principal). The client_id (the audience the
// wallet binds to) is the principal's.
func (s *Service) CreateVPRequest(ctx context.Context, p *cancuoc.Principal, typ string, claims []string) (*VPRequest, error) {
	const op = "wallet.CreateVPRequest"
	t, ok := Types[typ]
	if !ok {
		return nil, cancuoc.InvalidField(op, "type", "type_unknown", "Loại tài liệu không tồn tại.", "Unknown document type "+typ+".")
	}
	for _, c := range claims {
		if t.claim(c) == nil {
			return nil, cancuoc.InvalidField(op, "claims", "claim_unknown", "Loại tài liệu không có trường "+c+".", "The type has no claim "+c+".")
		}
	}
	now := s.now()
	id := randomToken(16)
	q := &VPRequest{ID: id, ClientID: s.cfg.BaseURL + "/verifiers/" + p.ID, Nonce: randomToken(24), ResponseMode: "direct_post",
		ResponseURI: s.cfg.BaseURL + "/v1/verify/requests/" + id + "/response", Type: typ, VCT: s.VCT(typ),
		Claims: slices.Clone(claims), ExpiresAt: now.Add(vpTTL).UTC(), State: "pending", createdBy: p.ID}
	s.vp.mu.Lock()
	s.vp.sweep(now)
	s.vp.m[id] = q
	s.vp.mu.Unlock()
	c := *q
	return &c, nil
}

func vpNotFound(op string) error {
	return cancuoc.E(cancuoc.NotFound, op, "request_not_found", "Không có yêu cầu này hoặc yêu cầu đã hết hạn.", "No such request, or it has expired.")
}

// VPRequestFor returns a request as the wallet sees it (no verdict), or
// with its verdict for the verifier who made it (p non-nil).
func (s *Service) VPRequestFor(p *cancuoc.Principal, id string) (*VPRequest, error) {
	const op = "wallet.VPRequest"
	s.vp.mu.Lock()
	defer s.vp.mu.Unlock()
	q, ok := s.vp.m[id]
	if !ok || (p == nil && s.now().After(q.ExpiresAt)) {
		return nil, vpNotFound(op)
	}
	c := *q
	if p == nil || p.ID != q.createdBy {
		if p != nil {
			return nil, vpNotFound(op)
		}
		c.Verdict = nil
	}
	return &c, nil
}

// RespondVP is the response_uri: it checks the vp_token against the
// request's nonce and client_id, records the verdict, and refuses a
// second response.
func (s *Service) RespondVP(ctx context.Context, id, vpToken string) (*Verdict, error) {
	const op = "wallet.RespondVP"
	s.vp.mu.Lock()
	q, ok := s.vp.m[id]
	switch {
	case !ok || s.now().After(q.ExpiresAt):
		s.vp.mu.Unlock()
		return nil, vpNotFound(op)
	case q.State != "pending":
		s.vp.mu.Unlock()
		return nil, cancuoc.E(cancuoc.Conflict, op, "request_answered", "Yêu cầu này đã được trả lời.", "This request has already been answered.")
	}
	q.State = "answered" // claimed before checking, so racing responses cannot both count
	s.vp.mu.Unlock()
	v := s.Checker(ctx).Check(vpToken, Expect{Nonce: q.Nonce, Audience: q.ClientID, RequireKB: true})
	if v.Valid && v.VCT != q.VCT {
		v.Valid, v.Code = false, "type_mismatch"
		v.MessageVI, v.MessageEN = "Tài liệu không phải loại được yêu cầu.", "The document is not of the requested type."
	}
	if v.Valid {
		for _, want := range q.Claims {
			if !slices.ContainsFunc(v.Claims, func(c LabelledClaim) bool { return c.Name == want }) {
				v.Valid, v.Code = false, "claim_not_disclosed"
				v.MessageVI, v.MessageEN = "Thiếu trường được yêu cầu: "+want+".", "A requested claim was not disclosed: "+want+"."
				break
			}
		}
	}
	s.vp.mu.Lock()
	q.Verdict = v
	s.vp.mu.Unlock()
	return v, nil
}
