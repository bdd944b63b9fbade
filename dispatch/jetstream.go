package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cancuoc/cancuoc"
)

// SubjectPrefix starts the subject of every event published to JetStream:
// an event of type "citizen.born" goes to "cancuoc.events.citizen.born", so
// agencies subscribe to one type, or to "cancuoc.events.citizen.>".
const SubjectPrefix = "cancuoc.events."

// RelayConsumer is the name of the relay's cursor in the ConsumerStore:
// the Seq of the last event known to be in the stream.
const RelayConsumer = "jetstream-relay"

// Headers set on every published event besides Nats-Msg-Id (the event ID).
const (
	HeaderSeq  = "Cancuoc-Seq"  // the outbox Seq
	HeaderType = "Cancuoc-Type" // the event type
)

// Subject returns the subject events of type t are published to. A type
// that cannot be subject tokens (which the registry never writes) goes to
// SubjectPrefix + "_invalid" rather than stopping the relay.
func Subject(t string) string {
	if !typePattern.MatchString(t) {
		return SubjectPrefix + "_invalid"
	}
	return SubjectPrefix + t
}

// JetStreamConfig configures JetStream mode. The zero value is usable.
type JetStreamConfig struct {
	// Stream is the stream's name ("CANCUOC_EVENTS" by default). It holds
	// the subjects SubjectPrefix + ">".
	Stream string
	// Replicas is the number of copies in a NATS cluster (1 by default; 3
	// in production).
	Replicas int
	// Duplicates is the stream's de-duplication window (2 minutes by
	// default): an event re-sent within it (same ID) is not stored twice.
	Duplicates time.Duration
	// MaxAge drops events older than this from the stream (0: keep).
	MaxAge time.Duration
	// AckWait is how long a message may stay unacknowledged before the
	// stream gives it to another node (30 s by default). A handler being
	// retried keeps its message by telling the stream it is in progress.
	AckWait time.Duration
	// Prefix replaces SubjectPrefix, so that two deployments (staging and
	// production, or tests) can share one NATS account. It ends with a dot.
	Prefix string
	// NoRelay turns off this node's relay from the outbox to the stream,
	// for a process that only consumes. Several relays may run at once:
	// each waits for the stream to hold the previous event before the next
	// is stored, and the stream drops their duplicates.
	NoRelay bool
}

// jsConfig is the JetStream half of a Dispatcher.
type jsConfig struct {
	js        jetstream.JetStream
	cfg       JetStreamConfig
	relay     bool
	relayName string
	wake      chan struct{}
}

// WithJetStream makes the dispatcher relay the outbox to JetStream and feed
// every subscription from a durable JetStream consumer of the same name.
// Each such consumer hands out one message at a time (MaxAckPending 1), so
// events stay in order even when several nodes share the consumer.
func WithJetStream(js jetstream.JetStream, cfg JetStreamConfig) Option {
	if cfg.Stream == "" {
		cfg.Stream = "CANCUOC_EVENTS"
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.Duplicates <= 0 {
		cfg.Duplicates = 2 * time.Minute
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.Prefix == "" {
		cfg.Prefix = SubjectPrefix
	}
	return func(d *Dispatcher) {
		d.js = &jsConfig{js: js, cfg: cfg, relay: !cfg.NoRelay, relayName: RelayConsumer, wake: make(chan struct{}, 1)}
	}
}

// subject is Subject with the configured prefix.
func (j *jsConfig) subject(t string) string {
	return j.cfg.Prefix + strings.TrimPrefix(Subject(t), SubjectPrefix)
}

// filter is the subject filter of a type Subscribe took: its subject, or
// for "prefix.>" the same wildcard under the configured prefix.
func (j *jsConfig) filter(t string) string {
	if p, ok := strings.CutSuffix(t, ".>"); ok && typePattern.MatchString(p) {
		return j.cfg.Prefix + p + ".>"
	}
	return j.subject(t)
}

// oneFilter is the narrowest single subject filter (without the prefix)
// that covers every type in types (as Subscribe takes them, "prefix.>"
// included): their common leading tokens, then "*" when each type has
// just one token more, else ">". "" when there is no such filter (no
// common token, or a type that is the common part itself).
func oneFilter(types []string) string {
	if len(types) == 0 {
		return ""
	}
	toks := make([][]string, len(types))
	common := strings.Split(types[0], ".")
	for i, t := range types {
		toks[i] = strings.Split(t, ".")
		n := 0
		for n < len(common) && n < len(toks[i]) && common[n] == toks[i][n] && common[n] != ">" {
			n++
		}
		common = common[:n]
	}
	if len(common) == 0 {
		return ""
	}
	last := "*"
	for _, t := range toks {
		switch {
		case len(t) == len(common):
			return "" // "citizen" beside "citizen.born": no wildcard takes both
		case len(t) > len(common)+1 || t[len(t)-1] == ">":
			last = ">"
		}
	}
	return strings.Join(common, ".") + "." + last
}

// ensureStream creates the stream or brings its settings up to date.
func (j *jsConfig) ensureStream(ctx context.Context) error {
	_, err := j.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        j.cfg.Stream,
		Description: "cancuoc outbox events, one subject per event type",
		Subjects:    []string{j.cfg.Prefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    j.cfg.Replicas,
		Duplicates:  j.cfg.Duplicates,
		MaxAge:      j.cfg.MaxAge,
		Discard:     jetstream.DiscardOld,
	})
	if err != nil {
		return unavailable("dispatch.ensureStream", err)
	}
	return nil
}

func unavailable(op string, err error) error {
	return &cancuoc.Error{Kind: cancuoc.Unavailable, Op: op, Code: "nats_unavailable",
		MessageVI: "Không kết nối được NATS JetStream.", MessageEN: "NATS JetStream is unavailable.", Err: err}
}

// relay publishes the outbox to the stream in Seq order, until ctx ends.
//
// Order is kept with the stream's optimistic check: each event is published
// expecting the stream's last message to be the previous event, so an event
// whose predecessor was lost (a timeout, a dropped connection) is refused
// rather than stored out of order. After any error the relay looks at the
// stream's last message to learn where it really stands, and resumes after
// it. Its own cursor, saved after each acknowledged batch, is where it
// starts when the stream knows better than nothing.
func (d *Dispatcher) relay(ctx context.Context) {
	j := d.js
	log := d.log.With("consumer", j.relayName)
	var (
		cursor   int64
		lastID   string
		synced   bool
		failures int
	)
	retry := func(msg string, err error) bool {
		log.Warn(msg, "err", err)
		synced = false
		failures++
		return sleep(ctx, d.backoff(failures-1))
	}
	for ctx.Err() == nil {
		if !synced {
			c, id, err := d.syncRelay(ctx)
			if err != nil {
				if ctx.Err() != nil || !retry("relay: finding the stream's position failed; retrying", err) {
					return
				}
				continue
			}
			cursor, lastID, synced = c, id, true
		}
		evs, err := d.store.EventsAfter(ctx, cursor, d.batch)
		if err != nil {
			if ctx.Err() != nil || !retry("relay: reading the outbox failed; retrying", err) {
				return
			}
			continue
		}
		if len(evs) == 0 {
			d.idle(ctx, j.wake)
			continue
		}
		d.seen(evs[len(evs)-1].Seq)
		n, err := d.publish(ctx, evs, lastID)
		if n > 0 {
			cursor, lastID = evs[n-1].Seq, evs[n-1].ID
			if err := d.store.AdvanceCursor(context.WithoutCancel(ctx), j.relayName, cursor); err != nil {
				log.Warn("relay: saving the cursor failed", "seq", cursor, "err", err)
			}
		}
		if err != nil {
			if ctx.Err() != nil || !retry("relay: publishing failed; resuming from the stream's last event", err) {
				return
			}
			continue
		}
		failures = 0
		if len(evs) < d.batch {
			// The outbox held no more when read: the next events wake
			// the relay (Notify, or the store's batch), so it waits for
			// them instead of reading again at once for nothing, which
			// was every other read of the relay.
			d.idle(ctx, j.wake)
		}
	}
}

// idle waits for a wake-up, the poll period or the end of ctx.
func (d *Dispatcher) idle(ctx context.Context, wake <-chan struct{}) {
	t := time.NewTimer(d.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

// syncRelay returns where the relay stands: after the later of its saved
// cursor and the stream's last event, and the ID of the stream's last
// message (empty for an empty stream), which the next publish expects.
func (d *Dispatcher) syncRelay(ctx context.Context) (int64, string, error) {
	j := d.js
	cursor, err := d.store.Cursor(ctx, j.relayName)
	if err != nil {
		return 0, "", err
	}
	st, err := j.js.Stream(ctx, j.cfg.Stream)
	if err != nil {
		return 0, "", err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0, "", err
	}
	if info.State.LastSeq == 0 {
		return cursor, "", nil
	}
	m, err := st.GetMsg(ctx, info.State.LastSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return cursor, "", nil // expired or deleted: nothing to expect
	}
	if err != nil {
		return 0, "", err
	}
	if seq, err := strconv.ParseInt(m.Header.Get(HeaderSeq), 10, 64); err == nil && seq > cursor {
		cursor = seq
	}
	return cursor, m.Header.Get(jetstream.MsgIDHeader), nil
}

// publish sends evs in order, pipelined, each expecting its predecessor
// (prev for the first) to be the stream's last message. It returns how
// many, from the first, the stream acknowledged.
func (d *Dispatcher) publish(ctx context.Context, evs []cancuoc.Event, prev string) (int, error) {
	j := d.js
	futures := make([]jetstream.PubAckFuture, 0, len(evs))
	var sendErr error
	for i := range evs {
		e := &evs[i]
		data, err := json.Marshal(e)
		if err != nil {
			sendErr = err
			break
		}
		msg := nats.NewMsg(j.subject(e.Type))
		msg.Data = data
		msg.Header.Set(HeaderSeq, strconv.FormatInt(e.Seq, 10))
		msg.Header.Set(HeaderType, e.Type)
		opts := []jetstream.PublishOpt{jetstream.WithMsgID(e.ID), jetstream.WithExpectStream(j.cfg.Stream)}
		if prev != "" {
			opts = append(opts, jetstream.WithExpectLastMsgID(prev))
		}
		f, err := j.js.PublishMsgAsync(msg, opts...)
		if err != nil {
			sendErr = err
			break
		}
		futures = append(futures, f)
		prev = e.ID
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
			d.metrics.relayed.Inc()
		case err := <-f.Err():
			return i, err
		case <-ctx.Done():
			return i, ctx.Err()
		}
	}
	return len(futures), sendErr
}

// consumeJetStream feeds s from its durable JetStream consumer until ctx
// ends, recreating the consumer after errors (a NATS restart, a deleted
// consumer).
func (d *Dispatcher) consumeJetStream(ctx context.Context, s *subscription) {
	log := d.log.With("consumer", s.name)
	cfg := jetstream.ConsumerConfig{
		Durable:       s.name,
		Description:   "cancuoc event handler " + s.name,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       d.js.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 1,
	}
	if s.concurrency > 1 {
		// A fetched batch is handled in parallel by citizen (consumeMessages).
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
	// and handleMsg skips the other types it lets through. Every message
	// delivered costs the server a delivery and an acknowledgement, and a
	// consumer of three registry types received each procedure's dozen
	// events too.
	narrow := cfg
	narrow.FilterSubjects = nil
	f := oneFilter(s.typeList)
	if f != "" && len(s.typeList) > 1 {
		narrow.FilterSubject = d.js.cfg.Prefix + f
	}
	d.keepConsuming(ctx, s, cfg, narrow, log)
}

// keepConsuming feeds s from the durable consumer cfg (narrow on a server
// that takes one filter only) until ctx ends, recreating it after errors.
func (d *Dispatcher) keepConsuming(ctx context.Context, s *subscription, cfg, narrow jetstream.ConsumerConfig, log *slog.Logger) {
	for failures := 0; ctx.Err() == nil; failures++ {
		cons, err := d.js.ensureConsumer(ctx, cfg, narrow)
		if err == nil {
			err = d.consumeMessages(ctx, s, cons, log)
			if err == nil {
				return
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

// ensureConsumer creates the durable consumer cfg describes (narrow on a
// server that takes one filter only), or brings the existing one up to
// date. One whose filters are neither cfg's nor narrow's is deleted and
// created again from the first message it has not acknowledged: changing
// a consumer's filter in place makes NATS 2.9 skip every message not yet
// delivered (the consumer jumps to the end of the stream), which would
// lose events. Messages it had delivered but that were not acknowledged
// are delivered again, as after a crash (and, should the creation fail
// after the deletion, everything in the stream: at least once still).
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
		if slices.Equal(have, filters(cfg)) || narrowOK && slices.Equal(have, filters(narrow)) {
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

// multiFilter tells whether a NATS server of version v ("2.10.3") takes
// several filters per consumer (2.10 and later).
func multiFilter(v string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil {
		return true // unknown: try, and fall back on the server's answer
	}
	return major > 2 || major == 2 && minor >= 10
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

// consumeMessages handles cons's messages one by one; nil when ctx ended.
// It pulls with plain Fetch requests rather than the Messages iterator:
// one request per poll period is cheap, and a request that the server
// forgot (a restart) simply expires, where the iterator was seen to stall.
func (d *Dispatcher) consumeMessages(ctx context.Context, s *subscription, cons jetstream.Consumer, log *slog.Logger) error {
	wait := max(d.poll, 5*time.Second)
	for ctx.Err() == nil {
		fctx, cancel := context.WithTimeout(ctx, wait)
		batch, err := cons.Fetch(d.batch, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if s.concurrency <= 1 {
			for msg := range batch.Messages() {
				d.handleMsg(ctx, s, msg, log)
			}
		} else {
			var msgs []jetstream.Msg
			for msg := range batch.Messages() {
				msgs = append(msgs, msg)
			}
			d.handleByCitizen(ctx, s, msgs, log)
		}
		err = batch.Error()
		cancel()
		if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
	}
	return nil
}

// handleByCitizen handles a fetched batch with up to s.concurrency
// citizens at a time, each citizen's events in the stream's order, and
// returns when every message is acknowledged (or ctx ended). A message
// about no citizen, or one that does not decode, is handled alone, after
// everything before it and before everything after it.
func (d *Dispatcher) handleByCitizen(ctx context.Context, s *subscription, msgs []jetstream.Msg, log *slog.Logger) {
	pins := make([]cancuoc.PIN, len(msgs))
	for i, m := range msgs {
		var head struct {
			PIN cancuoc.PIN `json:"pin"`
		}
		if json.Unmarshal(m.Data(), &head) == nil {
			pins[i] = head.PIN
		}
	}
	for start := 0; start < len(msgs) && ctx.Err() == nil; {
		if pins[start] == "" {
			d.handleMsg(ctx, s, msgs[start], log)
			start++
			continue
		}
		end := start
		var order []cancuoc.PIN
		byPIN := map[cancuoc.PIN][]jetstream.Msg{}
		for ; end < len(msgs) && pins[end] != ""; end++ {
			if _, ok := byPIN[pins[end]]; !ok {
				order = append(order, pins[end])
			}
			byPIN[pins[end]] = append(byPIN[pins[end]], msgs[end])
		}
		sem := make(chan struct{}, s.concurrency)
		var wg sync.WaitGroup
		for _, p := range order {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				for _, m := range byPIN[p] {
					d.handleMsg(ctx, s, m, log)
				}
			})
		}
		wg.Wait()
		start = end
	}
}

// handleMsg delivers one message to s's handler, retrying until it
// succeeds or ctx ends, and acknowledges it. While it waits to retry, it
// tells the stream the message is in progress so that no other node takes
// it (which would break the order).
func (d *Dispatcher) handleMsg(ctx context.Context, s *subscription, msg jetstream.Msg, log *slog.Logger) {
	if meta, err := msg.Metadata(); err == nil {
		s.pending.Store(int64(meta.NumPending))
	}
	if t := msg.Headers().Get(HeaderType); t != "" && !s.wants(t) {
		// A type the filter let through (one filter on an older server):
		// skipped without decoding the event.
		_ = msg.Ack()
		return
	}
	var e cancuoc.Event
	if err := json.Unmarshal(msg.Data(), &e); err != nil || e.ID == "" {
		// Not ours (another publisher on our subjects) or corrupt: retrying
		// cannot help, and it would block every event after it.
		s.failures.Add(1)
		d.metrics.failures.WithLabelValues(s.name).Inc()
		log.Error("undecodable message dropped", "subject", msg.Subject(), "err", err)
		_ = msg.Term()
		return
	}
	if !s.wants(e.Type) {
		_ = msg.Ack()
		return
	}
	for attempt := 0; ; attempt++ {
		err := call(ctx, s.h, e)
		if err == nil {
			if err := msg.Ack(); err != nil {
				log.Warn("acknowledging an event failed; it will be delivered again", "event", e.ID, "err", err)
			}
			s.cursor.Store(e.Seq)
			s.delivered.Add(1)
			d.metrics.delivered.WithLabelValues(s.name).Inc()
			return
		}
		if ctx.Err() != nil {
			_ = msg.Nak() // stopping: let another node have it now
			return
		}
		s.failures.Add(1)
		d.metrics.failures.WithLabelValues(s.name).Inc()
		wait := d.backoff(attempt)
		log.Warn("event handler failed; retrying", "event", e.ID, "type", e.Type, "seq", e.Seq,
			"attempt", attempt+1, "retry_in", wait, "err", err)
		if !d.sleepInProgress(ctx, msg, wait) {
			_ = msg.Nak()
			return
		}
	}
}

// sleepInProgress waits for dur, telling the stream every third of AckWait
// that msg is still being worked on; false if ctx ended.
func (d *Dispatcher) sleepInProgress(ctx context.Context, msg jetstream.Msg, dur time.Duration) bool {
	every := d.js.cfg.AckWait / 3
	for dur > 0 {
		// The handler may have run for a while already: renew first.
		_ = msg.InProgress()
		step := min(dur, every)
		if !sleep(ctx, step) {
			return false
		}
		dur -= step
	}
	return true
}
