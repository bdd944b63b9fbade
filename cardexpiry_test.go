package cancuoc

import (
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestCardExpiry(t *testing.T) {
	full := Date{Year: 2000, Month: 6, Day: 15}
	leap := Date{Year: 2000, Month: 2, Day: 29}
	tests := []struct {
		name   string
		birth  Date
		issued time.Time
		want   Date
	}{
		{"child card runs to 14", full, day(2008, 1, 10), Date{2014, 6, 15}},
		{"issued at 14 runs to 25", full, day(2014, 6, 15), Date{2025, 6, 15}},
		{"issued the day before 14, within two years: to 25", full, day(2014, 6, 14), Date{2025, 6, 15}},
		{"issued two years and a day before 14: to 14", full, day(2012, 6, 14), Date{2014, 6, 15}},
		{"issued exactly two years before 14: to 14", full, day(2012, 6, 15), Date{2014, 6, 15}},
		{"issued a day inside the two years before 14: to 25", full, day(2012, 6, 16), Date{2025, 6, 15}},
		{"issued at 20 runs to 25", full, day(2020, 3, 1), Date{2025, 6, 15}},
		{"issued at 23 and a half: to 40", full, day(2023, 12, 31), Date{2040, 6, 15}},
		{"issued on the 25th birthday: to 40", full, day(2025, 6, 15), Date{2040, 6, 15}},
		{"issued at 39: to 60", full, day(2039, 7, 1), Date{2060, 6, 15}},
		{"issued at 45: to 60", full, day(2045, 1, 1), Date{2060, 6, 15}},
		{"issued at 57 (more than two years before 60): to 60", full, day(2058, 6, 14), Date{2060, 6, 15}},
		{"issued at 58: never", full, day(2058, 6, 16), Date{}},
		{"issued at 60: never", full, day(2060, 6, 15), Date{}},
		{"issued at 75: never", full, day(2075, 1, 1), Date{}},
		{"29 February: 25th birthday in a common year is 28 February", leap, day(2015, 1, 1), Date{2025, 2, 28}},
		{"29 February: 40th birthday in a leap year is 29 February", leap, day(2025, 3, 1), Date{2040, 2, 29}},
		{"29 February: issued 28 Feb 2023, two years before the 25th (2025-02-28): to 25", leap, day(2023, 2, 28), Date{2025, 2, 28}},
		{"29 February: issued 1 Mar 2023, inside two years: to 40", leap, day(2023, 3, 1), Date{2040, 2, 29}},
		{"issued on 29 February: the two years end on 28 February", Date{Year: 1989, Month: 2, Day: 28}, day(2012, 2, 29), Date{2014, 2, 28}},
		{"year-only birth counts from 1 January", Date{Year: 1990}, day(2010, 6, 1), Date{2015, 1, 1}},
		{"year-only birth within two years of 1 January of the 25th", Date{Year: 1990}, day(2013, 6, 1), Date{2030, 1, 1}},
		{"month-only birth counts from the first", Date{Year: 1990, Month: 8}, day(2010, 6, 1), Date{2015, 8, 1}},
		{"unknown birth: no expiry to compute", Date{}, day(2010, 6, 1), Date{}},
		{"issue time of day is ignored", full, time.Date(2012, 6, 15, 23, 59, 0, 0, time.UTC), Date{2014, 6, 15}},
	}
	for _, tc := range tests {
		if got := CardExpiry(tc.birth, tc.issued); got != tc.want {
			t.Errorf("%s: CardExpiry(%v, %s) = %v, want %v", tc.name, tc.birth, tc.issued.Format(time.DateOnly), got, tc.want)
		}
	}
}

func TestAnniversary(t *testing.T) {
	for _, tc := range []struct {
		t     time.Time
		years int
		want  time.Time
	}{
		{day(2000, 2, 29), 1, day(2001, 2, 28)},
		{day(2000, 2, 29), 4, day(2004, 2, 29)},
		{day(2000, 12, 31), 2, day(2002, 12, 31)},
		{time.Date(2000, 5, 1, 15, 0, 0, 0, time.UTC), 3, day(2003, 5, 1)},
	} {
		if got := Anniversary(tc.t, tc.years); !got.Equal(tc.want) {
			t.Errorf("Anniversary(%s, %d) = %s, want %s", tc.t, tc.years, got, tc.want)
		}
	}
}

// TestCardExpiryInvariants walks every issue day over a lifetime: the
// expiry is a renewal-age birthday, at least two years after the issue,
// and no renewal age lies strictly between the issue (plus two years) and
// the expiry.
func TestCardExpiryInvariants(t *testing.T) {
	birth := Date{Year: 1996, Month: 2, Day: 29}
	born := birth.Earliest()
	for d := day(1996, 3, 1); d.Before(day(2070, 1, 1)); d = d.AddDate(0, 0, 1) {
		got := CardExpiry(birth, d)
		if got.IsZero() {
			if d.Before(Anniversary(born, 58)) {
				t.Fatalf("issued %s: no expiry before age 58", d.Format(time.DateOnly))
			}
			continue
		}
		exp := got.Earliest()
		if exp.Before(Anniversary(d, 2)) {
			t.Fatalf("issued %s: expires %v, less than two years", d.Format(time.DateOnly), got)
		}
		ok := false
		for _, a := range CardRenewalAges {
			due := Anniversary(born, a)
			if due.Equal(exp) {
				ok = true
			}
			if due.After(d) && !due.Before(Anniversary(d, 2)) && due.Before(exp) {
				t.Fatalf("issued %s: expires %v, skipping renewal age %d", d.Format(time.DateOnly), got, a)
			}
		}
		if !ok {
			t.Fatalf("issued %s: expiry %v is not a renewal-age birthday", d.Format(time.DateOnly), got)
		}
	}
}
