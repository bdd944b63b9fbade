package sqlite

import "github.com/cancuoc/cancuoc"

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
// PIN before they run, and a savepoint rolled back forgets everything (a
// record read after a write that is then undone would be wrong). Nobody
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
