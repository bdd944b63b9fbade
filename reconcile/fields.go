package reconcile

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/vntext"
)

// Input is a record read and interpreted: what matching works on.
type Input struct {
	Line     int64
	ID       string // the partner's record ID; "line N" when the input has none
	PINText  string // as sent, trimmed
	PIN      cancuoc.PIN
	PINError string // a PIN was sent but is not a valid one
	Name     string // NFC, cleaned
	NameKey  string
	Birth    cancuoc.Date
	Sex      cancuoc.Sex
	Address  string
	AddrKey  string
	Card     string
}

// Parse interprets a raw record. It returns a reason when a field cannot be
// read (the row is then malformed); an invalid PIN is not a reason but an
// outcome, since the row itself is fine.
func Parse(r *Record, nowYear int) (*Input, string) {
	in := &Input{Line: r.Line, ID: strings.TrimSpace(r.Fields[0])}
	if in.ID == "" {
		in.ID = "line " + strconv.FormatInt(r.Line, 10)
	}
	if p := strings.TrimSpace(r.Fields[1]); p != "" {
		in.PINText = p
		pin, err := cancuoc.ParsePIN(p, nowYear)
		if err != nil {
			in.PINError = errText(err)
		} else {
			in.PIN = pin
		}
	}
	if n := cleanName(r.Fields[2]); n != "" {
		if err := validName(n); err != nil {
			return nil, "full_name: " + err.Error()
		}
		in.Name, in.NameKey = n, keyOf(n)
	}
	d, err := parseBirth(r.Fields[3], nowYear)
	if err != nil {
		return nil, "birth_date: " + err.Error()
	}
	in.Birth = d
	if in.Sex, err = parseSex(r.Fields[4]); err != nil {
		return nil, "sex: " + err.Error()
	}
	if a := strings.TrimSpace(r.Fields[5]); a != "" {
		in.Address, in.AddrKey = a, keyOf(a)
	}
	if c := strings.Join(strings.Fields(r.Fields[6]), ""); c != "" {
		if (len(c) != 9 && len(c) != 12) || strings.Trim(c, "0123456789") != "" {
			return nil, "card_number: a card number has 12 digits (Căn cước, CCCD) or 9 (CMND)"
		}
		in.Card = c
	}
	return in, ""
}

func errText(err error) string {
	if e, ok := err.(*cancuoc.Error); ok {
		return e.MessageEN
	}
	return err.Error()
}

// parseBirth reads the date forms partners export: ISO (YYYY-MM-DD,
// YYYY-MM, YYYY) and the Vietnamese day-first forms (DD/MM/YYYY, D/M/YYYY,
// MM/YYYY, with / - or . as separator).
func parseBirth(s string, nowYear int) (cancuoc.Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return cancuoc.Date{}, nil
	}
	if d, ok := quickDate(s, nowYear); ok {
		return d, nil
	}
	return parseBirthSlow(s, nowYear)
}

// parseBirthSlow is parseBirth for the forms quickDate does not read, and
// the explanation of the dates that are not valid.
func parseBirthSlow(s string, nowYear int) (cancuoc.Date, error) {
	iso := s
	isoLike := len(s) >= 4 && strings.Trim(s[:4], "0123456789") == "" && (len(s) == 4 || s[4] == '-')
	if !isoLike {
		parts := strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '-' || r == '.' })
		for i, p := range parts {
			if len(p) == 1 {
				parts[i] = "0" + p
			}
		}
		switch {
		case len(parts) == 3 && len(parts[2]) == 4:
			iso = parts[2] + "-" + parts[1] + "-" + parts[0]
		case len(parts) == 2 && len(parts[1]) == 4:
			iso = parts[1] + "-" + parts[0]
		default:
			return cancuoc.Date{}, fmt.Errorf("%q is not a date: use YYYY-MM-DD or DD/MM/YYYY (or YYYY, MM/YYYY)", s)
		}
	}
	d, err := cancuoc.ParseDate(iso)
	if err != nil {
		return cancuoc.Date{}, fmt.Errorf("%q: %s", s, errText(err))
	}
	if d.Year > nowYear {
		return cancuoc.Date{}, fmt.Errorf("%q is in the future", s)
	}
	return d, nil
}

// parseSex reads Vietnamese and English forms.
func parseSex(s string) (cancuoc.Sex, error) {
	switch keyOf(s) {
	case "":
		return cancuoc.SexUnknown, nil
	case "nam", "male", "m", "trai":
		return cancuoc.Male, nil
	case "nu", "female", "f", "gai":
		return cancuoc.Female, nil
	}
	return "", fmt.Errorf("%q is not a sex: use nam/nữ or male/female", s)
}

// quickDate reads the two full forms partners send most, YYYY-MM-DD and
// DD/MM/YYYY (with / - or .), without allocating. It reports false for
// anything else and for any date that is not valid, which parseBirth then
// reads (and explains) the long way.
func quickDate(s string, nowYear int) (cancuoc.Date, bool) {
	if len(s) != 10 {
		return cancuoc.Date{}, false
	}
	num := func(t string) int {
		n := 0
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return -1
			}
			n = n*10 + int(t[i]-'0')
		}
		return n
	}
	var y, m, d int
	switch {
	case s[4] == '-' && s[7] == '-':
		y, m, d = num(s[:4]), num(s[5:7]), num(s[8:])
	case s[2] == s[5] && (s[2] == '/' || s[2] == '-' || s[2] == '.'):
		d, m, y = num(s[:2]), num(s[3:5]), num(s[6:])
	default:
		return cancuoc.Date{}, false
	}
	if y < 1800 || y > nowYear || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return cancuoc.Date{}, false
	}
	return cancuoc.Date{Year: y, Month: m, Day: d}, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// validName is vntext.ValidName for a name cleanName returned (NFC), with
// a quick yes for the common name: up to MaxNameRunes letters of the Latin
// blocks Vietnamese is written in (ASCII, Latin-1 to Extended-B, Latin
// Extended Additional) and single spaces, for which vntext.ValidName's
// normalising and rune-by-rune checks (a quarter of a microsecond a
// record) can only say yes. Anything else is asked of it.
func validName(n string) error {
	runes := 0
	for _, r := range n {
		runes++
		switch {
		case r < utf8.RuneSelf:
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == ' ') {
				return vntext.ValidName(n)
			}
		case r < 0x250 && latinLetter[r], 0x1e00 <= r && r < 0x1f00 && unicode.IsLetter(r):
		default:
			return vntext.ValidName(n)
		}
	}
	if runes > vntext.MaxNameRunes || n[0] == ' ' {
		return vntext.ValidName(n)
	}
	return nil
}

// latinLetter tells the letters among the first 0x250 runes.
var latinLetter = func() (t [0x250]bool) {
	for r := range t {
		t[r] = unicode.IsLetter(rune(r))
	}
	return t
}()
