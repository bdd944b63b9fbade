package dispatch

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/sqlite"
)

// memStore is an empty in-memory SQLite store, closed with the test.
func memStore(t *testing.T) cancuoc.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// consumerInfo returns the durable consumer name's state.
func (nt *natsTarget) consumerInfo(t *testing.T, js jetstream.JetStream, name string) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := js.Consumer(t.Context(), nt.cfg.Stream, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// relayedStream is a fresh stream holding n events of a new store (per
// citizens, ids prefix-NNNN), relayed: the store, a connection and the events.
func (nt *natsTarget) relayedStream(t *testing.T, n, per int, prefix string) (cancuoc.Store, jetstream.JetStream, []cancuoc.Event) {
	t.Helper()
	st := memStore(t)
	nt.fresh(t)
	js := nt.connect(t)
	want := appendEvents(t, st, n, per, 0, prefix)
	nt.relayAll(t, st, js, want)
	return st, js, want
}

// relayAll relays st's outbox to the stream and waits until all of want is
// there, in order: the stream's sequence of want[i] is then i+1.
func (nt *natsTarget) relayAll(t *testing.T, st cancuoc.Store, js jetstream.JetStream, want []cancuoc.Event, opts ...Option) {
	t.Helper()
	d := newDispatcher(st, append(opts, WithJetStream(js, nt.cfg))...)
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	waitFor(t, "the relay", func() bool {
		c, _ := st.Cursor(t.Context(), RelayConsumer)
		return c == want[len(want)-1].Seq
	})
}

// orderRecorder records the events handled, and every first handling of a
// citizen's event that comes after a later one of the same citizen, or
// while another of the citizen's events is being handled (on any node).
// Handlers sometimes sleep, so that batches and nodes overlap.
type orderRecorder struct {
	mu       sync.Mutex
	handled  map[string]int
	last     map[cancuoc.PIN]int64
	busy     map[cancuoc.PIN]bool
	problems []string
}

func newOrderRecorder() *orderRecorder {
	return &orderRecorder{handled: map[string]int{}, last: map[cancuoc.PIN]int64{}, busy: map[cancuoc.PIN]bool{}}
}

func (r *orderRecorder) handle(ctx context.Context, e cancuoc.Event) error {
	r.mu.Lock()
	if e.PIN != "" {
		if r.busy[e.PIN] {
			r.problems = append(r.problems, fmt.Sprintf("citizen %s: %s handled while another of its events was", e.PIN, e.ID))
		}
		if r.handled[e.ID] == 0 && e.Version <= r.last[e.PIN] {
			r.problems = append(r.problems, fmt.Sprintf("citizen %s: version %d first handled after version %d", e.PIN, e.Version, r.last[e.PIN]))
		}
		r.busy[e.PIN] = true
		r.last[e.PIN] = max(r.last[e.PIN], e.Version)
	}
	r.mu.Unlock()
	if rand.IntN(4) == 0 {
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.busy, e.PIN)
	r.handled[e.ID]++
	return nil
}

func (r *orderRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.handled)
}

// checkFirstOrder is checkOrder for the first handling of each event: an
// event given back may come again (at least once), NATS 2.9 even after it
// was handled.
func checkFirstOrder(t *testing.T, name string, got []cancuoc.Event) {
	t.Helper()
	seen := map[string]bool{}
	var first []cancuoc.Event
	for _, e := range got {
		if !seen[e.ID] {
			seen[e.ID] = true
			first = append(first, e)
		}
	}
	checkOrder(t, name, first)
}

// TestJetStreamTakeOver: a consumer of an earlier release (one message at
// a time, acknowledged one by one) that handled the first events and held
// the next unacknowledged is taken over: every later event is handled,
// the held one included, none of the acknowledged ones again, in order. On
// a server that pins, the consumer now hands out batches to one node.
func TestJetStreamTakeOver(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		st, js, want := nt.relayedStream(t, 120, 8, "o")
		old, err := js.CreateOrUpdateConsumer(t.Context(), nt.cfg.Stream, jetstream.ConsumerConfig{
			Durable: "takeover", DeliverPolicy: jetstream.DeliverAllPolicy, AckPolicy: jetstream.AckExplicitPolicy,
			AckWait: nt.cfg.AckWait, MaxDeliver: -1, MaxAckPending: 1})
		if err != nil {
			t.Fatal(err)
		}
		const acked = 40
		for i := range acked + 1 {
			m, err := old.Next(jetstream.FetchMaxWait(5 * time.Second))
			if err != nil {
				t.Fatalf("the older consumer's message %d: %v", i, err)
			}
			if i < acked {
				if err := m.DoubleAck(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
		}

		rec := newRecorder()
		d := newDispatcher(st, WithJetStream(js, nt.cfg), WithBatch(32))
		d.Subscribe("takeover", nil, rec.handle)
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		waitFor(t, "the events after the acknowledged ones", func() bool { return rec.count() >= len(want)-acked })
		checkAll(t, "takeover", rec, want[acked:])
		if n := rec.count(); n != len(want)-acked {
			t.Errorf("handled %d events, want the %d not acknowledged", n, len(want)-acked)
		}
		checkOrder(t, "takeover", rec.events())
		info := nt.consumerInfo(t, js, "takeover")
		if pins(js.Conn().ConnectedServerVersion()) {
			if info.Config.PriorityPolicy != jetstream.PriorityPolicyPinned || info.Config.MaxAckPending != 32 {
				t.Errorf("consumer not pinned with batches of 32: %+v", info.Config)
			}
		} else if info.Config.MaxAckPending != 1 {
			t.Errorf("before 2.11 the consumer hands out one message at a time, MaxAckPending %d", info.Config.MaxAckPending)
		}
	})
}

// TestJetStreamNodesKeepOrder: two nodes on one durable consumer, events
// of a few citizens arriving while they run and one node stopping half
// way: each citizen's events are first handled in order and never two at
// once, serially and with Concurrency (on a server that pins: before 2.11
// a Concurrency consumer's batches reach both nodes, as documented).
func TestJetStreamNodesKeepOrder(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		for _, conc := range []int{1, 4} {
			t.Run(fmt.Sprintf("concurrency-%d", conc), func(t *testing.T) {
				st := memStore(t)
				nt.fresh(t)
				if conc > 1 && !pins(nt.connect(t).Conn().ConnectedServerVersion()) {
					t.Skip("NATS before 2.11 does not pin: a Concurrency consumer's batches reach several nodes")
				}
				rec := newOrderRecorder()
				var nodes []*Dispatcher
				for range 2 {
					d := newDispatcher(st, WithJetStream(nt.connect(t), nt.cfg), WithBatch(16))
					d.Subscribe("shared", nil, rec.handle, Concurrency(conc))
					if err := d.Start(t.Context()); err != nil {
						t.Fatal(err)
					}
					defer d.Stop()
					nodes = append(nodes, d)
				}
				var want []cancuoc.Event
				for round := range 8 {
					want = append(want, appendEvents(t, st, 40, 4, 0, fmt.Sprintf("n%d", round))...)
					if round == 4 {
						waitFor(t, "the first rounds", func() bool { return rec.count() >= len(want)/2 })
						nodes[0].Stop()
					}
					time.Sleep(10 * time.Millisecond)
				}
				waitFor(t, "every event", func() bool { return rec.count() == len(want) })
				rec.mu.Lock()
				defer rec.mu.Unlock()
				for _, p := range rec.problems {
					t.Error(p)
				}
			})
		}
	})
}

// TestJetStreamFailingMidBatch: a handler failing on an event in the
// middle of a batch holds the batch: while it fails, past AckWait, nothing
// from it on is acknowledged and nothing is delivered again; once it
// succeeds, every event is handled once, in order.
func TestJetStreamFailingMidBatch(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		st, js, want := nt.relayedStream(t, 40, 6, "x")
		const k = 12 // the failing event; its stream sequence is k+1
		var failing atomic.Bool
		var fails atomic.Int32
		failing.Store(true)
		rec := newRecorder()
		h := func(ctx context.Context, e cancuoc.Event) error {
			if e.ID == want[k].ID && failing.Load() {
				fails.Add(1)
				return errors.New("down")
			}
			return rec.handle(ctx, e)
		}
		d := newDispatcher(st, WithJetStream(js, nt.cfg), WithBackoff(50*time.Millisecond, 200*time.Millisecond))
		d.Subscribe("midbatch", nil, h)
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		waitFor(t, "the failures", func() bool { return fails.Load() >= 3 })
		time.Sleep(nt.cfg.AckWait + nt.cfg.AckWait/2) // held messages would be due again by now
		info := nt.consumerInfo(t, js, "midbatch")
		if info.AckFloor.Stream >= k+1 {
			t.Errorf("acknowledged up to stream sequence %d while the event at %d fails", info.AckFloor.Stream, k+1)
		}
		if above := info.Delivered.Consumer - info.AckFloor.Consumer - uint64(info.NumAckPending); above != 0 {
			t.Errorf("%d messages acknowledged above the ack floor while an earlier one fails (%+v)", above, info)
		}
		if info.NumRedelivered != 0 {
			t.Errorf("%d messages delivered again while held", info.NumRedelivered)
		}
		if n := rec.count(); n != k {
			t.Errorf("handled %d events while the %dth fails, want the %d before it", n, k+1, k)
		}
		failing.Store(false)
		waitFor(t, "every event", func() bool { return rec.count() == len(want) })
		checkOrder(t, "midbatch", rec.events())
		if got := len(rec.events()); got != len(want) {
			t.Errorf("%d handlings of %d events: some were delivered again", got, len(want))
		}
	})
}

// TestJetStreamStopMidBatch: a dispatcher stopped while a handler is
// blocked in the middle of a batch acknowledges what it handled and gives
// back the rest, which the next dispatcher handles at once (a pinned
// consumer is released); one whose connection dies instead (a crash)
// leaves it to be delivered again after AckWait (and the pin's timeout).
// Either way every event is handled, each citizen's in order.
func TestJetStreamStopMidBatch(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		for _, crash := range []bool{false, true} {
			t.Run(map[bool]string{false: "stop", true: "crash"}[crash], func(t *testing.T) {
				st, js, want := nt.relayedStream(t, 40, 6, "y")
				const k = 15
				first, second := newRecorder(), newRecorder()
				blocked := make(chan struct{})
				h := func(ctx context.Context, e cancuoc.Event) error {
					if e.ID == want[k].ID {
						close(blocked)
						<-ctx.Done()
						return ctx.Err()
					}
					return first.handle(ctx, e)
				}
				js1 := nt.connect(t)
				d1 := newDispatcher(st, WithJetStream(js1, nt.cfg), WithBatch(64))
				d1.Subscribe("stopper", nil, h)
				if err := d1.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
				<-blocked
				if crash {
					js1.Conn().Close()
				}
				d1.Stop()
				// A clean stop releases the pin unless a message was still
				// in flight to it (the server's counts say so), which a
				// loaded machine makes happen now and then (seen once in CI
				// conditions): then the pin runs out, and the events below
				// still come, only later. So a kept pin is reported, not
				// failed; the order and completeness below are the test.
				pinned := pins(js.Conn().ConnectedServerVersion())
				if info := nt.consumerInfo(t, js, "stopper"); pinned && !crash {
					for _, g := range info.PriorityGroups {
						if g.PinnedClientID != "" {
							t.Logf("the stopped dispatcher kept the pin of group %s (a message in flight at the stop)", g.Group)
						}
					}
				}
				if n := first.count(); n != k {
					t.Fatalf("the first dispatcher handled %d events, want the %d before the blocked one", n, k)
				}

				d2 := newDispatcher(st, WithJetStream(nt.connect(t), nt.cfg), WithBatch(64))
				d2.Subscribe("stopper", nil, second.handle)
				if err := d2.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
				defer d2.Stop()
				// Waits for every event from the blocked one on, not for a
				// count: after a crash the first one's acknowledgements
				// still in flight are lost with its connection, so some of
				// its events come again to the second (at least once), and
				// a count reached early with them (seen in CI).
				deadline := time.Now().Add(nt.cfg.AckWait + 2*5*time.Second + 20*time.Second)
				for !func() bool {
					second.mu.Lock()
					defer second.mu.Unlock()
					for _, e := range want[k:] {
						if second.ids[e.ID] == 0 {
							return false
						}
					}
					return true
				}() {
					if time.Now().After(deadline) {
						t.Fatalf("the second dispatcher handled %d events, want the %d from the blocked one on", second.count(), len(want)-k)
					}
					time.Sleep(5 * time.Millisecond)
				}
				checkAll(t, "second", second, want[k:])
				checkFirstOrder(t, "second", second.events())
				if !crash && second.count() != len(want)-k {
					t.Errorf("the second dispatcher handled %d events, want %d: the first one's were not all acknowledged", second.count(), len(want)-k)
				}
			})
		}
	})
}

// TestJetStreamLostDelivery: a message the server delivered to the pinned
// node that never reached it (lost in flight when the connection broke,
// played here by a request carrying the node's pin whose messages are
// dropped) is due again only after AckWait, while the pin stays: the node
// must wait for it rather than handle the citizen's later events first.
func TestJetStreamLostDelivery(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		st := memStore(t)
		nt.fresh(t)
		js := nt.connect(t)
		if !pins(js.Conn().ConnectedServerVersion()) {
			t.Skip("NATS before 2.11 does not pin: MaxAckPending 1 holds back everything after a lost delivery")
		}
		want := appendEvents(t, st, 24, 1, 0, "l")
		nt.relayAll(t, st, js, want)
		rec := newRecorder()
		blocked, release := make(chan struct{}), make(chan struct{})
		h := func(ctx context.Context, e cancuoc.Event) error {
			if e.ID == want[0].ID && rec.count() == 0 {
				close(blocked)
				<-release
			}
			return rec.handle(ctx, e)
		}
		d := newDispatcher(st, WithJetStream(js, nt.cfg), WithBatch(4))
		d.Subscribe("lost", nil, h)
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		<-blocked
		var pinID string
		for _, g := range nt.consumerInfo(t, js, "lost").PriorityGroups {
			pinID = g.PinnedClientID
		}
		if pinID == "" {
			t.Fatal("the consumer is not pinned")
		}
		// The thief's request waits for the node's batch to be
		// acknowledged, then takes the next message, which is dropped.
		thief := nt.connect(t).Conn()
		sub, err := thief.SubscribeSync(nats.NewInbox())
		if err != nil {
			t.Fatal(err)
		}
		req := fmt.Sprintf(`{"batch":1,"expires":%d,"group":%q,"id":%q}`, int64(10*time.Second), pinGroup, pinID)
		if err := thief.PublishRequest("$JS.API.CONSUMER.MSG.NEXT."+nt.cfg.Stream+".lost", sub.Subject, []byte(req)); err != nil {
			t.Fatal(err)
		}
		if err := thief.Flush(); err != nil {
			t.Fatal(err)
		}
		close(release)
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil || len(m.Data) == 0 {
			t.Fatalf("the lost delivery did not happen: %v %v", m, err)
		}
		waitFor(t, "every event", func() bool { return rec.count() == len(want) })
		checkAll(t, "lost", rec, want)
		checkFirstOrder(t, "lost", rec.events())
	})
}

// TestJetStreamRestartKeepsPin: NATS restarting under a running dispatcher
// leaves its consumer as it was (pinned, with batches), not recreated
// while the connection was down and the server's version unknown, which
// took it for an older server's.
func TestJetStreamRestartKeepsPin(t *testing.T) {
	dir := t.TempDir()
	ns := startEmbedded(t, dir, -1)
	addr := ns.Addr().(*net.TCPAddr)
	nt := &natsTarget{url: ns.ClientURL(), srv: ns, dir: dir}
	nt.fresh(t)
	st := memStore(t)
	want := appendEvents(t, st, 50, 5, 0, "r")
	rec := newRecorder()
	js := nt.connect(t)
	d := newDispatcher(st, WithJetStream(js, nt.cfg), WithBatch(8))
	d.Subscribe("keep", nil, rec.handle)
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	waitFor(t, "the events before the restarts", func() bool { return rec.count() == len(want) })
	before := nt.consumerInfo(t, js, "keep")
	for i := range 3 {
		ns.Shutdown()
		ns.WaitForShutdown()
		time.Sleep(time.Duration(i+1) * 300 * time.Millisecond) // the dispatcher retries meanwhile
		ns = startEmbedded(t, dir, addr.Port)
		defer ns.Shutdown()
		time.Sleep(2 * time.Second)
	}
	want = append(want, appendEvents(t, st, 20, 5, 0, "s")...)
	waitFor(t, "the events after the restarts", func() bool { return rec.count() == len(want) })
	after := nt.consumerInfo(t, js, "keep")
	if !after.Created.Equal(before.Created) || after.Config.PriorityPolicy != jetstream.PriorityPolicyPinned || after.Config.MaxAckPending != 8 {
		t.Errorf("the consumer was recreated: created %v, then %v, priority policy %v, MaxAckPending %d",
			before.Created, after.Created, after.Config.PriorityPolicy, after.Config.MaxAckPending)
	}
	checkAll(t, "restart", rec, want)
	checkFirstOrder(t, "restart", rec.events())
}

// TestJetStreamErrorKeepsPin: an error that ends the node's consumer loop
// while the server keeps the consumer and its pin (here a request the
// consumer refuses) does not cost the node its pin: it carries on under
// the same one rather than wait PinnedTTL for a new one.
func TestJetStreamErrorKeepsPin(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		st := memStore(t)
		nt.fresh(t)
		js := nt.connect(t)
		if !pins(js.Conn().ConnectedServerVersion()) {
			t.Skip("NATS before 2.11 does not pin")
		}
		want := appendEvents(t, st, 20, 4, 0, "e")
		rec := newRecorder()
		d := newDispatcher(st, WithJetStream(js, nt.cfg), WithBatch(8))
		d.Subscribe("keeper", nil, rec.handle)
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		waitFor(t, "the first events", func() bool { return rec.count() == len(want) })
		info := nt.consumerInfo(t, js, "keeper")
		pinned := func(info *jetstream.ConsumerInfo) string {
			for _, g := range info.PriorityGroups {
				return g.PinnedClientID
			}
			return ""
		}
		before := pinned(info)
		// The node's next request of a batch is refused (409); the node
		// sets the consumer right again.
		cfg := info.Config
		cfg.MaxRequestBatch = 1
		if _, err := js.UpdateConsumer(t.Context(), nt.cfg.Stream, cfg); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the consumer set right", func() bool { return nt.consumerInfo(t, js, "keeper").Config.MaxRequestBatch == 0 })
		want = append(want, appendEvents(t, st, 20, 4, 0, "f")...)
		waitFor(t, "the later events", func() bool { return rec.count() == len(want) })
		if after := pinned(nt.consumerInfo(t, js, "keeper")); before == "" || after != before {
			t.Errorf("pinned to %q, then %q: the node lost its pin", before, after)
		}
	})
}
