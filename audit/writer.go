// Package audit records accesses to citizens' data. Writer makes read
// accesses durable before the caller answers while keeping reads fast: it
// commits the entries of many concurrent requests in one transaction (group
// commit), the way databases batch their own log flushes.
package audit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Appender is the part of a store the writer needs.
type Appender interface {
	AppendAudit(ctx context.Context, entries ...*cancuoc.AuditEntry) error
}

type request struct {
	entries []*cancuoc.AuditEntry
	done    chan error
}

// Writer batches audit entries from concurrent callers into one commit.
type Writer struct {
	log      Appender
	maxBatch int
	reqs     chan request
	wg       sync.WaitGroup
	closeMu  sync.RWMutex
	closed   bool
	batches  atomic.Int64
	entries  atomic.Int64
	linger   time.Duration
	fill     int
	workers  int
}

// Stats reports the commits made and the entries they held, so operators
// can see how well concurrent reads share commits (entries per batch).
func (w *Writer) Stats() (batches, entries int64) { return w.batches.Load(), w.entries.Load() }

// ErrClosed is returned by Record after Close.
var ErrClosed = cancuoc.E(cancuoc.Unavailable, "audit.Record", "audit_closed",
	"Hệ thống đang dừng, vui lòng thử lại.", "The service is shutting down; try again.")

// Option configures a Writer.
type Option func(*Writer)

// WithLinger makes the writer wait up to d for more entries when a batch is
// smaller than fill, the way PostgreSQL's commit_delay does: under load a
// commit then carries many requests' entries instead of a few, which costs
// the database far less per read, for at most d more latency. The wait is
// adaptive: only after a commit that carried more than one request (a lone
// reader is never delayed), and only while entries keep coming, each within
// a quarter of d of the one before (a batch of all the clients there are
// then commits as soon as they are in, not after the whole of d).
func WithLinger(d time.Duration, fill int) Option {
	return func(w *Writer) { w.linger, w.fill = d, fill }
}

// WithCommitters lets n commits be in flight at once. With one, an entry
// that arrives during a commit waits for it to end before its own starts;
// with several, it starts at once, and the database still merges the
// concurrent commits' log flushes. It lowers read latency on a server
// database; SQLite serialises writers anyway.
func WithCommitters(n int) Option {
	return func(w *Writer) { w.workers = max(n, 1) }
}

// NewWriter starts a writer over log. maxBatch bounds the entries committed
// together (default 512).
func NewWriter(log Appender, maxBatch int, opts ...Option) *Writer {
	if maxBatch <= 0 {
		maxBatch = 512
	}
	w := &Writer{log: log, maxBatch: maxBatch, reqs: make(chan request, 4096), workers: 1}
	for _, o := range opts {
		o(w)
	}
	for range w.workers {
		w.wg.Add(1)
		go w.run()
	}
	return w
}

// Record appends entries and returns once they are committed. An error means
// the access must not proceed: nothing leaves without its audit entry.
func (w *Writer) Record(ctx context.Context, entries ...*cancuoc.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	w.closeMu.RLock()
	if w.closed {
		w.closeMu.RUnlock()
		return ErrClosed
	}
	r := request{entries: entries, done: make(chan error, 1)}
	w.reqs <- r
	w.closeMu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The entry may still commit; the caller's request is abandoned
		// either way, so the log over-reports rather than under-reports.
		return ctx.Err()
	}
}

func (w *Writer) run() {
	defer w.wg.Done()
	prev := 0 // requests in this committer's previous batch
	for first := range w.reqs {
		batch := []request{first}
		n := len(first.entries)
	drain:
		for n < w.maxBatch {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
				n += len(r.entries)
			default:
				break drain
			}
		}
		if w.linger > 0 && n < w.fill && prev > 1 {
			batch, n = w.gather(batch, n)
		}
		prev = len(batch)
		all := make([]*cancuoc.AuditEntry, 0, n)
		for _, r := range batch {
			all = append(all, r.entries...)
		}
		// A background context: callers that gave up must not cancel the
		// commit of other callers' entries.
		err := w.log.AppendAudit(context.Background(), all...)
		w.batches.Add(1)
		w.entries.Add(int64(len(all)))
		for _, r := range batch {
			r.done <- err
		}
	}
}

// gather waits up to the linger time for more requests, until the batch
// holds fill entries or none came for a quarter of the linger time.
func (w *Writer) gather(batch []request, n int) ([]request, int) {
	t := time.NewTimer(w.linger)
	defer t.Stop()
	quiet := time.NewTimer(w.linger / 4)
	defer quiet.Stop()
	for n < w.fill {
		select {
		case r, ok := <-w.reqs:
			if !ok {
				return batch, n
			}
			batch = append(batch, r)
			n += len(r.entries)
			quiet.Reset(w.linger / 4)
		case <-quiet.C:
			return batch, n
		case <-t.C:
			return batch, n
		}
	}
	return batch, n
}

// Close stops accepting entries, commits those queued, and waits.
func (w *Writer) Close() error {
	w.closeMu.Lock()
	if w.closed {
		w.closeMu.Unlock()
		return errors.New("audit: writer already closed")
	}
	w.closed = true
	close(w.reqs)
	w.closeMu.Unlock()
	w.wg.Wait()
	return nil
}
