package cancuoc

import (
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"strconv"
	"strings"
	"time"
)

// Date is a calendar date that may be partial: many real records know only
// the year, or the year and month, of a birth. Month and Day are 0 when
// unknown; a known Day implies a known Month. The zero Date means unknown.
type Date struct {
	Year  int
	Month int
	Day   int
}

// ParseDate accepts "YYYY", "YYYY-MM" or "YYYY-MM-DD" and checks that the
// date exists. An empty string is the unknown date.
func ParseDate(s string) (Date, error) {
	const op = "ParseDate"
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, nil
	}
	bad := func(code, vi, en string) (Date, error) {
		return Date{}, InvalidField(op, "", code, vi, en)
	}
	parts := strings.Split(s, "-")
	if len(parts) > 3 || len(parts[0]) != 4 {
		return bad("date_format", "Ngày phải có dạng YYYY, YYYY-MM hoặc YYYY-MM-DD.",
			"A date must be YYYY, YYYY-MM or YYYY-MM-DD.")
	}
	var d Date
	for i, p := range parts {
		if (i > 0 && len(p) != 2) || !allDigits(p) {
			return bad("date_format", "Ngày phải có dạng YYYY, YYYY-MM hoặc YYYY-MM-DD.",
				"A date must be YYYY, YYYY-MM or YYYY-MM-DD.")
		}
		n, _ := strconv.Atoi(p)
		switch i {
		case 0:
			d.Year = n
		case 1:
			d.Month = n
		case 2:
			d.Day = n
		}
	}
	if d.Year < 1800 {
		return bad("date_year_range", "Năm phải từ 1800 trở đi.", "The year must be 1800 or later.")
	}
	if len(parts) > 1 && (d.Month < 1 || d.Month > 12) {
		return bad("date_month_range", "Tháng phải từ 01 đến 12.", "The month must be 01 to 12.")
	}
	if len(parts) > 2 {
		last := time.Date(d.Year, time.Month(d.Month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
		if d.Day < 1 || d.Day > last {
			return bad("date_day_range",
				fmt.Sprintf("Ngày phải từ 01 đến %02d trong tháng %02d/%d.", last, d.Month, d.Year),
				fmt.Sprintf("The day must be 01 to %02d in %d-%02d.", last, d.Year, d.Month))
		}
	}
	return d, nil
}

// DateOf returns the full date of t (in t's location).
func DateOf(t time.Time) Date {
	return Date{Year: t.Year(), Month: int(t.Month()), Day: t.Day()}
}

// IsZero reports an unknown date.
func (d Date) IsZero() bool { return d.Year == 0 }

// Complete reports whether year, month and day are all known.
func (d Date) Complete() bool { return d.Day != 0 }

// String formats as YYYY, YYYY-MM or YYYY-MM-DD; "" when unknown.
func (d Date) String() string {
	switch {
	case d.Year == 0:
		return ""
	case d.Month == 0:
		return fmt.Sprintf("%04d", d.Year)
	case d.Day == 0:
		return fmt.Sprintf("%04d-%02d", d.Year, d.Month)
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Earliest is the first day the partial date can mean.
func (d Date) Earliest() time.Time {
	m, day := max(d.Month, 1), max(d.Day, 1)
	return time.Date(d.Year, time.Month(m), day, 0, 0, 0, 0, time.UTC)
}

// Latest is the last day the partial date can mean.
func (d Date) Latest() time.Time {
	switch {
	case d.Month == 0:
		return time.Date(d.Year, 12, 31, 0, 0, 0, 0, time.UTC)
	case d.Day == 0:
		return time.Date(d.Year, time.Month(d.Month)+1, 0, 0, 0, 0, 0, time.UTC)
	}
	return d.Earliest()
}

// After reports whether d certainly lies after t's date: even its earliest
// reading is later.
func (d Date) After(t time.Time) bool {
	return !d.IsZero() && d.Earliest().After(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC))
}

// Compatible reports whether two dates can name the same day: every part
// known on both sides agrees. Search uses it so "1990" finds "1990-05-17".
func (d Date) Compatible(o Date) bool {
	if d.IsZero() || o.IsZero() {
		return true
	}
	if d.Year != o.Year {
		return false
	}
	if d.Month != 0 && o.Month != 0 && d.Month != o.Month {
		return false
	}
	return d.Day == 0 || o.Day == 0 || d.Day == o.Day
}

// AgeOn is the completed years of age on day t, using the earliest reading of
// a partial date (so a year-only birth counts from 1 January).
func (d Date) AgeOn(t time.Time) int {
	b := d.Earliest()
	age := t.Year() - b.Year()
	if t.Month() < b.Month() || (t.Month() == b.Month() && t.Day() < b.Day()) {
		age--
	}
	return age
}

// MarshalJSON writes the string form, or null when unknown.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads the string form via ParseDate; null is unknown.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return InvalidField("Date.UnmarshalJSON", "", "date_format",
			"Ngày phải là chuỗi dạng YYYY, YYYY-MM hoặc YYYY-MM-DD.", "A date must be a string YYYY, YYYY-MM or YYYY-MM-DD.")
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
