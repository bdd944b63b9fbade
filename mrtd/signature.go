package mrtd

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha1" // SHA-1 is still found in SODs of older documents
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// sigKind is the signature scheme family.
type sigKind uint8

const (
	sigRSAPKCS1 sigKind = iota + 1
	sigRSAPSS
	sigECDSA
)

// sigAlg is a parsed signature AlgorithmIdentifier.
type sigAlg struct {
	kind sigKind
	hash crypto.Hash
	salt int // RSA-PSS salt length
}

func (a sigAlg) String() string {
	k := map[sigKind]string{sigRSAPKCS1: "RSA PKCS#1 v1.5", sigRSAPSS: "RSA-PSS", sigECDSA: "ECDSA"}[a.kind]
	return fmt.Sprintf("%s with %s", k, a.hash)
}

// hashOIDs maps digest algorithm OIDs to hashes.
var hashOIDs = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{oidSHA1, crypto.SHA1}, {oidSHA224, crypto.SHA224}, {oidSHA256, crypto.SHA256},
	{oidSHA384, crypto.SHA384}, {oidSHA512, crypto.SHA512},
}

func hashByOID(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	for _, h := range hashOIDs {
		if h.oid.Equal(oid) {
			return h.hash, true
		}
	}
	return 0, false
}

func hashOID(h crypto.Hash) asn1.ObjectIdentifier {
	for _, e := range hashOIDs {
		if e.hash == h {
			return e.oid
		}
	}
	return nil
}

// sigOIDs maps signature algorithm OIDs that name their hash.
var sigOIDs = []struct {
	oid  asn1.ObjectIdentifier
	kind sigKind
	hash crypto.Hash
}{
	{oidSHA1RSA, sigRSAPKCS1, crypto.SHA1}, {oidSHA224RSA, sigRSAPKCS1, crypto.SHA224},
	{oidSHA256RSA, sigRSAPKCS1, crypto.SHA256}, {oidSHA384RSA, sigRSAPKCS1, crypto.SHA384},
	{oidSHA512RSA, sigRSAPKCS1, crypto.SHA512},
	{oidECDSASHA1, sigECDSA, crypto.SHA1}, {oidECDSA224, sigECDSA, crypto.SHA224},
	{oidECDSA256, sigECDSA, crypto.SHA256}, {oidECDSA384, sigECDSA, crypto.SHA384},
	{oidECDSA512, sigECDSA, crypto.SHA512},
}

// readAlgorithm reads an AlgorithmIdentifier: its OID and raw parameters
// (empty when absent).
func readAlgorithm(s *cryptobyte.String) (asn1.ObjectIdentifier, cryptobyte.String, error) {
	var algo cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&algo, cbasn1.SEQUENCE) || !algo.ReadASN1ObjectIdentifier(&oid) {
		return nil, nil, errors.New("malformed AlgorithmIdentifier")
	}
	return oid, algo, nil
}

// parseSigAlg interprets a signature AlgorithmIdentifier. CMS signers often
// name only the key type (rsaEncryption, ecPublicKey) and leave the hash to
// the digest algorithm, which is passed as digest.
func parseSigAlg(oid asn1.ObjectIdentifier, params cryptobyte.String, digest crypto.Hash) (sigAlg, error) {
	for _, s := range sigOIDs {
		if s.oid.Equal(oid) {
			if !nullOrAbsent(params) {
				return sigAlg{}, fmt.Errorf("signature algorithm %v with parameters", oid)
			}
			return sigAlg{kind: s.kind, hash: s.hash}, nil
		}
	}
	if !oid.Equal(oidRSAPSS) && !nullOrAbsent(params) {
		return sigAlg{}, fmt.Errorf("signature algorithm %v with parameters", oid)
	}
	switch {
	case oid.Equal(oidRSA) && digest != 0:
		return sigAlg{kind: sigRSAPKCS1, hash: digest}, nil
	case oid.Equal(oidEC) && digest != 0:
		return sigAlg{kind: sigECDSA, hash: digest}, nil
	case oid.Equal(oidRSAPSS):
		return parsePSSParams(params)
	}
	return sigAlg{}, fmt.Errorf("signature algorithm %v is not supported", oid)
}

// parsePSSParams reads RSASSA-PSS-params (RFC 4055): hash [0], MGF [1],
// salt length [2], trailer [3], with the defaults SHA-1, MGF1-SHA-1, 20, 1.
func parsePSSParams(p cryptobyte.String) (sigAlg, error) {
	a := sigAlg{kind: sigRSAPSS, hash: crypto.SHA1, salt: 20}
	var seq cryptobyte.String
	if !p.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return a, errors.New("malformed RSA-PSS parameters")
	}
	mgfHash := crypto.SHA1
	var v cryptobyte.String
	var ok bool
	if !seq.ReadOptionalASN1(&v, &ok, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return a, errors.New("malformed RSA-PSS hash")
	}
	if ok {
		oid, hp, err := readAlgorithm(&v)
		h, known := hashByOID(oid)
		if err != nil || !known || !nullOrAbsent(hp) {
			return a, errors.New("RSA-PSS hash not supported")
		}
		a.hash = h
	}
	if !seq.ReadOptionalASN1(&v, &ok, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return a, errors.New("malformed RSA-PSS mask generation")
	}
	if ok {
		oid, mp, err := readAlgorithm(&v)
		if err != nil || !oid.Equal(oidMGF1) {
			return a, errors.New("RSA-PSS mask generation is not MGF1")
		}
		hoid, hp, err := readAlgorithm(&mp)
		h, known := hashByOID(hoid)
		if err != nil || !known || !nullOrAbsent(hp) || !mp.Empty() {
			return a, errors.New("RSA-PSS MGF1 hash not supported")
		}
		mgfHash = h
	}
	if !seq.ReadOptionalASN1(&v, &ok, cbasn1.Tag(2).Constructed().ContextSpecific()) {
		return a, errors.New("malformed RSA-PSS salt length")
	}
	if ok {
		var n int64
		if !v.ReadASN1Integer(&n) || n < 0 || n > 1024 {
			return a, errors.New("RSA-PSS salt length out of range")
		}
		a.salt = int(n)
	}
	if !seq.ReadOptionalASN1(&v, &ok, cbasn1.Tag(3).Constructed().ContextSpecific()) {
		return a, errors.New("malformed RSA-PSS trailer")
	}
	if ok {
		var trailer int64
		if !v.ReadASN1Integer(&trailer) || trailer != 1 {
			return a, errors.New("RSA-PSS trailer field other than 1")
		}
	}
	if !seq.Empty() || !p.Empty() {
		return a, errors.New("malformed RSA-PSS parameters")
	}
	if mgfHash != a.hash {
		return a, errors.New("RSA-PSS with an MGF1 hash other than the message hash is not supported")
	}
	return a, nil
}

// verifySignature checks sig over msg with pub under alg. It is the one
// verification path for SODs, certificates and CRLs, so Brainpool keys work
// everywhere.
func verifySignature(alg sigAlg, pub *PublicKey, msg, sig []byte) error {
	if !alg.hash.Available() {
		return fmt.Errorf("hash %s is not available", alg.hash)
	}
	h := alg.hash.New()
	h.Write(msg)
	digest := h.Sum(nil)
	switch k := pub.Key.(type) {
	case *rsa.PublicKey:
		switch alg.kind {
		case sigRSAPKCS1:
			return rsa.VerifyPKCS1v15(k, alg.hash, digest, sig)
		case sigRSAPSS:
			return rsa.VerifyPSS(k, alg.hash, digest, sig, &rsa.PSSOptions{SaltLength: alg.salt, Hash: alg.hash})
		}
	case *ecdsa.PublicKey:
		if alg.kind == sigECDSA {
			if !ecdsa.VerifyASN1(k, digest, sig) {
				return errors.New("ECDSA signature does not verify")
			}
			return nil
		}
	}
	return fmt.Errorf("%s signature with a %s key", alg, pub.Algorithm)
}
