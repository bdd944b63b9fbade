package mrtd

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TrustStore holds the country signing CA certificates (CSCAs) that
// passive authentication chains document signers to, and the CRLs they
// published. It is safe for concurrent use; loading usually happens once at
// start and verification many times after.
type TrustStore struct {
	// RequireCRL makes a missing or stale CRL for a CSCA a failed check
	// rather than a passed check with a note.
	RequireCRL bool

	mu    sync.RWMutex
	cscas []*Certificate
	crls  map[*Certificate]*crl
}

// crl is a verified CRL of one CSCA.
type crl struct {
	thisUpdate, nextUpdate time.Time
	revoked                map[string]bool // serial numbers, decimal
}

// NewTrustStore returns an empty store.
func NewTrustStore() *TrustStore {
	return &TrustStore{crls: map[*Certificate]*crl{}}
}

// AddCertificate adds a CSCA certificate (DER). Self-signed CSCAs and link
// certificates (a new CSCA key signed by the old one) are both accepted:
// what makes a certificate trusted is being put here.
func (s *TrustStore) AddCertificate(der []byte) (*Certificate, error) {
	c, err := ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cscas = append(s.cscas, c)
	return c, nil
}

// CSCAs returns the certificates in the store.
func (s *TrustStore) CSCAs() []*Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]*Certificate(nil), s.cscas...)
}

// AddPEM adds every CERTIFICATE and X509 CRL block of a PEM text, CRLs
// after certificates so that a file may hold a CSCA and its CRL in any
// order. It returns how many certificates and CRLs were added.
func (s *TrustStore) AddPEM(data []byte) (certs, crls int, err error) {
	var crlDER [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			if _, err := s.AddCertificate(b.Bytes); err != nil {
				return certs, crls, err
			}
			certs++
		case "X509 CRL":
			crlDER = append(crlDER, b.Bytes)
		}
	}
	for _, d := range crlDER {
		if err := s.AddCRL(d); err != nil {
			return certs, crls, err
		}
		crls++
	}
	return certs, crls, nil
}

// LoadPEMFiles adds the certificates and CRLs of each PEM file.
func (s *TrustStore) LoadPEMFiles(paths ...string) error {
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n, m, err := s.AddPEM(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if n+m == 0 {
			return fmt.Errorf("%s: no certificate or CRL", p)
		}
	}
	return nil
}

// AddCRL adds a CRL (DER) after verifying its signature with a CSCA of the
// store; a CRL that no CSCA signed is refused, since trusting it would let
// anyone revoke (or, by replacing a real one, un-revoke) signers.
func (s *TrustStore) AddCRL(der []byte) error {
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return fmt.Errorf("CRL: %w", err)
	}
	sg, err := parseSigned(der)
	if err != nil {
		return fmt.Errorf("CRL: %w", err)
	}
	alg, err := parseSigAlg(sg.sigOID, sg.sigParams, 0)
	if err != nil {
		return fmt.Errorf("CRL: %w", err)
	}
	issuer := nameString(rl.RawIssuer)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.cscas {
		if c.Subject != issuer {
			continue
		}
		if verifySignature(alg, c.PublicKey, sg.tbs, sg.signature) != nil {
			continue
		}
		l := &crl{thisUpdate: rl.ThisUpdate, nextUpdate: rl.NextUpdate, revoked: map[string]bool{}}
		for _, e := range rl.RevokedCertificateEntries {
			l.revoked[e.SerialNumber.String()] = true
		}
		// A newer CRL replaces an older one; an older one never replaces.
		if old, ok := s.crls[c]; !ok || old.thisUpdate.Before(l.thisUpdate) {
			s.crls[c] = l
		}
		return nil
	}
	return fmt.Errorf("CRL: no CSCA in the store signed the CRL of %s", issuer)
}

// oidMasterList is the content type of an ICAO CSCA master list.
var oidMasterList = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}

// AddMasterList adds the CSCA certificates of an ICAO master list (a CMS
// SignedData over CscaMasterList, Doc 9303 Part 12 §9). The list must be
// signed by a master-list signer whose certificate a CSCA already in the
// store issued and which is valid at now; the list is a way to receive
// CSCAs, not a reason to trust them by itself.
func (s *TrustStore) AddMasterList(der []byte, now time.Time) (int, error) {
	sd, err := parseSignedData(der)
	if err != nil {
		return 0, fmt.Errorf("master list: %w", err)
	}
	if !sd.ContentType.Equal(oidMasterList) {
		return 0, fmt.Errorf("master list: content type %v", sd.ContentType)
	}
	var checks []Check
	sd.checkCMS(func(c Check) { checks = append(checks, c) })
	if sd.Signer != nil {
		s.checkSigner(sd.Signer, now, func(c Check) { checks = append(checks, c) })
	}
	for _, c := range checks {
		if !c.OK {
			return 0, fmt.Errorf("master list: %s: %s", c.Name, c.Detail)
		}
	}
	in := cryptobyte.String(sd.Content)
	var ml, list cryptobyte.String
	var version int64
	if !in.ReadASN1(&ml, cbasn1.SEQUENCE) || !ml.ReadASN1Integer(&version) || !ml.ReadASN1(&list, cbasn1.SET) {
		return 0, errors.New("master list: malformed CscaMasterList")
	}
	n := 0
	for !list.Empty() {
		var c cryptobyte.String
		if !list.ReadASN1Element(&c, cbasn1.SEQUENCE) {
			return n, errors.New("master list: malformed certificate")
		}
		if _, err := s.AddCertificate(c); err != nil {
			// One unreadable entry (an unsupported curve) should not
			// keep the rest of the world's CSCAs out.
			continue
		}
		n++
	}
	return n, nil
}

// findIssuer returns the CSCAs whose name (and key identifier) fit c, and
// among them the one whose key verifies c's signature.
func (s *TrustStore) findIssuer(c *Certificate) (named int, issuer *Certificate, l *crl) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, ca := range s.cscas {
		if !c.issuedBy(ca) {
			continue
		}
		named++
		if c.CheckSignatureFrom(ca) == nil {
			return named, ca, s.crls[ca]
		}
	}
	return named, nil, nil
}
