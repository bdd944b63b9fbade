package reconcile

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/cancuoc/cancuoc/vntext"
	"golang.org/x/text/unicode/norm"
)

// Fast paths for the text work of every record (a name and an address
// folded to keys, a name cleaned): vntext's functions normalise the whole
// string (NFD, then a rune at a time) and allocate several times; these give
// byte for byte the same results (see FuzzFold) in one pass and at most one
// allocation, and fall back to vntext for any text they do not cover.

// foldTable says what vntext.Key makes of each rune below foldRunes: a
// lower-case ASCII letter or digit, foldSkip (a combining mark, dropped),
// foldSep (a word separator), or foldSlow (anything else: the whole string
// takes the slow path). It is derived from vntext.Key itself, so the two
// cannot disagree on a single rune; runes decompose one by one under NFD
// and every mark is dropped, so a string folds as its runes do.
const (
	foldRunes = 0x2100
	foldSlow  = 0
	foldSkip  = 1
	foldSep   = 2
)

// foldTable is built on first use (some 8,000 calls of vntext.Key), not
// when a program that never reconciles starts.
var foldTable = sync.OnceValue(func() *[foldRunes]byte {
	var t [foldRunes]byte
	for r := rune(0); r < foldRunes; r++ {
		if r >= 0xD800 && r < 0xE000 {
			continue
		}
		k := vntext.Key("a" + string(r) + "a")
		switch {
		case k == "aa":
			t[r] = foldSkip
		case k == "a a":
			t[r] = foldSep
		case len(k) == 3 && k[0] == 'a' && k[2] == 'a' && isKeyByte(k[1]):
			t[r] = k[1]
		}
	}
	// U+0345 and its like reorder under NFD; a rune whose canonical
	// combining class is not zero takes the slow path unless it is a
	// mark that is dropped anyway.
	for r := rune(0); r < foldRunes; r++ {
		if t[r] != foldSkip && t[r] != foldSlow && norm.NFD.PropertiesString(string(r)).CCC() != 0 {
			t[r] = foldSlow
		}
	}
	return &t
})

func isKeyByte(c byte) bool { return ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') }

// keyOf is vntext.Key(s): the diacritic-free search key.
func keyOf(s string) string {
	// Already a key (lower-case ASCII words, single spaces): itself.
	if isKey(s) {
		return s
	}
	var stack [256]byte
	b := stack[:0]
	if len(s) > len(stack) {
		b = make([]byte, 0, len(s))
	}
	table := foldTable()
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		var f byte
		if c < utf8.RuneSelf {
			f = table[c]
			i++
		} else {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r >= foldRunes || (r == utf8.RuneError && n == 1) {
				return vntext.Key(s)
			}
			f = table[r]
			i += n
		}
		switch f {
		case foldSlow:
			return vntext.Key(s)
		case foldSkip:
		case foldSep:
			space = true
		default:
			if space && len(b) > 0 {
				b = append(b, ' ')
			}
			space = false
			b = append(b, f)
		}
	}
	return string(b)
}

// isKey reports whether s is its own key: lower-case ASCII letters and
// digits in words separated by single spaces.
func isKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isKeyByte(c) {
			continue
		}
		if c != ' ' || i == 0 || i == len(s)-1 || s[i-1] == ' ' {
			return false
		}
	}
	return true
}

// cleanName is vntext.CleanName(s): NFC, eth mapped to đ, white space
// trimmed and collapsed. A name already clean (the common case) is
// returned as is, without allocating; a name of ASCII and the precomposed
// letters of cleanRunes (every Vietnamese name typed in NFC) is known
// clean in the same one pass, without asking norm whether it is in NFC.
func cleanName(s string) string {
	table := cleanRunes()
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r >= foldRunes || !table[r] { // RuneError too
				return cleanUnicodeName(s)
			}
			i += n
			continue
		}
		if c == ' ' {
			// s[i-1] is never ' ' inside a multi-byte rune (≥ 0x80).
			if i == 0 || i == len(s)-1 || s[i-1] == ' ' {
				return vntext.CleanName(s)
			}
		} else if c < ' ' || c == 0x7f {
			return vntext.CleanName(s) // \t \n \v \f \r are white space
		}
		i++
	}
	return s
}

// cleanUnicodeName is cleanName for a name with a rune outside cleanRunes.
func cleanUnicodeName(s string) string {
	if !norm.NFC.IsNormalString(s) || strings.ContainsAny(s, "\u00d0\u00f0") {
		return vntext.CleanName(s)
	}
	prevSpace := true
	for i, r := range s {
		if !unicode.IsSpace(r) {
			prevSpace = false
			continue
		}
		if r != ' ' || prevSpace || i == len(s)-1 {
			return vntext.CleanName(s)
		}
		prevSpace = true
	}
	return s
}

// cleanRunes tells the non-ASCII runes below foldRunes that cleanName
// keeps as they are, wherever they stand: in NFC alone and starting a new
// segment (norm's BoundaryBefore: NFC_Quick_Check yes and combining class
// 0, so nothing before them composes with them). A string of such runes
// and ASCII is in NFC, segment by segment (UAX #15's quick check). White
// space (trimmed or collapsed) and the eth (mapped to đ) are not among
// them.
var cleanRunes = sync.OnceValue(func() *[foldRunes]bool {
	var t [foldRunes]bool
	for r := rune(utf8.RuneSelf); r < foldRunes; r++ {
		if r >= 0xD800 && r < 0xE000 || r == '\u00d0' || r == '\u00f0' || unicode.IsSpace(r) {
			continue
		}
		one := string(r)
		t[r] = norm.NFC.IsNormalString(one) && norm.NFC.PropertiesString(one).BoundaryBefore()
	}
	return &t
})
