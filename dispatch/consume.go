package dispatch

// The consuming half of the JetStream dispatcher: each subscription's
// durable consumer, its shape on the server it finds (pinned batches on
// NATS 2.11+, one message at a time before), and the loop that pulls,
// handles and acknowledges its messages. The relaying half (the stream and
// the outbox's publication) is jetstream.go.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cancuoc/cancuoc"
)

// pinGroup is the priority group every consumer the dispatcher creates on
// a server that pins (NATS 2.11 and later) hands its messages to.
const pinGroup = "cancuoc"

// fetchWait is how long one pull request waits for messages.
func (d *Dispatcher) fetchWait() time.Duration { return max(d.poll, 5*time.Second) }

// consumeJetStream feeds s from its durable JetStream consumer until ctx
// ends, recreating the consumer after errors (a NATS restart, a deleted
// consumer).
func (d *Dispatcher) consumeJetStream(ctx context.Context, s *subscription) {
	log := d.log.With("consumer", s.name)
	var prev jetstream.Consumer // the last attempt's, which knows its pin
	for failures := 0; ctx.Err() == nil; failures++ {
		// The shape depends on the server, which may have changed since
		// the last attempt (an upgrade behind a reconnection). While the
		// connection is down the version is unknown, and would be taken
		// for an older server's: the pinned consumer would be recreated
		// unpinned (from its ack floor) as soon as it is back.
		v := d.js.js.Conn().ConnectedServerVersion()
		cfg, narrow := d.consumerConfigs(s, v)
		var cons jetstream.Consumer
		err := nats.ErrDisconnected
		if v != "" {
			cons, err = d.js.ensureConsumer(ctx, cfg, narrow)
		}
		if err == nil {
			pin := cfg.PriorityPolicy == jetstream.PriorityPolicyPinned
			if got := cons.CachedInfo().Config.PriorityPolicy; pin && got != jetstream.PriorityPolicyPinned {
				// Batches without the pin would reach several nodes at once.
				err = fmt.Errorf("the server did not pin consumer %s (priority policy %v)", s.name, got)
			} else {
				if prev != nil && prev.CachedInfo().Created.Equal(cons.CachedInfo().Created) {
					// The same consumer, not created again: the object of
					// the last attempt carries the pin in its requests,
					// where a new one's would wait PinnedTTL for another.
					cons = prev
				}
				prev = cons
				if err = d.consumeMessages(ctx, s, cons, pin, log); err == nil {
					return
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("JetStream consumer failed; retrying", "err", err)
		if !sleep(ctx, d.backoff(failures)) {
			return
		}
	}
}

// consumerConfigs returns the durable consumer s needs on a server of
// version v, and the same with a single filter (narrow) for a server that
// takes one only.
//
// On a server that pins (2.11 and later) every consumer hands its messages
// to one client at a time, a batch at a time (MaxAckPending is the batch):
// the node holding the pin fetches, handles and acknowledges batches while
// other nodes' requests wait, so events stay in order across nodes and a
// delivery no longer waits for the acknowledgement of the one before. The
// pin moves to another node only after PinnedTTL without a request from
// its holder, which is longer than AckWait plus a request's wait: by then
// whatever a crashed holder had not acknowledged is due again, and is
// delivered before anything newer. On an older server a consumer without
// Concurrency hands out one message at a time instead (MaxAckPending 1).
func (d *Dispatcher) consumerConfigs(s *subscription, v string) (cfg, narrow jetstream.ConsumerConfig) {
	cfg = jetstream.ConsumerConfig{
		Durable:       s.name,
		Description:   "cancuoc event handler " + s.name,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       d.js.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 1,
	}
	switch {
	case pins(v):
		cfg.MaxAckPending = max(d.batch, s.concurrency)
		cfg.PriorityPolicy = jetstream.PriorityPolicyPinned
		cfg.PriorityGroups = []string{pinGroup}
		cfg.PinnedTTL = d.js.cfg.AckWait + 2*d.fetchWait()
	case s.concurrency > 1:
		// A fetched batch is handled in parallel by citizen; without the
		// pin, two nodes may each hold one (see Concurrency).
		cfg.MaxAckPending = max(d.batch, s.concurrency)
	}
	switch len(s.typeList) {
	case 0:
	case 1:
		cfg.FilterSubject = d.js.filter(s.typeList[0])
	default:
		for _, t := range s.typeList {
			cfg.FilterSubjects = append(cfg.FilterSubjects, d.js.filter(t))
		}
	}
	// A server before 2.10 takes one filter only: the narrowest that
	// covers every type (citizen.died and citizen.updated: citizen.*),
	// and the dispatcher skips the other types it lets through. Every
	// message delivered costs the server a delivery and an
	// acknowledgement, and a consumer of three registry types received
	// each procedure's dozen events too.
	narrow = cfg
	narrow.FilterSubjects = nil
	f := oneFilter(s.typeList)
	if f != "" && len(s.typeList) > 1 {
		narrow.FilterSubject = d.js.cfg.Prefix + f
	}
	return cfg, narrow
}

// ensureConsumer creates the durable consumer cfg describes (narrow on a
// server that takes one filter only), or brings the existing one up to
// date. One whose filters are neither cfg's nor narrow's, or whose shape
// (pinned or not) is not cfg's, is deleted and created again from the
// first message it has not acknowledged: changing a consumer's filter in
// place makes NATS 2.9 skip every message not yet delivered (the consumer
// jumps to the end of the stream), which would lose events, and an older
// release's consumer that hands out one message at a time becomes one
// that is pinned. Messages it had delivered but that were not
// acknowledged are delivered again, as after a crash (and, should the
// creation fail after the deletion, everything in the stream: at least
// once still).
func (j *jsConfig) ensureConsumer(ctx context.Context, cfg, narrow jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	old, err := j.js.Consumer(ctx, j.cfg.Stream, cfg.Durable)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	case err != nil:
		return nil, err
	default:
		info := old.CachedInfo()
		have := filters(info.Config)
		// A narrow without a filter (types no wildcard covers) is right
		// only on a server that cannot take cfg's filters: on one that
		// can, an older release's unfiltered consumer is not kept.
		narrowOK := have != nil || !multiFilter(j.js.Conn().ConnectedServerVersion())
		sameFilters := slices.Equal(have, filters(cfg)) || narrowOK && slices.Equal(have, filters(narrow))
		if sameFilters && sameShape(info.Config, cfg) {
			// Keep what it has; where it started is fixed at creation.
			cfg.FilterSubject, cfg.FilterSubjects = info.Config.FilterSubject, info.Config.FilterSubjects
			cfg.DeliverPolicy, cfg.OptStartSeq = info.Config.DeliverPolicy, info.Config.OptStartSeq
			return j.js.CreateOrUpdateConsumer(ctx, j.cfg.Stream, cfg)
		}
		if err := j.js.DeleteConsumer(ctx, j.cfg.Stream, cfg.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, err
		}
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, info.AckFloor.Stream+1
		narrow.DeliverPolicy, narrow.OptStartSeq = cfg.DeliverPolicy, cfg.OptStartSeq
	}
	if len(cfg.FilterSubjects) > 0 && !multiFilter(j.js.Conn().ConnectedServerVersion()) {
		cfg = narrow
	}
	cons, err := j.js.CreateOrUpdateConsumer(ctx, j.cfg.Stream, cfg)
	if errors.Is(err, jetstream.ErrConsumerMultipleFilterSubjectsNotSupported) {
		// The server ignored the filters and created the consumer without
		// any; its filter cannot be set in place (above): create it again.
		if err := j.js.DeleteConsumer(ctx, j.cfg.Stream, cfg.Durable); err != nil {
			return nil, err
		}
		cons, err = j.js.CreateOrUpdateConsumer(ctx, j.cfg.Stream, narrow)
	}
	return cons, err
}

// sameShape tells whether a consumer configured as have hands out its
// messages as want asks (pinned to one client, or not).
func sameShape(have, want jetstream.ConsumerConfig) bool {
	return have.PriorityPolicy == want.PriorityPolicy && slices.Equal(have.PriorityGroups, want.PriorityGroups)
}

// multiFilter tells whether a NATS server of version v ("2.10.3") takes
// several filters per consumer (2.10 and later).
func multiFilter(v string) bool { return atLeast(v, 10, true) }

// pins tells whether a NATS server of version v pins a consumer to one
// client (priority groups, 2.11 and later). An unknown version does not:
// an older server would ignore the setting and hand batches to every node.
func pins(v string) bool { return atLeast(v, 11, false) }

// atLeast tells whether v is 2.minor or later; unknown when v does not
// parse.
func atLeast(v string, minor int, unknown bool) bool {
	var maj, mnr int
	if _, err := fmt.Sscanf(v, "%d.%d", &maj, &mnr); err != nil {
		return unknown
	}
	return maj > 2 || maj == 2 && mnr >= minor
}

// filters lists a consumer's subject filters, however they are given.
func filters(c jetstream.ConsumerConfig) []string {
	switch {
	case len(c.FilterSubjects) > 0:
		return slices.Sorted(slices.Values(c.FilterSubjects))
	case c.FilterSubject != "":
		return []string{c.FilterSubject}
	}
	return nil
}

// consumeMessages handles cons's messages a batch at a time; nil when ctx
// ended. A pull request asks for a whole batch and stays open while it is
// handled: each batch is what had arrived when the last one was done, so
// under load batches grow and the server does not wait for an
// acknowledgement before each delivery. pin: cons is pinned (its requests
// name pinGroup).
func (d *Dispatcher) consumeMessages(ctx context.Context, s *subscription, cons jetstream.Consumer, pin bool, log *slog.Logger) error {
	p := &puller{cons: cons, batch: d.batch, wait: d.fetchWait(), pin: pin}
	defer p.close()
	var (
		pinID string          // the pin the last batch came with
		held  []jetstream.Msg // the batch in hand
		ok    []bool          // which of held are handled (or skipped)
	)
	for ctx.Err() == nil {
		var err error
		held, err = p.take(ctx, 0)
		if err != nil {
			return err
		}
		if len(held) == 0 {
			break // ctx ended
		}
		if id := held[len(held)-1].Headers().Get(pinHeader); pin && (id != pinID || p.gap) {
			// Newly pinned: what an earlier holder (a crashed node, this
			// one before a NATS restart) had not acknowledged comes first.
			// Likewise a delivery lost in flight under this node's pin
			// (a gap): the pin stays, and what was delivered after it
			// must wait for it.
			pinID, p.gap = id, false
			held, err = d.awaitEarlier(ctx, cons, p, held)
			if err != nil && ctx.Err() == nil {
				d.settle(held, make([]bool, len(held)), log)
				return err
			}
		}
		ok = d.handleBatch(ctx, s, cons, held, pin, log)
		if ctx.Err() != nil {
			break
		}
		d.settle(held, ok, log)
		held, ok = nil, nil
	}
	d.stopConsuming(s, cons, p, pinID, held, ok, log)
	return nil
}

// stopConsuming settles the batch in hand when the dispatcher stops (ok:
// which of held are handled), gives back whatever else this node was
// given, and, pinned, releases the pin so that another node (or this one
// restarted) takes over at once rather than after PinnedTTL. It releases
// the pin only when this node holds it and the server's count shows that
// every message it delivered reached this node and is now settled or
// given back (and so due at once, before anything newer): one in flight
// when it stopped is due again only after AckWait, and a node pinned
// before then would get newer ones first.
func (d *Dispatcher) stopConsuming(s *subscription, cons jetstream.Consumer, p *puller, pinID string, held []jetstream.Msg, ok []bool, log *slog.Logger) {
	// The open request ends first: a message given back must not be
	// delivered to it again.
	for _, m := range p.drain(d.js.js.Conn()) {
		held, ok = append(held, m), append(ok, false)
	}
	naked := d.settle(held, ok, log)
	if len(held) > 0 {
		// The server has taken every acknowledgement once it answers the
		// last (they are handled in order).
		if err := d.confirm(held[len(held)-1]); err != nil {
			return
		}
	}
	if pinID == "" || p.last == nil {
		return
	}
	meta, err := p.last.Metadata()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	info, err := cons.Info(ctx)
	if err != nil {
		return
	}
	mine := slices.ContainsFunc(info.PriorityGroups, func(g jetstream.PriorityGroupState) bool {
		return g.Group == pinGroup && g.PinnedClientID == pinID
	})
	if !mine {
		return
	}
	if info.NumAckPending > naked || info.Delivered.Consumer != meta.Sequence.Consumer {
		log.Info("stopping with messages in flight: the consumer stays pinned for its PinnedTTL",
			"pending", info.NumAckPending, "given_back", naked, "delivered", info.Delivered.Consumer, "received", meta.Sequence.Consumer)
		return
	}
	st, err := d.js.js.Stream(ctx, d.js.cfg.Stream)
	if err == nil {
		err = st.UnpinConsumer(ctx, s.name, pinGroup)
	}
	if err != nil {
		log.Warn("releasing the consumer's pin failed; another node takes over after its PinnedTTL", "err", err)
	}
}

// pinHeader names the pin a pinned consumer's message was delivered under.
const pinHeader = "Nats-Pin-Id"

// puller takes messages from a consumer through Fetch requests of a batch
// each, one open at a time, each open for up to wait. It pulls with plain
// Fetch requests rather than the Messages iterator: one request per wait
// is cheap, and a request that the server forgot (a restart) simply
// expires, where the iterator was seen to stall.
type puller struct {
	cons   jetstream.Consumer
	batch  int
	wait   time.Duration
	pin    bool
	cur    jetstream.MessageBatch // nil: none open
	cancel context.CancelFunc
	last   jetstream.Msg // the last message received
	// lastSeq is last's delivery sequence (0: none yet), and gap tells
	// whether one was skipped since gap was last cleared: a
	// message delivered under this node's pin never reached it (lost in
	// flight when the connection broke) and is due again only after
	// AckWait, after the ones received since.
	lastSeq uint64
	gap     bool
}

// take waits for a message (for up to within, or until ctx ends if within
// is 0), then takes those already there, up to a batch. It returns none
// once ctx ended or within passed.
func (p *puller) take(ctx context.Context, within time.Duration) ([]jetstream.Msg, error) {
	var timeout <-chan time.Time
	if within > 0 {
		t := time.NewTimer(within)
		defer t.Stop()
		timeout = t.C
	}
	for ctx.Err() == nil {
		if p.cur == nil {
			if err := p.fetch(ctx); err != nil {
				if ctx.Err() != nil {
					return nil, nil
				}
				return nil, err
			}
		}
		select {
		case m, ok := <-p.cur.Messages():
			if ok {
				return p.more(m), nil
			}
			// The request ended (full, expired or refused): another.
			err := p.cur.Error()
			p.close()
			if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) &&
				!errors.Is(err, jetstream.ErrPinIDMismatch) { // the pin was lost (a NATS restart): the next request gets one
				return nil, err
			}
		case <-timeout:
			return nil, nil
		}
	}
	return nil, nil
}

// more returns first and the messages already there after it, up to a
// batch.
func (p *puller) more(first jetstream.Msg) []jetstream.Msg {
	p.received(first)
	held := []jetstream.Msg{first}
	for len(held) < p.batch {
		select {
		case m, ok := <-p.cur.Messages():
			if !ok {
				return held
			}
			p.received(m)
			held = append(held, m)
		default:
			return held
		}
	}
	return held
}

// received notes m as the last message received, and a gap if its
// delivery sequence does not follow the one before.
func (p *puller) received(m jetstream.Msg) {
	seq := deliverySeq(m)
	if p.lastSeq != 0 && seq != p.lastSeq+1 {
		p.gap = true
	}
	p.last, p.lastSeq = m, seq
}

// fetch opens a request for a batch.
func (p *puller) fetch(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(ctx, p.wait)
	opts := []jetstream.FetchOpt{jetstream.FetchContext(fctx)}
	if p.pin {
		opts = append(opts, jetstream.FetchPriorityGroup(pinGroup))
	}
	b, err := p.cons.Fetch(p.batch, opts...)
	if err != nil {
		cancel()
		return err
	}
	p.cur, p.cancel = b, cancel
	return nil
}

// drain ends the open request and returns the messages it received that
// were not taken. The request's subscription ends once its messages are
// all read; the flush makes sure the server knows before anything is given
// back (else it could deliver that again, to this request).
func (p *puller) drain(nc *nats.Conn) []jetstream.Msg {
	if p.cur == nil {
		return nil
	}
	p.cancel()
	var rest []jetstream.Msg
	for m := range p.cur.Messages() {
		rest = append(rest, m)
		p.last = m
	}
	p.cur, p.cancel = nil, nil
	runtime.Gosched() // the subscription ends just after its channel closes
	_ = nc.FlushTimeout(2 * time.Second)
	return rest
}

// close ends the open request, if any.
func (p *puller) close() {
	if p.cancel != nil {
		p.cancel()
	}
	p.cur, p.cancel = nil, nil
}

// awaitEarlier returns held once nothing else is pending on cons: messages
// delivered earlier to another holder and not acknowledged (it crashed, or
// NATS restarted under it) are delivered again only after AckWait, and
// handling held before them would handle a citizen's later event before an
// earlier one. Meanwhile it keeps held (renewing them) and adds whatever
// comes, the earlier ones included, in stream order.
func (d *Dispatcher) awaitEarlier(ctx context.Context, cons jetstream.Consumer, p *puller, held []jetstream.Msg) ([]jetstream.Msg, error) {
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			return held, err
		}
		if info.NumAckPending <= len(held) {
			// The server gives back what was due in the order it found it
			// due, not always the stream's.
			slices.SortStableFunc(held, func(a, b jetstream.Msg) int { return cmp.Compare(streamSeq(a), streamSeq(b)) })
			return held, nil
		}
		more, err := p.take(ctx, d.js.cfg.AckWait/3)
		if err != nil || ctx.Err() != nil {
			return held, cmp.Or(err, ctx.Err())
		}
		for _, m := range held {
			_ = m.InProgress()
		}
		held = append(held, more...)
	}
}

// deliverySeq is m's delivery sequence on its consumer (0 if unknown).
func deliverySeq(m jetstream.Msg) uint64 {
	meta, err := m.Metadata()
	if err != nil {
		return 0
	}
	return meta.Sequence.Consumer
}

// streamSeq is m's position in the stream (0 if unknown).
func streamSeq(m jetstream.Msg) uint64 {
	meta, err := m.Metadata()
	if err != nil {
		return 0
	}
	return meta.Sequence.Stream
}

// handleBatch hands held (in stream order) to s, serially or in parallel
// by citizen (deliverEach), and returns which of them are handled (or
// need no handling). The caller acknowledges them together afterwards:
// nothing of the batch is acknowledged before all of it is handled, and a
// failing handler holds the batch, renewed (keepHeld), as it held its one
// message before.
func (d *Dispatcher) handleBatch(ctx context.Context, s *subscription, cons jetstream.Consumer, held []jetstream.Msg, pin bool, log *slog.Logger) []bool {
	if meta, err := held[len(held)-1].Metadata(); err == nil {
		s.pending.Store(int64(meta.NumPending))
	}
	ok := make([]bool, len(held))
	evs := make([]cancuoc.Event, 0, len(held))
	idx := make([]int, 0, len(held)) // held's index of each of evs
	for i, m := range held {
		e, want := d.decode(s, m, log)
		if !want {
			ok[i] = true
			continue
		}
		evs, idx = append(evs, e), append(idx, i)
	}
	done := make([]bool, len(evs))
	stop := d.keepHeld(cons, held, pin)
	d.deliverEach(ctx, s, evs, done, log)
	stop()
	for j, i := range idx {
		if done[j] {
			ok[i] = true
			s.cursor.Store(evs[j].Seq)
		}
	}
	return ok
}

// decode returns the event m holds, if s wants it. A message of a type s
// does not want (one filter on an older server) is skipped without
// decoding; one that does not decode is terminated: not ours (another
// publisher on our subjects) or corrupt, retrying cannot help, and it
// would block every event after it.
func (d *Dispatcher) decode(s *subscription, m jetstream.Msg, log *slog.Logger) (cancuoc.Event, bool) {
	var e cancuoc.Event
	h := m.Headers()
	if t := h.Get(HeaderType); t != "" && !s.wants(t) {
		return e, false
	}
	key, data := h.Get(HeaderSeq), m.Data()
	if key != "" {
		if e, ok := d.decoded.get(key, data); ok {
			return e, s.wants(e.Type)
		}
	}
	if err := json.Unmarshal(data, &e); err != nil || e.ID == "" {
		s.failures.Add(1)
		d.metrics.failures.WithLabelValues(s.name).Inc()
		log.Error("undecodable message dropped", "subject", m.Subject(), "err", err)
		_ = m.Term()
		return e, false
	}
	if key != "" {
		d.decoded.put(key, data, e)
	}
	return e, s.wants(e.Type)
}

// settle acknowledges the messages of held that are ok and gives back the
// others (naks them, to be delivered again at once), together, without
// waiting for the server; it returns how many it gave back.
func (d *Dispatcher) settle(held []jetstream.Msg, ok []bool, log *slog.Logger) int {
	naked := 0
	for i, m := range held {
		var err error
		if ok[i] {
			err = m.Ack()
		} else {
			err = m.Nak()
			naked++
		}
		if err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			log.Warn("acknowledging an event failed; it will be delivered again", "subject", m.Subject(), "err", err)
		}
	}
	return naked
}

// confirm waits until the server has taken everything this connection
// sent about m's consumer before: it answers an in-progress note on m
// (harmless, settled or not) after the acknowledgements before it, which
// it handles in order.
func (d *Dispatcher) confirm(m jetstream.Msg) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := d.js.js.Conn().RequestWithContext(ctx, m.Reply(), []byte("+WPI"))
	return err
}

// keepHeld renews held every third of AckWait until stop is called: the
// stream must not give them to another node while a handler is retried
// (nor to this node again), and a pinned consumer must keep its pin
// (keepPin). A batch handled within a third of AckWait sends nothing.
func (d *Dispatcher) keepHeld(cons jetstream.Consumer, held []jetstream.Msg, pin bool) (stop func()) {
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	every := d.js.cfg.AckWait / 3
	var renew func()
	renew = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		for _, m := range held {
			_ = m.InProgress()
		}
		if pin {
			keepPin(cons)
		}
		t.Reset(every)
	}
	mu.Lock()
	t = time.AfterFunc(every, renew)
	mu.Unlock()
	return func() {
		// Waits for a renewal under way: none comes after stop returns.
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}

// keepPin renews cons's pin with a request that can take no message (a
// byte at most): a holder that sends no request for PinnedTTL loses its
// pin, and the next node would get messages after its batch.
func keepPin(cons jetstream.Consumer) {
	b, err := cons.Fetch(1, jetstream.FetchMaxBytes(1), jetstream.FetchPriorityGroup(pinGroup), jetstream.FetchMaxWait(time.Second))
	if err != nil {
		return
	}
	go func() {
		for m := range b.Messages() {
			_ = m.Nak() // cannot fit, but should one come: delivered again, in order
		}
	}()
}
