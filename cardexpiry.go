package cancuoc

import "time"

// CardRenewalAges are the ages at which a citizen renews the identity card
// (Law on Identity 26/2023/QH15, art. 21(1)): 14, 25, 40 and 60.
var CardRenewalAges = [...]int{14, 25, 40, 60}

// cardGrace is the period before a renewal age in which a card issued stays
// valid to the following renewal age instead (art. 21(2)).
const cardGraceYears = 2

// CardExpiry returns the expiry date of an identity card issued on issued
// to a person born on birth: the day the holder reaches the next renewal age
// after the issue, skipping a renewal age less than two years away, and the
// zero Date (never expires) when no renewal age is left, i.e. for a card
// issued from two years before the 60th birthday on.
//
// A partial birth date counts from its earliest reading (1 January of the
// year, or the first of the month), so the card never outlives the age it
// stands for. Someone born on 29 February reaches an age on 28 February of a
// common year: the Civil Code (2015, art. 148) ends a period counted in years
// on the last day of the month when the day does not exist. With no known
// birth date (zero), there is no age to count and the result is zero.
func CardExpiry(birth Date, issued time.Time) Date {
	if birth.IsZero() {
		return Date{}
	}
	born := birth.Earliest()
	day := time.Date(issued.Year(), issued.Month(), issued.Day(), 0, 0, 0, 0, time.UTC)
	for _, age := range CardRenewalAges {
		due := Anniversary(born, age)
		if due.After(day) && !due.Before(Anniversary(day, cardGraceYears)) {
			return DateOf(due)
		}
	}
	return Date{}
}

// Anniversary returns the date years after t (at midnight UTC), on the last
// day of the month when that month is shorter (29 February → 28 February),
// where time.AddDate would roll over into March.
func Anniversary(t time.Time, years int) time.Time {
	y, m, d := t.Year()+years, t.Month(), t.Day()
	if last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day(); d > last {
		d = last
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
