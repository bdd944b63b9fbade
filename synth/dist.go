package synth

import (
	"math/bits"
	"math/rand/v2"
	"sort"
)

// weighted draws an index with probability proportional to its weight. A
// cumulative table with binary search is enough: the tables are small (at
// most a few hundred entries) and built once per Generate.
type weighted struct {
	cum []float64
}

func newWeighted(w []float64) weighted {
	cum := make([]float64, len(w))
	var s float64
	for i, x := range w {
		if x > 0 {
			s += x
		}
		cum[i] = s
	}
	return weighted{cum: cum}
}

// pick returns an index; entries with zero weight are never chosen because
// the search asks for the first cumulative value strictly above x.
func (w weighted) pick(r *rand.Rand) int {
	x := r.Float64() * w.cum[len(w.cum)-1]
	return sort.Search(len(w.cum), func(i int) bool { return w.cum[i] > x })
}

// band is an age range [lo, hi] in completed years with a relative weight.
type band struct {
	lo, hi int
	w      float64
}

// bands draws an age: a band by weight, then a year uniformly inside it.
type bands struct {
	b []band
	w weighted
}

func newBands(b []band) bands {
	w := make([]float64, len(b))
	for i, x := range b {
		w[i] = x.w
	}
	return bands{b: b, w: newWeighted(w)}
}

func (b bands) age(r *rand.Rand) int {
	x := b.b[b.w.pick(r)]
	return x.lo + r.IntN(x.hi-x.lo+1)
}

// affine is the bijection k ↦ (a·k + b) mod m of [0, m) with gcd(a, m) = 1.
// Counting k = 0, 1, 2, … through it gives numbers that look random yet can
// never repeat, so uniqueness needs a counter instead of a set of every
// number issued.
type affine struct {
	a, b, m uint64
}

// newAffine derives a and b from h (a hash of the seed and whatever the
// permutation is for), nudging a until it is coprime with m.
func newAffine(m, h uint64) affine {
	a := (h % m) | 1
	for gcd(a, m) != 1 || a < 3 {
		a = (a + 2) % m
	}
	_, lo := bits.Mul64(h, 0x9E3779B97F4A7C15)
	return affine{a: a, b: lo % m, m: m}
}

func (f affine) at(k uint64) uint64 {
	hi, lo := bits.Mul64(f.a, k)
	_, rem := bits.Div64(hi%f.m, lo, f.m)
	return (rem + f.b) % f.m
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// mix is SplitMix64's finaliser: it turns (seed, key) pairs into unrelated
// 64-bit values, so per-bucket parameters need no stored state.
func mix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}
