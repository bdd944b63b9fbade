package mrtd

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CMS and ICAO object identifiers of EF.SOD.
var (
	oidSignedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidLDSSecurityObj  = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}
	oidAttrContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrDigest      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
)

// sodMaxEntries bounds lists inside the SOD (hashes, certificates,
// attributes): an LDS has 16 data groups, and real SODs carry one
// certificate and three or four attributes.
const sodMaxEntries = 32

// SOD is a parsed EF.SOD: a CMS SignedData over an LDSSecurityObject.
// Parsing checks structure only; Verify checks the signature and hashes.
type SOD struct {
	// HashAlgorithm of the data group hashes (LDSSecurityObject).
	HashAlgorithm crypto.Hash
	// DataGroupHashes maps a data group number to its hash.
	DataGroupHashes map[int][]byte
	// LDSVersion and UnicodeVersion from ldsVersionInfo (LDS 1.8), if any.
	LDSVersion, UnicodeVersion string
	// Content is the DER LDSSecurityObject, the signed content.
	Content []byte
	// ContentType is the encapsulated content type (must be ldsSecurityObject).
	ContentType asn1.ObjectIdentifier
	// DigestAlgorithm is the signer's digest algorithm.
	DigestAlgorithm crypto.Hash
	// SignedAttributes is the DER SET of signed attributes, as signed (with
	// the SET tag, not the [0] it has in the SignerInfo); nil if absent.
	SignedAttributes []byte
	// AttrContentType and MessageDigest are the two mandatory signed
	// attributes; SigningTime is zero when absent.
	AttrContentType asn1.ObjectIdentifier
	MessageDigest   []byte
	SigningTime     time.Time
	// Certificates carried in the SOD; Signer is the one the SignerInfo
	// names (nil if none matches).
	Certificates []*Certificate
	Signer       *Certificate
	// Signature and its algorithm.
	Signature       []byte
	SignatureScheme string

	sigAlg sigAlg
}

// ParseSOD parses EF.SOD (tag 77 wrapping a CMS ContentInfo). Exactly one
// SignerInfo is expected, as Doc 9303 Part 10 requires.
func ParseSOD(b []byte) (*SOD, error) {
	t, err := expect(b, TagSOD)
	if err != nil {
		return nil, fmt.Errorf("EF.SOD: %w", err)
	}
	s, err := parseSignedData(t.Value)
	if err != nil {
		return nil, fmt.Errorf("EF.SOD: %w", err)
	}
	if !s.ContentType.Equal(oidLDSSecurityObj) {
		return nil, fmt.Errorf("EF.SOD: content type %v is not ldsSecurityObject", s.ContentType)
	}
	if err := s.parseLDSSecurityObject(); err != nil {
		return nil, fmt.Errorf("EF.SOD: %w", err)
	}
	return s, nil
}

// parseSignedData reads a ContentInfo holding SignedData with one signer.
// The master list (CscaMasterList) uses the same structure.
func parseSignedData(der []byte) (*SOD, error) {
	in := cryptobyte.String(der)
	var ci, content, sd cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() || !ci.ReadASN1ObjectIdentifier(&oid) {
		return nil, errors.New("malformed ContentInfo")
	}
	if !oid.Equal(oidSignedData) {
		return nil, fmt.Errorf("content %v is not SignedData", oid)
	}
	if !ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() ||
		!content.ReadASN1(&sd, cbasn1.SEQUENCE) || !content.Empty() {
		return nil, errors.New("malformed SignedData")
	}
	var version int64
	var digestAlgs, encap cryptobyte.String
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) ||
		!sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, errors.New("malformed SignedData header")
	}
	// The version and the digest algorithm list are outside what the
	// signer signs, so they are held to the one value Doc 9303 allows:
	// anything else there is tampering or a broken encoder.
	if version != 3 {
		return nil, fmt.Errorf("SignedData version %d (Doc 9303 requires 3)", version)
	}
	var digests []crypto.Hash
	for !digestAlgs.Empty() {
		oid, params, err := readAlgorithm(&digestAlgs)
		h, known := hashByOID(oid)
		if err != nil || !known || !nullOrAbsent(params) || len(digests) == sodMaxEntries {
			return nil, errors.New("malformed or unsupported digest algorithm")
		}
		digests = append(digests, h)
	}
	s := &SOD{}
	var explicit cryptobyte.String
	if !encap.ReadASN1ObjectIdentifier(&s.ContentType) ||
		!encap.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!explicit.ReadASN1Bytes(&s.Content, cbasn1.OCTET_STRING) || !explicit.Empty() || !encap.Empty() {
		return nil, errors.New("malformed encapsulated content")
	}
	var certs cryptobyte.String
	var hasCerts bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errors.New("malformed certificates")
	}
	for n := 0; !certs.Empty(); n++ {
		var der cryptobyte.String
		if n == sodMaxEntries || !certs.ReadASN1Element(&der, cbasn1.SEQUENCE) {
			return nil, errors.New("malformed certificate list")
		}
		c, err := ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		s.Certificates = append(s.Certificates, c)
	}
	if !sd.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, errors.New("malformed CRLs")
	}
	var signers, si cryptobyte.String
	if !sd.ReadASN1(&signers, cbasn1.SET) || !sd.Empty() {
		return nil, errors.New("malformed signer infos")
	}
	if !signers.ReadASN1(&si, cbasn1.SEQUENCE) || !signers.Empty() {
		return nil, errors.New("not exactly one signer")
	}
	if err := s.parseSignerInfo(si); err != nil {
		return nil, err
	}
	if !slices.Contains(digests, s.DigestAlgorithm) {
		return nil, errors.New("the signer's digest algorithm is not among the SignedData's")
	}
	return s, nil
}

func (s *SOD) parseSignerInfo(si cryptobyte.String) error {
	var version int64
	if !si.ReadASN1Integer(&version) {
		return errors.New("malformed signer version")
	}
	// The signer is named by issuer and serial number or by subject key
	// identifier ([0]); either picks one of the carried certificates.
	var match func(c *Certificate) bool
	switch {
	case si.PeekASN1Tag(cbasn1.SEQUENCE) && version == 1:
		var ias, issuer cryptobyte.String
		serial := new(big.Int)
		if !si.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
			!ias.ReadASN1Integer(serial) || !ias.Empty() {
			return errors.New("malformed signer identifier")
		}
		match = func(c *Certificate) bool {
			return c.SerialNumber.Cmp(serial) == 0 && (bytes.Equal(c.RawIssuer, issuer) || c.Issuer == nameString(issuer))
		}
	case si.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific()) && version == 3:
		var ski cryptobyte.String
		if !si.ReadASN1(&ski, cbasn1.Tag(0).ContextSpecific()) {
			return errors.New("malformed signer key identifier")
		}
		match = func(c *Certificate) bool { return bytes.Equal(c.SubjectKeyID, ski) }
	default:
		return errors.New("malformed signer identifier or version")
	}
	for _, c := range s.Certificates {
		if match(c) {
			s.Signer = c
			break
		}
	}
	doid, dparams, err := readAlgorithm(&si)
	if err != nil || !nullOrAbsent(dparams) {
		return errors.New("malformed signer digest algorithm")
	}
	var ok bool
	if s.DigestAlgorithm, ok = hashByOID(doid); !ok {
		return fmt.Errorf("digest algorithm %v is not supported", doid)
	}
	var attrs cryptobyte.String
	if attrTag := cbasn1.Tag(0).Constructed().ContextSpecific(); si.PeekASN1Tag(attrTag) {
		if !si.ReadASN1Element(&attrs, attrTag) {
			return errors.New("malformed signed attributes")
		}
		// The signature covers the attributes as a SET (tag 31), not with
		// the implicit [0] tag they carry here (RFC 5652 §5.4).
		s.SignedAttributes = append([]byte{0x31}, attrs[1:]...)
		if err := s.parseAttributes(attrs); err != nil {
			return err
		}
	}
	soid, sparams, err := readAlgorithm(&si)
	if err != nil {
		return fmt.Errorf("signature algorithm: %w", err)
	}
	if s.sigAlg, err = parseSigAlg(soid, sparams, s.DigestAlgorithm); err != nil {
		return err
	}
	s.SignatureScheme = s.sigAlg.String()
	if !si.ReadASN1Bytes(&s.Signature, cbasn1.OCTET_STRING) {
		return errors.New("malformed signature")
	}
	if !si.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) || !si.Empty() {
		return errors.New("malformed unsigned attributes")
	}
	return nil
}

func (s *SOD) parseAttributes(attrs cryptobyte.String) error {
	var set cryptobyte.String
	if !attrs.ReadASN1(&set, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return errors.New("malformed signed attributes")
	}
	for n := 0; !set.Empty(); n++ {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if n == sodMaxEntries || !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) ||
			!attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return errors.New("malformed signed attribute")
		}
		// Each of these attributes must have exactly one value (RFC 5652
		// §11); a second would let the signed set say two things.
		var ok bool
		switch {
		case oid.Equal(oidAttrContentType):
			if s.AttrContentType != nil {
				return errors.New("content type attribute twice")
			}
			ok = values.ReadASN1ObjectIdentifier(&s.AttrContentType) && values.Empty()
		case oid.Equal(oidAttrDigest):
			if s.MessageDigest != nil {
				return errors.New("message digest attribute twice")
			}
			ok = values.ReadASN1Bytes(&s.MessageDigest, cbasn1.OCTET_STRING) && values.Empty()
		case oid.Equal(oidAttrSigningTime):
			var err error
			s.SigningTime, err = readTime(&values)
			ok = err == nil && values.Empty()
		default:
			ok = true
		}
		if !ok {
			return fmt.Errorf("malformed attribute %v", oid)
		}
	}
	return nil
}

// parseLDSSecurityObject reads SEQUENCE { version, hashAlgorithm,
// SEQUENCE OF { dataGroupNumber, hash }, ldsVersionInfo OPTIONAL }.
func (s *SOD) parseLDSSecurityObject() error {
	in := cryptobyte.String(s.Content)
	var obj, hashes cryptobyte.String
	var version int64
	if !in.ReadASN1(&obj, cbasn1.SEQUENCE) || !in.Empty() || !obj.ReadASN1Integer(&version) {
		return errors.New("malformed LDSSecurityObject")
	}
	if version != 0 && version != 1 {
		return fmt.Errorf("LDSSecurityObject version %d", version)
	}
	oid, _, err := readAlgorithm(&obj)
	if err != nil {
		return fmt.Errorf("LDSSecurityObject: %w", err)
	}
	var ok bool
	if s.HashAlgorithm, ok = hashByOID(oid); !ok {
		return fmt.Errorf("data group hash algorithm %v is not supported", oid)
	}
	if !obj.ReadASN1(&hashes, cbasn1.SEQUENCE) {
		return errors.New("malformed data group hashes")
	}
	s.DataGroupHashes = map[int][]byte{}
	for !hashes.Empty() {
		var e cryptobyte.String
		var n int64
		var h []byte
		if !hashes.ReadASN1(&e, cbasn1.SEQUENCE) || !e.ReadASN1Integer(&n) ||
			!e.ReadASN1Bytes(&h, cbasn1.OCTET_STRING) || !e.Empty() {
			return errors.New("malformed data group hash")
		}
		if n < 1 || n > 16 {
			return fmt.Errorf("hash for data group %d", n)
		}
		if _, dup := s.DataGroupHashes[int(n)]; dup {
			return fmt.Errorf("two hashes for data group %d", n)
		}
		if len(h) != s.HashAlgorithm.Size() {
			return fmt.Errorf("hash of data group %d has %d bytes, not %d", n, len(h), s.HashAlgorithm.Size())
		}
		s.DataGroupHashes[int(n)] = h
	}
	if version == 1 && !obj.Empty() {
		var info cryptobyte.String
		var lds, uni []byte
		if !obj.ReadASN1(&info, cbasn1.SEQUENCE) ||
			!info.ReadASN1Bytes(&lds, cbasn1.PrintableString) || !info.ReadASN1Bytes(&uni, cbasn1.PrintableString) {
			return errors.New("malformed ldsVersionInfo")
		}
		s.LDSVersion, s.UnicodeVersion = string(lds), string(uni)
	}
	if !obj.Empty() {
		return errors.New("data after the LDSSecurityObject")
	}
	return nil
}

// nullOrAbsent reports whether AlgorithmIdentifier parameters are absent or
// exactly NULL, the two encodings allowed for hash and ECDSA algorithms.
func nullOrAbsent(p []byte) bool {
	return len(p) == 0 || bytes.Equal(p, []byte{0x05, 0x00})
}
