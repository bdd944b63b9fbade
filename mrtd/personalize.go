package mrtd

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/brainpool"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
)

// KeyAlgorithm selects the keys and signature scheme of a test CA or of a
// test chip's active-authentication key.
type KeyAlgorithm string

// Key algorithms for test cards.
const (
	ECDSAP256       KeyAlgorithm = "ecdsa-p256"
	ECDSAP384       KeyAlgorithm = "ecdsa-p384"
	BrainpoolP256r1 KeyAlgorithm = "ecdsa-brainpoolP256r1"
	RSA2048         KeyAlgorithm = "rsa-2048"     // PKCS#1 v1.5 signatures
	RSAPSS2048      KeyAlgorithm = "rsa-pss-2048" // RSASSA-PSS signatures, SHA-256, salt 32
)

func generateKey(alg KeyAlgorithm) (crypto.Signer, error) {
	switch alg {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case BrainpoolP256r1:
		return ecdsa.GenerateKey(brainpool.P256r1(), rand.Reader)
	case RSA2048, RSAPSS2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("key algorithm %q is not supported", alg)
}

// signer signs with one key under one scheme and writes its
// AlgorithmIdentifier; it is the issuing side of verifySignature.
type signer struct {
	key crypto.Signer
	alg KeyAlgorithm
}

func (s signer) hash() crypto.Hash {
	if s.alg == ECDSAP384 {
		return crypto.SHA384
	}
	return crypto.SHA256
}

func (s signer) sign(msg []byte) ([]byte, error) {
	h := s.hash().New()
	h.Write(msg)
	d := h.Sum(nil)
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		return ecdsa.SignASN1(rand.Reader, k, d)
	case *rsa.PrivateKey:
		if s.alg == RSAPSS2048 {
			return rsa.SignPSS(rand.Reader, k, s.hash(), d, &rsa.PSSOptions{SaltLength: s.hash().Size(), Hash: s.hash()})
		}
		return rsa.SignPKCS1v15(rand.Reader, k, s.hash(), d)
	}
	return nil, fmt.Errorf("key %T", s.key)
}

func (s signer) addAlgorithm(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		switch s.alg {
		case RSA2048:
			b.AddASN1ObjectIdentifier(oidSHA256RSA)
			b.AddASN1NULL()
		case RSAPSS2048:
			b.AddASN1ObjectIdentifier(oidRSAPSS)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					addHashAlgorithm(b, crypto.SHA256)
				})
				b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1ObjectIdentifier(oidMGF1)
						addHashAlgorithm(b, crypto.SHA256)
					})
				})
				b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddASN1Int64(32)
				})
			})
		case ECDSAP384:
			b.AddASN1ObjectIdentifier(oidECDSA384)
		default:
			b.AddASN1ObjectIdentifier(oidECDSA256)
		}
	})
}

func addHashAlgorithm(b *cryptobyte.Builder, h crypto.Hash) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(hashOID(h))
		b.AddASN1NULL()
	})
}

// TestCA is the platform's own test PKI: a CSCA, a document signer under
// it and a trust store holding the CSCA. It signs test cards for tests, the
// demo and partners' integration testing; it is never a real country's CA.
type TestCA struct {
	Algorithm KeyAlgorithm
	CSCA      *Certificate
	DS        *Certificate
	Trust     *TrustStore

	csca, ds signer
}

// NewTestCA makes a CSCA (valid 15 years from now) and a document signer
// (valid 11 years: three months of signing plus the ten-year life of the
// cards), both with keys of alg, and a trust store with the CSCA.
func NewTestCA(alg KeyAlgorithm, now time.Time) (*TestCA, error) {
	return NewTestCAValid(alg, now.Add(-time.Hour), now.AddDate(11, 0, 0))
}

// NewTestCAValid is NewTestCA with the document signer valid from notBefore
// to notAfter, to test expired and not-yet-valid signers.
func NewTestCAValid(alg KeyAlgorithm, notBefore, notAfter time.Time) (*TestCA, error) {
	ck, err := generateKey(alg)
	if err != nil {
		return nil, err
	}
	dk, err := generateKey(alg)
	if err != nil {
		return nil, err
	}
	ca := &TestCA{Algorithm: alg, csca: signer{ck, alg}, ds: signer{dk, alg}}
	cscaName := pkix.Name{Country: []string{"VN"}, Organization: []string{"cancuoc test"}, CommonName: "cancuoc test CSCA"}
	dsName := pkix.Name{Country: []string{"VN"}, Organization: []string{"cancuoc test"}, CommonName: "cancuoc test document signer"}
	start := notBefore.AddDate(-1, 0, 0)
	cscaDER, err := makeCertificate(ca.csca, ck.Public(), cscaName, cscaName, big.NewInt(1), start, start.AddDate(20, 0, 0), true)
	if err != nil {
		return nil, err
	}
	dsDER, err := makeCertificate(ca.csca, dk.Public(), cscaName, dsName, big.NewInt(2), notBefore, notAfter, false)
	if err != nil {
		return nil, err
	}
	ca.Trust = NewTrustStore()
	if ca.CSCA, err = ca.Trust.AddCertificate(cscaDER); err != nil {
		return nil, err
	}
	if ca.DS, err = ParseCertificate(dsDER); err != nil {
		return nil, err
	}
	return ca, nil
}

// CSCAPEM returns the CSCA certificate in PEM, as partners load it.
func (ca *TestCA) CSCAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.CSCA.Raw})
}

// keyID is the SHA-1-style key identifier of RFC 5280 §4.2.1.2 method 1,
// with SHA-256 truncated to 20 bytes.
func keyID(spki []byte) []byte {
	h := sha256.Sum256(spki)
	return h[:20]
}

// makeCertificate writes and signs a certificate with cryptobyte, since
// crypto/x509 cannot issue certificates for Brainpool keys.
func makeCertificate(issuer signer, pub crypto.PublicKey, issuerName, subject pkix.Name, serial *big.Int,
	notBefore, notAfter time.Time, isCA bool) ([]byte, error) {
	spki, err := marshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	issuerSPKI, err := marshalPublicKey(issuer.key.Public())
	if err != nil {
		return nil, err
	}
	in, err := asn1.Marshal(issuerName.ToRDNSequence())
	if err != nil {
		return nil, err
	}
	sn, err := asn1.Marshal(subject.ToRDNSequence())
	if err != nil {
		return nil, err
	}
	var tbs cryptobyte.Builder
	tbs.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddASN1Int64(2) })
		b.AddASN1BigInt(serial)
		issuer.addAlgorithm(b)
		b.AddBytes(in)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1UTCTime(notBefore.UTC().Truncate(time.Second))
			b.AddASN1GeneralizedTime(notAfter.UTC().Truncate(time.Second))
		})
		b.AddBytes(sn)
		b.AddBytes(spki)
		b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				addExtension(b, oidExtSKI, false, func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(keyID(spki))
				})
				addExtension(b, oidExtAKI, false, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(keyID(issuerSPKI)) })
					})
				})
				usage := byte(0x80) // digitalSignature
				if isCA {
					usage = 0x06 // keyCertSign, cRLSign
					addExtension(b, oidExtBasic, true, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1Boolean(true)
							b.AddASN1Int64(0)
						})
					})
				}
				addExtension(b, oidExtKU, true, func(b *cryptobyte.Builder) {
					b.AddASN1BitString([]byte{usage})
				})
			})
		})
	})
	return signStructure(issuer, tbs)
}

func addExtension(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, critical bool, value func(*cryptobyte.Builder)) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if critical {
			b.AddASN1Boolean(true)
		}
		b.AddASN1(cbasn1.OCTET_STRING, value)
	})
}

// signStructure wraps a to-be-signed part as SEQUENCE { tbs, algorithm,
// BIT STRING signature }, the shape of certificates and CRLs.
func signStructure(s signer, tbs cryptobyte.Builder) ([]byte, error) {
	t, err := tbs.Bytes()
	if err != nil {
		return nil, err
	}
	sig, err := s.sign(t)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(t)
		s.addAlgorithm(b)
		b.AddASN1BitString(sig)
	})
	return b.Bytes()
}

// CRL issues a CRL of the CSCA revoking the given serial numbers, valid
// from thisUpdate to nextUpdate.
func (ca *TestCA) CRL(thisUpdate, nextUpdate time.Time, revoked ...*big.Int) ([]byte, error) {
	var tbs cryptobyte.Builder
	tbs.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		ca.csca.addAlgorithm(b)
		b.AddBytes(ca.CSCA.RawSubject)
		b.AddASN1UTCTime(thisUpdate.UTC().Truncate(time.Second))
		b.AddASN1UTCTime(nextUpdate.UTC().Truncate(time.Second))
		if len(revoked) > 0 {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, s := range revoked {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1BigInt(s)
						b.AddASN1UTCTime(thisUpdate.UTC().Truncate(time.Second))
					})
				}
			})
		}
	})
	return signStructure(ca.csca, tbs)
}

// BuildSOD writes EF.SOD over the data groups, hashed with SHA-256 and
// signed by the test document signer at signingTime.
func (ca *TestCA) BuildSOD(dgs map[int][]byte, signingTime time.Time) ([]byte, error) {
	h := crypto.SHA256
	var lso cryptobyte.Builder
	lso.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		addHashAlgorithm(b, h)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, n := range dgList(dgs) {
				d := sha256.Sum256(dgs[n])
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1Int64(int64(n))
					b.AddASN1OctetString(d[:])
				})
			}
		})
	})
	content, err := lso.Bytes()
	if err != nil {
		return nil, err
	}
	attrs, signedAttrs := signedAttributes(oidLDSSecurityObj, content, signingTime)
	der, err := buildSignedData(ca.ds, ca.DS, oidLDSSecurityObj, content, attrs, signedAttrs)
	if err != nil {
		return nil, err
	}
	return appendTLV(nil, TagSOD, der), nil
}

// signedAttributes returns the signed attributes for content of a type,
// each encoded alone and sorted as DER orders a SET OF, and the SET.
func signedAttributes(contentType asn1.ObjectIdentifier, content []byte, signingTime time.Time) ([][]byte, []byte) {
	digest := sha256.Sum256(content)
	attr := func(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.BytesOrPanic()
	}
	attrs := [][]byte{
		attr(oidAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(contentType) }),
		attr(oidAttrSigningTime, func(b *cryptobyte.Builder) { b.AddASN1UTCTime(signingTime.UTC().Truncate(time.Second)) }),
		attr(oidAttrDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest[:]) }),
	}
	slices.SortFunc(attrs, bytes.Compare)
	var set cryptobyte.Builder
	set.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
	})
	return attrs, set.BytesOrPanic()
}

// buildSignedData writes a CMS ContentInfo with SignedData (version 3, one
// signer named by issuer and serial, SHA-256) over content.
func buildSignedData(sg signer, cert *Certificate, contentType asn1.ObjectIdentifier, content []byte, attrs [][]byte, signedAttrs []byte) ([]byte, error) {
	h := crypto.SHA256
	sig, err := sg.sign(signedAttrs)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(3)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { addHashAlgorithm(b, h) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(contentType)
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(content)
					})
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddBytes(cert.Raw)
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						addHashAlgorithm(b, h)
						// [0] IMPLICIT: the SET's contents under tag A0.
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							for _, a := range attrs {
								b.AddBytes(a)
							}
						})
						sg.addAlgorithm(b)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return b.Bytes()
}

// CardOptions tune a test card.
type CardOptions struct {
	// Now is the personalization time: the SOD's signing time, and the
	// issue date when the citizen has no card on record.
	Now time.Time
	// AAKey is the algorithm of the chip's active-authentication key
	// (ECDSAP256 when empty).
	AAKey KeyAlgorithm
}

// TestCard is a personalized test card: the chip data a reader would
// extract, and the chip's private key so a test can answer active
// authentication as the chip would.
type TestCard struct {
	Chip      ChipData
	MRZ       *TD1
	IssuedOn  cancuoc.Date
	ExpiresOn cancuoc.Date // zero: never expires

	aaKey  crypto.Signer
	aaHash crypto.Hash
}

// RespondActive answers an active-authentication challenge as the chip
// would: ECDSA plain signature over the SHA-256 of the challenge, or an
// ISO/IEC 9796-2 signature for RSA keys.
func (c *TestCard) RespondActive(challenge []byte) ([]byte, error) {
	switch k := c.aaKey.(type) {
	case *ecdsa.PrivateKey:
		h := c.aaHash.New()
		h.Write(challenge)
		r, s, err := ecdsa.Sign(rand.Reader, k, h.Sum(nil))
		if err != nil {
			return nil, err
		}
		size := (k.Curve.Params().N.BitLen() + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out, nil
	case *rsa.PrivateKey:
		return signISO9796(k, challenge)
	}
	return nil, errors.New("no active-authentication key")
}

// Personalize produces the complete chip data of a card for c: EF.COM,
// DG1 (the MRZ), DG2 (a small generated face image), DG13 (the Vietnamese
// fields), DG14 (active-authentication info and a chip-authentication key),
// DG15 (a fresh active-authentication key) and EF.SOD signed by the test
// document signer. The card is the citizen's latest chip card on record,
// or a new one issued at opts.Now valid to the next renewal age.
func (ca *TestCA) Personalize(c *cancuoc.Citizen, opts CardOptions) (*TestCard, error) {
	const op = "mrtd.Personalize"
	if opts.Now.IsZero() {
		return nil, cancuoc.E(cancuoc.Invalid, op, "now_required", "Thiếu thời điểm cá thể hoá.", "The personalization time is required.")
	}
	card := &TestCard{}
	card.IssuedOn, card.ExpiresOn = cardDates(c, opts.Now)
	mrz, err := NewTD1(c, card.ExpiresOn)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	card.MRZ = mrz
	face, err := placeholderFace(string(c.PIN))
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	aaAlg := opts.AAKey
	if aaAlg == "" {
		aaAlg = ECDSAP256
	}
	if card.aaKey, err = generateKey(aaAlg); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	dg15, err := EncodeDG15(card.aaKey.Public())
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	var aaHash crypto.Hash
	if _, ok := card.aaKey.(*ecdsa.PrivateKey); ok {
		aaHash = crypto.SHA256
	}
	card.aaHash = aaHash
	chipCA, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	caSPKI, err := marshalPublicKey(mustECDSA(chipCA.PublicKey().Bytes()))
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	dgs := map[int][]byte{
		1:  EncodeDG1(mrz),
		2:  EncodeDG2(face),
		13: vnData(c, card.IssuedOn, card.ExpiresOn).Encode(),
		14: EncodeDG14(aaHash, caSPKI),
		15: dg15,
	}
	sod, err := ca.BuildSOD(dgs, opts.Now)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	com := &COM{LDSVersion: "0107", UnicodeVersion: "040000", DataGroups: dgList(dgs)}
	card.Chip = ChipData{COM: com.Encode(), DataGroups: dgs, SOD: sod}
	return card, nil
}

// mustECDSA turns an uncompressed P-256 point from crypto/ecdh into an
// ecdsa.PublicKey for marshalling; the bytes come from crypto/ecdh, so they
// are always a valid point.
func mustECDSA(point []byte) *ecdsa.PublicKey {
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		panic("mrtd: crypto/ecdh produced an invalid P-256 point: " + err.Error())
	}
	return k
}

// cardDates returns the issue and expiry of c's latest chip card on
// record, or of a card issued at now with the expiry the law gives it
// (cancuoc.CardExpiry).
func cardDates(c *cancuoc.Citizen, now time.Time) (issued, expires cancuoc.Date) {
	for i := len(c.Cards) - 1; i >= 0; i-- {
		k := c.Cards[i]
		if k.Kind == "cccd" || k.Kind == "can_cuoc" {
			return k.IssuedOn, k.ExpiresOn
		}
	}
	return cancuoc.DateOf(now), cancuoc.CardExpiry(c.BirthDate, now)
}

// vnData fills DG13 from the registry record.
func vnData(c *cancuoc.Citizen, issued, expires cancuoc.Date) *VNData {
	d := &VNData{
		PIN:       string(c.PIN),
		FullName:  c.FullName,
		BirthDate: ChipDate(c.BirthDate),
		Sex:       chipSex(c.Sex),
		Origin:    placeText(c.Origin),
		Residence: placeText(c.PermanentResidence),
		IssuedOn:  ChipDate(issued),
		ExpiresOn: ChipDate(expires),
		OldID:     c.OldIDNumber,
	}
	if expires.IsZero() {
		d.ExpiresOn = NoExpiry
	}
	if n, ok := admin.Nationality(c.Nationality); ok {
		d.Nationality = n.Name
	}
	if e, ok := admin.Ethnicity(c.Ethnicity); ok {
		d.Ethnicity = e.Name
	}
	if r, ok := admin.Religion(c.Religion); ok {
		d.Religion = r.Name
	}
	if c.Father != nil || c.Mother != nil {
		d.Parents = []string{relName(c.Father), relName(c.Mother)}
	}
	if c.Spouse != nil {
		d.Spouse = []string{c.Spouse.Name}
	}
	return d
}

func relName(r *cancuoc.Relative) string {
	if r == nil {
		return ""
	}
	return r.Name
}

// placeText writes a place as printed on the card: detail, commune,
// district (old units) and province, by the names of the place's own era.
func placeText(p *cancuoc.Place) string {
	if p == nil {
		return ""
	}
	set := admin.Current()
	if p.Era == cancuoc.Era63 {
		set = admin.Old()
	}
	parts := []string{p.Detail}
	if u, ok := set.Commune(p.Commune); ok && p.Commune != "" {
		parts = append(parts, u.FullName)
	}
	if u, ok := set.District(p.District); ok && p.District != "" {
		parts = append(parts, u.FullName)
	}
	if u, ok := set.Province(p.Province); ok && p.Province != "" {
		parts = append(parts, u.FullName)
	}
	var out []string
	for _, s := range parts {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

// placeholderFace draws a small grey JPEG, shaded from seed so that cards
// differ, standing in for the holder's photograph.
func placeholderFace(seed string) (*FaceImage, error) {
	const w, h = 24, 32
	img := image.NewGray(image.Rect(0, 0, w, h))
	s := sha256.Sum256([]byte(seed))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := x-w/2, y-h/2
			v := s[(x+y)%len(s)] / 4
			if dx*dx*4+dy*dy*2 < 140 {
				v += 160 // the face oval
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 60}); err != nil {
		return nil, err
	}
	return &FaceImage{Format: JPEG, Width: w, Height: h, Image: b.Bytes()}, nil
}

// MasterList issues an ICAO CSCA master list holding certs, signed by a
// fresh master-list signer that the test CSCA certifies, to test loading
// master lists.
func (ca *TestCA) MasterList(now time.Time, certs ...*Certificate) ([]byte, error) {
	key, err := generateKey(ca.Algorithm)
	if err != nil {
		return nil, err
	}
	cscaName := pkix.Name{Country: []string{"VN"}, Organization: []string{"cancuoc test"}, CommonName: "cancuoc test CSCA"}
	mlName := pkix.Name{Country: []string{"VN"}, Organization: []string{"cancuoc test"}, CommonName: "cancuoc test master list signer"}
	der, err := makeCertificate(ca.csca, key.Public(), cscaName, mlName, big.NewInt(3), now.Add(-time.Hour), now.AddDate(1, 0, 0), false)
	if err != nil {
		return nil, err
	}
	mlCert, err := ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			for _, c := range certs {
				b.AddBytes(c.Raw)
			}
		})
	})
	content, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	attrs, signedAttrs := signedAttributes(oidMasterList, content, now)
	return buildSignedData(signer{key, ca.Algorithm}, mlCert, oidMasterList, content, attrs, signedAttrs)
}
