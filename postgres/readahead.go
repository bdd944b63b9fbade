package postgres

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

// forgetAhead forgets everything kept (a savepoint begins or ends).
func (c *conn) forgetAhead() { c.ahead = readAhead{} }
