package mrtd

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// ChipData is what a reader extracted from a chip: the elementary files as
// read, byte for byte (each with its outer tag). DataGroups maps a data
// group number (1–16) to its file.
type ChipData struct {
	COM        []byte         `json:"com,omitempty"`
	DataGroups map[int][]byte `json:"data_groups"`
	SOD        []byte         `json:"sod"`
}

// Check is one named verification step. Name is stable ("sod.signature",
// "dg13.hash", "signer.validity", …) so callers can count and explain
// failures; Detail says why, in English, without personal data.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Result is the outcome of Verify: every check made and the data read.
// Data is filled when it parsed, whether or not it proved genuine; only
// OK says whether it may be believed.
type Result struct {
	Checks []Check

	COM   *COM
	MRZ   *TD1
	Face  *FaceImage
	VN    *VNData
	Chip  *DG14
	AAKey *PublicKey
	SOD   *SOD
	// Signer is the document signer certificate and CSCA the trust-store
	// certificate it chains to (nil when none does).
	Signer *Certificate
	CSCA   *Certificate

	passive bool // passive authentication reached its end
}

func (r *Result) add(name string, ok bool, detail string, a ...any) {
	if len(a) > 0 {
		detail = fmt.Sprintf(detail, a...)
	}
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: detail})
}

// OK reports whether every check passed, passive authentication was
// complete, and DG1 was present.
func (r *Result) OK() bool {
	if !r.passive || r.MRZ == nil {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Failed returns the checks that did not pass.
func (r *Result) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Check returns the check of a name, if made.
func (r *Result) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Verify performs passive authentication of chip data against the trust
// store at time now and parses every data group it can: the SOD's CMS
// signature with the document signer certificate, the signed attributes,
// the signer's chain to a CSCA, validity periods, CRLs, and each data
// group's hash. Every step is a Check in the Result; failures do not stop
// the others, so the Result names all that is wrong. The error is non-nil
// only when ctx is done or trust is nil; a forged card is a Result whose
// OK is false, not an error.
func Verify(ctx context.Context, chip ChipData, trust *TrustStore, now time.Time) (*Result, error) {
	if trust == nil {
		return nil, errors.New("mrtd.Verify: no trust store")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &Result{}
	r.parseFiles(chip)
	sod, err := ParseSOD(chip.SOD)
	r.add("sod.parse", err == nil, errDetail(err))
	if err != nil {
		return r, nil
	}
	r.SOD, r.Signer = sod, sod.Signer
	sod.checkCMS(func(c Check) { r.Checks = append(r.Checks, c) })
	if sod.Signer != nil {
		r.CSCA = trust.checkSigner(sod.Signer, now, func(c Check) { r.Checks = append(r.Checks, c) })
	}
	r.checkHashes(chip, sod)
	r.checkConsistency(sod)
	r.passive = true
	return r, ctx.Err()
}

func errDetail(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// parseFiles parses every file sent, recording a check per file.
func (r *Result) parseFiles(chip ChipData) {
	var err error
	if chip.COM != nil {
		r.COM, err = ParseCOM(chip.COM)
		r.add("com.parse", err == nil, errDetail(err))
	}
	for _, n := range dgList(chip.DataGroups) {
		b := chip.DataGroups[n]
		name := fmt.Sprintf("dg%d.parse", n)
		switch n {
		case 1:
			r.MRZ, err = ParseDG1(b)
		case 2:
			r.Face, err = ParseDG2(b)
		case 13:
			r.VN, err = ParseDG13(b)
		case 14:
			r.Chip, err = ParseDG14(b)
		case 15:
			r.AAKey, err = ParseDG15(b)
		default:
			// Other groups (fingerprints, iris, …) are only hashed.
			_, err = expect(b, DGTag(n))
		}
		r.add(name, err == nil, errDetail(err))
	}
	if _, ok := chip.DataGroups[1]; !ok {
		r.add("dg1.present", false, "DG1 (the MRZ) was not sent")
	}
}

// checkCMS verifies the SignedData itself: signed attributes, message
// digest and the signature with the embedded signer certificate.
func (s *SOD) checkCMS(add func(Check)) {
	if s.Signer == nil {
		add(Check{Name: "sod.signer_certificate", Detail: "the SOD carries no certificate matching its signer"})
		return
	}
	add(Check{Name: "sod.signer_certificate", OK: true, Detail: s.Signer.Subject})
	if s.SignedAttributes == nil {
		add(Check{Name: "sod.signed_attributes", Detail: "no signed attributes (Doc 9303 requires them)"})
		return
	}
	add(Check{Name: "sod.content_type", OK: s.AttrContentType.Equal(s.ContentType),
		Detail: ifElse(s.AttrContentType.Equal(s.ContentType), "", "signed content-type attribute differs from the content")})
	h := s.DigestAlgorithm.New()
	h.Write(s.Content)
	ok := bytes.Equal(h.Sum(nil), s.MessageDigest)
	add(Check{Name: "sod.message_digest", OK: ok, Detail: ifElse(ok, "", "the signed message digest does not match the security object")})
	err := verifySignature(s.sigAlg, s.Signer.PublicKey, s.SignedAttributes, s.Signature)
	add(Check{Name: "sod.signature", OK: err == nil, Detail: ifElse(err == nil, s.SignatureScheme, "signature invalid: "+errDetail(err))})
}

func ifElse(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

// checkSigner checks a signer certificate against the store: a CSCA that
// issued it, its and the CSCA's validity at now, its key usage and the
// CSCA's CRL. It returns the CSCA when one verified the signature.
func (s *TrustStore) checkSigner(signer *Certificate, now time.Time, add func(Check)) *Certificate {
	if signer.KeyUsage != 0 && signer.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		add(Check{Name: "signer.key_usage", Detail: "the signer certificate does not allow digital signatures"})
	}
	switch {
	case now.Before(signer.NotBefore):
		add(Check{Name: "signer.validity", Detail: "signer not yet valid (from " + signer.NotBefore.Format(time.DateOnly) + ")"})
	case now.After(signer.NotAfter):
		add(Check{Name: "signer.validity", Detail: "expired signer (until " + signer.NotAfter.Format(time.DateOnly) + ")"})
	default:
		add(Check{Name: "signer.validity", OK: true})
	}
	named, csca, l := s.findIssuer(signer)
	switch {
	case named == 0:
		add(Check{Name: "csca.known", Detail: "unknown CSCA: no trusted CSCA named " + signer.Issuer})
		return nil
	case csca == nil:
		add(Check{Name: "csca.known", OK: true, Detail: signer.Issuer})
		add(Check{Name: "signer.certificate_signature", Detail: "no trusted CSCA named " + signer.Issuer + " signed the signer certificate"})
		return nil
	}
	add(Check{Name: "csca.known", OK: true, Detail: csca.Subject})
	add(Check{Name: "signer.certificate_signature", OK: true})
	add(Check{Name: "csca.validity", OK: csca.ValidAt(now),
		Detail: ifElse(csca.ValidAt(now), "", "CSCA certificate not valid at this time (until "+csca.NotAfter.Format(time.DateOnly)+")")})
	switch {
	case l == nil:
		add(Check{Name: "crl", OK: !s.RequireCRL, Detail: "no CRL loaded for this CSCA"})
	case !l.nextUpdate.IsZero() && now.After(l.nextUpdate):
		add(Check{Name: "crl", OK: !s.RequireCRL, Detail: "the CSCA's CRL is out of date (next update " + l.nextUpdate.Format(time.DateOnly) + ")"})
		add(Check{Name: "signer.not_revoked", OK: !l.revoked[signer.SerialNumber.String()], Detail: ifElse(l.revoked[signer.SerialNumber.String()], "signer certificate revoked", "")})
	default:
		add(Check{Name: "crl", OK: true})
		add(Check{Name: "signer.not_revoked", OK: !l.revoked[signer.SerialNumber.String()], Detail: ifElse(l.revoked[signer.SerialNumber.String()], "signer certificate revoked", "")})
	}
	return csca
}

// checkHashes compares each data group sent with the SOD's hash of it.
func (r *Result) checkHashes(chip ChipData, sod *SOD) {
	for _, n := range dgList(chip.DataGroups) {
		name := fmt.Sprintf("dg%d.hash", n)
		want, ok := sod.DataGroupHashes[n]
		if !ok {
			r.add(name, false, "DG%d is not listed in the SOD", n)
			continue
		}
		h := sod.HashAlgorithm.New()
		h.Write(chip.DataGroups[n])
		if !bytes.Equal(h.Sum(nil), want) {
			r.add(name, false, "hash mismatch in DG%d", n)
			continue
		}
		r.add(name, true, "")
	}
}

// checkConsistency compares data that appears twice: COM's list with the
// SOD's, and DG13's PIN with the MRZ's.
func (r *Result) checkConsistency(sod *SOD) {
	if r.COM != nil {
		listed := map[int]bool{}
		for _, n := range r.COM.DataGroups {
			listed[n] = true
		}
		ok := len(listed) == len(sod.DataGroupHashes)
		for n := range sod.DataGroupHashes {
			ok = ok && listed[n]
		}
		r.add("com.matches_sod", ok, ifElse(ok, "", "EF.COM lists other data groups than the SOD"))
	}
	if r.MRZ != nil && r.VN != nil {
		ok := r.MRZ.PIN == r.VN.PIN
		r.add("dg13.pin_matches_mrz", ok, ifElse(ok, "", "the PIN in DG13 differs from the one in the MRZ"))
	}
}
