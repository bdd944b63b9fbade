package mrtd

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Certificate is an X.509 certificate parsed with only what passive
// authentication needs. crypto/x509 cannot be used because it refuses
// certificates whose key is on a Brainpool curve, which many CSCAs and
// document signers use.
type Certificate struct {
	Raw            []byte
	RawTBS         []byte
	RawIssuer      []byte
	RawSubject     []byte
	SerialNumber   *big.Int
	Issuer         string // RFC 2253 form, for reports
	Subject        string
	NotBefore      time.Time
	NotAfter       time.Time
	PublicKey      *PublicKey
	SubjectKeyID   []byte
	AuthorityKeyID []byte
	// IsCA is the cA flag of basic constraints (false when absent).
	IsCA bool
	// KeyUsage is the key usage extension, 0 when absent.
	KeyUsage x509.KeyUsage

	sigOID    asn1.ObjectIdentifier
	sigParams cryptobyte.String
	signature []byte
}

// signed is the outer shape shared by certificates and CRLs.
type signed struct {
	tbs       []byte
	sigOID    asn1.ObjectIdentifier
	sigParams cryptobyte.String
	signature []byte
}

// parseSigned splits SEQUENCE { tbs, signatureAlgorithm, signature BIT STRING }.
func parseSigned(der []byte) (signed, error) {
	var s signed
	in := cryptobyte.String(der)
	var outer, tbs cryptobyte.String
	if !in.ReadASN1(&outer, cbasn1.SEQUENCE) || !in.Empty() {
		return s, errors.New("not one SEQUENCE")
	}
	if !outer.ReadASN1Element(&tbs, cbasn1.SEQUENCE) {
		return s, errors.New("malformed to-be-signed part")
	}
	oid, params, err := readAlgorithm(&outer)
	if err != nil {
		return s, err
	}
	var sig asn1.BitString
	if !outer.ReadASN1BitString(&sig) || !outer.Empty() || sig.BitLength%8 != 0 {
		return s, errors.New("malformed signature")
	}
	return signed{tbs: tbs, sigOID: oid, sigParams: params, signature: sig.Bytes}, nil
}

// Object identifiers of the certificate extensions read here.
var (
	oidExtSKI   = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtKU    = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtBasic = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtAKI   = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// ParseCertificate parses a DER certificate.
func ParseCertificate(der []byte) (*Certificate, error) {
	s, err := parseSigned(der)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	c := &Certificate{Raw: der, RawTBS: s.tbs, sigOID: s.sigOID, sigParams: s.sigParams, signature: s.signature}
	tbs := cryptobyte.String(s.tbs)
	if !tbs.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, errors.New("certificate: malformed TBSCertificate")
	}
	var version int64
	if !tbs.ReadOptionalASN1Integer(&version, cbasn1.Tag(0).Constructed().ContextSpecific(), int64(0)) {
		return nil, errors.New("certificate: malformed version")
	}
	c.SerialNumber = new(big.Int)
	if !tbs.ReadASN1Integer(c.SerialNumber) {
		return nil, errors.New("certificate: malformed serial number")
	}
	var inner cryptobyte.String
	if !tbs.ReadASN1Element(&inner, cbasn1.SEQUENCE) {
		return nil, errors.New("certificate: malformed signature algorithm")
	}
	// The algorithm inside the signed part must be the one outside, or a
	// forger could pair a signature with a weaker reading of it.
	var outerAlg cryptobyte.Builder
	outerAlg.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(s.sigOID)
		b.AddBytes(s.sigParams)
	})
	if ob, err := outerAlg.Bytes(); err != nil || !bytes.Equal(ob, inner) {
		return nil, errors.New("certificate: inner and outer signature algorithms differ")
	}
	var issuer, validity, subject, spki cryptobyte.String
	if !tbs.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&validity, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&subject, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&spki, cbasn1.SEQUENCE) {
		return nil, errors.New("certificate: malformed names, validity or key")
	}
	c.RawIssuer, c.RawSubject = issuer, subject
	c.Issuer, c.Subject = nameString(issuer), nameString(subject)
	if c.NotBefore, err = readTime(&validity); err != nil {
		return nil, fmt.Errorf("certificate: not before: %w", err)
	}
	if c.NotAfter, err = readTime(&validity); err != nil {
		return nil, fmt.Errorf("certificate: not after: %w", err)
	}
	if c.PublicKey, err = ParsePublicKey(spki); err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	// Unique identifiers [1], [2] are skipped; extensions are [3].
	for _, tag := range []cbasn1.Tag{cbasn1.Tag(1).ContextSpecific(), cbasn1.Tag(2).ContextSpecific()} {
		if !tbs.SkipOptionalASN1(tag) {
			return nil, errors.New("certificate: malformed unique identifier")
		}
	}
	var exts cryptobyte.String
	var present bool
	if !tbs.ReadOptionalASN1(&exts, &present, cbasn1.Tag(3).Constructed().ContextSpecific()) || !tbs.Empty() {
		return nil, errors.New("certificate: malformed extensions")
	}
	if present {
		if err := c.readExtensions(exts); err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
	}
	return c, nil
}

func (c *Certificate) readExtensions(exts cryptobyte.String) error {
	if !exts.ReadASN1(&exts, cbasn1.SEQUENCE) {
		return errors.New("malformed extensions")
	}
	for !exts.Empty() {
		var ext, val cryptobyte.String
		var oid asn1.ObjectIdentifier
		var critical bool
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) ||
			!readOptionalBool(&ext, &critical) ||
			!ext.ReadASN1(&val, cbasn1.OCTET_STRING) || !ext.Empty() {
			return errors.New("malformed extension")
		}
		switch {
		case oid.Equal(oidExtSKI):
			var id []byte
			if !val.ReadASN1Bytes(&id, cbasn1.OCTET_STRING) {
				return errors.New("malformed subject key identifier")
			}
			c.SubjectKeyID = id
		case oid.Equal(oidExtAKI):
			var seq cryptobyte.String
			var id []byte
			var ok bool
			if !val.ReadASN1(&seq, cbasn1.SEQUENCE) ||
				!seq.ReadOptionalASN1(&val, &ok, cbasn1.Tag(0).ContextSpecific()) {
				return errors.New("malformed authority key identifier")
			}
			if ok {
				id = val
			}
			c.AuthorityKeyID = id
		case oid.Equal(oidExtBasic):
			var seq cryptobyte.String
			if !val.ReadASN1(&seq, cbasn1.SEQUENCE) || !readOptionalBool(&seq, &c.IsCA) {
				return errors.New("malformed basic constraints")
			}
		case oid.Equal(oidExtKU):
			var bits asn1.BitString
			if !val.ReadASN1BitString(&bits) {
				return errors.New("malformed key usage")
			}
			for i := 0; i < 9; i++ {
				if bits.At(i) != 0 {
					c.KeyUsage |= 1 << i
				}
			}
		}
	}
	return nil
}

// readTime reads a UTCTime or GeneralizedTime.
func readTime(s *cryptobyte.String) (time.Time, error) {
	var t time.Time
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		if !s.ReadASN1UTCTime(&t) {
			return t, errors.New("malformed UTCTime")
		}
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		if !s.ReadASN1GeneralizedTime(&t) {
			return t, errors.New("malformed GeneralizedTime")
		}
	default:
		return t, errors.New("not a time")
	}
	return t, nil
}

// nameString renders a DER Name for reports; an unreadable one is shown as
// its length, never guessed at.
func nameString(der []byte) string {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdn); err != nil || len(rest) != 0 {
		return fmt.Sprintf("(name of %d bytes)", len(der))
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return n.String()
}

// CheckSignatureFrom verifies that parent's key signed c.
func (c *Certificate) CheckSignatureFrom(parent *Certificate) error {
	alg, err := parseSigAlg(c.sigOID, c.sigParams, 0)
	if err != nil {
		return err
	}
	return verifySignature(alg, parent.PublicKey, c.RawTBS, c.signature)
}

// ValidAt reports whether t lies within the validity period.
func (c *Certificate) ValidAt(t time.Time) bool {
	return !t.Before(c.NotBefore) && !t.After(c.NotAfter)
}

// issuedBy reports whether parent may be c's issuer by name and, where
// both carry them, by key identifier (CSCA key rollover keeps the name and
// changes the key, so the name alone is not enough).
func (c *Certificate) issuedBy(parent *Certificate) bool {
	// Names are compared as encoded and, failing that, as read: CSCAs
	// re-encode the same name (PrintableString or UTF8String) across
	// certificates.
	if !bytes.Equal(c.RawIssuer, parent.RawSubject) && c.Issuer != parent.Subject {
		return false
	}
	if len(c.AuthorityKeyID) > 0 && len(parent.SubjectKeyID) > 0 {
		return bytes.Equal(c.AuthorityKeyID, parent.SubjectKeyID)
	}
	return true
}

// readOptionalBool reads a BOOLEAN DEFAULT FALSE. (cryptobyte's
// ReadOptionalASN1Boolean is for explicitly tagged booleans.)
func readOptionalBool(s *cryptobyte.String, out *bool) bool {
	*out = false
	if !s.PeekASN1Tag(cbasn1.BOOLEAN) {
		return true
	}
	return s.ReadASN1Boolean(out)
}
