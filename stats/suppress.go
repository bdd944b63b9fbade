package stats

// Disclosure control of the public figures. Commune pages count small
// populations, and a count of 1 or 2 refreshed every minute would show a
// neighbour's account moving to level 2 or a child's card being issued.
// The rule, applied to every commune page of a Service with k > 1:
//
//  1. Primary suppression: every cell (a part or a row's value) below k is
//     withheld, zero included, so that neither "nobody" nor "one person" is
//     ever published and a cell's first person does not change what is
//     shown (0 and 1 both read "<k").
//  2. Complementary suppression: a row whose value is shown must not have
//     exactly one part withheld (it would be the value minus the others),
//     and a column whose province total is shown must not have exactly one
//     commune withheld; the smallest shown cell of such a row or column is
//     withheld too, until no such line remains.
//  3. Single-person changes: since 0 and every count below k read "<k",
//     a person entering or leaving a small cell changes nothing shown; a
//     shown cell holds at least k people, and the figures are recounted
//     at most once per TTL, so one person's change there is mixed with
//     everyone else's in the cell over that period. (An observer watching
//     a quiet cell of exactly k can still see it drop to "<k": rounding or
//     noise would be the next step, see the issue note. Likewise a
//     shown row value or the province total includes withheld parts and
//     moves by one with them.)
//
// The province total and the national (province) page are not suppressed:
// their counts are large.
func suppress(f *Figures, k int64) {
	f.MinCount = k
	n := len(f.Columns)
	for i := range f.Rows {
		r := &f.Rows[i]
		r.PartSuppressed = make([]bool, len(r.Parts))
		for j, v := range r.Parts {
			r.PartSuppressed[j] = v < k
		}
		r.Suppressed = r.Value < k
	}
	for changed := true; changed; {
		changed = false
		// Rows: a shown value with one withheld part.
		for i := range f.Rows {
			r := &f.Rows[i]
			if n > 1 && !r.Suppressed && count(r.PartSuppressed) == 1 {
				if j := smallest(r.Parts, r.PartSuppressed); j >= 0 {
					r.PartSuppressed[j], changed = true, true
				}
			}
		}
		// Columns, and the values, against the shown province total.
		for j := 0; j <= n; j++ {
			vals := make([]int64, len(f.Rows))
			hidden := make([]bool, len(f.Rows))
			for i, r := range f.Rows {
				if j < n {
					vals[i], hidden[i] = r.Parts[j], r.PartSuppressed[j]
				} else {
					vals[i], hidden[i] = r.Value, r.Suppressed
				}
			}
			if count(hidden) != 1 {
				continue
			}
			if i := smallest(vals, hidden); i >= 0 {
				if j < n {
					f.Rows[i].PartSuppressed[j] = true
				} else {
					f.Rows[i].Suppressed = true
				}
				changed = true
			}
		}
	}
	f.Max = 0
	for i := range f.Rows {
		r := &f.Rows[i]
		for j := range r.Parts {
			if r.PartSuppressed[j] {
				r.Parts[j] = 0
			}
		}
		if r.Suppressed {
			r.Value = 0
		}
		f.Max = max(f.Max, r.Value)
	}
}

func count(b []bool) int {
	n := 0
	for _, x := range b {
		if x {
			n++
		}
	}
	return n
}

// smallest is the index of the smallest value not yet withheld, -1 if none.
func smallest(vals []int64, hidden []bool) int {
	at := -1
	for i, v := range vals {
		if !hidden[i] && (at < 0 || v < vals[at]) {
			at = i
		}
	}
	return at
}
