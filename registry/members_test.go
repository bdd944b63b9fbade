package registry

import (
	"bytes"
	"encoding/json"
	"maps"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/storetest"
)

// unmarshalMembers is what members stands in for.
func unmarshalMembers(b []byte) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	return m, json.Unmarshal(b, &m)
}

func sameMembers(a, b map[string]json.RawMessage) bool {
	return maps.EqualFunc(a, b, func(x, y json.RawMessage) bool { return bytes.Equal(x, y) })
}

// TestMembers: on records as json.Marshal writes them, with strings that
// hold quotes, braces, commas, escapes and Vietnamese text, members gives
// exactly json.Unmarshal's map; on what it does not handle it says so.
func TestMembers(t *testing.T) {
	full := storetest.Citizen(cancuoc.PIN("001090000001"))
	odd := full.Clone()
	odd.FullName = `Nguyễn "Văn" {A}, [B] \ <c> & d`
	odd.Origin = nil
	for _, c := range []*cancuoc.Citizen{full, odd, storetest.Minimal("001090000002", "Lê Thị Ba", "le thi ba"), {}} {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		want, err := unmarshalMembers(b)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := members(b)
		if !ok || !sameMembers(got, want) {
			t.Errorf("members(%s) = %v, %v; want %v", b, got, ok, want)
		}
	}
	for _, in := range []string{``, `[]`, `{ "a":1}`, `{"a" :1}`, `{"a\u0062":1}`, `{"a":1,}`, `{"a":}`, `{"a":1 }`, `{"a":"x}`, `{"a":{"b":1}`} {
		if m, ok := members([]byte(in)); ok {
			t.Errorf("members(%s) = %v, true; want it refused", in, m)
		}
	}
}

// FuzzMembers: for any valid, compact JSON object members either refuses
// it or gives json.Unmarshal's map.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x,y}","c":[1,{"d":"]"}],"e":null,"f":true,"g":-1.5e3}`,
		`{"a":"\"}\\"}`, `{"a":{"b":{"c":[]}},"a":2}`, `{"ê":"ờ"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c bytes.Buffer
		if !json.Valid(b) || json.Compact(&c, b) != nil || !bytes.Equal(c.Bytes(), b) {
			return
		}
		want, err := unmarshalMembers(b)
		got, ok := members(b)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("members(%s) accepted what json.Unmarshal refuses: %v", b, err)
		}
		if !sameMembers(got, want) {
			t.Fatalf("members(%s) = %v, want %v", b, got, want)
		}
	})
}

// BenchmarkDiff is the diff of two versions of a full record, as every
// update computes it inside its transaction.
func BenchmarkDiff(b *testing.B) {
	old := storetest.Citizen(cancuoc.PIN("001090000001"))
	derive(old)
	c := old.Clone()
	c.FullName = "Nguyễn Văn Bốn"
	for b.Loop() {
		if _, err := diff(old, c); err != nil {
			b.Fatal(err)
		}
	}
}
