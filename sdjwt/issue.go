package sdjwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Key is a signing key with its key ID (the JWS kid).
type Key struct {
	ID     string
	Signer crypto.Signer // an ECDSA P-256 key: everything here signs ES256
}

// jwsHeader is the protected header of what we sign (a struct, so that
// marshalling it does not sort map keys on the issuing hot path).
type jwsHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid,omitempty"`
}

// sign makes a compact JWS of payload with typ and kid in the header:
// directly for an in-memory ECDSA key (the common case, and the issuing
// hot path: one buffer for the whole token, the signature read straight
// from its DER form), through go-jose for any other crypto.Signer (an HSM).
func sign(k Key, typ string, payload []byte) (string, error) {
	if priv, ok := k.Signer.(*ecdsa.PrivateKey); ok && priv.Curve == elliptic.P256() {
		hb, err := json.Marshal(jwsHeader{Alg: "ES256", Typ: typ, Kid: k.ID})
		if err != nil {
			return "", err
		}
		hLen, pLen := b64.EncodedLen(len(hb)), b64.EncodedLen(len(payload))
		buf := make([]byte, hLen+1+pLen+1+b64.EncodedLen(64))
		b64.Encode(buf, hb)
		buf[hLen] = '.'
		b64.Encode(buf[hLen+1:], payload)
		in := hLen + 1 + pLen
		d := sha256.Sum256(buf[:in])
		der, err := ecdsa.SignASN1(rand.Reader, priv, d[:])
		if err != nil {
			return "", err
		}
		sig, err := rawSignature(der)
		if err != nil {
			return "", err
		}
		buf[in] = '.'
		b64.Encode(buf[in+1:], sig[:])
		return string(buf), nil
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	if k.ID != "" {
		opts = opts.WithHeader("kid", k.ID)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.Signer}, opts)
	if err != nil {
		return "", err
	}
	obj, err := s.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// rawSignature turns an ECDSA P-256 signature from its ASN.1 DER form
// (SEQUENCE of two INTEGERs) into the JWS form: r and s, 32 bytes each.
func rawSignature(der []byte) ([64]byte, error) {
	var out [64]byte
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() {
		return out, errors.New("sdjwt: ECDSA signature is not a DER sequence")
	}
	for i := range 2 {
		var n cryptobyte.String
		if !seq.ReadASN1(&n, asn1.INTEGER) {
			return out, errors.New("sdjwt: ECDSA signature lacks an integer")
		}
		for len(n) > 0 && n[0] == 0 {
			n = n[1:] // DER puts a zero before a high bit
		}
		if len(n) > 32 {
			return out, errors.New("sdjwt: ECDSA signature integer too long")
		}
		copy(out[32*i+32-len(n):32*i+32], n)
	}
	if !seq.Empty() {
		return out, errors.New("sdjwt: ECDSA signature has trailing data")
	}
	return out, nil
}

// Issued is a freshly issued SD-JWT with every disclosure, by claim name.
type Issued struct {
	Token       string
	Disclosures map[string]string
}

// IssueOptions tunes issuance.
type IssueOptions struct {
	// Decoys adds this many decoy digests to _sd, so a verifier cannot
	// count the claims a document holds.
	Decoys int
}

// Issue signs an SD-JWT VC. Plain claims (iss, iat, exp, vct, cnf, status:
// what a verifier needs before it can trust anything else) stay in the
// payload; every claim of disclosable becomes a salted disclosure whose
// digest is signed in _sd. The header is typ dc+sd-jwt, alg ES256.
func Issue(k Key, plain, disclosable map[string]any, o IssueOptions) (*Issued, error) {
	payload := make(map[string]any, len(plain)+2)
	for n, v := range plain {
		payload[n] = v
	}
	out := &Issued{Disclosures: make(map[string]string, len(disclosable))}
	digests := make([]string, 0, len(disclosable)+o.Decoys)
	// One read of the random source for every salt and decoy.
	salts := newSalts(len(disclosable) + o.Decoys)
	for name, v := range disclosable {
		if _, clash := plain[name]; clash || name == "_sd" || name == "_sd_alg" || name == "..." {
			return nil, fmt.Errorf("sdjwt: claim %q cannot be disclosable", name)
		}
		enc, err := encodeDisclosure(salts.next(), name, v)
		if err != nil {
			return nil, err
		}
		out.Disclosures[name] = enc
		digests = append(digests, Digest(enc))
	}
	for i := 0; i < o.Decoys; i++ {
		digests = append(digests, Digest(salts.next()))
	}
	// Sorted, so the order reveals nothing about which claim is which.
	slices.Sort(digests)
	payload["_sd"] = digests
	payload["_sd_alg"] = HashAlg
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	jwt, err := sign(k, TypVC, body)
	if err != nil {
		return nil, err
	}
	t := &Token{JWT: jwt}
	names := make([]string, 0, len(out.Disclosures))
	for n := range out.Disclosures {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t.Disclosures = append(t.Disclosures, out.Disclosures[n])
	}
	out.Token = t.String()
	return out, nil
}

// NewDisclosure encodes [salt, name, value] with a fresh 128-bit salt.
// The array is assembled around the marshalled name and value (the salt
// is base64url: nothing to escape), which saves the issuer a reflective
// pass over a []any for each of a document's claims.
func NewDisclosure(name string, value any) (string, error) {
	return encodeDisclosure(salt(), name, value)
}

func encodeDisclosure(salt, name string, value any) (string, error) {
	n, err := json.Marshal(name)
	if err != nil {
		return "", err
	}
	v, err := json.Marshal(value)
	if err != nil {
		return "", err
	}
	raw := make([]byte, 0, 32+len(n)+len(v))
	raw = append(raw, `["`...)
	raw = append(raw, salt...)
	raw = append(raw, `",`...)
	raw = append(raw, n...)
	raw = append(raw, ',')
	raw = append(raw, v...)
	raw = append(raw, ']')
	return b64.EncodeToString(raw), nil
}

func salt() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b64.EncodeToString(b)
}

// salts hands out 128-bit salts from one read of the random source.
type salts struct{ b []byte }

func newSalts(n int) *salts {
	b := make([]byte, 16*n)
	_, _ = rand.Read(b)
	return &salts{b: b}
}

func (s *salts) next() string {
	v := b64.EncodeToString(s.b[:16])
	s.b = s.b[16:]
	return v
}

// Present keeps the disclosures the holder chooses (keep is asked about
// each one) and appends a key-binding JWT signed by the holder's key over
// the verifier's nonce and audience and the sd_hash of what is presented.
// A nil holder presents without key binding.
func Present(sdjwt string, keep func(*Disclosure) bool, holder *Key, nonce, aud string, iat time.Time) (string, error) {
	t, err := Split(sdjwt)
	if err != nil {
		return "", err
	}
	p := &Token{JWT: t.JWT}
	for _, enc := range t.Disclosures {
		d, err := ParseDisclosure(enc)
		if err != nil {
			return "", err
		}
		if keep(d) {
			p.Disclosures = append(p.Disclosures, enc)
		}
	}
	if holder == nil {
		return p.String(), nil
	}
	kb, err := json.Marshal(map[string]any{"nonce": nonce, "aud": aud, "iat": iat.Unix(), "sd_hash": p.SDHash()})
	if err != nil {
		return "", err
	}
	if p.KB, err = sign(Key{Signer: holder.Signer}, TypKB, kb); err != nil {
		return "", err
	}
	return p.String(), nil
}

// Names keeps the disclosures of the named claims (for Present). Our
// documents disclose claims flat, so array elements are never needed.
func Names(names ...string) func(*Disclosure) bool {
	return func(d *Disclosure) bool { return !d.Element && slices.Contains(names, d.Name) }
}

// KBInput returns the signing input (header.payload, base64url) of the
// key-binding JWT for presented (an SD-JWT ending in '~', without key
// binding). A wallet whose key never leaves its device signs this with
// ES256 and appends input + "." + signature to presented.
func KBInput(presented, nonce, aud string, iat time.Time) (string, error) {
	t, err := Split(presented)
	if err != nil {
		return "", err
	}
	if t.KB != "" {
		return "", fail(CodeKBUnexpected, "Bản trình bày đã có JWT ràng buộc khoá.", "The presentation already has a key-binding JWT.")
	}
	h, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": TypKB})
	p, err := json.Marshal(map[string]any{"nonce": nonce, "aud": aud, "iat": iat.Unix(), "sd_hash": t.SDHash()})
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(h) + "." + b64.EncodeToString(p), nil
}
