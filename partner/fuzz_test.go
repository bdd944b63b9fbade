package partner

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// FuzzMatchRequest feeds arbitrary bodies through the match check's
// decoding and validation (as the API decodes them: unknown fields
// refused) and the comparisons: nothing panics, an accepted request has a
// valid PIN and at least one field, and a refusal is an Invalid error.
func FuzzMatchRequest(f *testing.F) {
	for _, s := range []string{
		`{"pin":"001090000007","name":"Nguyễn Văn Đức","birth_date":"1990-05-17","sex":"male"}`,
		`{"pin":"001090000007","current_address":{"province":"79","commune":"26734","detail":"phòng 1204"}}`,
		`{"pin":"001090000007","card_number":"001090000007","phone":"+84 912 345 678","name_rule":"no_diacritics","name":"nguyen"}`,
		`{"pin":"001090000007","birth_date":"1990-02-30"}`,
		`{"pin":"x","phone":"++84"}`,
		`{"pin":"001090000007","current_address":{}}`,
		`{}`, `[]`, `null`, `{"pin":1}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	view := &matchView{FullName: "Nguyễn Văn Đức", BirthDate: cancuoc.Date{Year: 1990, Month: 5, Day: 17}, Sex: cancuoc.Male,
		CurrentResidence: &cancuoc.Place{Era: cancuoc.Era63, Province: "01", Commune: "00004", Today: &cancuoc.UnitRef{Province: "01"}},
		Cards:            []cancuoc.Card{{Number: "001090000007", Status: cancuoc.CardValid}}, Phone: "0912345678"}
	f.Fuzz(func(t *testing.T, body []byte) {
		var q MatchRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&q) != nil {
			return
		}
		m, err := parseMatch(q, now)
		if err != nil {
			if cancuoc.KindOf(err) != cancuoc.Invalid {
				t.Fatalf("refusal of %q is %v, not Invalid", body, err)
			}
			return
		}
		if _, err := cancuoc.ParsePIN(string(m.pin), now.Year()); err != nil || len(m.names) == 0 || len(m.names) != len(m.record) {
			t.Fatalf("accepted %q: pin %q, fields %v %v", body, m.pin, m.names, m.record)
		}
		for _, n := range m.names {
			m.compare(n, view)
		}
	})
}
