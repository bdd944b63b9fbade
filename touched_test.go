package cancuoc_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cancuoc/cancuoc"
)

func randomPIN(r *rand.Rand) cancuoc.PIN {
	regions := []string{"001", "079", "048", "101"}
	p, err := cancuoc.NewPIN(regions[r.IntN(len(regions))], []cancuoc.Sex{cancuoc.Male, cancuoc.Female}[r.IntN(2)],
		1930+r.IntN(90), uint32(r.IntN(1_000_000)))
	if err != nil {
		panic(err)
	}
	return p
}

// TestTouchedBlock packs random PINs and checks that the block holds
// exactly them, that its segments are its buckets in order and
// concatenate to it, and that its entry's reference names it alone.
func TestTouchedBlock(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var pins []cancuoc.PIN
	in := map[cancuoc.PIN]bool{}
	for range 3000 {
		p := randomPIN(r)
		pins = append(pins, p, p)
		in[p] = true
	}
	pins = append(pins, "12345", "not a pin")
	b := cancuoc.NewTouchedBlock("rc_x", 7, pins)
	if b.Len() != len(in) {
		t.Fatalf("block has %d PINs, want %d distinct", b.Len(), len(in))
	}
	var cat []byte
	last := int64(-1)
	for _, s := range b.Segments() {
		if s.Bucket <= last || s.PinMin > s.PinMax {
			t.Fatalf("segment %+v out of order", s.Bucket)
		}
		last = s.Bucket
		lo, _ := cancuoc.PINNumber(cancuoc.PIN(fmt.Sprintf("%012d", s.PinMin)))
		if cancuoc.TouchedBucket(lo) != s.Bucket || !cancuoc.TouchedHas(s.Pins, uint64(s.PinMax)) {
			t.Fatalf("segment %d: range [%d, %d] does not fit", s.Bucket, s.PinMin, s.PinMax)
		}
		cat = append(cat, s.Pins...)
	}
	if !bytes.Equal(cat, b.Pins) {
		t.Fatal("segments do not concatenate to the block")
	}
	for range 3000 {
		p := randomPIN(r)
		n, ok := cancuoc.PINNumber(p)
		if !ok {
			t.Fatal(p)
		}
		if got := cancuoc.TouchedHas(b.Pins, n); got != in[p] {
			t.Fatalf("TouchedHas(%s) = %v, want %v", p, got, in[p])
		}
	}
	for p := range in {
		n, _ := cancuoc.PINNumber(p)
		if !cancuoc.TouchedHas(b.Pins, n) {
			t.Fatalf("TouchedHas(%s) = false for a PIN of the block", p)
		}
	}
	e := &cancuoc.AuditEntry{Action: cancuoc.TouchedAction, Outcome: b.Outcome()}
	ref, ok := cancuoc.ParseTouched(e)
	if !ok || ref.Job != "rc_x" || ref.Chunk != 7 || ref.Count != b.Len() || !ref.Matches(b) {
		t.Fatalf("ParseTouched(%q) = %+v, %v", e.Outcome, ref, ok)
	}
	other := *b
	other.Pins = slices.Clone(b.Pins)
	other.Pins[len(other.Pins)-1] ^= 1
	if ref.Matches(&other) {
		t.Error("a changed block matches its entry")
	}
	other = *b
	other.Chunk = 8
	if ref.Matches(&other) {
		t.Error("another chunk's block matches the entry")
	}
	e.PIN = "001090000001"
	if _, ok := cancuoc.ParseTouched(e); ok {
		t.Error("an entry with a PIN is a block entry")
	}
}

// FuzzParseTouched: an export's entries are outside input to verify; the
// block reference parser must not panic and must only accept what
// Outcome writes.
func FuzzParseTouched(f *testing.F) {
	f.Add(cancuoc.NewTouchedBlock("rc_a", 3, []cancuoc.PIN{"001090000001"}).Outcome())
	f.Add("touched:rc:1:2:zz")
	f.Add("touched::::")
	f.Fuzz(func(t *testing.T, outcome string) {
		ref, ok := cancuoc.ParseTouched(&cancuoc.AuditEntry{Action: cancuoc.TouchedAction, Outcome: outcome})
		if !ok {
			return
		}
		if ref.Job == "" || ref.Count < 0 || len(ref.Sum) != 32 {
			t.Fatalf("accepted %q as %+v", outcome, ref)
		}
	})
}
