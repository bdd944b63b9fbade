package sqlite

import (
	"context"
	"errors"
	"strings"

	"github.com/cancuoc/cancuoc"
)

// txLog holds what a write transaction appends to the two logs, the audit
// chain and the outbox, until it commits. A birth procedure appends some
// fourteen audit entries and fifteen events, each a statement of its own
// on the single writer; held here, a group's rows go in with a few
// multi-row INSERTs just before its COMMIT (flush). The store reads the
// logs' tables only in EventsAfter, AuditSize, AuditRange and AuditSearch,
// which flush first, so a transaction still reads its own writes.
//
// The places are given at append time, as before: the audit chain's head
// and the outbox's last Seq are read once per transaction and then carried
// on here (the transaction is the single writer, so nobody else appends
// meanwhile). A savepoint rolled back takes back what was appended since
// it began (mark, restore), rows and places alike, so the next entry
// chains to the entry that stays, not to one rolled back, and the next
// event takes the Seq that was freed, as AUTOINCREMENT would. A flush that
// fails leaves the log in doubt: the transaction then refuses further
// appends and its commit (broken) unless a savepoint from before the flush
// is rolled back.
//
// A nil *txLog (the Store's own methods, outside any transaction) holds
// nothing: AppendAudit on the Store opens a transaction, AppendEvent
// writes its row at once.
type txLog struct {
	logMark
	// Every row appended in the transaction, written or not (a savepoint
	// rolled back may take written rows back, to write again).
	audit  []*cancuoc.AuditEntry // stamped
	fields []any                 // the entries' fields, encoded
	events []*cancuoc.Event      // with their Seq
}

// logMark is the state a savepoint restores.
type logMark struct {
	headKnown    bool
	headSeq      int64
	headHash     []byte
	seqKnown     bool
	lastSeq      int64 // the outbox's newest Seq, given or stored
	auditN       int   // audit entries appended
	eventN       int   // events appended
	auditWritten int   // of those, the ones in the table
	eventWritten int
	broken       bool
}

var errLogBroken = errors.New("sqlite: writing the transaction's log entries failed; the transaction cannot commit")

func (l *txLog) mark() logMark { return l.logMark }

// restore takes back everything appended since m, after a rollback to the
// savepoint m was taken at; the database took back what was written since.
func (l *txLog) restore(m logMark) {
	l.audit, l.fields, l.events = l.audit[:m.auditN], l.fields[:m.auditN], l.events[:m.eventN]
	l.logMark = m
}

// fail marks the log in doubt: the transaction may not commit.
func (l *txLog) fail() { l.broken = true }

// appendAudit stamps entries after the chain's head and holds them.
func (l *txLog) appendAudit(ctx context.Context, o *ops, entries []*cancuoc.AuditEntry, fields []any) error {
	if l.broken {
		return errLogBroken
	}
	if !l.headKnown {
		seq, hash, err := o.auditHead(ctx)
		if err != nil {
			return err
		}
		l.headKnown, l.headSeq, l.headHash = true, seq, hash
	}
	cancuoc.AuditStamp(l.headSeq, l.headHash, entries)
	newest := entries[len(entries)-1]
	l.headSeq, l.headHash = newest.ID, newest.Hash
	l.audit = append(l.audit, entries...)
	l.fields = append(l.fields, fields...)
	l.auditN = len(l.audit)
	return nil
}

// appendEvent gives e the next Seq and holds it.
func (l *txLog) appendEvent(ctx context.Context, o *ops, e *cancuoc.Event) error {
	if l.broken {
		return errLogBroken
	}
	if !l.seqKnown {
		// AUTOINCREMENT's next value: above every Seq ever given, even of
		// events pruned since.
		err := o.w.QueryRowContext(ctx, `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),
			coalesce((SELECT max(seq) FROM events), 0))`).Scan(&l.lastSeq)
		if err != nil {
			return err
		}
		l.seqKnown = true
	}
	l.lastSeq++
	e.Seq = l.lastSeq
	// A copy: the caller may reuse its Event before the commit.
	c := *e
	l.events = append(l.events, &c)
	l.eventN = len(l.events)
	return nil
}

// flush writes the rows not yet written, before the commit or a read of
// the logs.
func (l *txLog) flush(ctx context.Context, w querier) error {
	if l == nil {
		return nil
	}
	if l.broken {
		return errLogBroken
	}
	if err := insertRows(ctx, w, l.audit[l.auditWritten:], `INSERT INTO audit (seq, at, actor, action, pin, fields, purpose, outcome, hash) VALUES `,
		`(?, ?, ?, ?, ?, ?, ?, ?, ?)`, func(i int, e *cancuoc.AuditEntry, args []any) []any {
			return append(args, e.ID, micros(e.At), e.Actor, e.Action, string(e.PIN), l.fields[l.auditWritten+i], e.Purpose, e.Outcome, e.Hash)
		}); err != nil {
		l.broken = true
		return err
	}
	l.auditWritten = len(l.audit)
	if err := insertRows(ctx, w, l.events[l.eventWritten:], `INSERT INTO events (seq, id, type, pin, version, actor, at, data) VALUES `,
		`(?, ?, ?, ?, ?, ?, ?, ?)`, func(_ int, e *cancuoc.Event, args []any) []any {
			var data any
			if len(e.Data) > 0 {
				data = string(e.Data)
			}
			return append(args, e.Seq, e.ID, e.Type, string(e.PIN), e.Version, e.Actor, micros(e.At), data)
		}); err != nil {
		l.broken = true
		return err
	}
	l.eventWritten = len(l.events)
	return nil
}

// rowChunks are the rows per INSERT: n rows go in as a few statements of
// these sizes, so that the statement cache holds a handful of texts per
// table (prepared once) rather than one per count.
var rowChunks = []int{128, 32, 8, 2, 1}

// insertRows inserts rows with multi-row INSERTs of head followed by row
// (its placeholders) per row; args appends row i's values.
func insertRows[T any](ctx context.Context, w querier, rows []T, head, row string, args func(i int, r T, args []any) []any) error {
	perRow := strings.Count(row, "?")
	i := 0
	for _, size := range rowChunks {
		for len(rows)-i >= size {
			var q strings.Builder
			q.WriteString(head)
			vals := make([]any, 0, size*perRow)
			for k := range size {
				if k > 0 {
					q.WriteByte(',')
				}
				q.WriteString(row)
				vals = args(i+k, rows[i+k], vals)
			}
			if _, err := w.ExecContext(ctx, q.String(), vals...); err != nil {
				return err
			}
			i += size
		}
	}
	return nil
}

// flushLog writes o's held log rows, in a transaction; nothing on the
// Store.
func (o *ops) flushLog(ctx context.Context) error {
	return o.log.flush(ctx, o.w)
}
