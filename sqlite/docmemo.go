package sqlite

import "github.com/cancuoc/cancuoc"

// docMemo keeps, inside one transaction, the JSON of the record last given
// to InsertCitizen or UpdateCitizen, so that the history row written next
// for that same record (registry.save writes the record, then its version)
// reuses it instead of encoding the whole record again: a record's JSON was
// a tenth of the single writer's time, and each change encoded it twice
// here. The memo is matched by pointer, version and update time; the
// HistoryStore contract says a caller does not change a record between the
// two calls. Outside a transaction there is no memo (ops there is shared).
type docMemo struct {
	c       *cancuoc.Citizen
	version int64
	micros  int64
	doc     []byte
}

// encode returns c's stored JSON and remembers it.
func (m *docMemo) encode(c *cancuoc.Citizen) ([]byte, error) {
	doc, err := citizenDoc(c)
	if err != nil || m == nil || c == nil {
		return doc, err
	}
	*m = docMemo{c: c, version: c.Version, micros: micros(c.UpdatedAt), doc: doc}
	return doc, nil
}

// reuse returns the remembered JSON when c is the record it was made from,
// or encodes c.
func (m *docMemo) reuse(c *cancuoc.Citizen) ([]byte, error) {
	if m != nil && c != nil && m.c == c && m.version == c.Version && m.micros == micros(c.UpdatedAt) {
		return m.doc, nil
	}
	return citizenDoc(c)
}
