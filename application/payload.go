package application

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/cancuoc/cancuoc"
)

// TemporaryRequest asks for temporary residence at Place from From (the
// filing day when empty) until Until, at most two years (Law on Residence
// art. 27).
type TemporaryRequest struct {
	Place cancuoc.Place `json:"place"`
	From  cancuoc.Date  `json:"from"`
	Until cancuoc.Date  `json:"until"`
	Note  string        `json:"note,omitempty"` // why the person stays there (work, study…)
}

// PermanentRequest asks for permanent residence: as head of a new household
// at Address, or as a member of household HouseholdID with the relation to
// its head and the head's consent (art. 20–21). Proof names the document
// that shows the residence is lawful (ownership, lease, the head's consent
// in writing); it becomes the decision's legal basis.
type PermanentRequest struct {
	Address     *cancuoc.Place       `json:"address,omitempty"`
	HouseholdID string               `json:"household_id,omitempty"`
	Relation    string               `json:"relation,omitempty"`
	Consent     *cancuoc.HeadConsent `json:"consent,omitempty"`
	Proof       string               `json:"proof"`
}

// Join reports whether the request joins an existing household.
func (r *PermanentRequest) Join() bool { return r.HouseholdID != "" }

// Level2Request asks for an eID account at level 2: the officer checks the
// person in person (card, face, fingerprints) before approving.
type Level2Request struct {
	Note string `json:"note,omitempty"`
}

// CorrectionRequest asks to correct fields of the citizen's record: the
// proposed values (record fields by their JSON names) and why the record
// is wrong.
type CorrectionRequest struct {
	Changes map[string]json.RawMessage `json:"changes"`
	Reason  string                     `json:"reason"`
}

// maxPayload bounds a payload; the largest, a correction of every field,
// is a few kilobytes.
const maxPayload = 16 << 10

// Decode reads a kind's payload strictly (unknown fields, trailing data,
// wrong types and oversized bodies are refused with the field to fix) and
// returns a pointer to its typed request. It is the parser of what
// citizens send, fuzzed in payload_fuzz_test.go.
func Decode(kind cancuoc.ApplicationKind, raw []byte) (any, error) {
	const op = "application.Decode"
	var v any
	switch kind {
	case cancuoc.AppTemporaryResidence:
		v = new(TemporaryRequest)
	case cancuoc.AppPermanentResidence:
		v = new(PermanentRequest)
	case cancuoc.AppEIDLevel2:
		v = new(Level2Request)
	case cancuoc.AppCorrection:
		v = new(CorrectionRequest)
	default:
		return nil, cancuoc.InvalidField(op, "kind", "kind_unknown",
			"Loại đề nghị phải là temporary_residence, permanent_residence, eid_level2 hoặc correction.",
			"The kind must be temporary_residence, permanent_residence, eid_level2 or correction.")
	}
	if len(raw) > maxPayload {
		return nil, cancuoc.InvalidField(op, "payload", "payload_too_large",
			"Nội dung đề nghị quá lớn (tối đa 16 KB).", "The request is too large (at most 16 KB).")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, payloadError(op, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, cancuoc.InvalidField(op, "payload", "json_trailing",
			"Sau nội dung đề nghị còn dữ liệu thừa.", "There is data after the request's JSON object.")
	}
	return v, nil
}

// payloadError says which field is wrong, without echoing the value.
func payloadError(op string, err error) error {
	var typ *json.UnmarshalTypeError
	var syn *json.SyntaxError
	var ce *cancuoc.Error
	switch {
	case errors.As(err, &ce):
		e := *ce
		e.Op = op
		if e.Field == "" {
			e.Field = "payload"
		}
		return &e
	case errors.As(err, &typ):
		f := "payload." + typ.Field
		return cancuoc.InvalidField(op, f, "json_type",
			"Trường "+f+" sai kiểu dữ liệu (cần "+typ.Type.String()+").", "Field "+f+" has the wrong type (want "+typ.Type.String()+").")
	case errors.As(err, &syn):
		return cancuoc.InvalidField(op, "payload", "json_syntax",
			fmt.Sprintf("Nội dung đề nghị sai cú pháp JSON ở vị trí %d.", syn.Offset), fmt.Sprintf("Malformed JSON at byte %d.", syn.Offset))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return cancuoc.InvalidField(op, "payload", "unknown_field",
			"Trường không được hỗ trợ: "+safeName(name)+".", "Unsupported field: "+safeName(name)+".")
	}
	return cancuoc.InvalidField(op, "payload", "json_invalid", "Nội dung đề nghị không đọc được.", "The request cannot be read.")
}

// safeName keeps a field name echoed in an error short and printable.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 40 {
			break
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// text checks free text: no control characters, at most max characters.
func text(op, field, s string, max int) error {
	n := 0
	for _, r := range s {
		n++
		if r == unicode.ReplacementChar || unicode.IsControl(r) {
			return cancuoc.InvalidField(op, field, "text_invalid",
				"Nội dung chữ không hợp lệ (có ký tự điều khiển).", "Invalid text (control characters).")
		}
	}
	if n > max {
		return cancuoc.InvalidField(op, field, "text_too_long",
			fmt.Sprintf("Tối đa %d ký tự.", max), fmt.Sprintf("At most %d characters.", max))
	}
	return nil
}
