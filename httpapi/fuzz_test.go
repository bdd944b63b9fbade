package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

// The fuzz tests run their seeds in every go test; run one for longer with
//
//	go test -run='^$' -fuzz=FuzzDecodeBirth -fuzztime=30s ./httpapi/

// fullCitizen is a valid record with every field set.
func fullCitizen() *cancuoc.Citizen {
	d := func(s string) cancuoc.Date {
		v, err := cancuoc.ParseDate(s)
		if err != nil {
			panic(err)
		}
		return v
	}
	hn := func() *cancuoc.Place {
		return &cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: "00004", Detail: "Số 1 Hoàng Hoa Thám"}
	}
	at := time.Date(2025, 7, 2, 8, 0, 0, 0, time.UTC)
	return &cancuoc.Citizen{
		PIN: "001090012345", Version: 3, FullName: "Nguyễn Văn An", OtherNames: []string{"An Nguyễn"},
		BirthDate: d("1990-05-17"), Sex: cancuoc.Male, BirthPlace: hn(), BirthRegistration: hn(),
		Origin:    &cancuoc.Place{Era: cancuoc.Era63, Province: "01", District: "001", Commune: "00001"},
		Ethnicity: "01", Religion: "00", Nationality: "VNM", BloodType: "O+", OldIDNumber: "012345678",
		Cards:              []cancuoc.Card{{Number: "001090012345", Kind: "can_cuoc", IssuedOn: d("2024-07-01"), ExpiresOn: d("2030-05-17"), Status: cancuoc.CardValid}},
		Father:             &cancuoc.Relative{PIN: "001060012345", Name: "Nguyễn Văn Ba", Nationality: "VNM"},
		Mother:             &cancuoc.Relative{Name: "Trần Thị Bình", Nationality: "VNM"},
		Spouse:             &cancuoc.Relative{PIN: "001192012345", Name: "Lê Thị Cúc", Nationality: "VNM"},
		Children:           []cancuoc.Relative{{PIN: "001220012345", Name: "Nguyễn Văn Đức"}},
		Guardian:           &cancuoc.Relative{Name: "Phạm Văn Em"},
		Represented:        []cancuoc.Relative{{Name: "Nguyễn Thị Gấm"}},
		PermanentResidence: hn(),
		TemporaryResidence: &cancuoc.TemporaryResidence{Place: cancuoc.Place{Era: cancuoc.Era34, Province: "79", Detail: "Quận 1"},
			From: d("2025-01-01"), Until: d("2026-12-31")},
		CurrentResidence:    hn(),
		TemporaryAbsence:    &cancuoc.TemporaryAbsence{From: d("2025-03"), Until: d("2025-04"), Destination: &cancuoc.Place{Country: "JPN"}, Reason: "công tác"},
		ResidenceFileNumber: "HS-01-0001", MaritalStatus: cancuoc.Married,
		Household:  &cancuoc.HouseholdLink{ID: "H1", HeadPIN: "001090012345", HeadName: "Nguyễn Văn An", Relation: cancuoc.RelationHead},
		LifeStatus: cancuoc.Alive, Phone: "0912345678", Email: "an@example.vn", Other: map[string]string{"note": "x"},
		NameKey: "nguyen van an", Home: cancuoc.UnitRef{Province: "01", Commune: "00004"}, CreatedAt: at, UpdatedAt: at,
	}
}

// mustBeInvalid fails unless err is a *cancuoc.Error of kind Invalid with a
// code and both messages: outside input is never an Internal error.
func mustBeInvalid(t *testing.T, err error) {
	t.Helper()
	var e *cancuoc.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *cancuoc.Error", err, err)
	}
	if e.Kind != cancuoc.Invalid {
		t.Fatalf("error %v has kind %v, want Invalid", err, e.Kind)
	}
	if e.Code == "" || e.MessageVI == "" || e.MessageEN == "" {
		t.Fatalf("error %#v lacks a code or a message", e)
	}
}

func decodeBody(data []byte, v any) error {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
	r.Header.Set("Content-Type", "application/json")
	return decodeJSON(httptest.NewRecorder(), r, v)
}

// fuzzDecode decodes data into a new T; on success, T's JSON must decode
// again to the same value (what the API echoes, it accepts).
func fuzzDecode[T any](t *testing.T, data []byte) (*T, bool) {
	v := new(T)
	if err := decodeBody(data, v); err != nil {
		mustBeInvalid(t, err)
		return nil, false
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal decoded value: %v", err)
	}
	w := new(T)
	if err := decodeBody(again, w); err != nil {
		t.Fatalf("re-decoding %s: %v", again, err)
	}
	// Compared in JSON form: a json.RawMessage keeps its bytes as sent,
	// while marshalling compacts them.
	if twice, _ := json.Marshal(w); !bytes.Equal(again, twice) {
		t.Fatalf("round trip changed the value:\n%s\n%s", again, twice)
	}
	return v, true
}

var commonSeeds = []string{
	``, `null`, `{}`, `[]`, `"x"`, `{`, `{"a":`, `{} {}`, `{}x`, `{"unknown":1}`, `{"reason":5}`,
	`{"reason":"r","legal_basis":"l","agency":"a"}`, "\xff\xfe", `{"reason":"\ud800"}`, `{"reason":1e999}`,
}

func addSeeds(f *testing.F, extra ...string) {
	for _, s := range append(commonSeeds, extra...) {
		f.Add([]byte(s))
	}
}

func FuzzDecodeBirth(f *testing.F) {
	addSeeds(f,
		`{"full_name":"Nguyễn Văn An","birth_date":"2024-03-15","sex":"male","registration":{"era":"34","province":"01","commune":"00004"},"legal_basis":"Luật Hộ tịch"}`,
		`{"birth_date":"2024-02-30"}`, `{"birth_date":"2024-13"}`, `{"birth_date":"99"}`, `{"birth_date":1990}`, `{"birth_date":null}`,
		`{"registration":{"era":"34","province":"01","bogus":1}}`, `{"father":{"pin":"001203012345","name":"A"},"mother":null}`,
		`{"full_name":5}`, `{"registration":[]}`, `{"household_id":"h","relation":"con","permanent_residence":{"detail":"x"}}`)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[registry.Birth](t, data) })
}

func FuzzDecodeDeath(f *testing.F) {
	addSeeds(f, `{"version":2,"date":"2025-01-02","place":{"country":"JPN"},"reason":"r","legal_basis":"l"}`,
		`{"version":-1}`, `{"version":1.5}`, `{"version":"1"}`, `{"version":99999999999999999999}`, `{"date":"2025"}`)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[registry.Death](t, data) })
}

func FuzzDecodeMissing(f *testing.F) {
	addSeeds(f, `{"version":2,"since":"2025-01-02","reason":"r","legal_basis":"l"}`, `{"since":"2025-00"}`, `{"since":{}}`)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[registry.Missing](t, data) })
}

func FuzzDecodePrincipal(f *testing.F) {
	addSeeds(f, `{"name":"Cán bộ","role":"commune_officer","jurisdiction":{"commune":"00004"},"agency":"UBND","officer_pin":"001090012345"}`,
		`{"role":7}`, `{"jurisdiction":"01"}`, `{"jurisdiction":{"district":"001"}}`)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode[registry.NewPrincipal](t, data) })
}

// FuzzDecodeUpdate decodes an update request and overlays its changes on a
// valid record, as the PATCH handler does inside the transaction.
func FuzzDecodeUpdate(f *testing.F) {
	addSeeds(f,
		`{"version":3,"changes":{"phone":"0987654321","marital_status":"divorced"},"reason":"r","legal_basis":"l"}`,
		`{"version":3,"changes":{"full_name":null,"cards":null,"other":{"k":"v"}}}`,
		`{"changes":{"pin":"001090099999"}}`, `{"changes":{"life_status":"dead"}}`, `{"changes":{"name_key":"x"}}`,
		`{"changes":{"PIN":"1"}}`, `{"changes":{"Full_Name":"x"}}`, `{"changes":{"birth_date":"1990-02-30"}}`,
		`{"changes":{"birth_date":1990}}`, `{"changes":{"father":{"pinn":"x"}}}`, `{"changes":{"father":{"pin":5}}}`,
		`{"changes":{"temporary_residence":{"era":"34","province":"79","from":"2025","until":"2024"}}}`,
		`{"changes":{"cards":[{"number":"1","issued_on":"2020-01-01","status":"valid"}]}}`,
		`{"changes":{"other_names":"x"}}`, `{"changes":{"household":{"id":"H2","relation":"con","extra":1}}}`,
		`{"changes":{}}`, `{"changes":null}`, `{"changes":[]}`, `{"version":"3"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		req, ok := fuzzDecode[updateRequest](t, data)
		if !ok || len(req.Changes) == 0 {
			return
		}
		orig := fullCitizen()
		c := orig.Clone()
		if err := applyChanges(c, req.Changes); err != nil {
			mustBeInvalid(t, err)
			return
		}
		// Only updatable fields may move; the rest is kept.
		if c.PIN != orig.PIN || c.Version != orig.Version || c.LifeStatus != orig.LifeStatus ||
			c.DeathDate != orig.DeathDate || c.MissingSince != orig.MissingSince || c.NameKey != orig.NameKey ||
			c.Home != orig.Home || !c.CreatedAt.Equal(orig.CreatedAt) || !c.UpdatedAt.Equal(orig.UpdatedAt) {
			t.Fatalf("applyChanges changed a field that is not updatable: %+v", c)
		}
		for k := range req.Changes {
			if !updatable[k] {
				t.Fatalf("applyChanges accepted field %q", k)
			}
		}
	})
}

func FuzzCursor(f *testing.F) {
	f.Add("", "nguyen van an", "001090012345")
	f.Add(encodeCursor("nguyen van an", "001090012345"), "", "")
	f.Add("!!!", "a\x00b", "123")
	f.Add("bmd1eWVu", "tran thi binh", "079301999999")
	f.Add(encodeCursor("x", "001090012345")+"=", "x", " 001090012345")
	f.Fuzz(func(t *testing.T, s, key, pin string) {
		if k, p, err := decodeCursor(s); err != nil {
			mustBeInvalid(t, err)
		} else if _, err := cancuoc.ParsePIN(string(p), 9999); err != nil {
			t.Fatalf("decodeCursor(%q) returned an invalid PIN %q with key %q", s, p, k)
		}
		p, err := cancuoc.ParsePIN(pin, 9999)
		if err != nil || strings.Contains(key, "\x00") || p != cancuoc.PIN(pin) {
			return
		}
		k2, p2, err := decodeCursor(encodeCursor(key, p))
		if err != nil || k2 != key || p2 != p {
			t.Fatalf("round trip of (%q, %q) gave (%q, %q, %v)", key, p, k2, p2, err)
		}
	})
}

func FuzzParseInstant(f *testing.F) {
	for _, s := range []string{"", "2025-07-01", "2025-07-01T10:00:00Z", "2025-07-01T10:00:00+07:00", "2025-07-01T10:00:00 07:00",
		"2025-07-01T10:00:00.123456789Z", "2025-02-30", "0000-01-01", "9999-12-31", "2025-07-01T24:00:00Z", "now", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseInstant(s)
		if err != nil {
			mustBeInvalid(t, err)
			return
		}
		if d, err := time.Parse(time.DateOnly, s); err == nil {
			if !tm.Equal(d.Add(24*time.Hour - time.Microsecond)) {
				t.Fatalf("parseInstant(%q) = %v, want the end of that day", s, tm)
			}
			return
		}
		back, err := time.Parse(time.RFC3339Nano, tm.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(tm) {
			t.Fatalf("parseInstant(%q) = %v does not survive formatting: %v %v", s, tm, back, err)
		}
	})
}

// FuzzHeaders feeds the header readers: Accept-Language and X-Purpose.
// The purpose goes to the audit log as text, so it must stay valid UTF-8
// and within its bound whatever bytes arrive.
func FuzzHeaders(f *testing.F) {
	f.Add("en-US,en;q=0.9", "Kiểm tra hồ sơ")
	f.Add("vi, en", strings.Repeat("a", 199)+"ệ")
	f.Add(";;,,;q=", "\xff\xfe")
	f.Add("", strings.Repeat("ệ", 100))
	f.Fuzz(func(t *testing.T, lang, purp string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Accept-Language"] = []string{lang}
		r.Header["X-Purpose"] = []string{purp}
		_ = prefersEnglish(r)
		p := purpose(r)
		if len(p) > 200 || !utf8.ValidString(p) {
			t.Fatalf("purpose(%q) = %q: over 200 bytes or not UTF-8", purp, p)
		}
		if utf8.ValidString(purp) && len(purp) <= 200 && p != purp {
			t.Fatalf("purpose(%q) = %q changed a valid value", purp, p)
		}
	})
}
