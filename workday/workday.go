// Package workday counts working days the way Vietnamese state agencies
// do, for the deadlines of administrative procedures ("within 2 working
// days"): Monday to Friday, less public holidays, plus the Saturdays worked
// in exchange for a bridge day.
//
// The fixed-date holidays (1 January, 30 April, 1 May, 2 September) are
// computed. Everything the Government decides each year (the Tết days,
// Hùng Kings' day, the second National Day day, bridges and make-up
// Saturdays) is data: an embedded file covering the years announced so far
// (data/holidays.csv, its sources in data/SOURCES.md) and, optionally, an
// operator's file in the same format that adds or corrects days without a
// new release.
//
// All dates are civil dates in Vietnam, UTC+07:00. The package uses a fixed
// zone rather than the tz database's Asia/Ho_Chi_Minh: Vietnam has kept
// +07:00 without daylight saving since 1975, so both agree for every date a
// deadline can fall on, and a fixed zone needs neither the host's zoneinfo
// nor 450 KB of embedded time/tzdata.
package workday

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// zone is Vietnam's civil time. It is never modified.
var zone = time.FixedZone("ICT", 7*60*60)

// Zone returns Vietnam's time zone, UTC+07:00.
func Zone() *time.Location { return zone }

// Cutoff is the time of day from which a file counts as received on the
// next working day (Decree 63/2024 for the interlinked procedures; common
// practice of one-stop shops elsewhere).
const Cutoff = 15 * time.Hour

// Kind says whether a listed day is a day off or a day worked.
type Kind string

// The kinds of listed day.
const (
	// Off is a weekday without work: a holiday, a bridge, a compensatory day.
	Off Kind = "off"
	// Work is a weekend day worked, in exchange for a bridge day.
	Work Kind = "work"
)

// Day is one row of a holiday file: a date that is not what its weekday
// says.
type Day struct {
	Date   Date
	Kind   Kind
	Reason string // tet, hung_kings, national_day, bridge, compensatory, makeup, …
	Status string // confirmed or unverified
	Source string
}

// Date is a civil date (no time, no zone).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the civil date of t in Vietnam.
func DateOf(t time.Time) Date {
	y, m, d := t.In(zone).Date()
	return Date{y, m, d}
}

// Time returns the start of the date in Vietnam.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, zone) }

// AddDays returns the date n calendar days later (earlier if n < 0).
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.Time().Before(e.Time()) }

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Calendar answers which days are working days. It is immutable and safe
// for concurrent use.
type Calendar struct {
	listed  map[Date]Day
	covered map[int]bool // years with at least one listed day: their announcement is known
	// computed caches the days off computed for uncovered years; guarded by mu
	// because it fills lazily.
	mu       sync.Mutex
	computed map[int]map[Date]bool
}

//go:embed data/holidays.csv
var embedded []byte

// defaultDays parses the embedded file once; the result is never modified.
var defaultDays = sync.OnceValues(func() ([]Day, error) { return Parse(bytes.NewReader(embedded)) })

// Default returns the calendar of the embedded data alone.
func Default() *Calendar {
	days, err := defaultDays()
	if err != nil {
		// The file is part of the build and tested; a bad one is a bug.
		panic("workday: embedded holidays.csv is corrupt: " + err.Error())
	}
	return New(days)
}

// New returns a calendar of the given days. For a date listed more than
// once the last row wins, so an operator's file appended after the
// embedded days corrects them.
func New(days ...[]Day) *Calendar {
	c := &Calendar{listed: map[Date]Day{}, covered: map[int]bool{}, computed: map[int]map[Date]bool{}}
	for _, ds := range days {
		for _, d := range ds {
			c.listed[d.Date] = d
			c.covered[d.Date.Year] = true
		}
	}
	return c
}

// With returns a new calendar: c's days, then extra on top.
func (c *Calendar) With(extra []Day) *Calendar {
	n := New(nil, extra)
	for d, day := range c.listed {
		if _, over := n.listed[d]; !over {
			n.listed[d] = day
		}
	}
	maps.Copy(n.covered, c.covered)
	return n
}

// Load returns the default calendar with the days of the operator's file at
// path on top. An empty path gives the default calendar.
func Load(path string) (*Calendar, error) {
	const op = "workday.Load"
	c := Default()
	if path == "" {
		return c, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	defer f.Close()
	days, err := Parse(f)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return c.With(days), nil
}

// Covers reports whether the year's announced days are known. For a year
// not covered, only the fixed-date holidays (with their compensatory days)
// are taken into account: Tết and Hùng Kings' day are missing, and deadlines
// computed in that year may come out too early.
func (c *Calendar) Covers(year int) bool { return c.covered[year] }

// Listed returns the listed days, in no particular order.
func (c *Calendar) Listed() []Day {
	out := make([]Day, 0, len(c.listed))
	for _, d := range c.listed {
		out = append(out, d)
	}
	return out
}

// fixed are the fixed-date holidays of the Labour Code 2019 art. 112.
var fixed = [...]struct {
	m time.Month
	d int
}{{time.January, 1}, {time.April, 30}, {time.May, 1}, {time.September, 2}}

func isFixed(d Date) bool {
	for _, f := range fixed {
		if d.Month == f.m && d.Day == f.d {
			return true
		}
	}
	return false
}

func isWeekend(d Date) bool {
	wd := d.Time().Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// IsWorkingDay reports whether the date of t (in Vietnam) is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool { return c.isWorking(DateOf(t)) }

func (c *Calendar) isWorking(d Date) bool {
	if isFixed(d) {
		return false // a holiday even when an announcement lists it as worked by mistake
	}
	if day, ok := c.listed[d]; ok {
		return day.Kind == Work
	}
	if isWeekend(d) {
		return false
	}
	if !c.covered[d.Year] && c.compensatory(d.Year)[d] {
		return false
	}
	return true
}

// compensatory computes, for a year no announcement covers, the days off
// given for fixed-date holidays falling on a weekend: the next working days
// (Labour Code 2019 art. 111(3)). A holiday on Saturday 31 December would
// push its day into the next year; 1 January is the only holiday near a
// year's end and it is never 31 December, so none does.
func (c *Calendar) compensatory(year int) map[Date]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.computed[year]; ok {
		return m
	}
	m := map[Date]bool{}
	for _, f := range fixed {
		h := Date{year, f.m, f.d}
		if !isWeekend(h) {
			continue
		}
		next := h.AddDays(1)
		for isWeekend(next) || isFixed(next) || m[next] {
			next = next.AddDays(1)
		}
		m[next] = true
	}
	c.computed[year] = m
	return m
}

// nextWorking returns the first working day after d.
func (c *Calendar) nextWorking(d Date) Date {
	for d = d.AddDays(1); !c.isWorking(d); d = d.AddDays(1) {
	}
	return d
}

// Received returns the working day from which a file received at t counts:
// the day of t if it is a working day and t is before 15:00 in Vietnam,
// otherwise the next working day.
func (c *Calendar) Received(t time.Time) Date {
	t = t.In(zone)
	d := DateOf(t)
	if c.isWorking(d) && t.Sub(d.Time()) < Cutoff {
		return d
	}
	return c.nextWorking(d)
}

// AddWorkingDays returns the deadline for something due within n working
// days of start, a file's arrival: the last second (23:59:59 in Vietnam)
// of the n-th working day after the day the file counts from (see
// Received). As for any period in days, the day of receipt itself is not
// counted (Civil Code 2015 art. 147), so n = 0 means "the same working
// day", and a file received on Monday morning with 2 working days is due at
// the end of Wednesday; received at 15:00 or later, at the end of Thursday.
// A negative n counts as 0.
func (c *Calendar) AddWorkingDays(start time.Time, n int) time.Time {
	d := c.Received(start)
	for range max(n, 0) {
		d = c.nextWorking(d)
	}
	return d.AddDays(1).Time().Add(-time.Second)
}

// WorkingDaysBetween counts the working days after the date of a up to and
// including the date of b (negative when b is before a). It is the inverse
// of AddWorkingDays for a file counted from a working day: from the day it
// counts from to its deadline lie n working days. Times of day and the
// 15:00 rule play no part.
func (c *Calendar) WorkingDaysBetween(a, b time.Time) int {
	da, db := DateOf(a), DateOf(b)
	sign := 1
	if db.Before(da) {
		da, db, sign = db, da, -1
	}
	n := 0
	for d := da.AddDays(1); !db.Before(d); d = d.AddDays(1) {
		if c.isWorking(d) {
			n++
		}
	}
	return sign * n
}

// Parse reads a holiday file: CSV with the header
// date,kind,reason,status,source; lines starting with # are comments.
// Dates are YYYY-MM-DD between 1976 and 2199; kind is off or work. Invalid
// (with the 1-based line in the English message) for anything else.
func Parse(r io.Reader) ([]Day, error) {
	const op = "workday.Parse"
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var out []Day
	header := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var line int
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.Line
		} else if err == nil {
			line, _ = cr.FieldPos(0)
		}
		bad := func(what, vi string) error {
			return cancuoc.InvalidField(op, "holidays", "holiday_file_invalid",
				fmt.Sprintf("Tệp ngày nghỉ không hợp lệ ở dòng %d: %s.", line, vi),
				fmt.Sprintf("holiday file, line %d: %s", line, what))
		}
		if err != nil {
			return nil, bad("not valid CSV", "không đúng định dạng CSV")
		}
		if len(rec) != 5 {
			return nil, bad("want 5 fields: date,kind,reason,status,source", "cần 5 trường: date,kind,reason,status,source")
		}
		if header {
			header = false
			if strings.TrimPrefix(rec[0], "\ufeff") == "date" {
				continue
			}
			return nil, bad("the first row must be the header date,kind,reason,status,source", "dòng đầu phải là tiêu đề")
		}
		t, err := time.ParseInLocation(time.DateOnly, rec[0], zone)
		if err != nil || t.Year() < 1976 || t.Year() > 2199 {
			return nil, bad("date must be YYYY-MM-DD between 1976 and 2199", "ngày phải có dạng YYYY-MM-DD, từ 1976 đến 2199")
		}
		k := Kind(rec[1])
		if k != Off && k != Work {
			return nil, bad("kind must be off or work", "loại phải là off hoặc work")
		}
		out = append(out, Day{Date: DateOf(t), Kind: k, Reason: rec[2], Status: rec[3], Source: rec[4]})
	}
	if header {
		return nil, cancuoc.InvalidField(op, "holidays", "holiday_file_invalid",
			"Tệp ngày nghỉ trống.", "holiday file is empty")
	}
	return out, nil
}
