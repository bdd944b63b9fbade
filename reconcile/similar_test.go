package reconcile

import (
	"slices"
	"strings"
	"testing"
)

// refNameScore is NameScore as it was before its words were split on the
// stack: the reference FuzzNameScore holds it to.
func refNameScore(a, b string) float64 {
	if a == "" || b == "" {
		return 0
	}
	if a == b {
		return 1
	}
	ta, tb := strings.Fields(a), strings.Fields(b)
	if len(ta) == len(tb) && refSameWords(ta, tb) {
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
		for i, x := range ta {
			if usedA[i] {
				continue
			}
			for j, y := range tb {
				if usedB[j] {
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
func refSameWords(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func FuzzNameScore(f *testing.F) {
	for _, p := range [][2]string{{"nguyen van duc", "duc nguyen van"}, {"tran thi ha", "tran thi hai"},
		{"a b c d e f g h i", "a b c d e f g h j"}, {" ", "  "}, {"le\u00a0an", "le an"}, {"x\ty", "y x"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := NameScore(a, b), refNameScore(a, b); got != want {
			t.Fatalf("NameScore(%q, %q) = %v, before %v", a, b, got, want)
		}
	})
}
