package reconcile

import (
	"testing"

	"github.com/cancuoc/cancuoc/vntext"
)

// FuzzFold holds the fast text paths to the functions they stand in for:
// keyOf to vntext.Key, cleanName to vntext.CleanName, quickDate to the full
// date parser.
func FuzzFold(f *testing.F) {
	for _, s := range []string{"", "Nguyễn Văn Đức", "nguyen van duc", "  Trần  Thị\tHà ", "Ðặng", "H'Mông",
		"Nguyê\u0301n", "Ấp 10, Xã Đại Điền, Tỉnh Vĩnh Long", "İstanbul ǅ ß Æ", "a\u0345b", "\xff\xfe", "한국",
		"x\u00a0y", "NAM", "Nữ", "1976-10-07", "29/02/2000", "29/02/1900", "31.04.1999", "07-10-1976", "2030-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := keyOf(s), vntext.Key(s); got != want {
			t.Errorf("keyOf(%q) = %q, vntext.Key = %q", s, got, want)
		}
		if got, want := cleanName(s), vntext.CleanName(s); got != want {
			t.Errorf("cleanName(%q) = %q, vntext.CleanName = %q", s, got, want)
		}
		if d, ok := quickDate(s, 2026); ok {
			if want, err := parseBirthSlow(s, 2026); err != nil || want != d {
				t.Errorf("quickDate(%q) = %v, the full parser %v, %v", s, d, want, err)
			}
		}
	})
}

// TestFoldEveryRune checks keyOf on every rune of the table alone and
// between letters, with and without a mark after it.
func TestFoldEveryRune(t *testing.T) {
	for r := rune(0); r < foldRunes+0x100; r++ {
		for _, s := range []string{string(r), "Ba" + string(r) + "c", string(r) + "\u0301x", "đ" + string(r) + " " + string(r)} {
			if got, want := keyOf(s), vntext.Key(s); got != want {
				t.Fatalf("keyOf(%q) = %q, vntext.Key = %q", s, got, want)
			}
			if got, want := cleanName(s), vntext.CleanName(s); got != want {
				t.Fatalf("cleanName(%q) = %q, vntext.CleanName = %q", s, got, want)
			}
		}
	}
}
