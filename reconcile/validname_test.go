package reconcile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc/vntext"
)

// FuzzValidName: the quick check of a cleaned name gives vntext.ValidName's
// verdict, error text included, on any input.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"Nguyễn Văn Đức", "Lê Thị Hồng Nhung", "Ngô Bảo Châu", "O'Brien", "Ðặng", "Anh2",
		"e\u0301", " \u0301a", "Mai\u00a0Lan", strings.Repeat("Ư", 101), strings.Repeat("ư ", 50) + "a", "ǅ ǈ",
		"\u02b0a", "Ωmega", "Ḁḁ ỹ", "\xff", "a\tb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := cleanName(s)
		if n == "" {
			return
		}
		if got, want := fmt.Sprint(validName(n)), fmt.Sprint(vntext.ValidName(n)); got != want {
			t.Fatalf("validName(%q) = %s, vntext.ValidName %s", n, got, want)
		}
	})
}
