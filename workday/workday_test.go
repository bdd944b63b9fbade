package workday

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// at is a time in Vietnam.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, zone)
	if err != nil {
		panic(err)
	}
	return t
}

func day(s string) time.Time { return at(s + " 10:00") }

func TestIsWorkingDay(t *testing.T) {
	c := Default()
	tests := []struct {
		date string
		want bool
		why  string
	}{
		{"2024-03-04", true, "a Monday"},
		{"2024-03-09", false, "Saturday"},
		{"2024-03-10", false, "Sunday"},
		{"2024-01-01", false, "New Year"},
		{"2024-02-07", true, "the day before the Tết break"},
		{"2024-02-08", false, "Tết 2024, 29th of the 12th month"},
		{"2024-02-10", false, "Tết 2024, lunar New Year on a Saturday"},
		{"2024-02-14", false, "Tết 2024, last day"},
		{"2024-02-15", true, "back after Tết 2024"},
		{"2024-04-18", false, "Hùng Kings 2024"},
		{"2024-04-29", false, "bridge before 30/4 2024"},
		{"2024-04-30", false, "Reunification Day"},
		{"2024-05-01", false, "Labour Day"},
		{"2024-05-04", true, "Saturday worked for the 2024 bridge"},
		{"2024-09-02", false, "National Day"},
		{"2024-09-03", false, "National Day's second day 2024"},
		{"2024-09-04", true, "after National Day 2024"},
		{"2025-01-27", false, "Tết 2025"},
		{"2025-01-31", false, "Tết 2025, last weekday"},
		{"2025-02-03", true, "back after Tết 2025"},
		{"2025-04-07", false, "Hùng Kings 2025"},
		{"2025-04-26", true, "Saturday worked for the 2025 bridge"},
		{"2025-05-02", false, "bridge after 1/5 2025"},
		{"2025-09-01", false, "National Day's second day 2025"},
		{"2026-02-16", false, "Tết 2026"},
		{"2026-02-23", true, "back after Tết 2026"},
		{"2026-04-27", false, "compensatory day for Hùng Kings 2026 on a Sunday"},
		{"2026-08-22", true, "Saturday worked for the 2026 bridge"},
		{"2026-08-31", false, "bridge before National Day 2026"},
		{"2026-09-01", false, "National Day's second day 2026"},
		{"2026-09-03", true, "after National Day 2026"},
		// 2022 is not in the data: fixed holidays on a weekend give
		// computed compensatory days.
		{"2022-04-30", false, "Saturday holiday"},
		{"2022-05-02", false, "computed compensatory day for 30/4 on Saturday"},
		{"2022-05-03", false, "computed compensatory day for 1/5 on Sunday"},
		{"2022-05-04", true, "after the compensatory days"},
		{"2028-01-03", false, "computed compensatory day for 1/1/2028, a Saturday"},
		{"2028-01-04", true, "a Tuesday"},
	}
	for _, tc := range tests {
		if got := c.IsWorkingDay(day(tc.date)); got != tc.want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v (%s)", tc.date, got, tc.want, tc.why)
		}
	}
}

func TestAddWorkingDays(t *testing.T) {
	c := Default()
	tests := []struct {
		start string
		n     int
		want  string // the deadline's date; its time is always 23:59:59
		why   string
	}{
		{"2024-03-04 10:00", 0, "2024-03-04", "same working day"},
		{"2024-03-04 10:00", 2, "2024-03-06", "the day of receipt is not counted"},
		{"2024-03-04 14:59", 2, "2024-03-06", "just before the cut-off"},
		{"2024-03-04 15:00", 2, "2024-03-07", "at 15:00 the file counts from the next working day"},
		{"2024-03-04 23:30", 0, "2024-03-05", "late evening, same-day service"},
		{"2024-03-08 16:00", 1, "2024-03-12", "Friday after 15:00: counts from Monday"},
		{"2024-03-09 09:00", 0, "2024-03-11", "received on Saturday"},
		{"2024-03-10 09:00", 2, "2024-03-13", "received on Sunday"},
		{"2024-03-04 10:00", -3, "2024-03-04", "negative counts as 0"},
		{"2024-02-07 10:00", 2, "2024-02-16", "Tết 2024 in between"},
		{"2024-02-07 16:00", 2, "2024-02-19", "after 15:00 on the eve of Tết 2024"},
		{"2024-02-10 08:00", 0, "2024-02-15", "received on lunar New Year's day"},
		{"2025-01-24 10:00", 3, "2025-02-05", "Tết 2025 in between"},
		{"2026-02-13 10:00", 1, "2026-02-23", "Tết 2026 in between"},
		{"2024-12-27 10:00", 3, "2025-01-02", "over New Year"},
		{"2024-12-31 15:30", 0, "2025-01-02", "New Year's Eve after 15:00"},
		{"2025-12-31 16:00", 1, "2026-01-06", "over New Year 2026 with its bridge"},
		{"2024-04-26 10:00", 3, "2024-05-04", "over 29/4–1/5 2024, ending on the make-up Saturday"},
		{"2025-04-29 09:00", 2, "2025-05-06", "over 30/4–2/5 2025"},
		{"2025-04-25 09:00", 1, "2025-04-26", "the make-up Saturday 2025 is a working day"},
		{"2024-08-30 10:00", 1, "2024-09-04", "over 2–3/9 2024"},
		{"2025-08-29 10:00", 1, "2025-09-03", "over 1–2/9 2025"},
		{"2026-08-27 10:00", 2, "2026-09-03", "over 31/8–2/9 2026"},
		{"2026-04-24 10:00", 1, "2026-04-28", "over Hùng Kings 2026 and its compensatory Monday"},
		{"2024-04-17 10:00", 1, "2024-04-19", "over Hùng Kings 2024"},
		{"2024-03-04 10:00", 7, "2024-03-13", "seven working days: the refusal deadline for missing documents"},
	}
	for _, tc := range tests {
		got := c.AddWorkingDays(at(tc.start), tc.n)
		want := at(tc.want + " 23:59").Add(59 * time.Second)
		if !got.Equal(want) {
			t.Errorf("AddWorkingDays(%s, %d) = %s, want %s (%s)", tc.start, tc.n, got.In(zone), want, tc.why)
		}
	}
}

// TestZone checks that times in other zones are read in Vietnam's.
func TestZone(t *testing.T) {
	c := Default()
	// 08:30 UTC is 15:30 in Vietnam: after the cut-off.
	start := time.Date(2024, 3, 4, 8, 30, 0, 0, time.UTC)
	if got, want := DateOf(c.AddWorkingDays(start, 0)), (Date{2024, 3, 5}); got != want {
		t.Errorf("08:30 UTC on Monday counts from %s, want %s", got, want)
	}
	// 18:00 UTC on Sunday is 01:00 on Monday in Vietnam.
	if !c.IsWorkingDay(time.Date(2024, 3, 3, 18, 0, 0, 0, time.UTC)) {
		t.Error("Sunday 18:00 UTC is Monday in Vietnam")
	}
	if loc, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		for _, s := range []string{"2024-02-10 12:00", "2025-07-01 12:00", "2026-12-31 12:00"} {
			tm := at(s)
			if _, off := tm.In(loc).Zone(); off != 7*3600 {
				t.Errorf("tz database gives offset %d at %s; the fixed zone assumes +07:00", off, s)
			}
		}
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	c := Default()
	tests := []struct {
		a, b string
		want int
	}{
		{"2024-03-04", "2024-03-04", 0},
		{"2024-03-04", "2024-03-06", 2},
		{"2024-03-06", "2024-03-04", -2},
		{"2024-03-08", "2024-03-11", 1},
		{"2024-02-07", "2024-02-16", 2},
		{"2024-04-26", "2024-05-06", 4},
		{"2024-12-31", "2025-01-02", 1},
		{"2024-01-01", "2025-01-01", 251}, // 2024's working days, as counted below
	}
	for _, tc := range tests {
		if got := c.WorkingDaysBetween(day(tc.a), day(tc.b)); got != tc.want {
			t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	// 2024: 262 weekdays, less 1/1, 5 Tết, Hùng Kings, 29/4, 30/4, 1/5,
	// 2/9, 3/9 (12), plus the make-up Saturday 4/5: 251. 1 Jan 2025 is not
	// counted as it is a holiday; 1 Jan 2024 is excluded as the start.
	if got := c.WorkingDaysBetween(day("2023-12-31"), day("2024-12-31")); got != 251 {
		t.Errorf("working days in 2024 = %d, want 251", got)
	}
}

// TestInverse checks that WorkingDaysBetween undoes AddWorkingDays from a
// random working-day morning.
func TestInverse(t *testing.T) {
	c := Default()
	r := rand.New(rand.NewPCG(1, 2))
	base := day("2024-01-01")
	for range 2000 {
		start := base.AddDate(0, 0, r.IntN(3*365))
		n := r.IntN(40)
		from := c.Received(start)
		if got := c.WorkingDaysBetween(from.Time(), c.AddWorkingDays(start, n)); got != n {
			t.Fatalf("from %s: %d working days to the deadline of %d", start, got, n)
		}
		if !c.isWorking(from) {
			t.Fatalf("Received(%s) = %s, not a working day", start, from)
		}
	}
}

// TestEmbeddedData checks the shape of each announced year.
func TestEmbeddedData(t *testing.T) {
	c := Default()
	seen := map[Date]bool{}
	type counts struct{ tet, natl, bridge, makeup int }
	years := map[int]*counts{}
	for _, d := range c.Listed() {
		if seen[d.Date] {
			t.Errorf("%s listed twice", d.Date)
		}
		seen[d.Date] = true
		if d.Status != "confirmed" && d.Status != "unverified" {
			t.Errorf("%s: status %q", d.Date, d.Status)
		}
		if d.Source == "" {
			t.Errorf("%s: no source", d.Date)
		}
		if isFixed(d.Date) {
			t.Errorf("%s is a fixed holiday: it is computed, not listed", d.Date)
		}
		if (d.Kind == Work) != isWeekend(d.Date) {
			t.Errorf("%s: %s on a %s", d.Date, d.Kind, d.Date.Time().Weekday())
		}
		y := years[d.Date.Year]
		if y == nil {
			y = &counts{}
			years[d.Date.Year] = y
		}
		switch d.Reason {
		case "tet":
			y.tet++
		case "national_day":
			y.natl++
			if d.Date.Month != time.September || d.Date.Day != 1 && d.Date.Day != 3 {
				t.Errorf("%s: National Day's second day must be next to 2 September", d.Date)
			}
		case "bridge":
			y.bridge++
		case "makeup":
			y.makeup++
		case "hung_kings", "compensatory":
		default:
			t.Errorf("%s: unknown reason %q", d.Date, d.Reason)
		}
	}
	for _, y := range []int{2024, 2025, 2026} {
		if !c.Covers(y) {
			t.Errorf("%d not covered", y)
			continue
		}
		n := years[y]
		if n.tet != 5 || n.natl != 1 || n.bridge != n.makeup {
			t.Errorf("%d: %d Tết weekdays, %d second National Day days, %d bridges for %d make-up days; want 5, 1 and equal",
				y, n.tet, n.natl, n.bridge, n.makeup)
		}
	}
	if c.Covers(2027) {
		t.Error("2027 covered without an announcement")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "extra.csv")
	extra := "date,kind,reason,status,source\n" +
		"# Tết 2027 as an operator might add it\n" +
		"2027-02-05,off,tet,confirmed,operator\n" +
		"2026-01-02,work,correction,confirmed,operator\n" // the unverified bridge did not happen
	if err := os.WriteFile(path, []byte(extra), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.IsWorkingDay(day("2027-02-05")) || !c.Covers(2027) {
		t.Error("operator's day off ignored")
	}
	if !c.IsWorkingDay(day("2026-01-02")) {
		t.Error("operator's correction did not win over the embedded row")
	}
	if c.IsWorkingDay(day("2026-02-16")) {
		t.Error("embedded days lost under the operator's file")
	}
	if Default().IsWorkingDay(day("2026-01-02")) {
		t.Error("loading an extra file changed the default calendar")
	}
	if _, err := Load(filepath.Join(dir, "missing.csv")); err == nil {
		t.Error("a missing file loaded")
	}
	if c, err := Load(""); err != nil || !c.Covers(2025) {
		t.Errorf("Load(\"\") = %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	const h = "date,kind,reason,status,source\n"
	for _, tc := range []struct{ in, line string }{
		{"", "empty"},
		{"2024-01-02,off,x,confirmed,s\n", "line 1"},
		{h + "2024-13-01,off,x,confirmed,s\n", "line 2"},
		{h + "2024-01-02,holiday,x,confirmed,s\n", "line 2"},
		{h + "2024-01-02,off,x\n", "line 2"},
		{h + "# comment\n2024-01-02,off,x,confirmed,s\n1900-01-02,off,x,confirmed,s\n", "line 4"},
		{h + "2024-01-02,off,\"x,confirmed,s\n", "line 2"},
	} {
		_, err := Parse(strings.NewReader(tc.in))
		var e *cancuoc.Error
		if !errors.As(err, &e) || e.Kind != cancuoc.Invalid || !strings.Contains(e.MessageEN, tc.line) || e.MessageVI == "" {
			t.Errorf("Parse(%q) = %v, want Invalid mentioning %q", tc.in, err, tc.line)
		}
	}
	days, err := Parse(strings.NewReader("\ufeff" + h + "2024-01-02,off,x,confirmed,s\n"))
	if err != nil || len(days) != 1 || days[0].Date != (Date{2024, 1, 2}) {
		t.Errorf("with a byte-order mark: %v, %v", days, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(embedded)
	f.Add([]byte("date,kind,reason,status,source\n2024-01-02,work,x,y,z\n"))
	f.Add([]byte("date,kind\n\"unterminated"))
	f.Fuzz(func(t *testing.T, b []byte) {
		days, err := Parse(bytes.NewReader(b))
		if err != nil {
			if cancuoc.KindOf(err) != cancuoc.Invalid {
				t.Fatalf("error of kind %v: %v", cancuoc.KindOf(err), err)
			}
			return
		}
		c := New(days)
		for _, d := range days {
			if d.Kind != Off && d.Kind != Work || d.Date.Year < 1976 || d.Date.Year > 2199 {
				t.Fatalf("accepted %+v", d)
			}
			// The calendar must always find a next working day.
			c.AddWorkingDays(d.Date.Time(), 3)
		}
	})
}
