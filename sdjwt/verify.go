package sdjwt

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"
)

// KeyFunc finds the issuer's public key for an issuer and key ID. It
// returns an error (any) when the key is unknown; Verify reports that as
// CodeUnknownKey.
type KeyFunc func(iss, kid string) (*jose.JSONWebKey, error)

// VerifyOptions says what a verification expects.
type VerifyOptions struct {
	Keys KeyFunc
	Now  time.Time
	// Typ is the typ header the issuer-signed JWT must carry; TypVC when
	// empty. "-" accepts any (the RFC's generic examples use their own).
	Typ string
	// Issuer, when set, is the iss the document must have.
	Issuer string
	// RequireKB demands a key-binding JWT with this Nonce and Audience,
	// issued at most MaxKBAge (default 5 minutes) ago.
	RequireKB bool
	Nonce     string
	Audience  string
	MaxKBAge  time.Duration
	// Skew tolerates clocks this far apart (default 1 minute).
	Skew time.Duration
	// Cache, when set, skips re-checking an issuer signature verified
	// recently (see SigCache).
	Cache *SigCache
}

// StatusRef is the document's entry in a Token Status List.
type StatusRef struct {
	Idx int64  `json:"idx"`
	URI string `json:"uri"`
}

// KeyBinding is what a verified key-binding JWT said.
type KeyBinding struct {
	Nonce    string    `json:"nonce"`
	Audience string    `json:"aud"`
	IssuedAt time.Time `json:"iat"`
}

// Result is a verified SD-JWT: the payload with the disclosed claims in
// place of their digests, and what the checks relied on.
type Result struct {
	Issuer    string         `json:"iss"`
	KeyID     string         `json:"kid,omitempty"`
	VCT       string         `json:"vct,omitempty"`
	IssuedAt  time.Time      `json:"iat,omitzero"`
	ExpiresAt time.Time      `json:"exp,omitzero"`
	Claims    map[string]any `json:"claims"`
	// Disclosed lists the paths of the claims that came from disclosures
	// ("given_name", "address.locality"), sorted.
	Disclosed []string    `json:"disclosed"`
	Status    *StatusRef  `json:"status,omitempty"`
	KB        *KeyBinding `json:"key_binding,omitempty"`
}

type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

func decodePart(part string, v any) error {
	raw, err := b64.DecodeString(part)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v)
}

// checkAlg refuses alg none (by name, so the failure says so) and every
// algorithm but ES256.
func checkAlg(h header, kb bool) error {
	code := CodeAlgUnsupported
	switch {
	case strings.EqualFold(h.Alg, "none"):
		code = CodeAlgNone
		if kb {
			return fail(code, "JWT ràng buộc khoá không có chữ ký (alg none).", "The key-binding JWT is unsigned (alg none).")
		}
		return fail(code, "Tài liệu không có chữ ký (alg none).", "The document is unsigned (alg none).")
	case h.Alg != string(jose.ES256):
		return fail(code, "Thuật toán chữ ký không được chấp nhận: chỉ ES256.", fmt.Sprintf("Signature algorithm %q is not accepted: only ES256.", h.Alg))
	}
	return nil
}

// Verify checks an SD-JWT (with its key-binding JWT when present or
// required) and returns its disclosed claims. Every failure is a
// *cancuoc.Error of kind Invalid whose Code (Code*) names what failed.
func Verify(s string, o VerifyOptions) (*Result, error) {
	if o.Typ == "" {
		o.Typ = TypVC
	}
	if o.MaxKBAge == 0 {
		o.MaxKBAge = 5 * time.Minute
	}
	if o.Skew == 0 {
		o.Skew = time.Minute
	}
	t, err := Split(s)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(t.JWT, ".")
	var h header
	if err := decodePart(parts[0], &h); err != nil {
		return nil, fail(CodeMalformed, "Phần đầu JWT không phải JSON.", "The JWT header is not JSON.")
	}
	if err := checkAlg(h, false); err != nil {
		return nil, err
	}
	if o.Typ != "-" && !typIs(h.Typ, o.Typ) {
		return nil, fail(CodeTypWrong, "Loại tài liệu (typ) không đúng.", fmt.Sprintf("The typ header is %q, expected %q.", h.Typ, o.Typ))
	}
	// A recently verified JWT (see SigCache) is not decoded again; its
	// issuer's key is still looked up, so an unpublished key fails.
	payload, hit := o.Cache.get(t.JWT, h.Kid, o.Now)
	var iss string
	if hit {
		iss, _ = payload["iss"].(string)
	} else {
		var unverified struct {
			Iss string `json:"iss"`
		}
		if err := decodePart(parts[1], &unverified); err != nil {
			return nil, fail(CodeMalformed, "Nội dung JWT không phải JSON.", "The JWT payload is not a JSON object.")
		}
		iss = unverified.Iss
	}
	if o.Issuer != "" && iss != o.Issuer {
		return nil, fail(CodeIssuerWrong, "Bên cấp không đúng.", fmt.Sprintf("The issuer is %q, expected %q.", iss, o.Issuer))
	}
	if o.Keys == nil {
		return nil, fail(CodeUnknownKey, "Không có khoá công khai của bên cấp.", "No issuer keys to verify with.")
	}
	key, err := o.Keys(iss, h.Kid)
	if err != nil || key == nil {
		return nil, fail(CodeUnknownKey, "Khoá ký không thuộc các khoá đã công bố của bên cấp.",
			fmt.Sprintf("The signing key (kid %q) is not among the keys published by issuer %q.", h.Kid, iss))
	}
	if !hit {
		pub, _ := key.Key.(*ecdsa.PublicKey)
		body, err := verifyES256(t.JWT, pub)
		if err != nil {
			return nil, fail(CodeSignature, "Chữ ký của bên cấp không hợp lệ: tài liệu đã bị sửa hoặc không do bên cấp này ký.",
				"The issuer's signature does not verify: the document was altered or not signed by this issuer.")
		}
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if err := d.Decode(&payload); err != nil || payload == nil {
			return nil, fail(CodeMalformed, "Nội dung JWT không phải đối tượng JSON.", "The JWT payload is not a JSON object.")
		}
		o.Cache.put(t.JWT, h.Kid, payload, o.Now)
	}
	if alg, ok := payload["_sd_alg"]; ok && alg != HashAlg {
		return nil, fail(CodeHashAlg, "Thuật toán băm _sd_alg không được hỗ trợ.", "The _sd_alg digest algorithm is not supported (only sha-256).")
	}
	claims, disclosed, err := process(payload, t.Disclosures)
	if err != nil {
		return nil, err
	}
	r := &Result{KeyID: h.Kid, Claims: claims, Disclosed: disclosed}
	if err := r.readRegistered(claims, o); err != nil {
		return nil, err
	}
	if t.KB == "" {
		if o.RequireKB {
			return nil, fail(CodeKBMissing, "Thiếu JWT ràng buộc khoá của người giữ.", "The holder's key-binding JWT is missing.")
		}
		return r, nil
	}
	if r.KB, err = verifyKB(t, claims, o); err != nil {
		return nil, err
	}
	return r, nil
}

// typIs compares a typ header with the media type wanted: case
// insensitively, with the "application/" prefix optional (RFC 7515 §4.1.9).
func typIs(got, want string) bool {
	got = strings.ToLower(got)
	return strings.TrimPrefix(got, "application/") == want
}

// inTheClear are the claims the SD-JWT VC profile forbids making
// selectively disclosable (draft-ietf-oauth-sd-jwt-vc §3.2.2.2).
var inTheClear = []string{"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"}

// readRegistered reads and checks iss, iat, nbf, exp, vct and status.
func (r *Result) readRegistered(c map[string]any, o VerifyOptions) error {
	if typIs(o.Typ, TypVC) {
		for _, n := range r.Disclosed {
			if slices.Contains(inTheClear, n) {
				return fail(CodeNotDisclosable, "Trường "+n+" phải ở dạng công khai, không được là phần tiết lộ chọn lọc.",
					fmt.Sprintf("The claim %q must be in the clear, not selectively disclosable (SD-JWT VC).", n))
			}
		}
	}
	r.Issuer, _ = c["iss"].(string)
	r.VCT, _ = c["vct"].(string)
	if typIs(o.Typ, TypVC) && r.VCT == "" {
		return fail(CodeVCTMissing, "Thiếu loại tài liệu (vct).", "The document has no vct (credential type).")
	}
	for _, n := range []string{"iat", "nbf", "exp"} {
		if v, ok := c[n]; ok {
			if _, ok := numTime(v); !ok {
				return fail(CodeMalformed, "Trường thời gian "+n+" không phải số giây.", fmt.Sprintf("The %s claim is not a number of seconds (NumericDate).", n))
			}
		}
	}
	if iat, ok := numTime(c["iat"]); ok {
		r.IssuedAt = iat
	}
	if nbf, ok := numTime(c["nbf"]); ok && o.Now.Add(o.Skew).Before(nbf) {
		return fail(CodeNotYetValid, "Tài liệu chưa có hiệu lực.", "The document is not valid yet (nbf).")
	}
	if exp, ok := numTime(c["exp"]); ok {
		r.ExpiresAt = exp
		if !o.Now.Add(-o.Skew).Before(exp) {
			return fail(CodeExpired, "Tài liệu đã hết hạn.", "The document has expired (exp "+exp.UTC().Format(time.RFC3339)+").")
		}
	}
	if st, ok := c["status"].(map[string]any); ok {
		if sl, ok := st["status_list"].(map[string]any); ok {
			idx, ok1 := sl["idx"].(json.Number)
			uri, ok2 := sl["uri"].(string)
			n, err := idx.Int64()
			if !ok1 || !ok2 || err != nil || n < 0 || uri == "" {
				return fail(CodeMalformed, "Tham chiếu danh sách trạng thái không hợp lệ.", "The status_list reference (idx, uri) is malformed.")
			}
			r.Status = &StatusRef{Idx: n, URI: uri}
		}
	}
	return nil
}

func numTime(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0).UTC(), true
}

// verifyKB checks the key-binding JWT against the holder key in cnf.
func verifyKB(t *Token, claims map[string]any, o VerifyOptions) (*KeyBinding, error) {
	parts := strings.Split(t.KB, ".")
	var h header
	if err := decodePart(parts[0], &h); err != nil {
		return nil, fail(CodeKBMalformed, "Phần đầu JWT ràng buộc khoá không phải JSON.", "The key-binding JWT header is not JSON.")
	}
	if err := checkAlg(h, true); err != nil {
		return nil, err
	}
	if !typIs(h.Typ, TypKB) {
		return nil, fail(CodeKBMalformed, "JWT ràng buộc khoá phải có typ kb+jwt.", "The key-binding JWT must have typ kb+jwt.")
	}
	cnf, _ := claims["cnf"].(map[string]any)
	jwk, _ := cnf["jwk"].(map[string]any)
	if jwk == nil {
		return nil, fail(CodeCnfMissing, "Tài liệu không gắn với khoá của người giữ (thiếu cnf.jwk).", "The document is not bound to a holder key (no cnf.jwk).")
	}
	holder, err := parseP256(jwk)
	if err != nil {
		return nil, fail(CodeCnfMissing, "Khoá của người giữ (cnf.jwk) không phải khoá công khai EC P-256 hợp lệ.", "The holder key (cnf.jwk) is not a valid EC P-256 public key.")
	}
	body, err := verifyES256(t.KB, holder)
	if err != nil {
		return nil, fail(CodeKBSignature, "Chữ ký ràng buộc khoá không khớp khoá của người giữ: bản trình bày không do người giữ tài liệu tạo.",
			"The key-binding signature does not verify with the holder's key: the presentation was not made by the document's holder.")
	}
	var kb struct {
		Nonce  string      `json:"nonce"`
		Aud    string      `json:"aud"`
		IAT    json.Number `json:"iat"`
		SDHash string      `json:"sd_hash"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&kb); err != nil {
		return nil, fail(CodeKBMalformed, "Nội dung JWT ràng buộc khoá không hợp lệ.", "The key-binding JWT payload is malformed.")
	}
	iat, ok := numTime(kb.IAT)
	if !ok {
		return nil, fail(CodeKBMalformed, "JWT ràng buộc khoá thiếu iat.", "The key-binding JWT has no iat.")
	}
	// All four are REQUIRED (RFC 9901 §4.3), whatever this verifier expects.
	if kb.Nonce == "" || kb.Aud == "" || kb.SDHash == "" {
		return nil, fail(CodeKBMalformed, "JWT ràng buộc khoá thiếu nonce, aud hoặc sd_hash.", "The key-binding JWT lacks nonce, aud or sd_hash (all are required).")
	}
	if kb.SDHash != t.SDHash() {
		return nil, fail(CodeKBSDHash, "sd_hash không khớp: các phần tiết lộ đã bị thêm, bớt hoặc thay đổi sau khi người giữ ký.",
			"sd_hash does not match: disclosures were added, removed or changed after the holder signed.")
	}
	if o.Nonce != "" || o.RequireKB {
		if kb.Nonce != o.Nonce {
			return nil, fail(CodeKBNonce, "Mã nonce không khớp yêu cầu của bên kiểm tra: bản trình bày cũ bị dùng lại hoặc dành cho yêu cầu khác.",
				"The nonce does not match the verifier's request: a replayed presentation or one made for another request.")
		}
	}
	if o.Audience != "" || o.RequireKB {
		if kb.Aud != o.Audience {
			return nil, fail(CodeKBAudience, "Bản trình bày dành cho bên kiểm tra khác (aud).", fmt.Sprintf("The presentation is for another verifier (aud %q).", kb.Aud))
		}
	}
	if iat.After(o.Now.Add(o.Skew)) || iat.Before(o.Now.Add(-o.MaxKBAge)) {
		return nil, fail(CodeKBStale, "Bản trình bày không còn mới (iat quá cũ hoặc ở tương lai).",
			"The presentation is not fresh (its iat is too old or in the future).")
	}
	return &KeyBinding{Nonce: kb.Nonce, Audience: kb.Aud, IssuedAt: iat}, nil
}

// HolderKey returns the holder's public key from cnf.jwk.
func HolderKey(claims map[string]any) (*jose.JSONWebKey, error) {
	cnf, _ := claims["cnf"].(map[string]any)
	raw, err := json.Marshal(cnf["jwk"])
	if cnf == nil || cnf["jwk"] == nil || err != nil {
		return nil, fail(CodeCnfMissing, "Tài liệu không gắn với khoá của người giữ (thiếu cnf.jwk).", "The document is not bound to a holder key (no cnf.jwk).")
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(raw); err != nil || !k.IsPublic() || !k.Valid() {
		return nil, fail(CodeCnfMissing, "Khoá của người giữ (cnf.jwk) không hợp lệ.", "The holder key (cnf.jwk) is not a valid public key.")
	}
	return &k, nil
}

// processor replaces digests with the disclosed values (RFC 9901 §7.1).
type processor struct {
	byDigest  map[string]*Disclosure
	used      map[string]bool
	disclosed []string
}

func process(payload map[string]any, encoded []string) (map[string]any, []string, error) {
	p := &processor{byDigest: make(map[string]*Disclosure, len(encoded)), used: map[string]bool{}}
	for _, enc := range encoded {
		d, err := ParseDisclosure(enc)
		if err != nil {
			return nil, nil, err
		}
		dg := Digest(enc)
		if p.byDigest[dg] != nil {
			return nil, nil, fail(CodeDisclosureDuplicate, "Một phần tiết lộ xuất hiện hai lần.", "A disclosure appears twice.")
		}
		p.byDigest[dg] = d
	}
	out, err := p.object(payload, "", 0)
	if err != nil {
		return nil, nil, err
	}
	delete(out, "_sd_alg")
	for dg := range p.byDigest {
		if !p.used[dg] {
			return nil, nil, fail(CodeDisclosureUnref, "Có phần tiết lộ không thuộc tài liệu này (không khớp chuỗi băm nào đã ký).",
				"A disclosure does not belong to this document (its digest is not among the signed ones).")
		}
	}
	sort.Strings(p.disclosed)
	return out, p.disclosed, nil
}

// plainString decodes a JSON string without escapes directly: most claim
// values, names and salts are such strings, and the verifier's hot path
// then needs no JSON decoder for them. Anything else is left to encoding/json.
func plainString(raw []byte) (string, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return "", false
	}
	for _, c := range raw[1 : n-1] {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(raw[1 : n-1]) {
		return "", false
	}
	return string(raw[1 : n-1]), true
}

// compound says whether v holds objects or arrays to walk (a scalar is
// copied as is, without building its path).
func compound(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func (p *processor) value(v any, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fail(CodeMalformed, "Dữ liệu lồng quá sâu.", "The payload is nested too deeply.")
	}
	switch x := v.(type) {
	case map[string]any:
		return p.object(x, path, depth+1)
	case []any:
		return p.array(x, path, depth+1)
	}
	return v, nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// claim marks a digest used; a digest met twice is refused.
func (p *processor) claim(v any) (*Disclosure, error) {
	dg, ok := v.(string)
	if !ok {
		return nil, fail(CodeMalformed, "Chuỗi băm trong _sd phải là chuỗi.", "A digest in _sd must be a string.")
	}
	if p.used[dg] {
		return nil, fail(CodeDigestDuplicate, "Một chuỗi băm xuất hiện hai lần.", "A digest appears more than once.")
	}
	p.used[dg] = true
	return p.byDigest[dg], nil
}

func decodeValue(raw json.RawMessage) (any, error) {
	if str, ok := plainString(raw); ok {
		return str, nil
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, fail(CodeDisclosureMalformed, "Giá trị tiết lộ không hợp lệ.", "A disclosed value is not valid JSON.")
	}
	return v, nil
}

func (p *processor) object(m map[string]any, path string, depth int) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k == "_sd" {
			continue
		}
		if k == "_sd_alg" && path != "" {
			return nil, fail(CodeMalformed, "_sd_alg chỉ được ở cấp cao nhất.", "_sd_alg may appear only at the top level of the payload.")
		}
		if !compound(v) {
			out[k] = v
			continue
		}
		pv, err := p.value(v, join(path, k), depth)
		if err != nil {
			return nil, err
		}
		out[k] = pv
	}
	sd, ok := m["_sd"]
	if !ok {
		return out, nil
	}
	list, ok := sd.([]any)
	if !ok {
		return nil, fail(CodeMalformed, "_sd phải là mảng.", "_sd must be an array.")
	}
	for _, x := range list {
		d, err := p.claim(x)
		if err != nil {
			return nil, err
		}
		if d == nil {
			continue // a decoy, or a claim the holder did not disclose
		}
		if d.Element {
			return nil, fail(CodeDisclosureMalformed, "Phần tiết lộ phần tử mảng được tham chiếu như thuộc tính.", "An array-element disclosure is referenced from _sd.")
		}
		if _, clash := out[d.Name]; clash {
			return nil, fail(CodeClaimConflict, "Thuộc tính tiết lộ trùng tên với thuộc tính đã có.", fmt.Sprintf("Disclosed claim %q already exists.", d.Name))
		}
		v, err := decodeValue(d.Value)
		if err != nil {
			return nil, err
		}
		name := join(path, d.Name)
		if out[d.Name], err = p.value(v, name, depth); err != nil {
			return nil, err
		}
		p.disclosed = append(p.disclosed, name)
	}
	return out, nil
}

func (p *processor) array(a []any, path string, depth int) ([]any, error) {
	out := make([]any, 0, len(a))
	for i, x := range a {
		m, ok := x.(map[string]any)
		if dg, ref := m["..."]; ok && ref && len(m) == 1 {
			d, err := p.claim(dg)
			if err != nil {
				return nil, err
			}
			if d == nil {
				continue
			}
			if !d.Element {
				return nil, fail(CodeDisclosureMalformed, "Phần tiết lộ thuộc tính được tham chiếu như phần tử mảng.", "A property disclosure is referenced as an array element.")
			}
			v, err := decodeValue(d.Value)
			if err != nil {
				return nil, err
			}
			if x, err = p.value(v, fmt.Sprintf("%s[%d]", path, i), depth); err != nil {
				return nil, err
			}
			p.disclosed = append(p.disclosed, fmt.Sprintf("%s[%d]", path, i))
			out = append(out, x)
			continue
		}
		if !compound(x) {
			out = append(out, x)
			continue
		}
		v, err := p.value(x, fmt.Sprintf("%s[%d]", path, i), depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
