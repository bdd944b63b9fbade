package postgres

import (
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cancuoc/cancuoc"
)

// Reads ahead inside a transaction. A step's completion reads its file and
// then the step, two round trips one after the other; a batch claim lists
// the queue and then reads each task's file, one round trip per task. So a
// transaction's conn fetches what is asked next with what is asked now
// (the file with all its steps in one statement; the queue joined with the
// files) and keeps it here until it is asked for.
//
// What is kept is what the transaction itself would have read a moment
// later: under READ COMMITTED each statement sees the commits before it,
// and the read ahead simply happened earlier, as if the caller were
// faster; the optimistic versions of UpdateProcedure and UpdateStep still
// refuse a change based on a copy another transaction has replaced. What
// the transaction writes itself must not be answered from an older copy:
// each write to a file's rows forgets what is kept of that file, and a
// savepoint's start and end forget everything (a rolled-back write may
// have been read ahead). Each kept row answers once.
type readAhead struct {
	procs map[string][]byte         // procedure ID → doc
	steps map[string]map[int][]byte // procedure ID → step number → doc
	// locked are the steps the transaction selected FOR UPDATE (a batch
	// claim), with the version it read under the lock or last wrote: no
	// other transaction can change them until this one ends, so an update
	// from that version cannot be refused, and it is held (pipetx.go)
	// rather than sent at once, a round trip per claimed task.
	locked map[stepKey]int64
	// citizens are the records the transaction read (Citizen), answered
	// again to its next reads of the same PIN: a step's effect reads a
	// record several times (the residence of a newborn reads the parent
	// as the parent and again as the household's head, and the child
	// before admitting it and again in the registry's update). A write to
	// the record forgets it.
	citizens map[cancuoc.PIN]*cancuoc.Citizen
	// files are all the steps of a file as the transaction read them with
	// it (procedureWithSteps) and then wrote them (UpdateStep), step
	// number → doc: the completion of a file's last step lists them to
	// close the file, which needs no round trip then. Unlike the kept
	// rows above they answer every time; an insert of a step forgets them.
	files map[string]map[int][]byte
	// wrote are the records the transaction wrote (InsertCitizen,
	// UpdateCitizen) and their version: under the row's lock (or as a
	// new PIN) no other transaction can add that version's history row,
	// so the transaction's own AppendVersion of it cannot be refused and
	// is held (pipetx.go) instead of a round trip per change.
	wrote map[cancuoc.PIN]int64
	// seen are the records the transaction read or stored: they exist
	// (records are never deleted), so the only refusal of an update of
	// one is a stale version, which the server raises itself, and the
	// update is held (UpdateCitizen) rather than a round trip per change.
	seen map[cancuoc.PIN]bool
	// raw are records read ahead with the files (ReadAheadFiles), not yet
	// decoded: the first read of one decodes it and keeps it (citizens).
	// A write to the record forgets it.
	raw map[cancuoc.PIN]rawCitizen
	// households are the households of the records read ahead with the
	// files (ReadAheadFiles), by ID, nil for one the register does not
	// hold: the police step of a birth reads the parent's household,
	// which, read there, was a round trip per item that also cut the
	// batch's held writes into a statement each (a run seals before a
	// read). Each answers once; a write to the household forgets it.
	households map[string][]byte
	// seenHouseholds are the households the transaction read or stored:
	// they exist (households are never deleted), so the update of one is
	// held as a record's is (seen).
	seenHouseholds map[string]bool
	// deferring: the caller asked that refusals of writes may come late
	// (DeferRefusals), until the savepoint it asked in ends (a savepoint's
	// start or end forgets it with the rest).
	deferring bool
}

// stepKey names a step.
type stepKey struct {
	procedure string
	no        int
}

// keepProc keeps a file's document, read ahead.
func (c *conn) keepProc(id string, doc []byte) {
	if c.ahead.procs == nil {
		c.ahead.procs = map[string][]byte{}
	}
	c.ahead.procs[id] = doc
}

// keepStep keeps a step's document, read ahead.
func (c *conn) keepStep(id string, no int, doc []byte) {
	if c.ahead.steps == nil {
		c.ahead.steps = map[string]map[int][]byte{}
	}
	if c.ahead.steps[id] == nil {
		c.ahead.steps[id] = map[int][]byte{}
	}
	c.ahead.steps[id][no] = doc
}

// takeProc returns the kept document of file id, and forgets it.
func (c *conn) takeProc(id string) ([]byte, bool) {
	doc, ok := c.ahead.procs[id]
	delete(c.ahead.procs, id)
	return doc, ok
}

// takeStep returns the kept document of a step, and forgets it.
func (c *conn) takeStep(id string, no int) ([]byte, bool) {
	doc, ok := c.ahead.steps[id][no]
	delete(c.ahead.steps[id], no)
	return doc, ok
}

// forgetProc forgets what is kept of file id: the transaction writes it.
func (c *conn) forgetProc(id string) {
	delete(c.ahead.procs, id)
	delete(c.ahead.steps, id)
}

// forgetAhead forgets everything kept (a savepoint begins or ends; the
// locks a savepoint's rollback releases are forgotten with the rest).
func (c *conn) forgetAhead() { c.ahead = readAhead{} }

// lockStep notes that the transaction holds step (id, no) at version
// under a row lock (SELECT … FOR UPDATE).
func (c *conn) lockStep(id string, no int, version int64) {
	if c.ahead.locked == nil {
		c.ahead.locked = map[stepKey]int64{}
	}
	c.ahead.locked[stepKey{id, no}] = version
}

// lockedAt tells whether the transaction holds step (id, no) locked at
// version: no other transaction can have changed it since.
func (c *conn) lockedAt(id string, no int, version int64) bool {
	v, ok := c.ahead.locked[stepKey{id, no}]
	return ok && v == version
}

// keepCitizen keeps a copy of a record the transaction read.
func (c *conn) keepCitizen(r *cancuoc.Citizen) {
	if c.ahead.citizens == nil {
		c.ahead.citizens = map[cancuoc.PIN]*cancuoc.Citizen{}
	}
	c.ahead.citizens[r.PIN] = r.Clone()
}

// keptCitizen returns a copy of the record the transaction read of pin.
func (c *conn) keptCitizen(pin cancuoc.PIN) (*cancuoc.Citizen, bool) {
	r, ok := c.ahead.citizens[pin]
	if !ok {
		return nil, false
	}
	return r.Clone(), true
}

// forgetCitizen forgets the kept record of pin: the transaction writes it.
func (c *conn) forgetCitizen(pin cancuoc.PIN) {
	delete(c.ahead.citizens, pin)
	delete(c.ahead.raw, pin)
}

// rawCitizen is a record's row as read (citizenCols), undecoded.
type rawCitizen struct {
	doc              []byte
	version          int64
	created, updated time.Time
}

// Scan answers the row as scanCitizen reads it.
func (r rawCitizen) Scan(dest ...any) error {
	if len(dest) != 4 {
		return errors.New("postgres: a record read ahead scans into four values")
	}
	*dest[0].(*[]byte), *dest[1].(*int64) = r.doc, r.version
	*dest[2].(*time.Time), *dest[3].(*time.Time) = r.created, r.updated
	return nil
}

// keepRawCitizen keeps a record read ahead, undecoded.
func (c *conn) keepRawCitizen(pin cancuoc.PIN, r rawCitizen) {
	if c.ahead.raw == nil {
		c.ahead.raw = map[cancuoc.PIN]rawCitizen{}
	}
	c.ahead.raw[pin] = r
}

// takeRawCitizen returns the record of pin read ahead, as a row to scan,
// and forgets it (the read keeps it decoded).
func (c *conn) takeRawCitizen(pin cancuoc.PIN) (pgx.Row, bool) {
	r, ok := c.ahead.raw[pin]
	if !ok {
		return nil, false
	}
	delete(c.ahead.raw, pin)
	return r, true
}

// keepFile keeps all the steps of file id, read with it: number → doc.
func (c *conn) keepFile(id string, steps map[int][]byte) {
	if c.ahead.files == nil {
		c.ahead.files = map[string]map[int][]byte{}
	}
	c.ahead.files[id] = steps
}

// wroteFileStep replaces a step's document in its file's list, if kept:
// the transaction wrote it.
func (c *conn) wroteFileStep(id string, no int, doc []byte) {
	if f := c.ahead.files[id]; f != nil {
		f[no] = doc
	}
}

// fileSteps returns the documents of all the steps of file id, in order,
// if the transaction holds them.
func (c *conn) fileSteps(id string) ([][]byte, bool) {
	f, ok := c.ahead.files[id]
	if !ok {
		return nil, false
	}
	nos := make([]int, 0, len(f))
	for no := range f {
		nos = append(nos, no)
	}
	slices.Sort(nos)
	docs := make([][]byte, len(nos))
	for i, no := range nos {
		docs[i] = f[no]
	}
	return docs, true
}

// wroteCitizen notes that the transaction stored pin's record at version.
func (c *conn) wroteCitizen(pin cancuoc.PIN, version int64) {
	if c.pipe == nil {
		return
	}
	if c.ahead.wrote == nil {
		c.ahead.wrote = map[cancuoc.PIN]int64{}
	}
	c.ahead.wrote[pin] = version
}

// ownVersion tells whether the transaction stored pin's record at
// version and has not appended that version's history row yet; it then
// forgets it, so that a second append of the version is answered at once.
func (c *conn) ownVersion(pin cancuoc.PIN, version int64) bool {
	v, ok := c.ahead.wrote[pin]
	if !ok || v != version {
		return false
	}
	delete(c.ahead.wrote, pin)
	return true
}

// sawCitizen notes that pin's record exists: the transaction read or
// stored it.
func (c *conn) sawCitizen(pin cancuoc.PIN) {
	if c.pipe == nil {
		return
	}
	if c.ahead.seen == nil {
		c.ahead.seen = map[cancuoc.PIN]bool{}
	}
	c.ahead.seen[pin] = true
}

// DeferRefusals lets the transaction report the refusal of a write (a
// stale version, a taken key or number) at a later call or at the end of
// the savepoint or transaction, rather than at the write, until the
// savepoint it was asked in ends, and returns whether it did so before.
// The writes whose only refusal is the server's own are then held
// (laterOne): a state change's writes cost no round trip each. A refused
// write then fails every later call, and the savepoint or transaction
// with it: nothing of it commits. So only a caller that, on any error,
// lets the savepoint or transaction fail (and then, if it likes, runs the
// work again without deferring, as a batch settle does) may ask it: a
// refusal it would have handled at the call (a step that exists) comes as
// the savepoint's failure instead.
func (c *conn) DeferRefusals(on bool) bool {
	was := c.ahead.deferring
	c.ahead.deferring = on && c.pipe != nil
	return was
}

// keepHousehold keeps household id as read ahead: its document, or nil
// if the register holds none.
func (c *conn) keepHousehold(id string, doc []byte) {
	if c.ahead.households == nil {
		c.ahead.households = map[string][]byte{}
	}
	c.ahead.households[id] = doc
}

// takeHousehold returns the kept document of household id (nil: none
// held) and forgets it.
func (c *conn) takeHousehold(id string) (doc []byte, ok bool) {
	doc, ok = c.ahead.households[id]
	delete(c.ahead.households, id)
	return doc, ok
}

// forgetHousehold forgets what is kept of household id: the transaction
// writes it.
func (c *conn) forgetHousehold(id string) { delete(c.ahead.households, id) }

// sawHousehold notes that household id exists: the transaction read or
// stored it.
func (c *conn) sawHousehold(id string) {
	if c.pipe == nil {
		return
	}
	if c.ahead.seenHouseholds == nil {
		c.ahead.seenHouseholds = map[string]bool{}
	}
	c.ahead.seenHouseholds[id] = true
}
