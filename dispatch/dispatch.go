// Package dispatch delivers the registry's outbox events to the handlers of
// the other capabilities (workflows, webhooks, statistics): at least once,
// and in order for each citizen.
//
// Each subscription is a durable consumer with a name and a cursor, the Seq
// of the last event it has handled, kept in the database
// (cancuoc.ConsumerStore). A consumer reads the outbox after its cursor,
// calls its handler and moves the cursor only once the handler has
// succeeded, so a crash or a restart delivers again whatever was not yet
// recorded as handled, never less. A failing handler is retried with a
// growing delay; it holds back its own consumer only.
//
// Because delivery is at least once, every Handler must be idempotent: it
// is given the event's ID, which never changes, and must make a second
// delivery of the same ID harmless (a unique key on the ID in the
// handler's own table, an upsert, a conditional update). A handler that
// writes to the same database can instead advance its cursor in the same
// transaction as its effects (cancuoc.ConsumerStore is part of cancuoc.Tx).
//
// By default everything runs in the process, reading the outbox directly.
// With WithJetStream the outbox is relayed to NATS JetStream (subject
// cancuoc.events.<type>, message ID = event ID so the stream drops
// re-sent events) and each subscription is a durable JetStream consumer of
// that stream, so several cancuoc nodes and agencies' systems share one
// stream of events.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cancuoc/cancuoc"
)

// Handler handles one event. It returns nil once the event's effects are
// durable; an error makes the dispatcher retry the same event later (and
// hold back the events after it for the same citizen). It must be
// idempotent: the same event (same ID) may be delivered more than once, for
// instance after a crash between the handler's success and the cursor's
// update. ctx is cancelled when the dispatcher stops.
type Handler func(ctx context.Context, e cancuoc.Event) error

// Store is what the dispatcher needs from the database.
type Store interface {
	cancuoc.Outbox
	cancuoc.ConsumerStore
}

// Dispatcher runs the subscriptions. Create it with New, Subscribe the
// handlers, then Start it; Stop ends it.
type Dispatcher struct {
	store      Store
	log        *slog.Logger
	batch      int
	poll       time.Duration
	saveEvery  time.Duration // in-process: how often a busy consumer stores its cursor
	minBackoff time.Duration
	maxBackoff time.Duration
	js         *jsConfig
	metrics    *metrics

	mu      sync.Mutex
	subs    []*subscription
	names   map[string]bool
	ctx     context.Context // set by Start; nil before
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	head    atomic.Int64 // the highest Seq seen in the outbox
	stopped bool
	reads   sharedReads   // in-process consumers' outbox reads
	decoded decodedEvents // JetStream consumers' decoded messages
	// sequenced: the store gives events their Seqs after their commit
	// (WithSequencer); Notify is ignored, its batches wake instead.
	sequenced cancuoc.LogSequencer
}

// subscription is one durable consumer.
type subscription struct {
	name        string
	types       map[string]bool // nil: every type
	prefixes    []string        // the types given as "prefix.>": each with its dot
	typeList    []string        // types as given, patterns included, sorted
	h           Handler
	prepare     BatchPrepare // nil: none (PrepareBatch)
	concurrency int
	wake        chan struct{}
	cursor      atomic.Int64 // in-process: the last Seq handled
	pending     atomic.Int64 // JetStream: messages left after the last one received
	delivered   atomic.Int64
	failures    atomic.Int64
}

func (s *subscription) wants(typ string) bool {
	if s.types == nil || s.types[typ] {
		return true
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}

// Option configures New.
type Option func(*Dispatcher)

// WithLogger sets the logger (slog.Default otherwise). Logs name events by
// ID, type and Seq, never by PIN.
func WithLogger(l *slog.Logger) Option { return func(d *Dispatcher) { d.log = l } }

// WithBatch sets how many events a consumer reads at once (256 by
// default). After a crash an in-process consumer gets again the events it
// handled since it last stored its cursor: at most those of one
// WithCursorSave interval and one batch.
func WithBatch(n int) Option {
	return func(d *Dispatcher) {
		if n > 0 {
			d.batch = n
		}
	}
}

// WithPoll sets how often an idle consumer looks for new events (200 ms by
// default); Notify wakes them at once.
func WithPoll(p time.Duration) Option {
	return func(d *Dispatcher) {
		if p > 0 {
			d.poll = p
		}
	}
}

// WithCursorSave sets how often at most an in-process consumer that keeps
// busy stores its cursor (100 ms by default); one that catches up stores it
// then, within the interval, and one that stops stores it before it ends.
// The JetStream relay stores its own cursor likewise.
// Each store is a write transaction: on SQLite, where every write waits
// for the single writer, storing after every batch cost six consumers a
// commit each for every few birth procedures. The handlers are idempotent,
// so the only cost of a longer interval is more events delivered again
// after a crash.
func WithCursorSave(every time.Duration) Option {
	return func(d *Dispatcher) {
		if every >= 0 {
			d.saveEvery = every
		}
	}
}

// WithBackoff sets the delay before the first retry of a failed handler
// and the most it grows to, doubling each time (100 ms and 1 min by
// default). A little jitter keeps nodes from retrying in step.
func WithBackoff(first, most time.Duration) Option {
	return func(d *Dispatcher) {
		if first > 0 {
			d.minBackoff = first
		}
		if most >= d.minBackoff {
			d.maxBackoff = most
		}
	}
}

// WithRegisterer registers the dispatcher's metrics: events delivered and
// handler failures per consumer, and each consumer's lag.
func WithRegisterer(r prometheus.Registerer) Option {
	return func(d *Dispatcher) { d.metrics.register(r) }
}

// New returns a dispatcher over st with no subscriptions.
func New(st Store, opts ...Option) *Dispatcher {
	d := &Dispatcher{store: st, log: slog.Default(), batch: 256, poll: 200 * time.Millisecond, saveEvery: 100 * time.Millisecond,
		minBackoff: 100 * time.Millisecond, maxBackoff: time.Minute, names: map[string]bool{}}
	d.metrics = newMetrics(d)
	for _, o := range opts {
		o(d)
	}
	if d.sequenced != nil {
		// Only now that every option is applied: a batch may wake the
		// dispatcher at once, from the sequencer's goroutine.
		d.sequenced.OnSequenced(d.wake)
	}
	return d
}

// SubscribeOption configures one subscription.
type SubscribeOption func(*subscription)

// Concurrency lets up to n events of different citizens be handled at the
// same time (1 by default: strictly in Seq order). Events of one citizen
// are still handled one after another, in order, and an event about no
// citizen (a bulk import, a principal) waits for everything before it and
// holds back everything after it. In JetStream mode every consumer hands
// out a batch at a time, which the node handles as above before it
// acknowledges it; on NATS 2.11 and later the consumer is pinned to one
// node at a time, so this holds across nodes too. On an older server a
// consumer with n > 1 still hands out batches (MaxAckPending is the batch
// size) but to several nodes at once, so two events of one citizen may run
// at the same time on two nodes: there, use n > 1 only for a handler that
// is correct in any order (the workflow's, whose events of one file never
// overlap), or with a consumer name of the node's own. With n = 1 an older
// server hands out one message at a time, in order across all nodes.
func Concurrency(n int) SubscribeOption {
	return func(s *subscription) { s.concurrency = max(n, 1) }
}

// BatchPrepare is a subscription's step before the events of each batch
// it is delivered are handled (PrepareBatch): it gets the batch's events
// that the subscription wants, in Seq order, and returns the handler of
// their first attempts. Its result type is Handler's, unnamed, so that a
// capability can offer one without importing this package.
type BatchPrepare func(ctx context.Context, evs []cancuoc.Event) (func(context.Context, cancuoc.Event) error, error)

// PrepareBatch has p called once for each batch of events delivered to the
// subscription (one read of the outbox, one fetch from JetStream), before
// any of its events is handled. p returns the handler of the batch: the
// subscription's, with what p read for all of the batch's events at once
// in place of a read per event (on PostgreSQL each read is a round trip:
// a send and a wake-up of both processes; the wallet's procedure handler
// read a holder key per event and nearly always found none).
//
// Everything else is as without it: each event is handled on its own, in
// order per citizen, with Concurrency in parallel (so the handler p returns
// must be safe for that), and a failing event is retried alone, holding
// back only what it held back before. A retry goes to the subscription's
// handler, which reads for itself: it comes after a wait, and what p read
// may have changed by then; so do, once an event of the batch has failed,
// the first attempts of the batch's events still to come, which waited
// behind it. A p that fails (or panics) costs only its time: the batch is
// handled by the subscription's handler, as without p.
//
// p reads after the batch's events were committed, as the handler's own
// reads would, but before any of them is handled: it must not read what
// handling the subscription's events changes (a later event of the batch
// would be handled on an answer older than the earlier ones' effects).
// What others change meanwhile is as if the handler had read earlier.
func PrepareBatch(p BatchPrepare) SubscribeOption {
	return func(s *subscription) { s.prepare = p }
}

// namePattern is what a consumer name may be: it is also a JetStream
// durable name, which allows no dots, wildcards or spaces.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// typePattern is what an event type may be, as it becomes subject tokens.
var typePattern = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)

// wantPattern is what Subscribe takes: an event type, or a type prefix
// followed by ".>" for every type under it (NATS's wildcard, which the
// JetStream consumer's filter then uses as is).
var wantPattern = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*(\.>)?$`)

// ValidTypes reports whether Subscribe takes every type of types.
func ValidTypes(types []string) bool {
	for _, t := range types {
		if !wantPattern.MatchString(t) {
			return false
		}
	}
	return true
}

// Subscribe adds a durable consumer: h receives every event whose type is
// in types (every event if types is empty), in order per citizen, at least
// once. A type written "citizen.>" stands for every type that begins with
// "citizen." (those of today and of later releases). name identifies the consumer's cursor across restarts, so it must
// stay the same from one release to the next; a new name starts from the
// first event in the outbox. Subscribe panics on an invalid or repeated
// name or type, mistakes of wiring that no input can cause. A subscription
// added after Start starts at once.
func (d *Dispatcher) Subscribe(name string, types []string, h Handler, opts ...SubscribeOption) {
	if !namePattern.MatchString(name) {
		panic(fmt.Sprintf("dispatch: consumer name %q must match %s", name, namePattern))
	}
	if h == nil {
		panic("dispatch: nil handler for " + name)
	}
	s := &subscription{name: name, h: h, concurrency: 1, wake: make(chan struct{}, 1)}
	if len(types) > 0 {
		s.types = map[string]bool{}
		for _, t := range types {
			if !wantPattern.MatchString(t) {
				panic(fmt.Sprintf("dispatch: event type %q must match %s", t, wantPattern))
			}
			if p, ok := strings.CutSuffix(t, ">"); ok {
				s.prefixes = append(s.prefixes, p)
			}
			s.types[t] = true
		}
		s.typeList = slices.Sorted(func(yield func(string) bool) {
			for t := range s.types {
				if !yield(t) {
					return
				}
			}
		})
	}
	for _, o := range opts {
		o(s)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.names[name] || name == RelayConsumer {
		panic("dispatch: consumer name " + name + " is taken (subscribed twice, or the relay's)")
	}
	d.names[name] = true
	d.subs = append(d.subs, s)
	if d.ctx != nil && !d.stopped {
		d.run(s)
	}
}

// Start starts every subscription (and, with JetStream, the relay and the
// stream). It returns once they run; they stop when ctx ends or Stop is
// called. Errors reaching the database or NATS after Start are logged and
// retried, not returned. Start fails only if the JetStream stream cannot be
// created or updated.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx != nil {
		return errors.New("dispatch: started twice")
	}
	if d.js != nil {
		if err := d.js.ensureStream(ctx); err != nil {
			return cancuoc.WithOp("dispatch.Start", err)
		}
	}
	d.ctx, d.cancel = context.WithCancel(ctx)
	if d.js != nil && d.js.relay {
		d.wg.Go(func() { d.relay(d.ctx) })
	}
	for _, s := range d.subs {
		d.run(s)
	}
	return nil
}

// run starts s's loop; d.mu is held.
func (d *Dispatcher) run(s *subscription) {
	if d.js != nil {
		d.wg.Go(func() { d.consumeJetStream(d.ctx, s) })
		return
	}
	d.wg.Go(func() { d.consumeOutbox(d.ctx, s) })
}

// Stop stops the subscriptions and waits for them: a handler running is
// let finish (its context is cancelled), and each consumer records how far
// it got.
func (d *Dispatcher) Stop() {
	d.mu.Lock()
	d.stopped = true
	cancel := d.cancel
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	d.wg.Wait()
}

// WithSequencer is for a store that gives events their Seqs after the
// commit that appends them (cancuoc.LogSequencer, PostgreSQL): the
// dispatcher wakes after each of its batches that sequenced events, and
// ignores Notify, which comes before the commit's events can be read.
// Each such Notify (the workflow's, after every submission) made the relay
// read the outbox for nothing, about one statement per birth procedure.
func WithSequencer(ls cancuoc.LogSequencer) Option {
	return func(d *Dispatcher) {
		d.sequenced = ls
	}
}

// Notify tells idle consumers that new events were committed, so they
// need not wait for their next poll. It never blocks; call it after a
// commit that appended events. With WithSequencer it does nothing: the
// store's batches wake the consumers when the events can be read.
func (d *Dispatcher) Notify() {
	if d.sequenced == nil {
		d.wake()
	}
}

// wake wakes the idle consumers and the relay: new events can be read.
func (d *Dispatcher) wake() {
	// Before the wake-ups: a consumer woken must not take a read begun
	// before this commit for the latest.
	d.reads.notified()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.subs {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	if d.js != nil {
		select {
		case d.js.wake <- struct{}{}:
		default:
		}
	}
}

// Status is what a consumer has done, for operators.
type Status struct {
	Name      string `json:"name"`
	Cursor    int64  `json:"cursor"`    // the last Seq handled (in-process mode)
	Lag       int64  `json:"lag"`       // events known to be waiting
	Delivered int64  `json:"delivered"` // events handled since start
	Failures  int64  `json:"failures"`  // handler errors since start
}

// Status reports each subscription, in the order they were added.
func (d *Dispatcher) Status() []Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Status, len(d.subs))
	for i, s := range d.subs {
		out[i] = Status{Name: s.name, Cursor: s.cursor.Load(), Lag: d.lag(s),
			Delivered: s.delivered.Load(), Failures: s.failures.Load()}
	}
	return out
}

// lag is how many events s is known to be behind. In JetStream mode the
// stream tells (the pending count of the last message); in-process it is
// the distance from the highest Seq seen, which counts events s filters
// out too, so it is an upper bound.
func (d *Dispatcher) lag(s *subscription) int64 {
	if d.js != nil {
		return s.pending.Load()
	}
	return max(d.head.Load()-s.cursor.Load(), 0)
}

// consumeOutbox is an in-process consumer: read after the cursor, deliver,
// advance, until ctx ends.
func (d *Dispatcher) consumeOutbox(ctx context.Context, s *subscription) {
	log := d.log.With("consumer", s.name)
	var cursor int64
	for attempt := 0; ; attempt++ {
		c, err := d.store.Cursor(ctx, s.name)
		if err == nil {
			cursor = c
			break
		}
		log.Warn("reading the consumer's cursor failed; retrying", "err", err)
		if !sleep(ctx, d.backoff(attempt)) {
			return
		}
	}
	s.cursor.Store(cursor)
	saver := cursorSaver{d: d, name: s.name, log: log, saved: cursor}
	// Recorded even when stopping, so a restart repeats as little as
	// possible.
	defer func() { saver.save(context.WithoutCancel(ctx), cursor) }()
	failedReads := 0
	fresh := true
	for ctx.Err() == nil {
		evs, err := d.read(ctx, cursor, fresh)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("reading the outbox failed; retrying", "err", err)
			if !sleep(ctx, d.backoff(failedReads)) {
				return
			}
			failedReads++
			continue
		}
		failedReads = 0
		if len(evs) == 0 {
			// Caught up: the cursor is stored now, or when its interval
			// ends if the consumer is still idle then.
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
				fresh = false
			case <-saver.due(cursor):
				saver.save(ctx, cursor)
			case <-time.After(d.poll):
				fresh = true // events committed without a Notify (another node)
			}
			continue
		}
		fresh = false
		d.seen(evs[len(evs)-1].Seq)
		done := d.deliverBatch(ctx, s, evs, log)
		if done > cursor {
			cursor = done
			s.cursor.Store(cursor)
			if saver.dueNow() {
				saver.save(ctx, cursor)
			}
		}
	}
}

// cursorSaver stores an in-process consumer's cursor, or the JetStream
// relay's, at most once per saveEvery (WithCursorSave). A failure to store
// only means some events come again.
type cursorSaver struct {
	d     *Dispatcher
	name  string // the cursor's
	log   *slog.Logger
	saved int64     // the cursor last stored
	at    time.Time // when
}

func (c *cursorSaver) dueNow() bool { return time.Since(c.at) >= c.d.saveEvery }

// due fires when cursor, not yet stored, may be: at once when the interval
// has passed. Never (nil) when there is nothing to store.
func (c *cursorSaver) due(cursor int64) <-chan time.Time {
	if cursor <= c.saved {
		return nil
	}
	return time.After(max(c.d.saveEvery-time.Since(c.at), 0))
}

func (c *cursorSaver) save(ctx context.Context, cursor int64) {
	if cursor <= c.saved {
		return
	}
	// A failure waits for the next interval too, rather than retry at once.
	c.at = time.Now()
	if err := c.d.store.AdvanceCursor(context.WithoutCancel(ctx), c.name, cursor); err != nil {
		c.log.Warn("saving the consumer's cursor failed; events after it will be delivered again", "seq", cursor, "err", err)
		return
	}
	c.saved = cursor
}

// seen raises the highest Seq known to exist.
func (d *Dispatcher) seen(seq int64) {
	for {
		h := d.head.Load()
		if seq <= h || d.head.CompareAndSwap(h, seq) {
			return
		}
	}
}

// deliverBatch hands evs (in Seq order) to s and returns the Seq up to
// which every event is handled: the last one's, unless ctx ended first.
func (d *Dispatcher) deliverBatch(ctx context.Context, s *subscription, evs []cancuoc.Event, log *slog.Logger) int64 {
	done := make([]bool, len(evs))
	d.deliverEach(ctx, s, evs, done, log)
	var upTo int64
	for i, ok := range done {
		if !ok {
			break
		}
		upTo = evs[i].Seq
	}
	return upTo
}

// deliverEach hands evs (in Seq order) to s, setting done[i] once evs[i]
// is handled, until all are or ctx ends: one after another, or with
// Concurrency in parallel by citizen, each citizen's in order, an event
// about no citizen alone, after everything before it and before
// everything after it. With PrepareBatch, evs is one batch: prepared once.
func (d *Dispatcher) deliverEach(ctx context.Context, s *subscription, evs []cancuoc.Event, done []bool, log *slog.Logger) {
	b := d.prepare(ctx, s, evs, log)
	if s.concurrency <= 1 {
		for i := range evs {
			if !d.deliver(ctx, s, b, &evs[i], log) {
				return
			}
			done[i] = true
		}
		return
	}
	for start := 0; start < len(evs) && ctx.Err() == nil; {
		if evs[start].PIN == "" {
			done[start] = d.deliver(ctx, s, b, &evs[start], log)
			if !done[start] {
				return
			}
			start++
			continue
		}
		end := start
		for end < len(evs) && evs[end].PIN != "" {
			end++
		}
		d.deliverByCitizen(ctx, s, b, evs, start, end, done, log)
		start = end
	}
}

// deliverByCitizen delivers evs[start:end], all about citizens, with up to
// s.concurrency citizens at a time, each citizen's events in order; b
// (nil: none) handles their first attempts.
func (d *Dispatcher) deliverByCitizen(ctx context.Context, s *subscription, b *batchHandler, evs []cancuoc.Event, start, end int, done []bool, log *slog.Logger) {
	var order []cancuoc.PIN
	byPIN := map[cancuoc.PIN][]int{}
	for i := start; i < end; i++ {
		p := evs[i].PIN
		if _, ok := byPIN[p]; !ok {
			order = append(order, p)
		}
		byPIN[p] = append(byPIN[p], i)
	}
	sem := make(chan struct{}, s.concurrency)
	var wg sync.WaitGroup
	for _, p := range order {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for _, i := range byPIN[p] {
				if !d.deliver(ctx, s, b, &evs[i], log) {
					return
				}
				done[i] = true // each index is written by one goroutine only
			}
		})
	}
	wg.Wait()
}

// batchHandler is the handler a BatchPrepare returned for one batch.
// Once an event of the batch has failed, the events after it waited
// behind its retries (all of them, or with Concurrency its citizen's and
// those after the next event about no citizen), so what the preparation
// read may be old by the time they come: from then on their first
// attempts go to the subscription's handler too, which reads for itself.
type batchHandler struct {
	h     Handler
	spent atomic.Bool
}

// first is the handler of an event's first attempt: b's until an event of
// the batch failed, then s's. A nil b is no preparation.
func (b *batchHandler) first(s *subscription) Handler {
	if b == nil || b.spent.Load() {
		return s.h
	}
	return b.h
}

// failed records that an event of the batch failed.
func (b *batchHandler) failed() {
	if b != nil {
		b.spent.Store(true)
	}
}

// prepare returns the handler of the first attempts at evs's events (nil:
// s's own): the one s's BatchPrepare gives for them.
func (d *Dispatcher) prepare(ctx context.Context, s *subscription, evs []cancuoc.Event, log *slog.Logger) *batchHandler {
	if s.prepare == nil {
		return nil
	}
	// A copy: an in-process batch is shared by the consumers (sharedReads).
	want := make([]cancuoc.Event, 0, len(evs))
	for i := range evs {
		if s.wants(evs[i].Type) {
			want = append(want, evs[i])
		}
	}
	if len(want) == 0 {
		return nil
	}
	h, err := callPrepare(ctx, s.prepare, want)
	if err != nil || h == nil {
		if err != nil && ctx.Err() == nil {
			log.Warn("preparing a batch failed; its events are handled without it", "events", len(want),
				"first_seq", want[0].Seq, "err", err)
		}
		return nil
	}
	return &batchHandler{h: h}
}

// deliver calls b's handler (or s's), then s's for each retry, for e until
// it succeeds (true) or ctx ends (false). Events s does not want count as
// delivered.
func (d *Dispatcher) deliver(ctx context.Context, s *subscription, b *batchHandler, e *cancuoc.Event, log *slog.Logger) bool {
	if !s.wants(e.Type) {
		return true
	}
	for attempt, h := 0, b.first(s); ; attempt, h = attempt+1, s.h {
		if ctx.Err() != nil {
			return false
		}
		err := call(ctx, h, *e)
		if err == nil {
			s.delivered.Add(1)
			d.metrics.delivered.WithLabelValues(s.name).Inc()
			return true
		}
		if ctx.Err() != nil {
			return false // stopping: the handler saw its context end
		}
		b.failed()
		s.failures.Add(1)
		d.metrics.failures.WithLabelValues(s.name).Inc()
		wait := d.backoff(attempt)
		log.Warn("event handler failed; retrying", "event", e.ID, "type", e.Type, "seq", e.Seq,
			"attempt", attempt+1, "retry_in", wait, "err", err)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// call runs h, turning a panic into an error so that one bad event does
// not take the process down; it is retried like any failure.
func call(ctx context.Context, h Handler, e cancuoc.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, e)
}

// callPrepare runs p, turning a panic into an error as call does.
func callPrepare(ctx context.Context, p BatchPrepare, evs []cancuoc.Event) (h func(context.Context, cancuoc.Event) error, err error) {
	defer func() {
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("batch preparation panicked: %v", r)
		}
	}()
	return p(ctx, evs)
}

// backoff is the delay before retry number attempt+1: doubling from
// minBackoff up to maxBackoff, less up to a fifth at random.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	b := d.minBackoff << min(attempt, 30)
	if b > d.maxBackoff || b <= 0 {
		b = d.maxBackoff
	}
	return b - time.Duration(rand.Int64N(int64(b)/5+1))
}

// sleep waits for dur or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, dur time.Duration) bool {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
