package sqlite

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// docCache keeps documents decoded, by key (a PIN, a file's ID), with the
// JSON they were decoded from. A read that finds under its key the very
// bytes it has just read takes a copy of the decoded value instead of
// decoding again. Decoding JSON was a fifth of the single writer's time
// in the births benchmark, and most of it decoded documents read in an
// earlier transaction and unchanged since, or just written: a birth file
// is read by the claim and the completion of each of its three steps, a
// step by the completion after the claim wrote it, the parents by the
// submission and the first two steps.
//
// The bytes are the whole key: a value serves only the exact JSON it was
// decoded from (or, for a record the writer has just stored, the JSON
// written for it, see keepWritten), so whatever changes a row, committed or
// rolled back, in this process or another, the cache needs to forget
// nothing: a changed row reads as other bytes and is decoded. A value
// handed out is always a copy, the caller's to change. The cache is bounded
// (emptied when full) and shared by the writer and the readers.
type docCache[T any] struct {
	mu    sync.Mutex
	m     map[string]docEntry[T]
	clone func(*T) *T
}

type docEntry[T any] struct {
	doc []byte
	v   *T
}

// docCacheMax bounds each cache: enough for the files and people a busy
// node's open procedures touch between two reads, about 10 MiB.
const docCacheMax = 8192

// decode returns what doc, read under key, decodes to.
func (c *docCache[T]) decode(key string, doc []byte) (*T, error) {
	if c == nil {
		v := new(T)
		return v, json.Unmarshal(doc, v)
	}
	if v, ok := c.get(key, doc); ok {
		return v, nil
	}
	v := new(T)
	if err := json.Unmarshal(doc, v); err != nil {
		return nil, err
	}
	c.put(key, doc, c.clone(v))
	return v, nil
}

// get returns a copy of the value kept for key if it was decoded from doc.
func (c *docCache[T]) get(key string, doc []byte) (*T, bool) {
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.doc, doc) {
		return nil, false
	}
	return c.clone(e.v), true
}

// put keeps v, which doc decodes to, under key; v is the cache's.
func (c *docCache[T]) put(key string, doc []byte, v *T) {
	if c == nil {
		return
	}
	e := docEntry[T]{doc: bytes.Clone(doc), v: v}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= docCacheMax {
		c.m = make(map[string]docEntry[T], 64)
	}
	c.m[key] = e
}

// docCaches are a store's caches, shared by all its transactions.
type docCaches struct {
	citizens   *docCache[cancuoc.Citizen]
	procedures *docCache[cancuoc.Procedure]
	steps      *docCache[cancuoc.ProcedureStep]
}

func newDocCaches() *docCaches {
	return &docCaches{
		citizens:   &docCache[cancuoc.Citizen]{clone: (*cancuoc.Citizen).Clone},
		procedures: &docCache[cancuoc.Procedure]{clone: cloneProcedure},
		steps:      &docCache[cancuoc.ProcedureStep]{clone: cloneStep},
	}
}

// The caches of a nil *docCaches (ops built for one query) are nil: every
// read decodes.
func (d *docCaches) citizenCache() *docCache[cancuoc.Citizen] {
	if d == nil {
		return nil
	}
	return d.citizens
}

func (d *docCaches) procedureCache() *docCache[cancuoc.Procedure] {
	if d == nil {
		return nil
	}
	return d.procedures
}

func (d *docCaches) stepCache() *docCache[cancuoc.ProcedureStep] {
	if d == nil {
		return nil
	}
	return d.steps
}

// cloneProcedure is a deep copy of p.
func cloneProcedure(p *cancuoc.Procedure) *cancuoc.Procedure {
	n := *p
	if p.Application != nil {
		n.Application = bytes.Clone(p.Application)
	}
	for _, t := range []**time.Time{&n.ClosedAt, &n.ResubmitBy} {
		if *t != nil {
			c := **t
			*t = &c
		}
	}
	return &n
}

// cloneStep is a deep copy of s.
func cloneStep(s *cancuoc.ProcedureStep) *cancuoc.ProcedureStep {
	n := *s
	if s.Result != nil {
		n.Result = bytes.Clone(s.Result)
	}
	for _, t := range []**time.Time{&n.ClaimedAt, &n.CompletedAt, &n.RejectedAt, &n.ResubmittedAt, &n.CancelledAt} {
		if *t != nil {
			c := **t
			*t = &c
		}
	}
	return &n
}

func stepKey(procedureID string, no int) string { return procedureID + "/" + strconv.Itoa(no) }

// The records the writer has just stored (json.Marshal of the record as
// doc) are kept as the reads of their rows give them, so that the next
// transaction's read of a file or step (the claim's write, then the
// completion's read) finds them decoded. Decoding doc gives the record
// back but for what JSON does not keep, made here as a read gives it: the
// times' monotonic readings and zones (their own JSON round trip), raw
// JSON compacted with <, >, & escaped as json.Marshal writes it, an empty
// raw value left out (omitempty) or null. A doc holding U+FFFD (JSON
// replaces invalid UTF-8 with it) is not kept: the next read decodes it.
// Tested against decoding (TestAsReadIsWhatTheDocDecodes).

// procedureAsRead is a copy of p, just written as doc, as a read gives it.
func procedureAsRead(p *cancuoc.Procedure, doc []byte) (*cancuoc.Procedure, bool) {
	if mayHoldReplacement(doc) {
		return nil, false
	}
	n := cloneProcedure(p)
	ok := jsonTimes(&n.SubmittedAt, &n.Deadline) && jsonTimePtrs(&n.ClosedAt, &n.ResubmitBy)
	if n.Application, ok = rawAsRead(n.Application, false, ok); !ok {
		return nil, false
	}
	return n, true
}

// stepAsRead is a copy of s, just written as doc, as a read gives it.
func stepAsRead(s *cancuoc.ProcedureStep, doc []byte) (*cancuoc.ProcedureStep, bool) {
	if mayHoldReplacement(doc) {
		return nil, false
	}
	n := cloneStep(s)
	ok := jsonTimes(&n.SubmittedAt, &n.CreatedAt, &n.Due) && jsonTimePtrs(&n.ClaimedAt, &n.CompletedAt, &n.RejectedAt, &n.ResubmittedAt, &n.CancelledAt)
	if n.Result, ok = rawAsRead(n.Result, true, ok); !ok {
		return nil, false
	}
	return n, true
}

func mayHoldReplacement(doc []byte) bool {
	return bytes.Contains(doc, replacementChar) || bytes.Contains(doc, []byte(`\ufffd`))
}

func jsonTimes(ts ...*time.Time) bool {
	for _, t := range ts {
		d, err := jsonTime(*t)
		if err != nil {
			return false
		}
		*t = d
	}
	return true
}

func jsonTimePtrs(ts ...**time.Time) bool {
	for _, t := range ts {
		if *t != nil && !jsonTimes(*t) {
			return false
		}
	}
	return true
}

// rawAsRead is what a field of raw JSON r decodes to after json.Marshal;
// omitEmpty is the field's tag. ok passes on a failure before.
func rawAsRead(r json.RawMessage, omitEmpty, ok bool) (json.RawMessage, bool) {
	switch {
	case !ok:
		return nil, false
	case len(r) == 0 && omitEmpty:
		return nil, true
	case r == nil:
		return json.RawMessage("null"), true
	}
	var c, e bytes.Buffer
	if json.Compact(&c, r) != nil {
		return nil, false
	}
	json.HTMLEscape(&e, c.Bytes())
	return e.Bytes(), true
}
