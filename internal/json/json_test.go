package json_test

import (
	stdjson "encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/json"
)

// documents are stored documents of the kinds the stores read back most,
// as encoding/json wrote them.
func documents(t testing.TB) [][]byte {
	t.Helper()
	at := time.Date(2026, 11, 24, 10, 0, 0, 123456000, time.UTC)
	birth, err := cancuoc.ParseDate("2026-05-01")
	if err != nil {
		t.Fatal(err)
	}
	values := []any{
		&cancuoc.Citizen{PIN: "001226012345", FullName: "Nguyễn Minh An", BirthDate: birth, Sex: "male",
			Nationality: "VNM", Ethnicity: "Kinh", LifeStatus: cancuoc.Alive, Version: 3, CreatedAt: at, UpdatedAt: at},
		&cancuoc.Procedure{ID: "P1", Kind: "birth", Status: "open", Applicant: "001080012345", Province: "01",
			SubmittedAt: at, Deadline: at.Add(72 * time.Hour), Version: 2},
		&cancuoc.ProcedureStep{ProcedureID: "P1", No: 2, Agency: "police", Status: "pending", Province: "01", Version: 1},
		&cancuoc.Event{ID: "e1", Seq: 7, Type: "citizen.born", PIN: "001226012345", Version: 1, At: at,
			Data: stdjson.RawMessage(`{"pin":"001226012345","fields":["full_name"]}`)},
	}
	var docs [][]byte
	for _, v := range values {
		b, err := stdjson.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	return docs
}

// decodeBoth decodes data into a new value of each document type with
// encoding/json and with json, and fails when they differ: in the value,
// or in whether the input was refused.
func decodeBoth(t *testing.T, data []byte) {
	for _, zero := range []any{cancuoc.Citizen{}, cancuoc.Procedure{}, cancuoc.ProcedureStep{}, cancuoc.Event{}, map[string]any{}} {
		typ := reflect.TypeOf(zero)
		want, got := reflect.New(typ), reflect.New(typ)
		werr := stdjson.Unmarshal(data, want.Interface())
		gerr := json.Unmarshal(data, got.Interface())
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s from %q: encoding/json says %v, json says %v", typ, data, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(want.Interface(), got.Interface()) {
			t.Fatalf("%s from %q:\nencoding/json %+v\njson          %+v", typ, data, want.Elem(), got.Elem())
		}
	}
}

// TestUnmarshalAsEncodingJSON: the stored documents, and variations a
// reader must take as encoding/json does (other key case, unknown and
// duplicate keys, nulls), decode to the same values.
func TestUnmarshalAsEncodingJSON(t *testing.T) {
	for _, d := range documents(t) {
		decodeBoth(t, d)
	}
	for _, d := range []string{
		`{"PIN":"001226012345","Full_Name":"An"}`,
		`{"pin":"001226012345","pin":"001226099999","unknown":{"a":[1,2]}}`,
		`{"full_name":null,"version":null,"created_at":null}`,
		`{"version":"3"}`,
		`{"version":3.5}`,
		`{"birth_date":"2026-13-40"}`,
		`{"created_at":"yesterday"}`,
		`{"full_name":"\ud800 lone surrogate"}`,
		"{\"full_name\":\"\xff invalid utf-8\"}",
		`[1,2,3]`,
		`{"full_name":"An"} trailing`,
		``,
	} {
		decodeBoth(t, []byte(d))
	}
}

// FuzzUnmarshalAsEncodingJSON: any input decodes to the same value as with
// encoding/json, or is refused by both.
func FuzzUnmarshalAsEncodingJSON(f *testing.F) {
	for _, d := range documents(f) {
		f.Add(d)
	}
	f.Add([]byte(`{"PIN":"001226012345","version":"3"}`))
	f.Fuzz(func(t *testing.T, data []byte) { decodeBoth(t, data) })
}

// TestMarshalIsEncodingJSON: Marshal writes encoding/json's bytes, which
// stored documents and their history compare byte for byte.
func TestMarshalIsEncodingJSON(t *testing.T) {
	for _, d := range documents(t) {
		var e cancuoc.Event
		_ = stdjson.Unmarshal(d, &e)
		want, _ := stdjson.Marshal(&e)
		got, err := json.Marshal(&e)
		if err != nil || string(got) != string(want) {
			t.Fatalf("Marshal = %s, %v; want %s", got, err, want)
		}
	}
}

// TestNumberRefused: encoding/json.Number is a plain string type to the v2
// engine (only its own Number is special), so Unmarshal refuses a number
// into it where encoding/json takes it. Types with such a field must be
// decoded with encoding/json; this fails if that ever changes.
func TestNumberRefused(t *testing.T) {
	var v struct{ N stdjson.Number }
	if err := stdjson.Unmarshal([]byte(`{"N":12}`), &v); err != nil || v.N != "12" {
		t.Fatalf("encoding/json: %q, %v", v.N, err)
	}
	v.N = ""
	if err := json.Unmarshal([]byte(`{"N":12}`), &v); err == nil {
		t.Errorf("json took a number into encoding/json.Number (%q): the package comment is out of date", v.N)
	}
}
