package dispatch

import (
	"bytes"
	"sync"

	"github.com/cancuoc/cancuoc"
)

// decodedEvents keeps the events the node's JetStream consumers decoded
// last, so that the others take them instead of decoding the same bytes
// again: every consumer receives its own copy of each message of its
// types (a citizen's event goes to the match projection, the eID accounts
// and the wallet; a step's completion to the workflow and the wallet),
// and decoding was most of what a consumer did with an event it then
// passed over. An entry is found by the message's outbox Seq header and
// used only when the message's bytes are the ones it was decoded from,
// so a message gets the very event decoding it would give. Events are
// values, handed to handlers by copy, so an entry's Data is shared
// read-only (as the in-process consumers share their reads).
//
// Two generations of at most decodedKeep entries each: when the newer is
// full it becomes the older, and the older is dropped.
type decodedEvents struct {
	mu       sync.Mutex
	cur, old map[string]decodedEvent
}

type decodedEvent struct {
	data []byte // the message's bytes
	e    cancuoc.Event
}

// decodedKeep bounds each generation: a few hundred procedures' events,
// more than consumers keeping pace lag each other by.
const decodedKeep = 2048

// get returns the event decoded from data under key, if kept.
func (d *decodedEvents) get(key string, data []byte) (cancuoc.Event, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, ok := d.cur[key]
	if !ok {
		x, ok = d.old[key]
	}
	if !ok || !bytes.Equal(x.data, data) {
		return cancuoc.Event{}, false
	}
	return x.e, true
}

// put keeps e, decoded from data, under key.
func (d *decodedEvents) put(key string, data []byte, e cancuoc.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.cur) >= decodedKeep {
		d.old, d.cur = d.cur, nil
	}
	if d.cur == nil {
		d.cur = make(map[string]decodedEvent, decodedKeep)
	}
	d.cur[key] = decodedEvent{data: data, e: e}
}
