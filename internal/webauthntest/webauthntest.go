// Package webauthntest is a WebAuthn authenticator in software for tests of
// the passkey ceremonies (eid) and of the login pages that use them (oidc):
// one ECDSA P-256 key, attestation "none", per WebAuthn level 2, §6.1 and
// §6.5. It produces exactly what a browser posts after
// navigator.credentials.create and .get, so the server side is tested
// against real signatures rather than a mock of the library.
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"github.com/cancuoc/cancuoc/internal/json"
	"slices"
)

// T is what the authenticator reports failures to: a *testing.T or
// *testing.B, or the benchmark's load generator (bench/oidcbench).
type T interface {
	Helper()
	Fatal(args ...any)
}

// Authenticator holds one credential. Tests change its fields to play a
// clone (Count), a phishing page (Origin), another key (Key) or an
// authenticator without user verification (UV false).
type Authenticator struct {
	Key    *ecdsa.PrivateKey
	CredID []byte
	Count  uint32 // signature counter, incremented by each Get
	Origin string // the page's origin, written into clientDataJSON
	RPID   string // the relying party ID, hashed into authenticatorData
	UV     bool   // user verified (PIN or biometric): sets the UV flag
}

// New returns an authenticator with a fresh key and credential ID for the
// relying party rpID, used from pages at origin.
func New(t T, rpID, origin string) *Authenticator {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	return &Authenticator{Key: k, CredID: id, Origin: origin, RPID: rpID, UV: true}
}

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagAT = 0x40 // attested credential data included
)

var b64u = base64.RawURLEncoding

func (a *Authenticator) clientData(typ string, challenge []byte) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": b64u.EncodeToString(challenge), "origin": a.Origin, "crossOrigin": false})
	return b
}

// authData is rpIdHash ‖ flags ‖ signCount ‖ [attested credential data].
func (a *Authenticator) authData(flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(a.RPID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.Count)
	return append(out, attested...)
}

func (a *Authenticator) flags() byte {
	if a.UV {
		return flagUP | flagUV
	}
	return flagUP
}

// Create answers navigator.credentials.create for challenge: the JSON a
// page posts (id, rawId, type, response.clientDataJSON and
// response.attestationObject).
func (a *Authenticator) Create(challenge []byte) []byte {
	x, y := make([]byte, 32), make([]byte, 32)
	a.Key.PublicKey.X.FillBytes(x)
	a.Key.PublicKey.Y.FillBytes(y)
	// COSE_Key: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
	cose := cborEncode(cborMap{{1, 2}, {3, -7}, {-1, 1}, {-2, x}, {-3, y}})
	attested := make([]byte, 16) // AAGUID: zero for "none"
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(a.CredID)))
	attested = append(attested, a.CredID...)
	attested = append(attested, cose...)
	att := cborEncode(cborMap{{"fmt", "none"}, {"attStmt", cborMap{}}, {"authData", a.authData(a.flags()|flagAT, attested)}})
	body, _ := json.Marshal(map[string]any{
		"id": b64u.EncodeToString(a.CredID), "rawId": b64u.EncodeToString(a.CredID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64u.EncodeToString(a.clientData("webauthn.create", challenge)),
			"attestationObject": b64u.EncodeToString(att),
		},
	})
	return body
}

// Get answers navigator.credentials.get for challenge as the user with
// userHandle: the signature covers authData ‖ SHA-256(clientDataJSON).
func (a *Authenticator) Get(t T, challenge, userHandle []byte) []byte {
	t.Helper()
	a.Count++
	cd := a.clientData("webauthn.get", challenge)
	ad := a.authData(a.flags(), nil)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(slices.Clone(ad), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"id": b64u.EncodeToString(a.CredID), "rawId": b64u.EncodeToString(a.CredID), "type": "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64u.EncodeToString(cd),
			"authenticatorData": b64u.EncodeToString(ad),
			"signature":         b64u.EncodeToString(sig),
			"userHandle":        b64u.EncodeToString(userHandle),
		},
	})
	return body
}

// cborMap is a CBOR map as ordered pairs, so the encoding is deterministic.
type cborMap [][2]any

// cborHead is a CBOR item's initial bytes: major type and argument.
func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	case n < 1<<16:
		return []byte{major<<5 | 25, byte(n >> 8), byte(n)}
	}
	return []byte{major<<5 | 26, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

// cborEncode encodes the few CBOR items (RFC 8949) an attestation object
// needs: integers, byte and text strings, and maps.
func cborEncode(v any) []byte {
	switch x := v.(type) {
	case int:
		if x >= 0 {
			return cborHead(0, uint64(x))
		}
		return cborHead(1, uint64(-1-x))
	case []byte:
		return append(cborHead(2, uint64(len(x))), x...)
	case string:
		return append(cborHead(3, uint64(len(x))), x...)
	case cborMap:
		out := cborHead(5, uint64(len(x)))
		for _, kv := range x {
			out = append(out, cborEncode(kv[0])...)
			out = append(out, cborEncode(kv[1])...)
		}
		return out
	}
	panic("cbor: unsupported type")
}
