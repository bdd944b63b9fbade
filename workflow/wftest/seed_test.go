package wftest

import (
	"testing"

	"github.com/cancuoc/cancuoc"
)

// TestSeededPeopleDistinct: no two seeded people of a kind share a name
// and a birth date, the data-quality recount's blocking key, within the
// sizes the benchmark runs (N up to 20,000).
func TestSeededPeopleDistinct(t *testing.T) {
	for _, k := range []struct {
		sex          cancuoc.Sex
		first, years int
	}{{cancuoc.Female, 1985, 15}, {cancuoc.Male, 1930, 11}} {
		seen := map[string]int{}
		for i := range 20000 {
			d := BirthDate(i, k.first, k.years)
			if d.Year < k.first || d.Year >= k.first+k.years || d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 28 {
				t.Fatalf("BirthDate(%d) = %v, outside %d–%d or not a date", i, d, k.first, k.first+k.years-1)
			}
			key := Name(i, k.sex) + " " + d.String()
			if j, ok := seen[key]; ok {
				t.Fatalf("people %d and %d are both %s", j, i, key)
			}
			seen[key] = i
		}
	}
}
