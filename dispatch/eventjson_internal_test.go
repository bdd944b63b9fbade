package dispatch

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// TestEventJSONIsMarshal: the relay's encoding of an event whose data
// was written by json.Marshal (as every stored event's is) is
// json.Marshal's, byte for byte, with and without data and with the fields
// that omitempty drops.
func TestEventJSONIsMarshal(t *testing.T) {
	at := time.Date(2026, 11, 24, 15, 4, 5, 123456789, time.FixedZone("ICT", 7*3600))
	data, err := json.Marshal(map[string]any{"procedure": "01a2", "subject": "001226012345",
		"note": "Nguyễn \"An\" <b>&</b>\u2028", "n": []any{1, 2.5, nil, true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []cancuoc.Event{
		{Seq: 1, ID: "e1", Type: "citizen.born", PIN: "001226012345", Version: 3, Actor: "p_1", At: at, Data: data},
		{Seq: 2, ID: "e2", Type: "procedure.step_claimed", Actor: "workflow", At: at},
		{Seq: 3, ID: "e3\u2028<x>", Type: "x.y", Actor: "", At: time.Time{}, Data: json.RawMessage(`"text"`)},
		{Seq: 4, ID: "e4", Type: "x", At: at, Data: json.RawMessage(`[]`)},
	} {
		want, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := eventJSON(&e)
		if err != nil || string(got) != string(want) {
			t.Errorf("eventJSON(%s) = %s, %v\nwant %s", e.ID, got, err, want)
		}
	}
}
