package quality_test

import (
	"testing"

	"github.com/cancuoc/cancuoc/quality"
)

// FuzzCursors: a cursor from the address bar either parses and writes back
// the same, or is refused with the one clear error; never a panic.
func FuzzCursors(f *testing.F) {
	for _, s := range []string{"", "01.00004.001090000001", "..", "95.001075000010.001075000011", "101.1.2", "01.00004.0010900000011"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := quality.ParseListCursor(s); err == nil && s != "" && quality.FormatListCursor(c) != s {
			t.Errorf("list cursor %q read as %+v", s, c)
		}
		if p, err := quality.ParsePairCursor(s); err == nil && s != "" {
			if p.Score > 100 || quality.FormatPairCursor(*p) != s && quality.FormatPairCursor(*p) != trimZeros(s) {
				t.Errorf("pair cursor %q read as %+v", s, p)
			}
		}
	})
}

// trimZeros drops leading zeros of the score ("095.…" reads as 95).
func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' && s[1] != '.' {
		s = s[1:]
	}
	return s
}
