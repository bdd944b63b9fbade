package mrtd

import (
	"crypto"
	"encoding/asn1"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Protocol OID prefixes of DG14 SecurityInfos (BSI TR-03110, Doc 9303 Part 11).
var (
	oidBSIProtocols = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2}
	oidPKDH         = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 1, 1}
	oidPKECDH       = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 1, 2}
	oidAAInfo       = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 5}
)

// SecurityInfo is one entry of DG14, reported as found.
type SecurityInfo struct {
	Protocol string // dotted OID
	// Kind is "chip_authentication", "chip_authentication_public_key",
	// "pace", "terminal_authentication", "active_authentication" or
	// "other".
	Kind    string
	Version int64 // 0 when the entry has none
	KeyID   int64 // -1 when absent
	// Key is the chip-authentication public key (ECDH or DH), described;
	// the key itself stays in Raw since chip authentication happens on the
	// reader, not here.
	Key string
	// SignatureHash is, for active authentication with ECDSA, the hash
	// the chip uses over the challenge.
	SignatureHash crypto.Hash
}

// DG14 is the list of security infos.
type DG14 struct {
	Infos []SecurityInfo
}

// ActiveAuthHash returns the hash named by an ActiveAuthenticationInfo, 0
// when DG14 has none (then SHA-1 is customary for ECDSA, per Doc 9303).
func (d *DG14) ActiveAuthHash() crypto.Hash {
	if d == nil {
		return 0
	}
	for _, i := range d.Infos {
		if i.Kind == "active_authentication" {
			return i.SignatureHash
		}
	}
	return 0
}

// ParseDG14 parses DG14: 6E → SET OF SEQUENCE { protocol OID, required
// data, optional data }.
func ParseDG14(b []byte) (*DG14, error) {
	t, err := expect(b, dgTags[14])
	if err != nil {
		return nil, fmt.Errorf("DG14: %w", err)
	}
	in := cryptobyte.String(t.Value)
	var set cryptobyte.String
	if !in.ReadASN1(&set, cbasn1.SET) || !in.Empty() {
		return nil, fmt.Errorf("DG14: not one SET")
	}
	d := &DG14{}
	for !set.Empty() {
		if len(d.Infos) == sodMaxEntries {
			return nil, fmt.Errorf("DG14: more than %d security infos", sodMaxEntries)
		}
		var si cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1(&si, cbasn1.SEQUENCE) || !si.ReadASN1ObjectIdentifier(&oid) {
			return nil, fmt.Errorf("DG14: malformed security info")
		}
		info := SecurityInfo{Protocol: oid.String(), Kind: "other", KeyID: -1}
		switch {
		case oid.Equal(oidPKDH) || oid.Equal(oidPKECDH):
			info.Kind = "chip_authentication_public_key"
			var spki cryptobyte.String
			if !si.ReadASN1Element(&spki, cbasn1.SEQUENCE) {
				return nil, fmt.Errorf("DG14: malformed chip authentication key")
			}
			info.Key = describeKey(spki)
		case oid.Equal(oidAAInfo):
			info.Kind = "active_authentication"
			var algo asn1.ObjectIdentifier
			if !si.ReadASN1Integer(&info.Version) || !si.ReadASN1ObjectIdentifier(&algo) {
				return nil, fmt.Errorf("DG14: malformed active authentication info")
			}
			for _, s := range sigOIDs {
				if s.oid.Equal(algo) {
					info.SignatureHash = s.hash
				}
			}
			if info.SignatureHash == 0 {
				return nil, fmt.Errorf("DG14: active authentication algorithm %v is not supported", algo)
			}
		case hasPrefix(oid, oidBSIProtocols):
			switch oid[8] {
			case 2:
				info.Kind = "terminal_authentication"
			case 3:
				info.Kind = "chip_authentication"
			case 4:
				info.Kind = "pace"
			}
			if si.PeekASN1Tag(cbasn1.INTEGER) && !si.ReadASN1Integer(&info.Version) {
				return nil, fmt.Errorf("DG14: malformed version")
			}
		}
		if si.PeekASN1Tag(cbasn1.INTEGER) {
			if !si.ReadASN1Integer(&info.KeyID) {
				return nil, fmt.Errorf("DG14: malformed key identifier")
			}
		}
		d.Infos = append(d.Infos, info)
	}
	return d, nil
}

func hasPrefix(oid, prefix asn1.ObjectIdentifier) bool {
	return len(oid) > len(prefix) && oid[:len(prefix)].Equal(prefix)
}

// describeKey names the algorithm and domain of a chip-authentication key
// without requiring it to be one this package can verify with (DH keys are
// fine for chip authentication).
func describeKey(spki []byte) string {
	if k, err := ParsePublicKey(spki); err == nil {
		return strings.Replace(k.Algorithm, "ECDSA", "EC", 1)
	}
	s := cryptobyte.String(spki)
	var seq cryptobyte.String
	if s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		if oid, _, err := readAlgorithm(&seq); err == nil {
			return "key " + oid.String()
		}
	}
	return "unreadable key"
}

// EncodeDG14 writes DG14 with one ActiveAuthenticationInfo for ECDSA with
// hash h and one chip-authentication public key (ECDH) spki.
func EncodeDG14(h crypto.Hash, caKey []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		if h != 0 {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidAAInfo)
				b.AddASN1Int64(1)
				for _, s := range sigOIDs {
					if s.kind == sigECDSA && s.hash == h {
						b.AddASN1ObjectIdentifier(s.oid)
					}
				}
			})
		}
		if caKey != nil {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidPKECDH)
				b.AddBytes(caKey)
				b.AddASN1Int64(1)
			})
		}
	})
	return appendTLV(nil, dgTags[14], b.BytesOrPanic())
}

// ParseDG15 returns the active-authentication public key of DG15
// (6F → SubjectPublicKeyInfo), RSA or EC.
func ParseDG15(b []byte) (*PublicKey, error) {
	t, err := expect(b, dgTags[15])
	if err != nil {
		return nil, fmt.Errorf("DG15: %w", err)
	}
	k, err := ParsePublicKey(t.Value)
	if err != nil {
		return nil, fmt.Errorf("DG15: %w", err)
	}
	return k, nil
}

// EncodeDG15 writes DG15 for a public key.
func EncodeDG15(pub crypto.PublicKey) ([]byte, error) {
	spki, err := marshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return appendTLV(nil, dgTags[15], spki), nil
}
