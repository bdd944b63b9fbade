// Package sdjwt issues, presents and verifies Selective Disclosure JWTs
// (RFC 9901) in the SD-JWT VC profile (draft-ietf-oauth-sd-jwt-vc: media
// type dc+sd-jwt, vct, cnf, status).
//
// Issuing makes every claim but the registered ones (iss, iat, exp, vct,
// cnf, status…) a salted disclosure; presenting keeps the disclosures the
// holder chooses and appends a key-binding JWT (kb+jwt) over them; verifying
// checks the issuer's ES256 signature, every disclosure against the signed
// digests and the key binding, and names precisely what failed (the Code of
// the returned *cancuoc.Error). JWS and JWK handling is go-jose's; the SD-JWT
// processing is ours, tested against the RFC's own examples and, for
// interoperability, against an independent Go implementation.
package sdjwt

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/cancuoc/cancuoc"
)

// Media types (JOSE typ header values).
const (
	TypVC = "dc+sd-jwt" // an SD-JWT VC
	TypKB = "kb+jwt"    // a key-binding JWT
)

// HashAlg is the only digest algorithm issued and accepted (_sd_alg).
const HashAlg = "sha-256"

// Limits that bound the work an attacker's input can cause.
const (
	MaxLen         = 256 << 10 // a whole SD-JWT, in bytes
	MaxDisclosures = 256
	maxDepth       = 16 // nesting of objects and arrays while processing
)

// Failure codes: the Code of the *cancuoc.Error a failed verification
// returns, so callers (and the verifier page) say exactly what failed.
const (
	CodeMalformed           = "sdjwt_malformed"
	CodeTooLarge            = "sdjwt_too_large"
	CodeAlgNone             = "sdjwt_alg_none"
	CodeAlgUnsupported      = "sdjwt_alg_unsupported"
	CodeTypWrong            = "sdjwt_typ_wrong"
	CodeUnknownKey          = "sdjwt_unknown_key"
	CodeSignature           = "sdjwt_signature_invalid"
	CodeHashAlg             = "sdjwt_hash_alg_unsupported"
	CodeDisclosureMalformed = "sdjwt_disclosure_malformed"
	CodeDisclosureDuplicate = "sdjwt_disclosure_duplicate"
	CodeDisclosureUnref     = "sdjwt_disclosure_unreferenced"
	CodeDigestDuplicate     = "sdjwt_digest_duplicate"
	CodeClaimConflict       = "sdjwt_claim_conflict"
	CodeExpired             = "sdjwt_expired"
	CodeNotYetValid         = "sdjwt_not_yet_valid"
	CodeIssuerWrong         = "sdjwt_issuer_wrong"
	CodeVCTMissing          = "sdjwt_vct_missing"
	CodeKBMissing           = "sdjwt_kb_missing"
	CodeKBUnexpected        = "sdjwt_kb_unexpected"
	CodeKBMalformed         = "sdjwt_kb_malformed"
	CodeKBSignature         = "sdjwt_kb_signature_invalid"
	CodeKBNonce             = "sdjwt_kb_nonce_mismatch"
	CodeKBAudience          = "sdjwt_kb_audience_mismatch"
	CodeKBStale             = "sdjwt_kb_stale"
	CodeKBSDHash            = "sdjwt_kb_sd_hash_mismatch"
	CodeCnfMissing          = "sdjwt_cnf_missing"
	// CodeNotDisclosable: a claim the SD-JWT VC profile wants in the clear
	// (iss, nbf, exp, cnf, vct, status) came from a disclosure, so a
	// holder could have left it out (an expiry, a status) unnoticed.
	CodeNotDisclosable = "sdjwt_claim_not_disclosable"
)

// fail builds the error of a failed verification: Invalid, because the
// presented token, not the caller's credentials, is wrong.
func fail(code, vi, en string) error {
	return cancuoc.E(cancuoc.Invalid, "sdjwt.Verify", code, vi, en)
}

// Code returns the failure code of err ("" when err is not one of ours).
func Code(err error) string {
	var e *cancuoc.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

var b64 = base64.RawURLEncoding

// Digest is the base64url SHA-256 of a disclosure (or of an SD-JWT for
// sd_hash), computed over the ASCII of its encoding as the RFC requires.
func Digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return b64.EncodeToString(h[:])
}

// Disclosure is one decoded disclosure: [salt, name, value] for an object
// property, [salt, value] for an array element (Name empty, Element true).
type Disclosure struct {
	Encoded string
	Salt    string
	Name    string
	Value   json.RawMessage
	Element bool
}

// Token is an SD-JWT split into its parts, not yet verified.
type Token struct {
	JWT         string // the issuer-signed JWT
	Disclosures []string
	KB          string // the key-binding JWT; empty when absent
}

// String serialises t in compact form: JWT~d1~…~dn~[KB].
func (t *Token) String() string {
	var b strings.Builder
	b.WriteString(t.JWT)
	b.WriteByte('~')
	for _, d := range t.Disclosures {
		b.WriteString(d)
		b.WriteByte('~')
	}
	b.WriteString(t.KB)
	return b.String()
}

// SDHash is the sd_hash a key-binding JWT must carry for t: the digest of
// everything before the KB-JWT.
func (t *Token) SDHash() string {
	c := *t
	c.KB = ""
	return Digest(c.String())
}

// Split parses the compact serialisation. It checks the shape only (three
// dot-separated parts for each JWT, base64url disclosures, bounded sizes);
// Verify checks the rest.
func Split(s string) (*Token, error) {
	if len(s) > MaxLen {
		return nil, fail(CodeTooLarge, "Chuỗi SD-JWT quá dài.", "The SD-JWT is too long.")
	}
	s = strings.TrimSpace(s)
	parts := strings.Split(s, "~")
	if len(parts) < 2 {
		return nil, fail(CodeMalformed, "Không phải SD-JWT: thiếu dấu ~ sau JWT của bên cấp.",
			"Not an SD-JWT: the issuer-signed JWT must be followed by '~'.")
	}
	if len(parts)-2 > MaxDisclosures {
		return nil, fail(CodeTooLarge, "Quá nhiều phần tiết lộ.", "Too many disclosures.")
	}
	t := &Token{JWT: parts[0], KB: parts[len(parts)-1]}
	if !isCompactJWS(t.JWT) {
		return nil, fail(CodeMalformed, "JWT của bên cấp không đúng dạng (ba phần base64url ngăn bởi dấu chấm).",
			"The issuer-signed JWT is malformed (expected three base64url parts separated by dots).")
	}
	if t.KB != "" && !isCompactJWS(t.KB) {
		return nil, fail(CodeKBMalformed, "JWT ràng buộc khoá không đúng dạng.", "The key-binding JWT is malformed.")
	}
	for _, d := range parts[1 : len(parts)-1] {
		if d == "" || !isB64(d) {
			return nil, fail(CodeDisclosureMalformed, "Một phần tiết lộ rỗng hoặc không phải base64url.",
				"A disclosure is empty or not base64url.")
		}
		t.Disclosures = append(t.Disclosures, d)
	}
	return t, nil
}

func isCompactJWS(s string) bool {
	p := strings.Split(s, ".")
	if len(p) != 3 || p[0] == "" || p[1] == "" || p[2] == "" {
		return false
	}
	return isB64(p[0]) && isB64(p[1]) && isB64(p[2])
}

func isB64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ParseDisclosure decodes one disclosure.
func ParseDisclosure(enc string) (*Disclosure, error) {
	bad := func(why string) error {
		return fail(CodeDisclosureMalformed, "Phần tiết lộ không hợp lệ: "+why, "Malformed disclosure: "+why)
	}
	raw, err := b64.DecodeString(enc)
	if err != nil {
		return nil, bad("base64url")
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(raw, &arr); err != nil {
		return nil, bad("not a JSON array")
	}
	d := &Disclosure{Encoded: enc}
	switch len(arr) {
	case 2:
		d.Element, d.Value = true, arr[1]
	case 3:
		if err := unmarshalString(arr[1], &d.Name); err != nil {
			return nil, bad("claim name is not a string")
		}
		if d.Name == "_sd" || d.Name == "..." || d.Name == "_sd_alg" {
			return nil, bad("reserved claim name")
		}
		d.Value = arr[2]
	default:
		return nil, bad("expected 2 or 3 elements")
	}
	if err := unmarshalString(arr[0], &d.Salt); err != nil {
		return nil, bad("salt is not a string")
	}
	return d, nil
}

// unmarshalString decodes a JSON string, without encoding/json when it
// has no escapes (see plainString).
func unmarshalString(raw []byte, out *string) error {
	if str, ok := plainString(raw); ok {
		*out = str
		return nil
	}
	if len(raw) == 0 || raw[0] != '"' {
		return errors.New("not a JSON string") // null would decode to ""
	}
	return json.Unmarshal(raw, out)
}
