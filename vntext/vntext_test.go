package vntext

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// nfdNguyen is "Nguyễn" written decomposed, as some sources send it.
var nfdNguyen = norm.NFD.String("Nguyễn")

func TestNFC(t *testing.T) {
	if nfdNguyen == "Nguyễn" {
		t.Fatal("test setup: NFD form should differ from NFC")
	}
	if got := NFC(nfdNguyen); got != "Nguyễn" {
		t.Errorf("NFC(NFD Nguyễn) = %q", got)
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"Nguyễn Văn Đức", "Nguyễn Văn Đức"},
		{"  Nguyễn   Văn\tĐức \n", "Nguyễn Văn Đức"},
		{nfdNguyen + "\u00a0Thị  Lan", "Nguyễn Thị Lan"},
		{"nguyễn văn a", "nguyễn văn a"}, // case untouched
		{"H'Mông", "H'Mông"},
	}
	for _, tt := range tests {
		if got := CleanName(tt.in); got != tt.want {
			t.Errorf("CleanName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Nguyễn Văn Đức", "nguyen van duc"},
		{nfdNguyen + " Văn Đức", "nguyen van duc"},
		{"H'Mông", "h mong"},
		{"H’Mông", "h mong"},
		{"Bru-Vân Kiều", "bru van kieu"},
		{"  ĐẶNG   thị-- HỒNG.  ", "dang thi hong"},
		{"Phường 12", "phuong 12"},
		{"Trần Thị Ánh Tuyết", "tran thi anh tuyet"},
		{"Ơ Đu", "o du"},
		{"...", ""},
		{"Łukasz", "ukasz"},
	}
	for _, tt := range tests {
		if got := Key(tt.in); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStripDiacritics(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Đắk Lắk", "Dak Lak"},
		{"Thừa Thiên Huế", "Thua Thien Hue"},
		{"Bà Rịa - Vũng Tàu", "Ba Ria - Vung Tau"},
		{"đường", "duong"},
	}
	for _, tt := range tests {
		if got := StripDiacritics(tt.in); got != tt.want {
			t.Errorf("StripDiacritics(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"Nguyễn Văn Đức", true},
		{nfdNguyen + " Thị Lan", true},
		{"H'Mông A", true},
		{"H’Mông A", true},
		{"Lê-Nguyễn Thị B.", true},
		{"Nguyễn\u00a0Văn A", true},
		{strings.Repeat("a", MaxNameRunes), true},
		{"", false},
		{"   ", false},
		{strings.Repeat("ă", MaxNameRunes+1), false},
		{"Nguyễn Văn 2", false},
		{"Nguyễn\tVăn", false},
		{"Nguyễn\x00", false},
		{"Nguyễn@Văn", false},
		{"Nguyễn, Văn", false},
		{"-.'", false},
		{"\u0301a", false},
		{"a\xffb", false},
	}
	for _, tt := range tests {
		err := ValidName(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && err.Error() == "" {
			t.Errorf("ValidName(%q): empty error message", tt.in)
		}
	}
}

func TestSameName(t *testing.T) {
	tests := []struct {
		a, b  string
		m     NameMatch
		equal bool
	}{
		{"Nguyễn Văn Đức", "Nguyễn  Văn Đức ", NameExact, true},
		{"Nguyễn Văn Đức", nfdNguyen + " Văn Đức", NameExact, true},
		{"Nguyễn Văn Đức", "Nguyen Van Duc", NameExact, false},
		{"Nguyễn Văn Đức", "nguyễn văn đức", NameExact, false},
		{"Nguyễn Văn Đức", "Nguyen Van Duc", NameFolded, true},
		{"Nguyễn Văn Đức", "NGUYEN VAN DUC", NameFolded, true},
		{"Nguyễn Văn Đức", "Nguyễn Văn Dực", NameFolded, true},
		{"Nguyễn Văn Đức", "Nguyễn Văn Đạt", NameFolded, false},
		{"", "", NameExact, false},
		{"", "  ", NameFolded, false},
		{"A", "A", NameMatch(99), false},
	}
	for _, tt := range tests {
		if got := SameName(tt.a, tt.b, tt.m); got != tt.equal {
			t.Errorf("SameName(%q, %q, %v) = %v, want %v", tt.a, tt.b, tt.m, got, tt.equal)
		}
	}
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{"", "Nguyễn Văn Đức", "H'Mông", "  ĐẶNG--thị ", nfdNguyen, "\xff\xfe", "Straße ǅ İ K", "1 2  3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := Key(s)
		if k2 := Key(k); k2 != k {
			t.Fatalf("Key not idempotent: Key(%q) = %q, Key(that) = %q", s, k, k2)
		}
		if !utf8.ValidString(k) || strings.HasPrefix(k, " ") || strings.HasSuffix(k, " ") || strings.Contains(k, "  ") {
			t.Fatalf("Key(%q) = %q: bad spacing or encoding", s, k)
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if !(c == ' ' || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')) {
				t.Fatalf("Key(%q) = %q: byte %q not lower-case ASCII, digit or space", s, k, c)
			}
		}
	})
}

func TestEthIsD(t *testing.T) {
	// U+00D0 (eth) appears in legacy data in place of Đ (U+0110).
	if got := CleanName("Nguyễn Văn \u00d0ại"); got != "Nguyễn Văn \u0110ại" {
		t.Errorf("CleanName = %q, want the eth replaced by Đ", got)
	}
	if got := Key("\u00d0ại \u00f0ức"); got != "dai duc" {
		t.Errorf("Key = %q, want %q", got, "dai duc")
	}
}
