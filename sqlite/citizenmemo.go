package sqlite

import (
	"bytes"
	"time"
	"unicode/utf8"

	"github.com/cancuoc/cancuoc"
)

// citizenMemo keeps, for one write transaction, the records it has read,
// decoded. A birth file's registration reads each parent three times in the
// same transaction (the workflow's check, the registry's link to the child,
// then the update itself), and decoding a record's JSON is most of what a
// read costs: on the single writer, where every microsecond holds up every
// other write. A record read again is a copy of the one decoded before.
//
// It is right only while nothing changes the row behind it: the
// transaction's own writes to a citizen (InsertCitizen, UpdateCitizen, the
// only statements that change the table inside a transaction) forget the
// PIN before they run and keep the record written once they succeed; a
// savepoint rolled back forgets everything (a record read after a write
// that is then undone would be wrong). Nobody
// else writes meanwhile: the transaction is the single writer. A nil memo
// (the Store's own reads, outside any transaction) keeps nothing.
type citizenMemo struct {
	recs map[cancuoc.PIN]*cancuoc.Citizen
}

// get returns a copy of the record kept for pin, the caller's to change.
func (m *citizenMemo) get(pin cancuoc.PIN) (*cancuoc.Citizen, bool) {
	if m == nil {
		return nil, false
	}
	c, ok := m.recs[pin]
	if !ok {
		return nil, false
	}
	return c.Clone(), true
}

// put keeps c, just decoded from pin's row, and returns the caller's copy.
func (m *citizenMemo) put(pin cancuoc.PIN, c *cancuoc.Citizen) *cancuoc.Citizen {
	if m == nil {
		return c
	}
	if m.recs == nil {
		m.recs = map[cancuoc.PIN]*cancuoc.Citizen{}
	}
	m.recs[pin] = c
	return c.Clone()
}

// keep keeps c, the record a read of pin's row gives (asRead); c is the
// memo's.
func (m *citizenMemo) keep(c *cancuoc.Citizen) {
	if m == nil {
		return
	}
	if m.recs == nil {
		m.recs = map[cancuoc.PIN]*cancuoc.Citizen{}
	}
	m.recs[c.PIN] = c
}

// asRead returns a copy of c, just written to its row as doc (citizenDoc's
// JSON), as a read of the row gives it, so that a read after the write
// (the registry links a parent to the child it just inserted, then the
// newborn's residence reads both) costs neither a statement nor a decoding
// on the single writer. Decoding doc gives c back but for what JSON does
// not keep: the times' monotonic readings and zones (their own JSON round
// trip gives them as decoded), an empty map (omitted, so nil) — and
// invalid UTF-8, which JSON replaces with U+FFFD (written as the escape
// \ufffd): for a doc with that character, either way, ok is false (the
// next read decodes the row).
func asRead(c *cancuoc.Citizen, doc []byte) (_ *cancuoc.Citizen, ok bool) {
	if bytes.Contains(doc, replacementChar) || bytes.Contains(doc, []byte(`\ufffd`)) {
		return nil, false
	}
	n := c.Clone()
	for _, t := range []*time.Time{&n.CreatedAt, &n.UpdatedAt} {
		if err := roundTripTime(t); err != nil {
			return nil, false
		}
	}
	if len(n.Other) == 0 {
		n.Other = nil
	}
	return n, true
}

var replacementChar = []byte(string(utf8.RuneError))

// roundTripTime sets *t to what encoding/json decodes from citizenDoc's
// encoding of it (cut to microseconds).
func roundTripTime(t *time.Time) error {
	d, err := jsonTime(t.Truncate(time.Microsecond))
	*t = d
	return err
}

// jsonTime is what encoding/json decodes from its encoding of t.
func jsonTime(t time.Time) (time.Time, error) {
	b, err := t.MarshalJSON()
	if err != nil {
		return time.Time{}, err
	}
	var d time.Time
	err = d.UnmarshalJSON(b)
	return d, err
}

// forget drops pin before a write to its row.
func (m *citizenMemo) forget(pin cancuoc.PIN) {
	if m != nil {
		delete(m.recs, pin)
	}
}

// reset drops everything, after a rollback to a savepoint.
func (m *citizenMemo) reset() {
	if m != nil {
		clear(m.recs)
	}
}
