package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// idVerifier is the relying party's check of an ID token (a compact JWS):
// the signature by a key of the provider's published set, then issuer,
// audience, nonce and expiry. It verifies with the published keys decoded
// once, as a relying party caches them, and reads the few claims it checks
// straight from the payload, instead of go-jose's general parse (its JSON
// decoder, header sanitising and key type switches), which cost the
// generator as much as the signature itself.
type idVerifier struct {
	issuer, client string
	keys           map[string]crypto.PublicKey // by key ID: *ecdsa.PublicKey (ES256) or *rsa.PublicKey (RS256)
	now            func() time.Time
}

func newIDVerifier(set jose.JSONWebKeySet, issuer, client string) (*idVerifier, error) {
	v := &idVerifier{issuer: issuer, client: client, keys: map[string]crypto.PublicKey{}, now: time.Now}
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch pub := k.Key.(type) {
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() {
				return nil, fmt.Errorf("key %s: not P-256", k.KeyID)
			}
			v.keys[k.KeyID] = pub
		case *rsa.PublicKey:
			v.keys[k.KeyID] = pub
		}
	}
	if len(v.keys) == 0 {
		return nil, errors.New("the provider publishes no signing keys")
	}
	return v, nil
}

var b64r = base64.RawURLEncoding

// check verifies raw and its claims for nonce.
func (v *idVerifier) check(raw, nonce string) error {
	payload, err := v.verify(raw)
	if err != nil {
		return err
	}
	var c struct {
		Iss   string          `json:"iss"`
		Aud   json.RawMessage `json:"aud"`
		Nonce string          `json:"nonce"`
		Exp   int64           `json:"exp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return fmt.Errorf("id token claims: %w", err)
	}
	var aud []string
	if json.Unmarshal(c.Aud, &aud) != nil {
		var one string
		_ = json.Unmarshal(c.Aud, &one)
		aud = []string{one}
	}
	if c.Iss != v.issuer || !slices.Contains(aud, v.client) || c.Nonce != nonce || v.now().Unix() >= c.Exp {
		return fmt.Errorf("id token claims: iss %q aud %v nonce ok %v exp %d", c.Iss, aud, c.Nonce == nonce, c.Exp)
	}
	return nil
}

// verify checks the compact JWS's signature and returns its payload.
func (v *idVerifier) verify(raw string) ([]byte, error) {
	h, rest, ok1 := cutDot(raw)
	p, s, ok2 := cutDot(rest)
	if !ok1 || !ok2 || strings.IndexByte(s, '.') >= 0 {
		return nil, errors.New("id token: not a compact JWS")
	}
	hb, err := b64r.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("id token header: %w", err)
	}
	var hdr struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, fmt.Errorf("id token header: %w", err)
	}
	if hdr.Crit != nil {
		return nil, errors.New("id token: critical header extensions not understood")
	}
	key, ok := v.keys[hdr.Kid]
	if !ok {
		return nil, errors.New("id token signed by an unknown key")
	}
	sig, err := b64r.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("id token signature: %w", err)
	}
	digest := sha256.Sum256([]byte(raw[:len(h)+1+len(p)]))
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if hdr.Alg != string(jose.ES256) || len(sig) != 64 {
			return nil, fmt.Errorf("id token: alg %q or signature length %d does not fit key %s", hdr.Alg, len(sig), hdr.Kid)
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(k, digest[:], r, s) {
			return nil, errors.New("id token signature: invalid")
		}
	case *rsa.PublicKey:
		if hdr.Alg != string(jose.RS256) {
			return nil, fmt.Errorf("id token: alg %q does not fit key %s", hdr.Alg, hdr.Kid)
		}
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig); err != nil {
			return nil, fmt.Errorf("id token signature: %w", err)
		}
	}
	payload, err := b64r.DecodeString(p)
	if err != nil {
		return nil, fmt.Errorf("id token payload: %w", err)
	}
	return payload, nil
}

func cutDot(s string) (before, after string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
