package mrtd

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

func TestOpenTestCASavesAndReloads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	now := time.Now()
	ca, created, err := OpenTestCA(dir, ECDSAP256, now)
	if err != nil || !created {
		t.Fatalf("first open: %v created=%v", err, created)
	}
	again, created, err := OpenTestCA(dir, RSA2048, now)
	if err != nil || created {
		t.Fatalf("second open: %v created=%v", err, created)
	}
	if string(again.CSCA.Raw) != string(ca.CSCA.Raw) || again.Algorithm != ECDSAP256 {
		t.Fatal("reloaded a different CA")
	}
	// A card signed by the reloaded CA verifies against the first one's
	// trust store: the keys came back too.
	c := &cancuoc.Citizen{PIN: "001090000001", FullName: "Nguyễn Văn An", BirthDate: cancuoc.Date{Year: 1990, Month: 5, Day: 17}, Sex: cancuoc.Male}
	card, err := again.Personalize(c, CardOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Verify(context.Background(), card.Chip, ca.Trust, now)
	if err != nil || !res.OK() {
		t.Fatalf("verify: %v %+v", err, res.Failed())
	}
	if _, err := card.AAKeyPEM(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenTestCA(filepath.Join(t.TempDir(), "bp"), BrainpoolP256r1, now); err == nil {
		t.Fatal("saved a brainpool CA")
	}
}

func TestLoadPathPEMAndMasterList(t *testing.T) {
	now := time.Now()
	root, err := NewTestCA(ECDSAP256, now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewTestCA(ECDSAP256, now)
	if err != nil {
		t.Fatal(err)
	}
	ml, err := root.MasterList(now, other.CSCA)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.ml", ml) // sorted before the PEM, loaded after it
	write("root.pem", root.CSCAPEM())
	s := NewTrustStore()
	n, err := s.LoadPath(dir, now)
	if err != nil || n != 2 {
		t.Fatalf("LoadPath: %d, %v; want 2", n, err)
	}
	// Alone, the master list has no trusted signer.
	if _, err := NewTrustStore().LoadPath(filepath.Join(dir, "a.ml"), now); err == nil {
		t.Fatal("a master list without its signer's CSCA was loaded")
	}
	if _, err := NewTrustStore().LoadPath(filepath.Join(dir, "none"), now); err == nil {
		t.Fatal("a missing path loaded")
	}
}
