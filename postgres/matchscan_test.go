package postgres

import (
	"encoding/json"
	"strings"
	"testing"
)

// docHead is the start of a document as the registry writes it, cut to
// the scan's prefix.
func docHead(t testing.TB, pin, name string) []byte {
	b, err := json.Marshal(struct {
		PIN      string `json:"pin"`
		Version  int64  `json:"version"`
		FullName string `json:"full_name"`
		Other    string `json:"birth_date"`
	}{pin, 12, name, "1990-05-17"})
	if err != nil {
		t.Fatal(err)
	}
	return b[:min(len(b), docPrefix)]
}

func TestLeadingName(t *testing.T) {
	const pin = "001090000001"
	for _, name := range []string{"Nguyễn Văn Đức", `Lê "Tí" Nguyễn`, `a\b`, "Tôn Nữ <Hồng> & Hoa", ""} {
		got, ok := leadingName(docHead(t, pin, name), pin)
		if !ok || got != name {
			t.Errorf("leadingName(%q) = %q, %v", name, got, ok)
		}
	}
	long := strings.Repeat("Nguyễn ", 30)
	if _, ok := leadingName(docHead(t, pin, long), pin); ok {
		t.Error("a name past the prefix was read from a cut document")
	}
	for _, head := range []string{
		`{"version":1,"pin":"001090000001","full_name":"A"}`, // another order
		`{"pin":"001090000002","version":1,"full_name":"A"}`, // another person's document
		`{"pin":"001090000001","version":,"full_name":"A"}`,
		`{"pin":"001090000001","version":1,"other":{"full_name":"A"}}`,
		``,
	} {
		if name, ok := leadingName([]byte(head), pin); ok {
			t.Errorf("leadingName(%s) = %q, want a fallback", head, name)
		}
	}
}

// FuzzLeadingName: for any name, the prefix gives the name exactly or
// says it cannot (never another string); for any bytes, no panic.
func FuzzLeadingName(f *testing.F) {
	f.Add("Nguyễn Văn Đức", []byte(`{"pin":"001090000001","version":1,"full_name":"x\"`))
	f.Add(`\"\\`, []byte(`{"pin":"001090000001","version":9,"full_name":"\u00e9"`))
	f.Fuzz(func(t *testing.T, name string, raw []byte) {
		const pin = "001090000001"
		leadingName(raw, pin)
		head := docHead(t, pin, name)
		got, ok := leadingName(head, pin)
		var want string
		if err := json.Unmarshal(mustJSON(t, name), &want); err != nil {
			t.Fatal(err)
		}
		if ok && got != want {
			t.Fatalf("leadingName gave %q for %q", got, want)
		}
		if !ok && len(head) < docPrefix {
			t.Fatalf("leadingName refused a whole document with the name %q", name)
		}
	})
}

func mustJSON(t *testing.T, s string) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
