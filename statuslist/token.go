package statuslist

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/cancuoc/cancuoc"
)

// Typ is the JOSE typ of a Status List Token.
const Typ = "statuslist+jwt"

// Claims are a Status List Token's claims.
type Claims struct {
	Subject    string  `json:"sub"` // the list's URI, as in the documents' status.status_list.uri
	Issuer     string  `json:"iss,omitempty"`
	IssuedAt   int64   `json:"iat"`
	ExpiresAt  int64   `json:"exp,omitempty"`
	TTL        int64   `json:"ttl,omitempty"` // seconds a verifier may cache the token
	StatusList Encoded `json:"status_list"`
}

// Sign makes the token of list l, published at uri, signed ES256 by key
// (kid in the header).
func Sign(key crypto.Signer, kid, iss, uri string, l *List, iat time.Time, ttl, validity time.Duration) (string, error) {
	c := Claims{Subject: uri, Issuer: iss, IssuedAt: iat.Unix(), ExpiresAt: iat.Add(validity).Unix(),
		TTL: int64(ttl / time.Second), StatusList: l.Encode()}
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType(Typ).WithHeader("kid", kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		return "", err
	}
	obj, err := s.Sign(body)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// KeyFunc finds the signer's public key by issuer and key ID.
type KeyFunc func(iss, kid string) (*jose.JSONWebKey, error)

func bad(code, vi, en string) error {
	return cancuoc.E(cancuoc.Invalid, "statuslist.Verify", code, vi, en)
}

// Verify checks a Status List Token for a document issued by iss whose
// status_list.uri is uri: typ, the ES256 signature by one of iss's keys
// (keys is asked for iss's key, never for whoever the token claims to be
// from), an iss claim, when present, equal to iss, the subject equal to
// uri, and not expired at now. A token signed by another issuer, even one
// the verifier trusts, says nothing about iss's documents. It returns the
// claims and the decoded list.
func Verify(token, uri, iss string, keys KeyFunc, now time.Time) (*Claims, *List, error) {
	if uri == "" || iss == "" {
		return nil, nil, bad("statuslist_reference", "Thiếu URI hoặc bên cấp của danh sách trạng thái cần kiểm tra.",
			"The status list's URI and the document's issuer are both needed to check a status list token.")
	}
	if len(token) > 4*MaxBytes/3+4096 {
		return nil, nil, bad("statuslist_too_large", "Token danh sách trạng thái quá lớn.", "The status list token is too large.")
	}
	token = strings.TrimSpace(token)
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, bad("statuslist_malformed", "Token danh sách trạng thái không đúng dạng JWT.", "The status list token is not a compact JWT.")
	}
	var h struct {
		Alg, Typ, Kid string
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &h) != nil {
		return nil, nil, bad("statuslist_malformed", "Phần đầu token không hợp lệ.", "The status list token header is malformed.")
	}
	if h.Alg != "ES256" {
		return nil, nil, bad("statuslist_alg", "Token danh sách trạng thái phải ký ES256.", fmt.Sprintf("The status list token's alg %q is not accepted (ES256 only).", h.Alg))
	}
	if h.Typ != Typ {
		return nil, nil, bad("statuslist_typ", "Token không phải danh sách trạng thái (typ).", "The token's typ is not statuslist+jwt.")
	}
	key, err := keys(iss, h.Kid)
	if err != nil || key == nil {
		return nil, nil, bad("statuslist_unknown_key", "Danh sách trạng thái không được ký bằng khoá đã công bố của bên cấp tài liệu.",
			fmt.Sprintf("The status list is not signed by a key published by the document's issuer %q (kid %q).", iss, h.Kid))
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, nil, bad("statuslist_malformed", "Token danh sách trạng thái không đọc được.", "The status list token cannot be parsed.")
	}
	body, err := jws.Verify(key.Key)
	if err != nil {
		return nil, nil, bad("statuslist_signature_invalid", "Chữ ký danh sách trạng thái không hợp lệ.", "The status list token's signature does not verify.")
	}
	var c Claims
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&c); err != nil {
		return nil, nil, bad("statuslist_malformed", "Nội dung token không hợp lệ.", "The status list token payload is malformed.")
	}
	if c.Issuer != "" && c.Issuer != iss {
		return nil, nil, bad("statuslist_issuer", "Danh sách trạng thái do bên cấp khác phát hành.",
			fmt.Sprintf("The status list is issued by %q, not by the document's issuer %q.", c.Issuer, iss))
	}
	if c.Subject != uri {
		return nil, nil, bad("statuslist_subject", "Danh sách trạng thái không phải danh sách tài liệu trỏ tới.", fmt.Sprintf("The status list is %q, not the %q the document points to.", c.Subject, uri))
	}
	if c.ExpiresAt != 0 && !now.Before(time.Unix(c.ExpiresAt, 0)) {
		return nil, nil, bad("statuslist_expired", "Danh sách trạng thái đã hết hạn: cần tải bản mới.", "The status list token has expired: fetch a fresh one.")
	}
	l, err := Decode(c.StatusList)
	if err != nil {
		return nil, nil, err
	}
	return &c, l, nil
}
