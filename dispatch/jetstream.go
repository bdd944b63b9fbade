package dispatch

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/json"
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
	subjects  sync.Map // event type → subject, for the relay (a type's check is a regexp match)
}

// WithJetStream makes the dispatcher relay the outbox to JetStream and feed
// every subscription from a durable JetStream consumer of the same name.
// Events stay in order even when several nodes share the consumer: on NATS
// 2.11 and later it is pinned to one node at a time, which takes batches
// and acknowledges each once handled; on an older server it hands out one
// message at a time (MaxAckPending 1) unless the subscription has
// Concurrency (see consumerConfigs).
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
	if s, ok := j.subjects.Load(t); ok {
		return s.(string)
	}
	s := j.cfg.Prefix + strings.TrimPrefix(Subject(t), SubjectPrefix)
	j.subjects.Store(t, s)
	return s
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

// ensureStream creates the stream or brings its settings up to date. A
// stream whose settings are already these is left alone: an update while
// another node creates its consumers races inside nats-server (2.15:
// fileStore.UpdateConfig against ConsumerStore, seen under the race
// detector), and every node starting would update it.
func (j *jsConfig) ensureStream(ctx context.Context) error {
	want := jetstream.StreamConfig{
		Name:        j.cfg.Stream,
		Description: "cancuoc outbox events, one subject per event type",
		Subjects:    []string{j.cfg.Prefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    j.cfg.Replicas,
		Duplicates:  j.cfg.Duplicates,
		MaxAge:      j.cfg.MaxAge,
		Discard:     jetstream.DiscardOld,
	}
	if st, err := j.js.Stream(ctx, want.Name); err == nil && sameStream(st.CachedInfo().Config, want) {
		return nil
	}
	if _, err := j.js.CreateOrUpdateStream(ctx, want); err != nil {
		return unavailable("dispatch.ensureStream", err)
	}
	return nil
}

// sameStream reports whether a stream's settings (have) are want's, as
// far as want sets them (the server fills in defaults: one replica, a
// two-minute duplicate window).
func sameStream(have, want jetstream.StreamConfig) bool {
	return have.Description == want.Description && slices.Equal(have.Subjects, want.Subjects) &&
		have.Retention == want.Retention && have.Storage == want.Storage &&
		have.Replicas == max(want.Replicas, 1) && (want.Duplicates == 0 || have.Duplicates == want.Duplicates) &&
		have.MaxAge == want.MaxAge && have.Discard == want.Discard
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
// it. Its own cursor is where it starts when the stream knows better than
// nothing (an empty stream); it is saved at most once per saveEvery
// (WithCursorSave), as an in-process consumer's: each save is a write
// transaction, and the relay publishes after every sequencer pass. A
// cursor saved late only means events published again after a restart,
// which the stream drops as duplicates within its window, and consumers
// take at least once anyway.
func (d *Dispatcher) relay(ctx context.Context) {
	j := d.js
	log := d.log.With("consumer", j.relayName)
	var (
		cursor   int64
		lastID   string
		synced   bool
		failures int
	)
	saver := cursorSaver{d: d, name: j.relayName, log: log}
	defer func() { saver.save(context.WithoutCancel(ctx), cursor) }()
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
			d.idle(ctx, j.wake, &saver, cursor)
			continue
		}
		d.seen(evs[len(evs)-1].Seq)
		n, err := d.publish(ctx, evs, lastID)
		if n > 0 {
			cursor, lastID = evs[n-1].Seq, evs[n-1].ID
			if saver.dueNow() {
				saver.save(ctx, cursor)
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
			d.idle(ctx, j.wake, &saver, cursor)
		}
	}
}

// idle waits for a wake-up, the poll period or the end of ctx, storing
// cursor through saver if its interval ends meanwhile.
func (d *Dispatcher) idle(ctx context.Context, wake <-chan struct{}, saver *cursorSaver, cursor int64) {
	t := time.NewTimer(d.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
		case <-wake:
		case <-t.C:
		case <-saver.due(cursor):
			saver.save(ctx, cursor)
			continue
		}
		return
	}
}

// syncRelay returns where the relay stands: after the stream's last event,
// or after its saved cursor when the stream holds none (new, emptied, its
// last message expired), and the ID of the stream's last message (empty
// for an empty stream), which the next publish expects.
//
// The stream's last event wins over the saved cursor, in either
// direction, when it is this outbox's event of that Seq (the same ID).
// Ahead of the cursor, that is the usual case: the cursor is saved at most
// once per interval. Behind it, the stream lost events it had acknowledged
// (restored from an older snapshot, a server that lost its disk), and they
// are published again rather than skipped for every consumer. A last
// message that is not this outbox's event (another publisher's; or events
// of this database's past, the database restored from an older backup or
// replaced) is no sign of either: the relay goes on after its cursor, so
// the outbox's new events that reuse those Seqs are published, not taken
// for published.
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
	id := m.Header.Get(jetstream.MsgIDHeader)
	seq, err := strconv.ParseInt(m.Header.Get(HeaderSeq), 10, 64)
	if err != nil || seq == cursor {
		return cursor, id, nil
	}
	evs, err := d.store.EventsAfter(ctx, seq-1, 1)
	if err != nil {
		return 0, "", err
	}
	switch {
	case len(evs) == 0 || evs[0].Seq != seq || evs[0].ID != id:
		d.log.Warn("relay: the stream's last message is not this outbox's event; going on after the cursor",
			"consumer", j.relayName, "stream_last", seq, "msg_id", id, "cursor", cursor)
	case seq < cursor:
		d.log.Warn("relay: the stream lacks events it had acknowledged; publishing them again",
			"consumer", j.relayName, "stream_last", seq, "cursor", cursor)
		cursor = seq
	default:
		cursor = seq
	}
	return cursor, id, nil
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
		data, err := eventJSON(e)
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

// eventJSON is json.Marshal(e) with e.Data copied as it is rather than
// compacted again: it was written by json.Marshal (compact, HTML-escaped)
// and came back from a json column (checked by the database) or from this
// process, and re-checking it byte by byte was two fifths of the relay's
// cost of publishing an event. Data is Event's last field, so the output
// is Marshal's (TestEventJSONIsMarshal).
func eventJSON(e *cancuoc.Event) ([]byte, error) {
	head := *e
	head.Data = nil
	b, err := json.Marshal(&head)
	if err != nil || len(e.Data) == 0 {
		return b, err
	}
	b = append(b[:len(b)-1], `,"data":`...)
	b = append(b, e.Data...)
	return append(b, '}'), nil
}
