package sdjwt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
)

// verifyES256 checks the ES256 signature of a compact JWS (whose header
// the caller has already read and found to say ES256) and returns the
// decoded payload. It is the JWS check of RFC 7515 §5.2 for the one
// algorithm accepted here, done directly: the header is not parsed a
// second time, which matters on the verifier's hot path.
func verifyES256(compact string, pub *ecdsa.PublicKey) ([]byte, error) {
	dot := strings.LastIndexByte(compact, '.')
	if dot < 0 || pub == nil || pub.Curve != elliptic.P256() {
		return nil, errors.New("not an ES256 JWS or not a P-256 key")
	}
	sig, err := b64.DecodeString(compact[dot+1:])
	if err != nil || len(sig) != 64 {
		return nil, errors.New("an ES256 signature is 64 bytes")
	}
	h := sha256.Sum256([]byte(compact[:dot]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, h[:], r, s) {
		return nil, errors.New("signature does not verify")
	}
	first := strings.IndexByte(compact, '.')
	return b64.DecodeString(compact[first+1 : dot])
}

// parseP256 reads an EC P-256 public JWK ({"kty":"EC","crv":"P-256","x","y"}),
// checking the point is on the curve.
func parseP256(jwk map[string]any) (*ecdsa.PublicKey, error) {
	kty, _ := jwk["kty"].(string)
	crv, _ := jwk["crv"].(string)
	xs, _ := jwk["x"].(string)
	ys, _ := jwk["y"].(string)
	if kty != "EC" || crv != "P-256" {
		return nil, errors.New("not an EC P-256 key")
	}
	if _, private := jwk["d"]; private {
		return nil, errors.New("a private key")
	}
	x, err1 := b64.DecodeString(xs)
	y, err2 := b64.DecodeString(ys)
	if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("coordinates are not 32 bytes of base64url")
	}
	pt := append(append([]byte{4}, x...), y...)
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
}
