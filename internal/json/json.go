// Package json is encoding/json's Marshal and Unmarshal, with Unmarshal
// done by the implementation of encoding/json/v2 (the module
// github.com/go-json-experiment/json, its v1 package: encoding/json's
// behaviour on the v2 engine, which Go 1.27's encoding/json becomes).
//
// Why: reading stored documents back (records, files, steps, events) was
// about a fifth of the server's CPU in the births benchmark, and the v2
// decoder does it 1.6 times faster with a quarter of the allocations (a
// registry record: 10.8 → 6.5 µs). Its encoder is not faster for our types
// (4.0 → 4.3 µs), so Marshal stays encoding/json's: stored documents keep
// their bytes exactly.
//
// Code that needs encoding/json's types (RawMessage, Number, Decoder and
// Encoder, its error types) imports encoding/json itself: those of the v1
// package are other types until Go 1.27, and would not mix with the
// libraries'. Unmarshal does not know encoding/json.Number either: a
// JSON number into a field of that type is refused ("cannot unmarshal
// number into ... of type json.Number"), so a type holding one is decoded
// with encoding/json (TestNumberRefused). When the module moves to Go
// 1.27, this package goes and its users import encoding/json again.
package json

import (
	stdjson "encoding/json"

	v1 "github.com/go-json-experiment/json/v1"
)

// Marshal is encoding/json.Marshal.
func Marshal(v any) ([]byte, error) { return stdjson.Marshal(v) }

// MarshalIndent is encoding/json.MarshalIndent.
func MarshalIndent(v any, prefix, indent string) ([]byte, error) {
	return stdjson.MarshalIndent(v, prefix, indent)
}

// Unmarshal is encoding/json.Unmarshal, on the v2 engine: the same values
// from the same input, and errors that say the same things in other words.
func Unmarshal(data []byte, v any) error { return v1.Unmarshal(data, v) }
