package wallet

import (
	"path"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sdjwt"
	"github.com/cancuoc/cancuoc/statuslist"
)

// Checker verifies presented documents: the SD-JWT and its key binding
// (see sdjwt.Verify) and the document's status. Keys and Status may come
// from the platform (Service.Checker), from the network, or from files
// cached beforehand (cmd verify-doc), so that checking works offline.
type Checker struct {
	Keys sdjwt.KeyFunc
	// Status returns the status list at uri of documents issued by iss:
	// it must come from iss (signed by one of iss's keys, see
	// statuslist.Verify), never from whoever else serves that URI.
	Status func(uri, iss string) (*statuslist.List, error)
	Now    func() time.Time
	// Cache, when set, remembers verified issuer signatures briefly.
	Cache *sdjwt.SigCache
}

// Expect is what a verifier expects of a presentation.
type Expect struct {
	Nonce     string `json:"nonce,omitempty"`
	Audience  string `json:"aud,omitempty"`
	RequireKB bool   `json:"require_key_binding"`
	// MaxAge bounds the key-binding JWT's age (default 5 minutes).
	MaxAge time.Duration `json:"-"`
}

// Verdict is the outcome of a check: Valid, or the Code and messages of
// the first check that failed; with what the document disclosed.
type Verdict struct {
	Valid     bool              `json:"valid"`
	Code      string            `json:"code,omitempty"`
	MessageVI string            `json:"message_vi"`
	MessageEN string            `json:"message_en"`
	Issuer    string            `json:"issuer,omitempty"`
	VCT       string            `json:"vct,omitempty"`
	Type      string            `json:"type,omitempty"`
	NameVI    string            `json:"name_vi,omitempty"`
	NameEN    string            `json:"name_en,omitempty"`
	IssuedAt  time.Time         `json:"issued_at,omitzero"`
	ExpiresAt time.Time         `json:"expires_at,omitzero"`
	Status    string            `json:"status,omitempty"` // valid, suspended, revoked
	Claims    []LabelledClaim   `json:"claims,omitempty"`
	KB        *sdjwt.KeyBinding `json:"key_binding,omitempty"`
}

func failed(err error) *Verdict {
	v := &Verdict{Code: "internal", MessageVI: "Lỗi khi kiểm tra.", MessageEN: "The check failed."}
	if e, ok := err.(*cancuoc.Error); ok {
		v.Code, v.MessageVI, v.MessageEN = e.Code, e.MessageVI, e.MessageEN
	}
	return v
}

// Check verifies a presentation.
func (c *Checker) Check(presentation string, e Expect) *Verdict {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	r, err := sdjwt.Verify(presentation, sdjwt.VerifyOptions{Keys: c.Keys, Now: now(), RequireKB: e.RequireKB,
		Nonce: e.Nonce, Audience: e.Audience, MaxKBAge: e.MaxAge, Cache: c.Cache})
	if err != nil {
		return failed(err)
	}
	v := &Verdict{Issuer: r.Issuer, VCT: r.VCT, IssuedAt: r.IssuedAt, ExpiresAt: r.ExpiresAt, KB: r.KB, Type: path.Base(r.VCT)}
	if t, ok := Types[v.Type]; ok {
		v.NameVI, v.NameEN = t.NameVI, t.NameEN
	}
	disclosed := make(map[string]any, len(r.Disclosed))
	for _, n := range r.Disclosed {
		disclosed[n] = r.Claims[n]
	}
	v.Claims = Label(v.Type, disclosed)
	if r.Status == nil {
		v.Code, v.MessageVI, v.MessageEN = "status_missing", "Tài liệu không có tham chiếu trạng thái: không biết đã bị thu hồi hay chưa.",
			"The document has no status reference: whether it was revoked cannot be known."
		return v
	}
	if c.Status == nil {
		v.Code, v.MessageVI, v.MessageEN = "status_unavailable", "Không có danh sách trạng thái để kiểm tra.", "No status list is available to check the document's status."
		return v
	}
	l, err := c.Status(r.Status.URI, r.Issuer)
	if err != nil {
		f := failed(err)
		v.Code, v.MessageVI, v.MessageEN = "status_unavailable", "Không lấy được danh sách trạng thái: "+f.MessageVI, "The status list cannot be obtained: "+f.MessageEN
		if f.Code == "internal" {
			v.MessageEN = "The status list cannot be obtained: " + err.Error()
		}
		return v
	}
	st, err := l.Get(int(r.Status.Idx))
	if err != nil {
		v.Code, v.MessageVI, v.MessageEN = "status_index_invalid", "Chỉ số trạng thái nằm ngoài danh sách.", "The status index is outside the status list."
		return v
	}
	switch st {
	case statuslist.Valid:
		v.Valid, v.Status = true, "valid"
		v.MessageVI, v.MessageEN = "Tài liệu hợp lệ.", "The document is valid."
	case statuslist.Suspended:
		v.Status, v.Code = "suspended", "document_suspended"
		v.MessageVI, v.MessageEN = "Tài liệu đang bị tạm đình chỉ.", "The document is suspended."
	default:
		v.Status, v.Code = "revoked", "document_revoked"
		v.MessageVI, v.MessageEN = "Tài liệu đã bị thu hồi.", "The document has been revoked."
	}
	return v
}
