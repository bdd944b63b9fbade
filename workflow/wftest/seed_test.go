package wftest

import (
	"testing"

	"github.com/cancuoc/cancuoc"
)

// TestSeededPeopleDistinct: seeded people of a kind rarely share a name
// and a birth date, the data-quality recount's blocking key (a few in a
// thousand may, as in a real registry), within the sizes the benchmark
// runs (N up to 20,000).
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
			if Name(i, k.sex, d.Year) != Name(i, k.sex, d.Year) {
				t.Fatalf("Name(%d) differs between calls", i)
			}
			seen[Name(i, k.sex, d.Year)+" "+d.String()]++
		}
		if shared := 20000 - len(seen); shared > 20000/100 {
			t.Errorf("%d of 20,000 seeded people share a name and birth date with another", shared)
		}
	}
}
