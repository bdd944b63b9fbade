package mrtd

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"math/big"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cancuoc/cancuoc"
)

var testNow = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func testCitizen() *cancuoc.Citizen {
	return &cancuoc.Citizen{
		PIN: "079190012345", FullName: "Nguyễn Văn Đức", Sex: cancuoc.Male,
		BirthDate: cancuoc.Date{Year: 1990, Month: 2, Day: 28}, Nationality: "VNM", Ethnicity: "01", Religion: "00",
		OldIDNumber: "024123456",
		Father:      &cancuoc.Relative{Name: "Nguyễn Văn Hùng"}, Mother: &cancuoc.Relative{Name: "Trần Thị Lan"},
		PermanentResidence: &cancuoc.Place{Era: cancuoc.Era34, Province: "79", Detail: "12 Lê Lợi"},
		Cards: []cancuoc.Card{{Number: "079190012345", Kind: "cccd", IssuedOn: cancuoc.Date{Year: 2021, Month: 4, Day: 2},
			ExpiresOn: cancuoc.Date{Year: 2030, Month: 2, Day: 28}, Status: cancuoc.CardValid}},
	}
}

// caCache keeps one CA per algorithm: RSA key generation is slow.
var caCache = map[KeyAlgorithm]*TestCA{}

func testCA(t testing.TB, alg KeyAlgorithm) *TestCA {
	t.Helper()
	if ca, ok := caCache[alg]; ok {
		return ca
	}
	ca, err := NewTestCA(alg, testNow.AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	caCache[alg] = ca
	return ca
}

func mustVerify(t testing.TB, chip ChipData, trust *TrustStore, now time.Time) *Result {
	t.Helper()
	r, err := Verify(context.Background(), chip, trust, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func failedNames(r *Result) string {
	var s []string
	for _, c := range r.Failed() {
		s = append(s, c.Name+" ("+c.Detail+")")
	}
	return strings.Join(s, "; ")
}

func TestRoundTripAlgorithms(t *testing.T) {
	for _, alg := range []KeyAlgorithm{ECDSAP256, ECDSAP384, BrainpoolP256r1, RSA2048, RSAPSS2048} {
		t.Run(string(alg), func(t *testing.T) {
			ca := testCA(t, alg)
			card, err := ca.Personalize(testCitizen(), CardOptions{Now: testNow.AddDate(-1, 0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			r := mustVerify(t, card.Chip, ca.Trust, testNow)
			if !r.OK() {
				t.Fatalf("not OK: %s", failedNames(r))
			}
			if r.MRZ.PIN != "079190012345" || r.VN.FullName != "Nguyễn Văn Đức" || r.VN.Sex != "Nam" ||
				r.VN.BirthDate != "28/02/1990" || r.VN.ExpiresOn != "28/02/2030" || r.VN.Religion != "Không" ||
				r.VN.Ethnicity != "Kinh" || r.VN.Nationality != "Việt Nam" || r.VN.OldID != "024123456" ||
				len(r.VN.Parents) != 2 || r.VN.Parents[1] != "Trần Thị Lan" {
				t.Fatalf("data: %+v %+v", r.MRZ, r.VN)
			}
			if r.Face == nil || r.Face.Format != JPEG || r.Face.Width != 24 {
				t.Fatalf("face %+v", r.Face)
			}
			if r.CSCA == nil || r.CSCA.Subject != ca.CSCA.Subject || r.SOD.HashAlgorithm != crypto.SHA256 {
				t.Fatal("chain not reported")
			}
			if r.Chip.ActiveAuthHash() != crypto.SHA256 {
				t.Fatal("DG14 AA info")
			}
			if !strings.Contains(r.AAKey.Algorithm, "P-256") {
				t.Fatalf("AA key %s", r.AAKey.Algorithm)
			}
			// Active authentication with a server challenge.
			store := NewChallengeStore(time.Minute, 10)
			id, ch, err := store.Issue(testNow)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := card.RespondActive(ch)
			if err != nil {
				t.Fatal(err)
			}
			got, err := store.Take(id, testNow.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			r.CheckActive(got, sig)
			if !r.OK() {
				t.Fatalf("AA: %s", failedNames(r))
			}
		})
	}
}

func TestActiveAuthentication(t *testing.T) {
	ca := testCA(t, ECDSAP256)
	for _, alg := range []KeyAlgorithm{ECDSAP256, BrainpoolP256r1, RSA2048} {
		t.Run(string(alg), func(t *testing.T) {
			card, err := ca.Personalize(testCitizen(), CardOptions{Now: testNow, AAKey: alg})
			if err != nil {
				t.Fatal(err)
			}
			r := mustVerify(t, card.Chip, ca.Trust, testNow)
			ch := []byte("8bytes!!")
			sig, err := card.RespondActive(ch)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyActive(r.AAKey, r.Chip.ActiveAuthHash(), ch, sig); err != nil {
				t.Fatal(err)
			}
			// Another challenge (a replayed response) fails.
			if err := VerifyActive(r.AAKey, r.Chip.ActiveAuthHash(), []byte("other!!!"), sig); err == nil {
				t.Fatal("response to another challenge accepted")
			}
			// A corrupted response fails, wherever the byte is.
			for _, i := range []int{0, len(sig) / 2, len(sig) - 1} {
				bad := bytes.Clone(sig)
				bad[i] ^= 0x01
				if err := VerifyActive(r.AAKey, r.Chip.ActiveAuthHash(), ch, bad); err == nil {
					t.Fatalf("corrupted byte %d accepted", i)
				}
			}
			// A clone: same data groups, another chip key.
			clone, _ := ca.Personalize(testCitizen(), CardOptions{Now: testNow, AAKey: alg})
			csig, _ := clone.RespondActive(ch)
			r.CheckActive(ch, csig)
			if c, _ := r.Check("aa.signature"); c.OK {
				t.Fatal("clone's response accepted")
			}
		})
	}
}

func TestChallengeStore(t *testing.T) {
	s := NewChallengeStore(30*time.Second, 2)
	id, ch, err := s.Issue(testNow)
	if err != nil || len(ch) != ChallengeSize {
		t.Fatal(err)
	}
	if _, err := s.Take(id, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Take(id, testNow); cancuoc.KindOf(err) != cancuoc.Invalid {
		t.Fatalf("second use: %v", err)
	}
	id, _, _ = s.Issue(testNow)
	if _, err := s.Take(id, testNow.Add(31*time.Second)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired: %v", err)
	}
	s.Issue(testNow)
	s.Issue(testNow)
	if _, _, err := s.Issue(testNow); cancuoc.KindOf(err) != cancuoc.Unavailable {
		t.Fatalf("full: %v", err)
	}
	// Expired ones make room.
	if _, _, err := s.Issue(testNow.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func wantFailed(t *testing.T, r *Result, name, detail string) {
	t.Helper()
	c, ok := r.Check(name)
	if !ok || c.OK || !strings.Contains(c.Detail, detail) {
		t.Fatalf("check %s: %+v (all failures: %s)", name, c, failedNames(r))
	}
	if r.OK() {
		t.Fatal("result OK")
	}
}

func TestPassiveFailures(t *testing.T) {
	ca := testCA(t, ECDSAP256)
	card, err := ca.Personalize(testCitizen(), CardOptions{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("unknown CSCA", func(t *testing.T) {
		r := mustVerify(t, card.Chip, NewTrustStore(), testNow)
		wantFailed(t, r, "csca.known", "unknown CSCA")
	})
	t.Run("other CSCA of the same name", func(t *testing.T) {
		// Same name, another key: the key identifiers tell them apart.
		other, _ := NewTestCA(ECDSAP256, testNow)
		r := mustVerify(t, card.Chip, other.Trust, testNow)
		wantFailed(t, r, "csca.known", "unknown CSCA")
	})
	t.Run("expired signer", func(t *testing.T) {
		r := mustVerify(t, card.Chip, ca.Trust, testNow.AddDate(12, 0, 0))
		wantFailed(t, r, "signer.validity", "expired signer")
	})
	t.Run("signer not yet valid", func(t *testing.T) {
		r := mustVerify(t, card.Chip, ca.Trust, testNow.AddDate(-2, 0, 0))
		wantFailed(t, r, "signer.validity", "not yet valid")
	})
	t.Run("hash mismatch in DG13", func(t *testing.T) {
		chip := card.Chip
		chip.DataGroups = map[int][]byte{}
		for n, b := range card.Chip.DataGroups {
			chip.DataGroups[n] = b
		}
		vn, _ := ParseDG13(chip.DataGroups[13])
		vn.FullName = "Nguyễn Văn Đúc"
		chip.DataGroups[13] = vn.Encode()
		r := mustVerify(t, chip, ca.Trust, testNow)
		wantFailed(t, r, "dg13.hash", "hash mismatch in DG13")
		if len(r.Failed()) != 1 {
			t.Fatalf("other failures: %s", failedNames(r))
		}
	})
	t.Run("data group not in SOD", func(t *testing.T) {
		chip := card.Chip
		chip.DataGroups = map[int][]byte{1: card.Chip.DataGroups[1], 11: appendTLV(nil, 0x6B, []byte{0x5F, 0x0E, 0})}
		r := mustVerify(t, chip, ca.Trust, testNow)
		wantFailed(t, r, "dg11.hash", "not listed")
	})
	t.Run("no DG1", func(t *testing.T) {
		chip := card.Chip
		chip.DataGroups = map[int][]byte{2: card.Chip.DataGroups[2]}
		r := mustVerify(t, chip, ca.Trust, testNow)
		wantFailed(t, r, "dg1.present", "")
	})
	t.Run("SOD of another card", func(t *testing.T) {
		c2 := testCitizen()
		c2.FullName = "Lê Thị Hoa"
		other, _ := ca.Personalize(c2, CardOptions{Now: testNow})
		chip := card.Chip
		chip.SOD = other.Chip.SOD
		r := mustVerify(t, chip, ca.Trust, testNow)
		wantFailed(t, r, "dg1.hash", "hash mismatch")
	})
	t.Run("garbage SOD", func(t *testing.T) {
		chip := card.Chip
		chip.SOD = []byte{0x77, 0x01, 0x00}
		r := mustVerify(t, chip, ca.Trust, testNow)
		wantFailed(t, r, "sod.parse", "")
	})
	t.Run("CRL revokes signer", func(t *testing.T) {
		ca2, _ := NewTestCA(ECDSAP256, testNow)
		c2, _ := ca2.Personalize(testCitizen(), CardOptions{Now: testNow})
		r := mustVerify(t, c2.Chip, ca2.Trust, testNow)
		if c, _ := r.Check("crl"); !c.OK || !strings.Contains(c.Detail, "no CRL") {
			t.Fatalf("crl check without CRL: %+v", c)
		}
		ca2.Trust.RequireCRL = true
		r = mustVerify(t, c2.Chip, ca2.Trust, testNow)
		wantFailed(t, r, "crl", "no CRL")
		clean, _ := ca2.CRL(testNow.Add(-time.Hour), testNow.AddDate(0, 1, 0))
		if err := ca2.Trust.AddCRL(clean); err != nil {
			t.Fatal(err)
		}
		r = mustVerify(t, c2.Chip, ca2.Trust, testNow)
		if !r.OK() {
			t.Fatalf("clean CRL: %s", failedNames(r))
		}
		r = mustVerify(t, c2.Chip, ca2.Trust, testNow.AddDate(0, 2, 0))
		wantFailed(t, r, "crl", "out of date")
		revoked, _ := ca2.CRL(testNow, testNow.AddDate(0, 1, 0), big.NewInt(7), ca2.DS.SerialNumber)
		if err := ca2.Trust.AddCRL(revoked); err != nil {
			t.Fatal(err)
		}
		r = mustVerify(t, c2.Chip, ca2.Trust, testNow)
		wantFailed(t, r, "signer.not_revoked", "revoked")
		// A CRL from a CA the store does not hold is refused.
		foreign, _ := ca.CRL(testNow, testNow.AddDate(0, 1, 0))
		if err := ca2.Trust.AddCRL(foreign); err == nil {
			t.Fatal("foreign CRL accepted")
		}
	})
}

func TestTrustStorePEMAndMasterList(t *testing.T) {
	ca := testCA(t, BrainpoolP256r1)
	store := NewTrustStore()
	crl, _ := ca.CRL(testNow, testNow.AddDate(0, 1, 0))
	pemText := append(pemBlock("X509 CRL", crl), ca.CSCAPEM()...)
	certs, crls, err := store.AddPEM(pemText)
	if err != nil || certs != 1 || crls != 1 {
		t.Fatalf("AddPEM: %d %d %v", certs, crls, err)
	}
	card, _ := ca.Personalize(testCitizen(), CardOptions{Now: testNow})
	if r := mustVerify(t, card.Chip, store, testNow); !r.OK() {
		t.Fatal(failedNames(r))
	}
	// A master list signed under a trusted CSCA brings in the CSCAs it holds.
	other := testCA(t, RSA2048)
	ml, err := ca.MasterList(testNow, other.CSCA, ca.CSCA)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := store.AddMasterList(ml, testNow); err != nil || n != 2 {
		t.Fatalf("AddMasterList: %d %v", n, err)
	}
	card2, _ := other.Personalize(testCitizen(), CardOptions{Now: testNow})
	if r := mustVerify(t, card2.Chip, store, testNow); !r.OK() {
		t.Fatal(failedNames(r))
	}
	// One whose signer no trusted CSCA certified is refused.
	if _, err := NewTrustStore().AddMasterList(ml, testNow); err == nil || !strings.Contains(err.Error(), "unknown CSCA") {
		t.Fatalf("untrusted master list: %v", err)
	}
	bad := bytes.Clone(ml)
	bad[len(bad)-10] ^= 1
	if _, err := store.AddMasterList(bad, testNow); err == nil {
		t.Fatal("tampered master list accepted")
	}
	path := t.TempDir() + "/csca.pem"
	if err := writeFile(path, ca.CSCAPEM()); err != nil {
		t.Fatal(err)
	}
	if err := NewTrustStore().LoadPEMFiles(path); err != nil {
		t.Fatal(err)
	}
	if err := NewTrustStore().LoadPEMFiles(path + ".missing"); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestParsersRejectTruncation(t *testing.T) {
	card, _ := testCA(t, ECDSAP256).Personalize(testCitizen(), CardOptions{Now: testNow})
	parsers := map[string]func([]byte) error{
		"COM":  func(b []byte) error { _, err := ParseCOM(b); return err },
		"DG1":  func(b []byte) error { _, err := ParseDG1(b); return err },
		"DG2":  func(b []byte) error { _, err := ParseDG2(b); return err },
		"DG13": func(b []byte) error { _, err := ParseDG13(b); return err },
		"DG14": func(b []byte) error { _, err := ParseDG14(b); return err },
		"DG15": func(b []byte) error { _, err := ParseDG15(b); return err },
		"SOD":  func(b []byte) error { _, err := ParseSOD(b); return err },
	}
	files := map[string][]byte{"COM": card.Chip.COM, "DG1": card.Chip.DataGroups[1], "DG2": card.Chip.DataGroups[2],
		"DG13": card.Chip.DataGroups[13], "DG14": card.Chip.DataGroups[14], "DG15": card.Chip.DataGroups[15], "SOD": card.Chip.SOD}
	for name, parse := range parsers {
		b := files[name]
		if err := parse(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for n := 0; n < len(b); n++ {
			if err := parse(b[:n]); err == nil {
				t.Fatalf("%s truncated to %d accepted", name, n)
			}
		}
	}
}

// Every single-byte change of a data group or of the SOD is caught by
// passive authentication: every position of DG1, DG13, DG14, DG15 and the
// SOD with three different changes, and a sample of DG2's positions.
func TestEveryCorruptionCaught(t *testing.T) {
	for _, alg := range []KeyAlgorithm{ECDSAP256, RSAPSS2048} {
		t.Run(string(alg), func(t *testing.T) {
			ca := testCA(t, alg)
			card, err := ca.Personalize(testCitizen(), CardOptions{Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if r := mustVerify(t, card.Chip, ca.Trust, testNow); !r.OK() {
				t.Fatal(failedNames(r))
			}
			try := func(what string, pos int, set func(ChipData, []byte) ChipData, orig []byte) {
				for _, x := range []byte{0x01, 0x80, 0xFF} {
					b := bytes.Clone(orig)
					b[pos] ^= x
					r := mustVerify(t, set(card.Chip, b), ca.Trust, testNow)
					if r.OK() {
						t.Fatalf("%s: byte %d ^ %02X not caught", what, pos, x)
					}
				}
			}
			positions := 0
			for _, n := range []int{1, 2, 13, 14, 15} {
				orig := card.Chip.DataGroups[n]
				step := 1
				if n == 2 {
					step = 7 // DG2 is sampled
				}
				set := func(c ChipData, b []byte) ChipData {
					m := map[int][]byte{}
					for k, v := range c.DataGroups {
						m[k] = v
					}
					m[n] = b
					c.DataGroups = m
					return c
				}
				for pos := 0; pos < len(orig); pos += step {
					try("DG", pos, set, orig)
					positions++
				}
			}
			for pos := range card.Chip.SOD {
				try("SOD", pos, func(c ChipData, b []byte) ChipData { c.SOD = b; return c }, card.Chip.SOD)
				positions++
			}
			t.Logf("%d positions × 3 changes caught (SOD %d bytes)", positions, len(card.Chip.SOD))
		})
	}
}

func TestBrainpoolExplicitParameters(t *testing.T) {
	// A chip writing its key with explicit domain parameters is read as the
	// named curve they equal.
	card, _ := testCA(t, ECDSAP256).Personalize(testCitizen(), CardOptions{Now: testNow})
	k, err := ParseDG15(card.Chip.DataGroups[15])
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Key.(*ecdsa.PublicKey)
	explicit := func(c elliptic.Curve, b []byte) []byte {
		p := c.Params()
		var bld cryptobyte.Builder
		bld.AddASN1(cbasn1.SEQUENCE, func(bb *cryptobyte.Builder) {
			bb.AddASN1(cbasn1.SEQUENCE, func(bb *cryptobyte.Builder) {
				bb.AddASN1ObjectIdentifier(oidEC)
				bb.AddASN1(cbasn1.SEQUENCE, func(bb *cryptobyte.Builder) {
					bb.AddASN1Int64(1)
					bb.AddASN1(cbasn1.SEQUENCE, func(bb *cryptobyte.Builder) {
						bb.AddASN1ObjectIdentifier(oidPrimeField)
						bb.AddASN1BigInt(p.P)
					})
					bb.AddASN1(cbasn1.SEQUENCE, func(bb *cryptobyte.Builder) {
						a := new(big.Int).Sub(p.P, big.NewInt(3))
						bb.AddASN1OctetString(a.FillBytes(make([]byte, 32)))
						bb.AddASN1OctetString(b)
					})
					bb.AddASN1OctetString(elliptic.Marshal(c, p.Gx, p.Gy))
					bb.AddASN1BigInt(p.N)
					bb.AddASN1Int64(1)
				})
			})
			bb.AddASN1BitString(elliptic.Marshal(c, pub.X, pub.Y))
		})
		return bld.BytesOrPanic()
	}
	c := elliptic.P256()
	got, err := ParsePublicKey(explicit(c, c.Params().B.FillBytes(make([]byte, 32))))
	if err != nil || got.Algorithm != "ECDSA P-256" || !got.Key.(*ecdsa.PublicKey).Equal(pub) {
		t.Fatalf("explicit parameters: %v %v", got, err)
	}
	// Parameters that are not the curve's are refused, not trusted.
	if _, err := ParsePublicKey(explicit(c, make([]byte, 32))); err == nil {
		t.Fatal("wrong coefficient b accepted")
	}
}
