package reconcile

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// osa is the optimal-string-alignment (restricted Damerau–Levenshtein)
// distance of two short ASCII tokens: insertions, deletions, substitutions
// and transpositions of neighbours each cost 1, the usual typing slips.
func osa(a, b string) int {
	if a == b {
		return 0
	}
	if len(a) == 0 || len(b) == 0 {
		return max(len(a), len(b))
	}
	// Three rows suffice for transpositions; tokens are short, so the rows
	// live on the stack.
	var buf [3][33]int
	if len(b) > 32 {
		b = b[:32]
	}
	if len(a) > 32 {
		a = a[:32]
	}
	prev2, prev, cur := buf[0][:len(b)+1], buf[1][:len(b)+1], buf[2][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// typoSim is the similarity of two words one slip apart of which one is a
// Vietnamese syllable and the other is not: a typing slip, scored close to
// the same word (see syllable).
const typoSim = 0.85

// tokenSim is how alike two tokens are, 0 to 1, squared so that one slip in
// a short Vietnamese syllable ("an" / "anh") counts for much: such pairs are
// usually different names, not typos. A slip that leaves a non-syllable
// ("vcn" / "van") is a typo and scores typoSim.
func tokenSim(a, b string) float64 {
	if a == b {
		return 1
	}
	d := osa(a, b)
	n := max(len(a), len(b))
	if d >= n {
		return 0
	}
	s := 1 - float64(d)/float64(n)
	s *= s
	if d == 1 && s < typoSim && syllable(a) != syllable(b) {
		return typoSim
	}
	return s
}

// simBound is an upper bound of tokenSim(a, b): the distance is at least
// the difference in length.
func simBound(a, b string) float64 {
	if a == b {
		return 1
	}
	n := max(len(a), len(b))
	d := max(n-min(len(a), len(b)), 1) // unequal tokens differ by one edit at least
	if len(a) > 32 || len(b) > 32 {
		return 1 // osa compares 32 bytes at most
	}
	if d >= n {
		return 0
	}
	s := 1 - float64(d)/float64(n)
	s *= s
	if d == 1 && s < typoSim {
		return typoSim // one slip may leave a non-syllable
	}
	return s
}

// NameScore compares two diacritic-free name keys (vntext.Key), 0 to 1:
// equal keys 1; the same words in another order 0.95 (Western order,
// family name last); otherwise the words are paired greedily by
// similarity, each pair scoring tokenSim, over the larger word count, less
// 0.03 if the pairing is out of order. Missing diacritics and đ/d are
// already gone from keys, so they cost nothing.
func NameScore(a, b string) float64 {
	var wa [8]string
	return nameScore(a, splitKey(a, &wa), b)
}

// splitKey is strings.Fields(key): the words of a key (ASCII, at most 8
// words: nearly every name) are split into buf, on the caller's stack;
// anything else as strings.Fields does.
func splitKey(key string, buf *[8]string) []string {
	if w, ok := fields8(key, buf); ok {
		return w
	}
	return strings.Fields(key)
}

// nameScore is NameScore(a, b) with a's words already split (splitKey),
// for one input scored against many candidates.
func nameScore(a string, ta []string, b string) float64 {
	if a == "" || b == "" {
		return 0
	}
	if a == b {
		return 1
	}
	var wb [8]string
	tb := splitKey(b, &wb)
	if len(ta) == len(tb) && sameWords(ta, tb) {
		return 0.95
	}
	if len(ta) > 8 || len(tb) > 8 {
		ta, tb = ta[:min(len(ta), 8)], tb[:min(len(tb), 8)]
	}
	var usedA, usedB [8]bool
	var pairA [8]int
	total := 0.0
	for range min(len(ta), len(tb)) {
		bi, bj, best := -1, -1, -1.0
		// Equal words first: only they score 1, the most a pair can, and
		// the scan below would take the first such pair too; most
		// candidates share words with the record, and this spares them
		// the edit distances.
		if i, j := firstEqual(ta, tb, &usedA, &usedB); i >= 0 {
			bi, bj, best = i, j, 1
		}
		for i, x := range ta {
			if usedA[i] || best == 1 {
				continue
			}
			for j, y := range tb {
				if usedB[j] {
					continue
				}
				// tokenSim is at most simBound: a pair that cannot beat
				// the best is not compared (the result is the same).
				if simBound(x, y) <= best {
					continue
				}
				if s := tokenSim(x, y); s > best {
					bi, bj, best = i, j, s
				}
			}
		}
		usedA[bi], usedB[bj] = true, true
		pairA[bi] = bj + 1
		total += best
	}
	score := total / float64(max(len(ta), len(tb)))
	last := 0
	for i := range ta {
		if p := pairA[i]; p != 0 {
			if p < last {
				score -= 0.03
				break
			}
			last = p
		}
	}
	return max(score, 0)
}

// firstEqual is the first unused pair of equal words, in the order the
// pairing scans them, or -1, -1.
func firstEqual(ta, tb []string, usedA, usedB *[8]bool) (int, int) {
	for i, x := range ta {
		if usedA[i] {
			continue
		}
		for j, y := range tb {
			if !usedB[j] && x == y {
				return i, j
			}
		}
	}
	return -1, -1
}

// fields8 is strings.Fields(s) for an ASCII s of at most 8 words, in buf;
// false for any other s.
func fields8(s string, buf *[8]string) ([]string, bool) {
	n, start := 0, -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= utf8.RuneSelf {
			return nil, false
		}
		if i == len(s) || asciiSpace(s[i]) {
			if start >= 0 {
				if n == len(buf) {
					return nil, false
				}
				buf[n] = s[start:i]
				n++
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return buf[:n], true
}

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func sameWords(a, b []string) bool {
	if len(a) <= 8 && len(b) <= 8 {
		// Sorted copies on the stack.
		var x, y [8]string
		copy(x[:], a)
		copy(y[:], b)
		sort8(x[:len(a)])
		sort8(y[:len(b)])
		return slices.Equal(x[:len(a)], y[:len(b)])
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// sort8 sorts a few strings in place (insertion sort).
func sort8(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
