package mrtd

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/ProtonMail/go-crypto/brainpool"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers of the public-key and signature algorithms in use on
// eMRTDs (RFC 3279, 4055, 5480, 5639, 5758).
var (
	oidRSA        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAPSS     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidSHA1RSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256RSA  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384RSA  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512RSA  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidSHA224RSA  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}
	oidMGF1       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidEC         = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidPrimeField = asn1.ObjectIdentifier{1, 2, 840, 10045, 1, 1}
	oidECDSASHA1  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSA224   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 1}
	oidECDSA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidSHA1       = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// namedCurve is an elliptic curve the package can verify signatures on.
type namedCurve struct {
	name  string
	oid   asn1.ObjectIdentifier
	curve func() elliptic.Curve
}

// curves lists the supported curves: the NIST curves of crypto/elliptic and
// the Brainpool r1 curves (RFC 5639) that many CSCAs and chips use.
var curves = []namedCurve{
	{"P-224", asn1.ObjectIdentifier{1, 3, 132, 0, 33}, elliptic.P224},
	{"P-256", asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, elliptic.P256},
	{"P-384", asn1.ObjectIdentifier{1, 3, 132, 0, 34}, elliptic.P384},
	{"P-521", asn1.ObjectIdentifier{1, 3, 132, 0, 35}, elliptic.P521},
	{"brainpoolP256r1", asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 7}, brainpool.P256r1},
	{"brainpoolP384r1", asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 11}, brainpool.P384r1},
	{"brainpoolP512r1", asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 13}, brainpool.P512r1},
}

// curveOID returns the OID of a supported curve.
func curveOID(c elliptic.Curve) (asn1.ObjectIdentifier, bool) {
	for _, n := range curves {
		if n.curve() == c {
			return n.oid, true
		}
	}
	return nil, false
}

// PublicKey is a parsed SubjectPublicKeyInfo: *rsa.PublicKey or
// *ecdsa.PublicKey (on any curve of the curves table, Brainpool included).
type PublicKey struct {
	Key crypto.PublicKey
	// Algorithm describes the key for reports: "RSA-2048", "ECDSA P-256",
	// "ECDSA brainpoolP384r1".
	Algorithm string
	// Raw is the DER SubjectPublicKeyInfo.
	Raw []byte
}

// ParsePublicKey parses a DER SubjectPublicKeyInfo holding an RSA key or an
// EC key on a named curve or with explicit parameters that equal a known
// curve (chips often write the parameters out in full).
func ParsePublicKey(der []byte) (*PublicKey, error) {
	in := cryptobyte.String(der)
	var spki, algo, bits cryptobyte.String
	var oid asn1.ObjectIdentifier
	var raw cryptobyte.String
	if !in.ReadASN1Element(&raw, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("public key: not one SEQUENCE")
	}
	spki = raw
	if !spki.ReadASN1(&spki, cbasn1.SEQUENCE) ||
		!spki.ReadASN1(&algo, cbasn1.SEQUENCE) ||
		!algo.ReadASN1ObjectIdentifier(&oid) {
		return nil, fmt.Errorf("public key: malformed algorithm")
	}
	var key asn1.BitString
	if !spki.ReadASN1BitString(&key) || !spki.Empty() || key.BitLength%8 != 0 {
		return nil, fmt.Errorf("public key: malformed key bits")
	}
	bits = key.Bytes
	switch {
	case oid.Equal(oidRSA) || oid.Equal(oidRSAPSS):
		var body cryptobyte.String
		n, e := new(big.Int), new(big.Int)
		if !bits.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1Integer(n) || !body.ReadASN1Integer(e) || !body.Empty() {
			return nil, fmt.Errorf("public key: malformed RSA key")
		}
		if n.Sign() <= 0 || e.Sign() <= 0 || !e.IsInt64() || e.Int64() > 1<<31-1 || n.BitLen() < 1024 || n.BitLen() > 8192 {
			return nil, fmt.Errorf("public key: RSA modulus of %d bits or exponent out of range", n.BitLen())
		}
		return &PublicKey{Key: &rsa.PublicKey{N: n, E: int(e.Int64())},
			Algorithm: fmt.Sprintf("RSA-%d", n.BitLen()), Raw: []byte(raw)}, nil
	case oid.Equal(oidEC):
		c, err := parseCurveParams(algo)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		x, y := elliptic.Unmarshal(c.curve(), bits) //nolint:staticcheck // the only API that serves Brainpool curves too
		if x == nil {
			return nil, fmt.Errorf("public key: point is not on %s", c.name)
		}
		return &PublicKey{Key: &ecdsa.PublicKey{Curve: c.curve(), X: x, Y: y},
			Algorithm: "ECDSA " + c.name, Raw: []byte(raw)}, nil
	}
	return nil, fmt.Errorf("public key: algorithm %v is not supported", oid)
}

// parseCurveParams reads the ECParameters of an EC AlgorithmIdentifier: a
// named curve OID, or explicit SpecifiedECDomain parameters compared field
// by field with the known curves.
func parseCurveParams(algo cryptobyte.String) (namedCurve, error) {
	if algo.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER) {
		var oid asn1.ObjectIdentifier
		if !algo.ReadASN1ObjectIdentifier(&oid) {
			return namedCurve{}, fmt.Errorf("malformed curve OID")
		}
		for _, c := range curves {
			if c.oid.Equal(oid) {
				return c, nil
			}
		}
		return namedCurve{}, fmt.Errorf("curve %v is not supported", oid)
	}
	// SpecifiedECDomain ::= SEQUENCE { version, fieldID { prime-field, p },
	//   curve { a, b, seed OPTIONAL }, base OCTET STRING, order, cofactor OPTIONAL }
	var dom, field, curve cryptobyte.String
	var version int64
	var fieldType asn1.ObjectIdentifier
	p, order := new(big.Int), new(big.Int)
	var a, b, base []byte
	if !algo.ReadASN1(&dom, cbasn1.SEQUENCE) || !dom.ReadASN1Integer(&version) ||
		!dom.ReadASN1(&field, cbasn1.SEQUENCE) || !field.ReadASN1ObjectIdentifier(&fieldType) ||
		!field.ReadASN1Integer(p) || !dom.ReadASN1(&curve, cbasn1.SEQUENCE) ||
		!curve.ReadASN1Bytes(&a, cbasn1.OCTET_STRING) || !curve.ReadASN1Bytes(&b, cbasn1.OCTET_STRING) ||
		!dom.ReadASN1Bytes(&base, cbasn1.OCTET_STRING) || !dom.ReadASN1Integer(order) {
		return namedCurve{}, fmt.Errorf("malformed explicit curve parameters")
	}
	if !fieldType.Equal(oidPrimeField) {
		return namedCurve{}, fmt.Errorf("curve over a field other than a prime field")
	}
	for _, c := range curves {
		prm := c.curve().Params()
		if prm.P.Cmp(p) != 0 || prm.N.Cmp(order) != 0 {
			continue
		}
		// P and N determine the curve among those listed; the base point
		// must still be the curve's own, or the key is on another group.
		gx, gy := elliptic.Unmarshal(c.curve(), base) //nolint:staticcheck // see ParsePublicKey
		if gx == nil || gx.Cmp(prm.Gx) != 0 || gy.Cmp(prm.Gy) != 0 {
			return namedCurve{}, fmt.Errorf("explicit parameters of %s with another base point", c.name)
		}
		if new(big.Int).SetBytes(b).Cmp(curveB(c)) != 0 {
			return namedCurve{}, fmt.Errorf("explicit parameters of %s with another coefficient b", c.name)
		}
		_ = a // a is implied by P, b, G and N for the listed curves
		return c, nil
	}
	return namedCurve{}, fmt.Errorf("explicit curve parameters match no supported curve")
}

// curveB returns the coefficient b of a listed curve. The Brainpool r1
// curves do not expose it through elliptic.CurveParams (they are computed
// through their twist), so it is kept here from RFC 5639.
func curveB(c namedCurve) *big.Int {
	hex := map[string]string{
		"brainpoolP256r1": "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6",
		"brainpoolP384r1": "04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57CB4390295DBC9943AB78696FA504C11",
		"brainpoolP512r1": "3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CADC083E67984050B75EBAE5DD2809BD638016F723",
	}[c.name]
	if hex == "" {
		return c.curve().Params().B
	}
	b, _ := new(big.Int).SetString(hex, 16)
	return b
}

// marshalPublicKey writes a SubjectPublicKeyInfo for an RSA or ECDSA key on
// a listed curve (crypto/x509 refuses Brainpool keys).
func marshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	var b cryptobyte.Builder
	switch k := pub.(type) {
	case *rsa.PublicKey:
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidRSA)
				b.AddASN1NULL()
			})
			var key cryptobyte.Builder
			key.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1BigInt(k.N)
				b.AddASN1Int64(int64(k.E))
			})
			b.AddASN1BitString(key.BytesOrPanic())
		})
	case *ecdsa.PublicKey:
		oid, ok := curveOID(k.Curve)
		if !ok {
			return nil, fmt.Errorf("curve %s is not supported", k.Curve.Params().Name)
		}
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidEC)
				b.AddASN1ObjectIdentifier(oid)
			})
			b.AddASN1BitString(elliptic.Marshal(k.Curve, k.X, k.Y)) //nolint:staticcheck // see ParsePublicKey
		})
	default:
		return nil, fmt.Errorf("key type %T is not supported", pub)
	}
	return b.Bytes()
}
