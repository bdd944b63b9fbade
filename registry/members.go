package registry

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// members splits a valid JSON object as json.Marshal writes it (compact:
// no space between tokens) into its members' raw values, by key, the same
// map json.Unmarshal into map[string]json.RawMessage gives, without
// decoding the values: a record's diff (fields) runs inside the write
// transaction, on SQLite the single writer's time, and the full decode was
// most of it. ok is false for anything else (spaces, escaped keys, not an
// object): the caller then decodes with encoding/json.
func members(b []byte) (m map[string]json.RawMessage, ok bool) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, false
	}
	m = make(map[string]json.RawMessage, 32)
	i := 1
	if b[i] == '}' {
		return m, i == len(b)-1
	}
	for {
		// "key":
		if b[i] != '"' {
			return nil, false
		}
		end := stringEnd(b, i)
		if end < 0 || end >= len(b) || b[end] != ':' {
			return nil, false
		}
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) {
			return nil, false // a key json.Unmarshal would rewrite
		}
		// value
		start := end + 1
		vend := valueEnd(b, start)
		if vend < 0 || vend >= len(b) {
			return nil, false
		}
		m[string(key)] = json.RawMessage(b[start:vend:vend])
		switch b[vend] {
		case ',':
			i = vend + 1
		case '}':
			return m, vend == len(b)-1
		default:
			return nil, false
		}
	}
}

// stringEnd returns the index after the string starting with the quote at
// b[i], or -1.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index after the value starting at b[i] (a string,
// an object or array with everything in it, or a literal up to the next
// ',' '}' or ']'), or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	for j := i; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']':
			if j == i {
				return -1
			}
			return j
		case ' ', '\t', '\n', '\r', '"', '{', '[', ':':
			return -1
		}
	}
	return -1
}
