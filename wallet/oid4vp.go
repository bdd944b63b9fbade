package wallet

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"github.com/cancuoc/cancuoc/internal/json"
	"slices"
	"time"

	"github.com/cancuoc/cancuoc"
)

// VPRequest is a verifier's request for a presentation, in the style of
// OpenID for Verifiable Presentations with response_mode direct_post: the
// verifier creates it (a nonce, its client_id as the audience, what it
// wants); the wallet reads it, presents, and posts the vp_token to the
// response_uri; the verifier reads the verdict. A request is answered
// once: a second response is refused, so a captured vp_token cannot be
// replayed to it; only a conclusive answer (see RespondVP) or the
// verifier's cancellation ends it.
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

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// view turns a stored request into what the API shows.
func (s *Service) vpView(r *cancuoc.PresentationRequest) *VPRequest {
	q := &VPRequest{ID: r.ID, ClientID: r.ClientID, Nonce: r.Nonce, ResponseMode: "direct_post",
		ResponseURI: s.cfg.BaseURL + "/v1/verify/requests/" + r.ID + "/response", Type: r.Type, VCT: s.VCT(r.Type),
		Claims: r.Claims, ExpiresAt: r.ExpiresAt, State: "pending", createdBy: r.CreatedBy}
	if q.Claims == nil {
		q.Claims = []string{}
	}
	if r.AnsweredAt != nil {
		q.State = "answered"
	}
	if len(r.Verdict) > 0 {
		q.Verdict = &Verdict{}
		_ = json.Unmarshal(r.Verdict, q.Verdict)
	}
	return q
}

// CreateVPRequest makes a request for a document type and claims on behalf
// of a verifier (an API-key principal). The client_id (the audience the
// wallet binds to) is the principal's. Requests are stored, so any node
// takes the answer; expired ones are swept as new ones are made.
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
	now := s.clock()
	r := &cancuoc.PresentationRequest{ID: randomToken(16), ClientID: s.cfg.BaseURL + "/verifiers/" + p.ID, Nonce: randomToken(24),
		Type: typ, Claims: slices.Clone(claims), CreatedBy: p.ID, CreatedAt: now, ExpiresAt: now.Add(vpTTL)}
	if _, err := s.store.DeletePresentationRequests(ctx, now.Add(-vpTTL)); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.store.InsertPresentationRequest(ctx, r); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return s.vpView(r), nil
}

func vpNotFound(op string) error {
	return cancuoc.E(cancuoc.NotFound, op, "request_not_found", "Không có yêu cầu này hoặc yêu cầu đã hết hạn.", "No such request, or it has expired.")
}

// VPRequestFor returns a request as the wallet sees it (p nil: no
// verdict, and only while it can be answered), or with its verdict for
// the verifier who made it.
func (s *Service) VPRequestFor(ctx context.Context, p *cancuoc.Principal, id string) (*VPRequest, error) {
	const op = "wallet.VPRequest"
	r, err := s.store.PresentationRequest(ctx, id)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil, vpNotFound(op)
	}
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	switch {
	case p == nil && s.now().After(r.ExpiresAt):
		return nil, vpNotFound(op)
	case p != nil && p.ID != r.CreatedBy:
		return nil, vpNotFound(op)
	}
	q := s.vpView(r)
	if p == nil {
		q.Verdict = nil
	}
	return q, nil
}

// Answers to a request come from anyone who saw its QR code or link, so
// they are limited per source address (a fixed window, counted on the
// store's throttle counters so that every node counts), and only an answer
// that ends the request (see conclusive) uses it up.
const (
	vpAnswersPerSource = 30
	vpAnswerWindow     = time.Minute
)

// RespondVP is the response_uri: it checks the vp_token against the
// request's nonce and client_id and, when the answer is conclusive, records
// the verdict and ends the request: a second answer is refused (claimed
// atomically after the check, so two valid answers racing cannot both
// land). An answer that is not conclusive (garbage, a signature that does
// not verify, another request's nonce) is told its verdict and leaves the
// request pending for the real holder, so a stranger cannot burn it.
// source is the poster's address, for the rate limit ("" skips it).
func (s *Service) RespondVP(ctx context.Context, id, vpToken, source string) (*Verdict, error) {
	const op = "wallet.RespondVP"
	r, err := s.store.PresentationRequest(ctx, id)
	if cancuoc.KindOf(err) == cancuoc.NotFound || (err == nil && s.now().After(r.ExpiresAt)) {
		return nil, vpNotFound(op)
	}
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if r.AnsweredAt != nil {
		return nil, vpAnswered(op)
	}
	if err := s.allowAnswer(ctx, op, source); err != nil {
		return nil, err
	}
	v := s.Checker(ctx).Check(vpToken, Expect{Nonce: r.Nonce, Audience: r.ClientID, RequireKB: true})
	s.matchRequest(r, v)
	if !conclusive(v) {
		return v, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.store.ClaimPresentationRequest(ctx, id, s.clock()); err != nil {
		if cancuoc.KindOf(err) == cancuoc.Conflict {
			return nil, vpAnswered(op)
		}
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.store.SetPresentationVerdict(ctx, id, raw); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return v, nil
}

// matchRequest fails a verdict whose document is not of the requested
// type or lacks a requested claim.
func (s *Service) matchRequest(r *cancuoc.PresentationRequest, v *Verdict) {
	if !v.Valid {
		return
	}
	if v.VCT != s.VCT(r.Type) {
		v.Valid, v.Code = false, "type_mismatch"
		v.MessageVI, v.MessageEN = "Tài liệu không phải loại được yêu cầu.", "The document is not of the requested type."
		return
	}
	for _, want := range r.Claims {
		if !slices.ContainsFunc(v.Claims, func(c LabelledClaim) bool { return c.Name == want }) {
			v.Valid, v.Code = false, "claim_not_disclosed"
			v.MessageVI, v.MessageEN = "Thiếu trường được yêu cầu: "+want+".", "A requested claim was not disclosed: "+want+"."
			return
		}
	}
}

// conclusive says whether a verdict answers its request for good: the
// document's issuer signature and the holder's key binding to this very
// request (its nonce and client_id, fresh) verified, so the answer came
// from a holder who meant it, whatever the document's status, type or
// claims. Anything less may be a stranger's post and must not end the
// request; nor may a status list that could not be read (our fault, and
// passing).
func conclusive(v *Verdict) bool {
	return v.KB != nil && v.Code != "status_unavailable"
}

func vpAnswered(op string) error {
	return cancuoc.E(cancuoc.Conflict, op, "request_answered", "Yêu cầu này đã được trả lời.", "This request has already been answered.")
}

// allowAnswer counts one answer from source and refuses it, with the time
// to wait, beyond vpAnswersPerSource a window. The counter's key is an
// HMAC of the address, so the table holds no addresses.
func (s *Service) allowAnswer(ctx context.Context, op, source string) error {
	if source == "" {
		return nil
	}
	m := hmac.New(sha256.New, s.limitKey)
	m.Write([]byte(source))
	now := s.clock()
	start := now.Truncate(vpAnswerWindow)
	t, err := s.store.AddFailure(ctx, "wallet-vp:"+hex.EncodeToString(m.Sum(nil)[:16]), now, start)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	if t.Failures <= vpAnswersPerSource {
		return nil
	}
	e := cancuoc.E(cancuoc.TooManyRequests, op, "vp_rate_limited",
		"Quá nhiều câu trả lời từ địa chỉ này: hãy thử lại sau một phút.",
		"Too many answers from this address: try again in a minute.")
	e.RetryAfter = start.Add(vpAnswerWindow).Sub(now)
	return e
}

// CancelVPRequest ends a pending request on behalf of the verifier who made
// it (the wallet can no longer answer it); its verdict says "cancelled".
func (s *Service) CancelVPRequest(ctx context.Context, p *cancuoc.Principal, id string) (*VPRequest, error) {
	const op = "wallet.CancelVPRequest"
	r, err := s.store.PresentationRequest(ctx, id)
	if cancuoc.KindOf(err) == cancuoc.NotFound || (err == nil && (p == nil || p.ID != r.CreatedBy)) {
		return nil, vpNotFound(op)
	}
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.store.ClaimPresentationRequest(ctx, id, s.clock()); err != nil {
		if cancuoc.KindOf(err) == cancuoc.Conflict {
			return nil, vpAnswered(op)
		}
		return nil, cancuoc.WithOp(op, err)
	}
	raw, _ := json.Marshal(&Verdict{Code: "cancelled", MessageVI: "Bên kiểm tra đã huỷ yêu cầu.", MessageEN: "The verifier cancelled the request."})
	if err := s.store.SetPresentationVerdict(ctx, id, raw); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return s.VPRequestFor(ctx, p, id)
}
