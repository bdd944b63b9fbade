package application_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/application"
)

// FuzzDecode feeds arbitrary payloads of every kind to the decoder: it
// never panics, every refusal is a *cancuoc.Error of kind Invalid naming a
// field, and what it accepts encodes and decodes again to the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, ``, `{"place":{"province":"01","commune":"00004"},"until":"2027-01-01"}`,
		`{"changes":{"blood_type":"A+"},"reason":"x"}`, `{"household_id":"hh_1","relation":"con","consent":{"by":"001090000001","at":"2026-01-01T00:00:00Z","method":"vneid"}}`,
		`{"note":"\u0000"}`, `{"changes":{"x":1}} {}`, `[1,2]`, `{"from":"2026-13-40"}`, `{"plaec":1}`} {
		for k := range 5 {
			f.Add(uint8(k), []byte(s))
		}
	}
	kinds := append([]cancuoc.ApplicationKind{"other"}, cancuoc.ApplicationKinds...)
	f.Fuzz(func(t *testing.T, k uint8, data []byte) {
		kind := kinds[int(k)%len(kinds)]
		v, err := application.Decode(kind, data)
		if err != nil {
			var e *cancuoc.Error
			if !errors.As(err, &e) || e.Kind != cancuoc.Invalid || e.Field == "" || e.MessageVI == "" || e.MessageEN == "" {
				t.Fatalf("refusal %v (%T) is not an Invalid error naming a field", err, err)
			}
			return
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("accepted value does not encode: %v", err)
		}
		w, err := application.Decode(kind, again)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", again, err)
		}
		b, _ := json.Marshal(w)
		if string(b) != string(again) {
			t.Fatalf("round trip changed the value: %s → %s", again, b)
		}
	})
}
