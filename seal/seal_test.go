package seal

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	s, err := New([]byte("0123456789abcdef0123"), "test")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("k1", []byte("secret key"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret key")) {
		t.Fatal("plain text visible")
	}
	got, err := s.Open("k1", sealed)
	if err != nil || string(got) != "secret key" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := s.Open("k2", sealed); err == nil {
		t.Error("opened under another ID")
	}
	other, _ := New([]byte("0123456789abcdef0123"), "other purpose")
	if _, err := other.Open("k1", sealed); err == nil {
		t.Error("opened for another purpose")
	}
	if _, err := New([]byte("short"), "x"); err == nil {
		t.Error("short secret accepted")
	}
}
