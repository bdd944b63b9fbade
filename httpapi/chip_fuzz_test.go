package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cancuoc/cancuoc/chipcheck"
)

// FuzzDecodeChipRequest feeds the verification decoder arbitrary bodies:
// every refusal is an Invalid error with a code and both messages, and an
// accepted request survives a JSON round trip and passes Validate.
//
//	go test -run='^$' -fuzz=FuzzDecodeChipRequest -fuzztime=20s ./httpapi/
func FuzzDecodeChipRequest(f *testing.F) {
	addSeeds(f,
		`{"chip":{"com":"YBZfAQQwMTA3XzYGMDQwMDAwXAVhdW1vbw==","data_groups":{"1":"YQ==","13":"bQ==","15":"bw=="},"sod":"dwA="},"challenge_id":"ab","aa_signature":"AAEC","access":"pace","face_matched":true,"purpose":"mở tài khoản"}`,
		`{"chip":{"data_groups":{"1":"YQ=="},"sod":"dwA="}}`, `{"chip":{"data_groups":{},"sod":"dwA="}}`,
		`{"chip":{"data_groups":{"0":"YQ=="},"sod":"dwA="}}`, `{"chip":{"data_groups":{"17":"YQ=="},"sod":"dwA="}}`,
		`{"chip":{"data_groups":{"-1":"YQ=="},"sod":"dwA="}}`, `{"chip":{"data_groups":{"x":"YQ=="},"sod":"dwA="}}`,
		`{"chip":{"data_groups":{"1":"!!"},"sod":"dwA="}}`, `{"chip":{"data_groups":{"1":null},"sod":"dwA="}}`,
		`{"chip":{"data_groups":{"1":"YQ=="},"sod":"dwA="},"challenge_id":"ab"}`,
		`{"chip":{"data_groups":{"1":"YQ=="},"sod":"dwA="},"aa_signature":"AA=="}`,
		`{"chip":{"data_groups":{"1":"YQ=="},"sod":"dwA="},"access":"nfc"}`, `{"chip":null}`, `{"chip":[]}`,
		`{"chip":{"data_groups":{"99999999999999999999":"YQ=="},"sod":"dwA="}}`, `{"chip":{"sod":""}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/chip/verifications", bytes.NewReader(data))
		r.Header.Set("Content-Type", "application/json")
		req, err := decodeChipRequest(httptest.NewRecorder(), r)
		if err != nil {
			mustBeInvalid(t, err)
			return
		}
		if err := req.Validate(); err != nil {
			t.Fatalf("accepted request fails Validate: %v", err)
		}
		if v, ok := fuzzDecode[chipcheck.Request](t, data); !ok || v.Validate() != nil {
			t.Fatalf("decoded once, not twice")
		}
	})
}
