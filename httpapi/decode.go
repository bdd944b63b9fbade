package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cancuoc/cancuoc"
)

// maxBody bounds a request body: no registry request needs more.
const maxBody = 1 << 20

// decodeJSON reads one JSON object into v, refusing unknown fields, trailing
// data and oversized bodies, and turns each failure into an Invalid error
// that names the field and says how to fix it.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	const op = "httpapi.decode"
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/merge-patch+json") {
		return cancuoc.InvalidField(op, "", "content_type", "Nội dung phải là JSON (Content-Type: application/json).",
			"The body must be JSON (Content-Type: application/json).")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(op, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return cancuoc.InvalidField(op, "", "json_trailing", "Sau đối tượng JSON còn dữ liệu thừa.", "There is data after the JSON object.")
	}
	return nil
}

// jsonError explains a decoding failure.
func jsonError(op string, err error) error {
	var (
		syn    *json.SyntaxError
		typ    *json.UnmarshalTypeError
		tooBig *http.MaxBytesError
		ce     *cancuoc.Error
	)
	switch {
	case errors.As(err, &ce):
		return err
	case errors.As(err, &syn):
		return cancuoc.InvalidField(op, "", "json_syntax",
			fmt.Sprintf("JSON sai cú pháp ở vị trí %d.", syn.Offset), fmt.Sprintf("Malformed JSON at byte %d.", syn.Offset))
	case errors.As(err, &typ):
		return cancuoc.InvalidField(op, typ.Field, "json_type",
			fmt.Sprintf("Trường %q phải có kiểu %s.", typ.Field, typ.Type), fmt.Sprintf("Field %q must be of type %s, not %s.", typ.Field, typ.Type, typ.Value))
	case errors.As(err, &tooBig):
		return cancuoc.InvalidField(op, "", "body_too_large", "Nội dung quá lớn (tối đa 1 MiB).", "The body is too large (1 MiB at most).")
	case errors.Is(err, io.EOF):
		return cancuoc.InvalidField(op, "", "body_empty", "Thiếu nội dung JSON.", "The JSON body is missing.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return cancuoc.InvalidField(op, "", "json_syntax", "JSON bị cắt cụt.", "The JSON is truncated.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return cancuoc.InvalidField(op, f, "unknown_field", fmt.Sprintf("Trường %q không tồn tại.", f), fmt.Sprintf("Unknown field %q; see /openapi.json for the fields.", f))
	}
	return cancuoc.InvalidField(op, "", "json_invalid", "JSON không hợp lệ.", "Invalid JSON: "+err.Error())
}
