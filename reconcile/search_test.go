package reconcile

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSearchSerial holds the interpolating search to a plain binary
// search on buckets whose serials are uniform (as the registry draws
// them), sequential from 0, bunched at either end, or repeated in one
// value, for PINs present and absent, below, inside and above the bucket.
func TestSearchSerial(t *testing.T) {
	const prefix = 79_217 * 1_000_000
	r := rand.New(rand.NewPCG(4, 5))
	shapes := map[string]func(i, n int) uint64{
		"uniform":    func(int, int) uint64 { return r.Uint64N(1_000_000) },
		"sequential": func(i, _ int) uint64 { return uint64(i) },
		"low":        func(int, int) uint64 { return r.Uint64N(50) },
		"high":       func(int, int) uint64 { return 999_950 + r.Uint64N(50) },
		"ends":       func(i, _ int) uint64 { return uint64(i%2) * 999_999 },
	}
	for name, serial := range shapes {
		for _, n := range []int{0, 1, 2, 3, 17, 1000} {
			ps := make([]person, n)
			for i := range ps {
				ps[i].pin = prefix + serial(i, n)
			}
			slices.SortFunc(ps, func(a, b person) int { return cmp.Compare(a.pin, b.pin) })
			probe := func(pin uint64) {
				want, wantOK := slices.BinarySearchFunc(ps, pin, func(e person, t uint64) int { return cmp.Compare(e.pin, t) })
				got, ok := searchSerial(ps, pin)
				if ok != wantOK || (ok && ps[got].pin != pin) || (!ok && got != want) {
					t.Fatalf("%s, %d people: searchSerial(%d) = %d, %v; want %d, %v", name, n, pin, got, ok, want, wantOK)
				}
			}
			for _, e := range ps {
				probe(e.pin)
				probe(e.pin + 1)
				probe(e.pin - 1)
			}
			for _, s := range []uint64{0, 1, 499_999, 500_000, 999_998, 999_999} {
				probe(prefix + s)
			}
			for range 200 {
				probe(prefix + r.Uint64N(1_000_000))
			}
		}
	}
}

// TestSortPeople holds the two-goroutine sort to a plain sort, on PINs
// random, already sorted, reversed, all equal and all but one equal (the
// pivot then splits nothing off), around the size it starts at.
func TestSortPeople(t *testing.T) {
	defer func(n int) { parallelSortFrom = n }(parallelSortFrom)
	parallelSortFrom = 1000
	r := rand.New(rand.NewPCG(8, 9))
	shapes := map[string]func(i, n int) uint64{
		"random":   func(int, int) uint64 { return r.Uint64N(1e12) },
		"sorted":   func(i, _ int) uint64 { return uint64(i) },
		"reversed": func(i, n int) uint64 { return uint64(n - i) },
		"equal":    func(int, int) uint64 { return 42 },
		"one":      func(i, _ int) uint64 { return uint64(min(i, 1)) },
	}
	for name, pin := range shapes {
		for _, n := range []int{999, 1000, 1001, 5000} {
			ps := make([]person, n)
			for i := range ps {
				ps[i] = person{pin: pin(i, n), year: uint16(i)}
			}
			sortPeople(ps)
			if !slices.IsSortedFunc(ps, func(a, b person) int { return cmp.Compare(a.pin, b.pin) }) {
				t.Fatalf("%s, %d: not sorted", name, n)
			}
			// The same people, each once (year numbers them).
			seen := make([]bool, n)
			for _, e := range ps {
				if seen[e.year] {
					t.Fatalf("%s, %d: person %d twice", name, n, e.year)
				}
				seen[e.year] = true
			}
		}
	}
}
