package partner

import (
	"github.com/cancuoc/cancuoc/internal/json"
	"slices"
	"strconv"
)

// AppendJSON appends r as encoding/json would write it (the same bytes,
// map keys sorted, HTML-safe escaping), without reflection: the match
// check is the partners' hottest route and its answer has a fixed shape,
// and encoding/json's reflection and map sorting took a noticeable share
// of the node's CPU per check.
func (r *MatchResult) AppendJSON(b []byte) []byte {
	b = append(b, `{"pin":`...)
	b = appendString(b, string(r.PIN))
	b = append(b, `,"found":`...)
	b = strconv.AppendBool(b, r.Found)
	b = append(b, `,"match":`...)
	b = strconv.AppendBool(b, r.Match)
	b = append(b, `,"fields":`...)
	if r.Fields == nil {
		b = append(b, "null"...)
	} else {
		var buf [8]string
		keys := buf[:0]
		for k := range r.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = strconv.AppendBool(b, r.Fields[k])
		}
		b = append(b, '}')
	}
	if r.LifeStatus != "" {
		b = append(b, `,"life_status":`...)
		b = appendString(b, string(r.LifeStatus))
	}
	if r.NameRule != "" {
		b = append(b, `,"name_rule":`...)
		b = appendString(b, r.NameRule)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string: directly when it needs no
// escaping (PINs, field names, statuses and rules always), else through
// encoding/json, so that any string is written as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
