package dispatch

import (
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cancuoc/cancuoc"
)

// message is a received JetStream message, as much of one as decode reads.
type message struct {
	jetstream.Msg
	h      nats.Header
	data   []byte
	termed bool
}

func (m *message) Headers() nats.Header { return m.h }
func (m *message) Data() []byte         { return m.data }
func (m *message) Subject() string      { return "test" }
func (m *message) Term() error          { m.termed = true; return nil }

func eventMessage(t *testing.T, e cancuoc.Event) *message {
	t.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	h := nats.Header{}
	h.Set(HeaderSeq, strconv.FormatInt(e.Seq, 10))
	h.Set(HeaderType, e.Type)
	return &message{h: h, data: data}
}

// TestDecodeShared: consumers of one node decode a message once between
// them, and each gets the event decoding would give; a message whose bytes
// differ from those decoded under its Seq (another publisher's) is decoded
// on its own, and one that does not decode is still terminated.
func TestDecodeShared(t *testing.T) {
	d := New(nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &subscription{name: "a"}
	b := &subscription{name: "b", types: map[string]bool{cancuoc.EventCitizenDied: true}}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := cancuoc.Event{Seq: 7, ID: "ev_1", Type: cancuoc.EventCitizenUpdated, PIN: "001090000001", Version: 2, Actor: "p",
		At: at, Data: json.RawMessage(`{"fields":["household"]}`)}

	got, want := d.decode(a, eventMessage(t, e), log)
	if !want || got.ID != e.ID || !got.At.Equal(at) || string(got.Data) != string(e.Data) {
		t.Fatalf("first decode = %+v, %v", got, want)
	}
	if _, ok := d.decoded.get("7", eventMessage(t, e).data); !ok {
		t.Fatal("the decoded event is not kept for the other consumers")
	}
	got, want = d.decode(a, eventMessage(t, e), log)
	if !want || got.ID != e.ID || got.PIN != e.PIN || got.Version != 2 || string(got.Data) != string(e.Data) {
		t.Errorf("shared decode = %+v, %v", got, want)
	}
	if _, want = d.decode(b, eventMessage(t, e), log); want {
		t.Error("a consumer got a type it does not want")
	}

	other := e
	other.ID, other.Type = "ev_other", cancuoc.EventCitizenDied
	if got, want = d.decode(b, eventMessage(t, other), log); !want || got.ID != "ev_other" {
		t.Errorf("another message under the same Seq decoded as %+v, %v; want its own event", got, want)
	}

	bad := eventMessage(t, e)
	bad.data = []byte(`{"id":`)
	if _, want = d.decode(a, bad, log); want || !bad.termed {
		t.Errorf("an undecodable message under a kept Seq: wanted %v, terminated %v", want, bad.termed)
	}
}

// TestDecodedBounded: the kept events are at most two generations.
func TestDecodedBounded(t *testing.T) {
	var d decodedEvents
	for i := range 5 * decodedKeep {
		d.put(strconv.Itoa(i), []byte{byte(i)}, cancuoc.Event{Seq: int64(i)})
	}
	if n := len(d.cur) + len(d.old); n > 2*decodedKeep {
		t.Errorf("%d events kept; want at most %d", n, 2*decodedKeep)
	}
	last := 5*decodedKeep - 1
	if e, ok := d.get(strconv.Itoa(last), []byte{byte(last)}); !ok || e.Seq != int64(last) {
		t.Errorf("the last event put is not kept: %+v, %v", e, ok)
	}
	if _, ok := d.get("0", []byte{0}); ok {
		t.Error("the first event put is still kept")
	}
}
