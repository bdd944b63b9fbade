package chipcheck_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/chipcheck"
	"github.com/cancuoc/cancuoc/mrtd"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
)

// FuzzVerify sends altered chip files: Verify never fails on them (a bad
// card is a verdict, not an error), and accepts only the files as issued.
//
//	go test -run='^$' -fuzz=FuzzVerify -fuzztime=20s ./chipcheck/
func FuzzVerify(f *testing.F) {
	s, err := sqlite.Open(f.Context(), ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	w := audit.NewWriter(s, 0)
	defer w.Close()
	now := time.Now()
	ca, err := mrtd.NewTestCA(mrtd.ECDSAP256, now)
	if err != nil {
		f.Fatal(err)
	}
	c := storetest.Holder(storetest.PIN(1))
	if err := s.InsertCitizen(f.Context(), c); err != nil {
		f.Fatal(err)
	}
	k, err := ca.Personalize(c, mrtd.CardOptions{Now: now})
	if err != nil {
		f.Fatal(err)
	}
	check := chipcheck.New(s, w, ca.Trust)
	orig := k.Chip
	f.Add(orig.DataGroups[1], orig.DataGroups[13], orig.SOD)
	f.Add([]byte{0x61, 0x00}, []byte{0x6d, 0x80}, []byte{0x77, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add(orig.DataGroups[1][:10], orig.DataGroups[13], orig.SOD[:len(orig.SOD)/2])
	f.Fuzz(func(t *testing.T, dg1, dg13, sod []byte) {
		if len(sod) == 0 {
			return // refused by Validate before verification
		}
		chip := mrtd.ChipData{COM: orig.COM, SOD: sod, DataGroups: map[int][]byte{}}
		for n, b := range orig.DataGroups {
			chip.DataGroups[n] = b
		}
		chip.DataGroups[1], chip.DataGroups[13] = dg1, dg13
		v, err := check.Verify(t.Context(), chipcheck.Caller{ID: "fuzz", Role: "ministry_system"}, &chipcheck.Request{Chip: chip})
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		same := bytes.Equal(dg1, orig.DataGroups[1]) && bytes.Equal(dg13, orig.DataGroups[13]) && bytes.Equal(sod, orig.SOD)
		if v.Accepted && !same {
			t.Fatalf("altered chip data accepted")
		}
	})
}
