package mrtd

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"
)

func seedCard(f *testing.F) *TestCard {
	card, err := testCA(f, ECDSAP256).Personalize(testCitizen(), CardOptions{Now: testNow})
	if err != nil {
		f.Fatal(err)
	}
	return card
}

func FuzzTLV(f *testing.F) {
	card := seedCard(f)
	for _, b := range card.Chip.DataGroups {
		f.Add(b)
	}
	f.Add([]byte{0x5F, 0x84, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{0x61, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		tlv, err := ParseTLV(b)
		if err != nil {
			return
		}
		if len(tlv.Raw) != len(b) {
			t.Fatalf("raw %d of %d bytes", len(tlv.Raw), len(b))
		}
	})
}

func FuzzDataGroups(f *testing.F) {
	card := seedCard(f)
	f.Add(card.Chip.COM)
	for _, b := range card.Chip.DataGroups {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// None may panic; what parses must re-encode to something that
		// parses to the same (for the files this package writes).
		ParseCOM(b)
		ParseDG2(b)
		ParseDG14(b)
		ParseDG15(b)
		if m, err := ParseDG1(b); err == nil {
			if again, err := ParseDG1(EncodeDG1(m)); err != nil || *again != *m {
				t.Fatalf("DG1 round trip: %v", err)
			}
		}
		if d, err := ParseDG13(b); err == nil {
			if _, err := ParseDG13(d.Encode()); err != nil {
				t.Fatalf("DG13 round trip: %v", err)
			}
		}
		ParsePublicKey(b)
		ParseCertificate(b)
	})
}

func FuzzSOD(f *testing.F) {
	card := seedCard(f)
	trust := testCA(f, ECDSAP256).Trust
	f.Add(card.Chip.SOD)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseSOD(b); err != nil {
			return
		}
		chip := card.Chip
		chip.SOD = b
		r, err := Verify(context.Background(), chip, trust, testNow)
		if err != nil {
			t.Fatal(err)
		}
		_ = r.OK()
	})
}

// BenchmarkVerify is one counter verification: passive authentication of a
// full card (ECDSA P-256 document signer and CSCA: two signature checks,
// five data-group hashes, parsing) plus active authentication (a third
// P-256 check). BenchmarkRawECDSAVerify is one bare P-256 verification in
// the same run, the floor to compare with.
func BenchmarkVerify(b *testing.B) {
	ca := testCA(b, ECDSAP256)
	card, err := ca.Personalize(testCitizen(), CardOptions{Now: testNow})
	if err != nil {
		b.Fatal(err)
	}
	store := NewChallengeStore(time.Minute, 1<<20)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer() // the server's issue and the chip's answer are not the verifier's work
		id, ch, _ := store.Issue(testNow)
		sig, _ := card.RespondActive(ch)
		b.StartTimer()
		ch, err := store.Take(id, testNow)
		if err != nil {
			b.Fatal(err)
		}
		r, err := Verify(ctx, card.Chip, ca.Trust, testNow)
		if err != nil {
			b.Fatal(err)
		}
		r.CheckActive(ch, sig)
		if !r.OK() {
			b.Fatal(failedNames(r))
		}
	}
}

func BenchmarkRawECDSAVerify(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("message"))
	sig, _ := ecdsa.SignASN1(rand.Reader, k, d[:])
	b.ReportAllocs()
	for b.Loop() {
		if !ecdsa.VerifyASN1(&k.PublicKey, d[:], sig) {
			b.Fatal("verify")
		}
	}
}

func FuzzMasterList(f *testing.F) {
	ca := testCA(f, ECDSAP256)
	ml, err := ca.MasterList(testNow, ca.CSCA)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ml)
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewTrustStore()
		s.AddCertificate(ca.CSCA.Raw)
		s.AddMasterList(b, testNow)
	})
}
