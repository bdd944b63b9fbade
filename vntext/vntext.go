// Package vntext normalises and compares Vietnamese text, chiefly personal
// and place names.
//
// Vietnamese text reaches the registry in several Unicode forms: precomposed
// (NFC) from most keyboards, decomposed (NFD) from some macOS and legacy
// sources, with stray double spaces from forms and scanned records. Storing
// one form (NFC) and searching on a diacritic-free key keeps equal names
// equal regardless of where they were typed.
package vntext

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxNameRunes is the longest name ValidName accepts, in runes. Real
// Vietnamese full names are far shorter; the bound stops pasted garbage and
// keeps the field fit for printing on a card.
const MaxNameRunes = 100

// NFC returns s in Unicode Normalization Form C, the form the registry stores,
// so that a name typed as "ê"+"́" and one typed as "ế" compare equal byte for byte.
func NFC(s string) string {
	return norm.NFC.String(s)
}

// CleanName returns s in NFC with leading and trailing white space removed and
// every internal run of white space replaced by a single space. It does not
// change case or letters: the spelling a person registers is theirs.
func CleanName(s string) string {
	return strings.Join(strings.Fields(eth.Replace(NFC(s))), " ")
}

// eth maps the Icelandic eth (Ð U+00D0, ð U+00F0), which legacy Vietnamese
// encodings and keyboards often produce in place of đ (U+0110, U+0111). They
// look alike, but a name spelled with eth would never match its proper form.
// Vietnamese has no eth, so the replacement is always right.
var eth = strings.NewReplacer("\u00d0", "\u0110", "\u00f0", "\u0111")

// StripDiacritics removes Vietnamese tone and vowel marks and maps đ/Đ to d/D,
// keeping case, spacing and punctuation ("Đắk Lắk" → "Dak Lak"). It gives the
// customary ASCII spelling used for English-language names of places.
func StripDiacritics(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.M, r):
			// Marks carry the diacritics; dropping them leaves the base letter.
		case r == 'đ':
			b.WriteByte('d')
		case r == 'Đ':
			b.WriteByte('D')
		default:
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

// Key returns a diacritic-free search key for s: lower-case ASCII letters and
// digits separated by single spaces ("Nguyễn Văn Đức" → "nguyen van duc",
// "H'Mông" → "h mong"). Punctuation and any character that has no ASCII base
// letter become word separators, so that people who type a name with or
// without marks, hyphens or apostrophes still find each other.
func Key(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a separator is pending; written only before the next word
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.M, r) {
			continue
		}
		switch r {
		case 'đ', 'Đ', '\u00d0', '\u00f0': // eth: see CleanName
			r = 'd'
		}
		r = unicode.ToLower(r)
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		space = true
	}
	return b.String()
}

// ValidName reports whether s is acceptable as a personal name: non-empty, at
// most MaxNameRunes runes, and made only of letters (with their combining
// marks), spaces, apostrophes, hyphens and dots. Digits and control characters
// are rejected because they come from data-entry mistakes, not from names.
// The error is plain English; callers wrap it with the field it concerns.
func ValidName(s string) error {
	s = NFC(s)
	if strings.TrimSpace(s) == "" {
		return errors.New("name is empty")
	}
	if n := utf8.RuneCountInString(s); n > MaxNameRunes {
		return fmt.Errorf("name is %d characters long, more than %d", n, MaxNameRunes)
	}
	if !utf8.ValidString(s) {
		return errors.New("name is not valid UTF-8")
	}
	letters := 0
	prevLetter := false // a combining mark must follow a letter (or another mark)
	for i, r := range s {
		switch {
		case unicode.IsLetter(r):
			letters++
			prevLetter = true
		case unicode.Is(unicode.M, r):
			if !prevLetter {
				return fmt.Errorf("name has a combining mark %U not attached to a letter at byte %d", r, i)
			}
		case unicode.IsDigit(r) || unicode.IsNumber(r):
			return fmt.Errorf("name contains a digit %q at byte %d", r, i)
		case unicode.IsControl(r):
			return fmt.Errorf("name contains a control character %U at byte %d", r, i)
		case unicode.Is(unicode.Zs, r):
			prevLetter = false
		case r == '\'' || r == '’' || r == '-' || r == '‐' || r == '.':
			prevLetter = false
		default:
			return fmt.Errorf("name contains a character that is not allowed: %q (%U) at byte %d", r, r, i)
		}
	}
	if letters == 0 {
		return errors.New("name has no letters")
	}
	return nil
}

// NameMatch selects how strictly SameName compares two names.
type NameMatch int

const (
	// NameExact treats names as the same when they are equal after CleanName:
	// only Unicode form and spacing may differ. Use it where the exact
	// spelling matters, such as checking a name against a card.
	NameExact NameMatch = iota
	// NameFolded treats names as the same when their Keys are equal, ignoring
	// case, diacritics and punctuation. Use it to find candidate duplicates,
	// since old paper records often lost the marks.
	NameFolded
)

// String returns the match mode's name, for logs and test output.
func (m NameMatch) String() string {
	switch m {
	case NameExact:
		return "exact"
	case NameFolded:
		return "folded"
	}
	return fmt.Sprintf("NameMatch(%d)", int(m))
}

// SameName reports whether a and b are the same name under m. Two names that
// are empty (or have no letters) under m never match, because a missing name
// is not evidence that two records describe one person. An unknown mode
// reports false.
func SameName(a, b string, m NameMatch) bool {
	var x, y string
	switch m {
	case NameExact:
		x, y = CleanName(a), CleanName(b)
	case NameFolded:
		x, y = Key(a), Key(b)
	default:
		return false
	}
	return x != "" && x == y
}
