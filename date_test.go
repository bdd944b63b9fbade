package cancuoc_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want cancuoc.Date
		code string // "" means valid
	}{
		{"", cancuoc.Date{}, ""},
		{"   ", cancuoc.Date{}, ""},
		{"1990", cancuoc.Date{Year: 1990}, ""},
		{"1800", cancuoc.Date{Year: 1800}, ""},
		{"1990-05", cancuoc.Date{Year: 1990, Month: 5}, ""},
		{"1990-05-17", cancuoc.Date{Year: 1990, Month: 5, Day: 17}, ""},
		{" 1990-05-17\n", cancuoc.Date{Year: 1990, Month: 5, Day: 17}, ""},
		{"2024-02-29", cancuoc.Date{Year: 2024, Month: 2, Day: 29}, ""},
		{"2000-02-29", cancuoc.Date{Year: 2000, Month: 2, Day: 29}, ""},
		{"2023-02-29", cancuoc.Date{}, "date_day_range"},
		{"1900-02-29", cancuoc.Date{}, "date_day_range"},
		{"2023-12-31", cancuoc.Date{Year: 2023, Month: 12, Day: 31}, ""},
		{"2023-04-31", cancuoc.Date{}, "date_day_range"},
		{"2023-01-32", cancuoc.Date{}, "date_day_range"},
		{"2023-01-00", cancuoc.Date{}, "date_day_range"},
		{"2023-00", cancuoc.Date{}, "date_month_range"},
		{"2023-13", cancuoc.Date{}, "date_month_range"},
		{"2023-13-01", cancuoc.Date{}, "date_month_range"},
		{"2023-00-10", cancuoc.Date{}, "date_month_range"},
		{"1799", cancuoc.Date{}, "date_year_range"},
		{"0000-01-01", cancuoc.Date{}, "date_year_range"},
		{"abcd", cancuoc.Date{}, "date_format"},
		{"199", cancuoc.Date{}, "date_format"},
		{"19900", cancuoc.Date{}, "date_format"},
		{"1990-5", cancuoc.Date{}, "date_format"},
		{"1990-05-7", cancuoc.Date{}, "date_format"},
		{"1990-05-17-01", cancuoc.Date{}, "date_format"},
		{"1990/05/17", cancuoc.Date{}, "date_format"},
		{"17-05-1990", cancuoc.Date{}, "date_format"},
		{"1990-", cancuoc.Date{}, "date_format"},
		{"1990--17", cancuoc.Date{}, "date_format"},
		{"-1990", cancuoc.Date{}, "date_format"},
		{"+990-01-01", cancuoc.Date{}, "date_format"},
		{"1990-0a", cancuoc.Date{}, "date_format"},
		{"1990-+1", cancuoc.Date{}, "date_format"},
		{"1990-05-17T00:00:00Z", cancuoc.Date{}, "date_format"},
		{"１９９０", cancuoc.Date{}, "date_format"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := cancuoc.ParseDate(tt.in)
			if tt.code == "" {
				if err != nil || d != tt.want {
					t.Fatalf("ParseDate(%q) = %+v, %v; want %+v", tt.in, d, err, tt.want)
				}
				if got := d.String(); got != trimmed(tt.in) {
					t.Errorf("String() = %q, want %q", got, trimmed(tt.in))
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseDate(%q) = %+v, want %s", tt.in, d, tt.code)
			}
			code, _, kind := errCode(t, err)
			if code != tt.code || kind != cancuoc.Invalid {
				t.Errorf("ParseDate(%q): %s/%v, want %s/invalid (%v)", tt.in, code, kind, tt.code, err)
			}
			if d != (cancuoc.Date{}) {
				t.Errorf("ParseDate(%q) returned %+v with an error", tt.in, d)
			}
		})
	}
}

func trimmed(s string) string { return strings.TrimSpace(s) }

func TestDateJSON(t *testing.T) {
	type rec struct {
		D cancuoc.Date `json:"d"`
	}
	for _, d := range []cancuoc.Date{{}, {Year: 1990}, {Year: 1990, Month: 5}, {Year: 1990, Month: 5, Day: 17}, {Year: 2024, Month: 2, Day: 29}} {
		b, err := json.Marshal(rec{d})
		if err != nil {
			t.Fatal(err)
		}
		var back rec
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if back.D != d {
			t.Errorf("round trip of %+v via %s gave %+v", d, b, back.D)
		}
	}
	if b, _ := json.Marshal(rec{}); string(b) != `{"d":null}` {
		t.Errorf("unknown date marshals to %s, want null", b)
	}
	if b, _ := json.Marshal(rec{cancuoc.Date{Year: 1990, Month: 5}}); string(b) != `{"d":"1990-05"}` {
		t.Errorf("partial date marshals to %s", b)
	}
	for _, in := range []string{`{"d":19900517}`, `{"d":"1990-02-30"}`, `{"d":"17/05/1990"}`, `{"d":true}`, `{"d":{}}`} {
		var r rec
		err := json.Unmarshal([]byte(in), &r)
		if err == nil {
			t.Errorf("Unmarshal(%s) = %+v, want an error", in, r.D)
			continue
		}
		if cancuoc.KindOf(err) != cancuoc.Invalid {
			t.Errorf("Unmarshal(%s): kind %v, want invalid (%v)", in, cancuoc.KindOf(err), err)
		}
	}
	r := rec{cancuoc.Date{Year: 2000}}
	if err := json.Unmarshal([]byte(`{"d":null}`), &r); err != nil || !r.D.IsZero() {
		t.Errorf("null gives %+v, %v; want unknown", r.D, err)
	}
}

func TestDateCompatible(t *testing.T) {
	d := func(s string) cancuoc.Date {
		v, err := cancuoc.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"", "1990-05-17", true},
		{"1990", "1990-05-17", true},
		{"1990-05", "1990-05-17", true},
		{"1990-05-17", "1990-05-17", true},
		{"1990-05", "1990", true},
		{"1990", "1991", false},
		{"1990-05", "1990-06", false},
		{"1990-05-17", "1990-05-18", false},
		{"1990-05", "1990-06-01", false},
		{"1991", "1990-05-17", false},
	}
	for _, tt := range tests {
		a, b := d(tt.a), d(tt.b)
		if got := a.Compatible(b); got != tt.want {
			t.Errorf("%q.Compatible(%q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := b.Compatible(a); got != tt.want {
			t.Errorf("%q.Compatible(%q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestDateRangeAndAge(t *testing.T) {
	day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		d                cancuoc.Date
		earliest, latest time.Time
	}{
		{cancuoc.Date{Year: 1990}, day(1990, 1, 1), day(1990, 12, 31)},
		{cancuoc.Date{Year: 2024, Month: 2}, day(2024, 2, 1), day(2024, 2, 29)},
		{cancuoc.Date{Year: 2023, Month: 2}, day(2023, 2, 1), day(2023, 2, 28)},
		{cancuoc.Date{Year: 1990, Month: 5, Day: 17}, day(1990, 5, 17), day(1990, 5, 17)},
	}
	for _, tt := range tests {
		if e, l := tt.d.Earliest(), tt.d.Latest(); !e.Equal(tt.earliest) || !l.Equal(tt.latest) {
			t.Errorf("%s: [%v, %v], want [%v, %v]", tt.d, e, l, tt.earliest, tt.latest)
		}
	}
	b := cancuoc.Date{Year: 2000, Month: 6, Day: 15}
	if a := b.AgeOn(day(2014, 6, 14)); a != 13 {
		t.Errorf("age the day before the 14th birthday = %d", a)
	}
	if a := b.AgeOn(day(2014, 6, 15)); a != 14 {
		t.Errorf("age on the 14th birthday = %d", a)
	}
	if !(cancuoc.Date{Year: 2030}).After(day(2029, 12, 31)) || (cancuoc.Date{Year: 2029}).After(day(2029, 6, 1)) {
		t.Error("After disagrees with the earliest reading")
	}
	if (cancuoc.Date{}).After(day(1, 1, 1)) {
		t.Error("unknown date is after something")
	}
}

// FuzzParseDate checks that ParseDate never panics, that whatever it
// accepts is a real (possibly partial) date, and that the value
// re-serialises (as text and JSON) to an input that parses back to it.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"", "1990", "1990-05", "1990-05-17", "2024-02-29", "2023-02-29", "1990-13",
		"abcd", "1990-05-17-01", " 1990 ", "9999-12-31", "1800-01-01", "-", "--", "1990-0\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := cancuoc.ParseDate(s)
		if err != nil {
			if cancuoc.KindOf(err) != cancuoc.Invalid {
				t.Fatalf("ParseDate(%q): error kind %v", s, cancuoc.KindOf(err))
			}
			return
		}
		if !d.IsZero() {
			if d.Year < 1800 || d.Year > 9999 || d.Month < 0 || d.Month > 12 || d.Day < 0 || (d.Day != 0 && d.Month == 0) {
				t.Fatalf("ParseDate(%q) = %+v, not a date", s, d)
			}
			if d.Complete() && d.Earliest().Day() != d.Day {
				t.Fatalf("ParseDate(%q) = %+v, a day that does not exist", s, d)
			}
		}
		back, err := cancuoc.ParseDate(d.String())
		if err != nil || back != d {
			t.Fatalf("ParseDate(%q) = %+v; String %q reparses to %+v, %v", s, d, d.String(), back, err)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var j cancuoc.Date
		if err := json.Unmarshal(b, &j); err != nil || j != d {
			t.Fatalf("JSON %s of %+v reads back as %+v, %v", b, d, j, err)
		}
	})
}
