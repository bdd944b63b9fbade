package dispatch

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/sqlite"
)

// envNATS names the variable with a real NATS server's URL, e.g.
// nats://127.0.0.1:4222. Its JetStream must be enabled.
const envNATS = "CANCUOC_TEST_NATS"

// natsTarget is a server to test against, with a stream and subjects of
// the test's own so that tests never see each other's events.
type natsTarget struct {
	url string
	cfg JetStreamConfig
	srv *server.Server // nil for the real server
	dir string
}

// startEmbedded starts a NATS server with JetStream in dir, on port (-1:
// any free port).
func startEmbedded(t *testing.T, dir string, port int) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true,
		StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("embedded NATS server not ready")
	}
	return ns
}

// natsServers runs fn on an embedded server and, when CANCUOC_TEST_NATS is
// set, on the real one; without it the real half skips, or fails under
// CI=true.
func natsServers(t *testing.T, fn func(t *testing.T, nt *natsTarget)) {
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		ns := startEmbedded(t, dir, -1)
		t.Cleanup(ns.Shutdown)
		fn(t, &natsTarget{url: ns.ClientURL(), srv: ns, dir: dir})
	})
	t.Run("real", func(t *testing.T) {
		url := os.Getenv(envNATS)
		if url == "" {
			// CI must test the real server too (.ci/run starts one).
			if os.Getenv("CI") == "true" {
				t.Fatal(envNATS + " is not set: CI must run the dispatcher's tests against a real NATS server (.ci/run starts one)")
			}
			t.Skip("\n*** NATS TESTS ON A REAL SERVER DID NOT RUN: " + envNATS + " is not set (e.g. nats://127.0.0.1:4222). ***")
		}
		fn(t, &natsTarget{url: url})
	})
}

// fresh gives the test a stream and subjects of its own, deleted after it.
func (nt *natsTarget) fresh(t *testing.T) {
	id := strings.ToLower(rand.Text()[:10])
	nt.cfg = JetStreamConfig{Stream: "CANCUOC_TEST_" + strings.ToUpper(id), Prefix: "cancuoctest." + id + ".",
		Duplicates: time.Minute, AckWait: 2 * time.Second}
	cfg, url := nt.cfg, nt.url
	t.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			return
		}
		defer nc.Close()
		if js, err := jetstream.New(nc); err == nil {
			_ = js.DeleteStream(context.Background(), cfg.Stream)
		}
	})
}

// connect returns a JetStream context on a fresh connection, closed with
// the test. Reconnection is unlimited so a restarted server is found again.
func (nt *natsTarget) connect(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(nt.url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func (nt *natsTarget) streamInfo(t *testing.T, js jetstream.JetStream) *jetstream.StreamInfo {
	t.Helper()
	st, err := js.Stream(t.Context(), nt.cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context(), jetstream.WithSubjectFilter(nt.cfg.Prefix+">"))
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// TestJetStream runs two nodes, each relaying the same outbox and sharing
// one durable consumer: every event reaches the stream once, on its type's
// subject, and the shared handler sees every event in order.
func TestJetStream(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		testkit.Stores(t, "dispatch_test", func(t *testing.T, st cancuoc.Store) {
			nt.fresh(t)
			want := appendEvents(t, st, 300, 20, 41, "j")
			shared, deaths := newRecorder(), newRecorder()
			shared.slow = true
			var nodes []*Dispatcher
			for i := range 2 {
				d := newDispatcher(st, WithJetStream(nt.connect(t), nt.cfg))
				d.Subscribe("shared", nil, shared.handle)
				if i == 0 {
					d.Subscribe("deaths", []string{cancuoc.EventCitizenDied}, deaths.handle)
				}
				if err := d.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
				defer d.Stop()
				nodes = append(nodes, d)
			}
			var died int
			for _, e := range want {
				if e.Type == cancuoc.EventCitizenDied {
					died++
				}
			}
			waitFor(t, "every event through JetStream", func() bool {
				return shared.count() == len(want) && deaths.count() == died
			})
			got := shared.events()
			for i := 1; i < len(got); i++ {
				if got[i].Seq <= got[i-1].Seq {
					t.Fatalf("shared consumer: seq %d handled after %d", got[i].Seq, got[i-1].Seq)
				}
			}
			if len(got) != len(want) {
				t.Errorf("shared consumer handled %d events, want %d (no crash, so no repeats)", len(got), len(want))
			}
			for _, e := range deaths.events() {
				if e.Type != cancuoc.EventCitizenDied {
					t.Fatalf("deaths consumer got a %s", e.Type)
				}
			}
			info := nt.streamInfo(t, nt.connect(t))
			if info.State.Msgs != uint64(len(want)) {
				t.Errorf("stream holds %d messages for %d events: the two relays stored duplicates", info.State.Msgs, len(want))
			}
			if n := info.State.Subjects[nt.cfg.Prefix+cancuoc.EventCitizenDied]; n != uint64(died) {
				t.Errorf("subject %s holds %d messages, want %d", nt.cfg.Prefix+cancuoc.EventCitizenDied, n, died)
			}
			waitFor(t, "the relays' cursors", func() bool {
				c, _ := st.Cursor(t.Context(), RelayConsumer)
				return c == want[len(want)-1].Seq
			})
			for _, s := range nodes[0].Status() {
				if s.Name == "deaths" && s.Delivered != int64(died) {
					t.Errorf("Status %+v, want %d delivered", s, died)
				}
			}
		})
	})
}

// TestJetStreamDedup re-sends events the stream already holds: it keeps
// one copy of each. A relay whose cursor was lost resumes after the
// stream's last event instead of sending everything again.
func TestJetStreamDedup(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		st, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		nt.fresh(t)
		want := appendEvents(t, st, 40, 5, 0, "k")
		js := nt.connect(t)
		d := newDispatcher(st, WithJetStream(js, nt.cfg))
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the relay", func() bool {
			c, _ := st.Cursor(t.Context(), RelayConsumer)
			return c == want[len(want)-1].Seq
		})
		d.Stop()
		before := nt.streamInfo(t, js).State.Msgs

		// Re-send events 10..19, as a relay that crashed before saving its
		// cursor would.
		n, err := d.publish(t.Context(), want[10:20], "")
		if err != nil || n != 10 {
			t.Fatalf("re-sending: %d acknowledged, %v", n, err)
		}
		if after := nt.streamInfo(t, js).State.Msgs; after != before {
			t.Errorf("stream grew from %d to %d messages on re-sent events", before, after)
		}

		// A relay with no cursor starts after the stream's last event.
		if err := st.ResetCursor(t.Context(), RelayConsumer, 0); err != nil {
			t.Fatal(err)
		}
		more := appendEvents(t, st, 5, 5, 0, "l")
		d2 := newDispatcher(st, WithJetStream(js, nt.cfg))
		if err := d2.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d2.Stop()
		waitFor(t, "the second relay", func() bool {
			c, _ := st.Cursor(t.Context(), RelayConsumer)
			return c == more[len(more)-1].Seq
		})
		if after := nt.streamInfo(t, js).State.Msgs; after != before+5 {
			t.Errorf("stream holds %d messages, want %d", after, before+5)
		}
		// The stream is in outbox order.
		r := newRecorder()
		d2.Subscribe("reader", nil, r.handle)
		waitFor(t, "the reader", func() bool { return r.count() == len(want)+len(more) })
		got := r.events()
		for i := 1; i < len(got); i++ {
			if got[i].Seq <= got[i-1].Seq {
				t.Fatalf("stream order: seq %d after %d", got[i].Seq, got[i-1].Seq)
			}
		}
	})
}

// TestJetStreamRestart stops the dispatcher mid-stream and restarts the
// NATS server too; afterwards every event has been handled.
func TestJetStreamRestart(t *testing.T) {
	dir := t.TempDir()
	ns := startEmbedded(t, dir, -1)
	port := ns.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]
	nt := &natsTarget{url: ns.ClientURL(), srv: ns, dir: dir}
	nt.fresh(t)
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := appendEvents(t, st, 200, 15, 0, "m")
	r := newRecorder()
	var mu sync.Mutex
	stopAt := 60
	var d1 *Dispatcher
	stopped := make(chan struct{})
	r.fail = func(e cancuoc.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if stopAt--; stopAt == 0 {
			go func() { d1.Stop(); close(stopped) }()
		}
		return nil
	}
	d1 = newDispatcher(st, WithJetStream(nt.connect(t), nt.cfg))
	d1.Subscribe("survivor", nil, r.handle)
	if err := d1.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-stopped
	first := r.count()

	ns.Shutdown()
	ns.WaitForShutdown()
	want = append(want, appendEvents(t, st, 50, 15, 0, "n")...)
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	ns = startEmbedded(t, dir, p)
	defer ns.Shutdown()

	d2 := newDispatcher(st, WithJetStream(nt.connect(t), nt.cfg))
	d2.Subscribe("survivor", nil, r.handle)
	start := time.Now()
	for {
		err := d2.Start(t.Context())
		if err == nil {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("Start after the NATS restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer d2.Stop()
	deadline := time.Now().Add(20 * time.Second)
	for r.count() != len(want) {
		if time.Now().After(deadline) {
			js := nt.connect(t)
			info := nt.streamInfo(t, js)
			ci, err := js.Consumer(t.Context(), nt.cfg.Stream, "survivor")
			var cinfo *jetstream.ConsumerInfo
			if err == nil {
				cinfo, err = ci.Info(t.Context())
			}
			relay, _ := st.Cursor(t.Context(), RelayConsumer)
			t.Fatalf("handled %d of %d; stream %+v; relay cursor %d; consumer %+v %v; status %+v",
				r.count(), len(want), info.State, relay, cinfo, err, d2.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	checkAll(t, "survivor", r, want)
	got := r.events()
	checkOrder(t, "first run", got[:first])
	checkOrder(t, "second run", got[first:])
}

// TestJetStreamConcurrency: a subscription with Concurrency > 1 takes
// batches from its JetStream consumer and handles them in parallel by
// citizen: every event once, each citizen's in order, an event about no
// citizen after everything before it.
func TestJetStreamConcurrency(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		testkit.Stores(t, "dispatch_test", func(t *testing.T, st cancuoc.Store) {
			nt.fresh(t)
			want := appendEvents(t, st, 400, 30, 97, "c")
			rec := newRecorder()
			rec.slow = true
			var loadedSeen []int // how many events were handled when each bulk event came
			var mu sync.Mutex
			h := func(ctx context.Context, e cancuoc.Event) error {
				if e.PIN == "" {
					mu.Lock()
					loadedSeen = append(loadedSeen, rec.count())
					mu.Unlock()
				}
				return rec.handle(ctx, e)
			}
			d := newDispatcher(st, WithJetStream(nt.connect(t), nt.cfg))
			d.Subscribe("parallel", nil, h, Concurrency(8))
			if err := d.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer d.Stop()
			waitFor(t, "every event through JetStream in parallel", func() bool { return rec.count() == len(want) })
			got := rec.events()
			if len(got) != len(want) {
				t.Errorf("handled %d events, want %d (no crash, so no repeats)", len(got), len(want))
			}
			checkOrder(t, "parallel JetStream", got)
			// The bulk events are barriers: the one at index i (every 97th)
			// runs after exactly the i events before it.
			idx := 0
			for i, e := range want {
				if e.PIN != "" {
					continue
				}
				if idx >= len(loadedSeen) || loadedSeen[idx] != i {
					t.Errorf("bulk event %d (index %d) ran after %v events, want %d", idx, i, loadedSeen, i)
					break
				}
				idx++
			}
		})
	})
}

// TestJetStreamFilters: a subscription to some types is fed by a consumer
// whose filter lets only those through, on a server that takes several
// filters (the embedded one) and on one that takes a single filter (NATS
// before 2.10, the real server here: the narrowest wildcard that covers
// them). The server delivers the other events to no one, which its
// delivered count shows. A consumer created by an older release without a
// filter takes the new one and goes on from where it was.
func TestJetStreamFilters(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		testkit.Stores(t, "dispatch_test", func(t *testing.T, st cancuoc.Store) {
			nt.fresh(t)
			js := nt.connect(t)
			// An older release's consumer, with no filter, has handled the
			// first events.
			first := appendEvents(t, st, 60, 10, 0, "f")
			old := newRecorder()
			d0 := newDispatcher(st, WithJetStream(js, nt.cfg))
			d0.Subscribe("registry", nil, old.handle)
			if err := d0.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the older consumer", func() bool { return old.count() == len(first) })
			d0.Stop()

			// Then procedure events (about citizens, of another type)
			// between the registry's.
			var want []cancuoc.Event
			for i := range 4 {
				for j := range 15 {
					e := &cancuoc.Event{ID: fmt.Sprintf("p-%d-%02d", i, j), Type: "procedure.step_claimed", PIN: pin(j), Actor: "test", At: time.Now()}
					if err := st.AppendEvent(t.Context(), e); err != nil {
						t.Fatal(err)
					}
				}
				want = append(want, appendEvents(t, st, 20, 10, 0, fmt.Sprintf("r%d", i))...)
			}
			registry, prefixed := newRecorder(), newRecorder()
			d := newDispatcher(st, WithJetStream(js, nt.cfg))
			d.Subscribe("registry", []string{cancuoc.EventCitizenDied, cancuoc.EventCitizenUpdated}, registry.handle)
			d.Subscribe("citizens", []string{"citizen.>"}, prefixed.handle)
			if err := d.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer d.Stop()
			deadline := time.Now().Add(20 * time.Second)
			for registry.count() < len(want) || prefixed.count() < len(want)+len(first) {
				if time.Now().After(deadline) {
					var ci *jetstream.ConsumerInfo
					if c, err := js.Consumer(t.Context(), nt.cfg.Stream, "registry"); err == nil {
						ci, _ = c.Info(t.Context())
					}
					t.Fatalf("handled %d and %d events, want %d and %d; status %+v; registry consumer %+v",
						registry.count(), prefixed.count(), len(want), len(want)+len(first), d.Status(), ci)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if n := registry.count(); n != len(want) {
				t.Errorf("the registry's consumer handled %d events, want the %d after the older one's", n, len(want))
			}
			checkAll(t, "registry", registry, want)
			checkOrder(t, "registry", registry.events())
			checkOrder(t, "citizens", prefixed.events())
			for _, name := range []string{"registry", "citizens"} {
				c, err := js.Consumer(t.Context(), nt.cfg.Stream, name)
				if err != nil {
					t.Fatal(err)
				}
				info, err := c.Info(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				// The registry's consumer counts the older one's deliveries
				// too if the server changed its filter in place.
				delivered, n := int(info.Delivered.Consumer), len(want)+len(first)
				if name == "registry" && delivered < n {
					n = len(want)
				}
				if delivered != n || info.NumPending != 0 {
					t.Errorf("consumer %s: %d messages delivered (%d pending) for %d wanted events: the filter let others through (%q %q)",
						name, delivered, info.NumPending, n, info.Config.FilterSubject, info.Config.FilterSubjects)
				}
			}
		})
	})
}

func TestOneFilter(t *testing.T) {
	for _, c := range []struct {
		types []string
		want  string
	}{
		{[]string{"citizen.died", "citizen.missing", "citizen.updated"}, "citizen.*"},
		{[]string{"citizen.>"}, "citizen.>"},
		{[]string{"citizen.>", "citizen.born"}, "citizen.>"},
		{[]string{"procedure.step_completed", "procedure.task.created"}, "procedure.>"},
		{[]string{"citizen.born", "procedure.submitted"}, ""},
		{[]string{"citizen", "citizen.born"}, ""},
		{[]string{"a.b.c", "a.b.d"}, "a.b.*"},
		{nil, ""},
	} {
		if got := oneFilter(c.types); got != c.want {
			t.Errorf("oneFilter(%q) = %q, want %q", c.types, got, c.want)
		}
	}
}

func TestMultiFilter(t *testing.T) {
	for v, want := range map[string]bool{"2.9.10": false, "2.10.0": true, "2.15.2": true, "3.0.1": true, "1.4.0": false, "": true} {
		if got := multiFilter(v); got != want {
			t.Errorf("multiFilter(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestJetStreamWebhookTypes: a subscription to types that no single
// filter covers (the webhooks' citizen.> and citizens.>), taking over from
// an older release's unfiltered consumer of the same name, handles every
// event of its types committed after what the older one handled, in order
// per citizen, none again; on a server that takes several filters its
// consumer has both, so the server delivers no other type.
func TestJetStreamWebhookTypes(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		testkit.Stores(t, "dispatch_test", func(t *testing.T, st cancuoc.Store) {
			nt.fresh(t)
			js := nt.connect(t)
			first := appendEvents(t, st, 40, 8, 7, "f")
			old := newRecorder()
			d0 := newDispatcher(st, WithJetStream(js, nt.cfg))
			d0.Subscribe("hooks", nil, old.handle)
			if err := d0.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the older consumer", func() bool { return old.count() == len(first) })
			d0.Stop()

			// Procedure events (about citizens, of another type) between
			// citizen.* and citizens.* events.
			var want []cancuoc.Event
			for i := range 3 {
				for j := range 12 {
					e := &cancuoc.Event{ID: fmt.Sprintf("p-%d-%02d", i, j), Type: "procedure.step_claimed", PIN: pin(j), Actor: "test", At: time.Now()}
					if err := st.AppendEvent(t.Context(), e); err != nil {
						t.Fatal(err)
					}
				}
				want = append(want, appendEvents(t, st, 20, 8, 5, fmt.Sprintf("r%d", i))...)
			}
			hooks := newRecorder()
			d := newDispatcher(st, WithJetStream(js, nt.cfg))
			d.Subscribe("hooks", []string{"citizen.>", "citizens.>"}, hooks.handle)
			if err := d.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer d.Stop()
			waitFor(t, "the consumer", func() bool { return hooks.count() >= len(want) })
			time.Sleep(50 * time.Millisecond) // a replayed or stray event would show by now
			if n := hooks.count(); n != len(want) {
				t.Errorf("handled %d events, want the %d after the older consumer's", n, len(want))
			}
			checkAll(t, "hooks", hooks, want)
			checkOrder(t, "hooks", hooks.events())
			c, err := js.Consumer(t.Context(), nt.cfg.Stream, "hooks")
			if err != nil {
				t.Fatal(err)
			}
			info, err := c.Info(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if info.NumPending != 0 {
				t.Errorf("consumer hooks: %d messages pending", info.NumPending)
			}
			if !multiFilter(js.Conn().ConnectedServerVersion()) {
				return // one filter per consumer: unfiltered, the dispatcher skips the others
			}
			if got, want := filters(info.Config), []string{nt.cfg.Prefix + "citizen.>", nt.cfg.Prefix + "citizens.>"}; !slices.Equal(got, want) {
				t.Errorf("consumer hooks has filters %q, want %q", got, want)
			}
			// Recreated with its filters after the older one's acknowledged
			// position, it delivered the wanted events only.
			if n := int(info.Delivered.Consumer); n != len(want) {
				t.Errorf("the consumer delivered %d messages for %d wanted events: the filters let others through", n, len(want))
			}
		})
	})
}

// countingStore counts the outbox reads and stands for a store that
// sequences events after their commit (cancuoc.LogSequencer): its batches
// are announced by sequenced.
type countingStore struct {
	Store
	reads atomic.Int64
	mu    sync.Mutex
	hooks []func()
}

func (c *countingStore) EventsAfter(ctx context.Context, after int64, limit int) ([]cancuoc.Event, error) {
	c.reads.Add(1)
	return c.Store.EventsAfter(ctx, after, limit)
}
func (c *countingStore) WaitSequenced(context.Context) error { return nil }
func (c *countingStore) OnSequenced(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hooks = append(c.hooks, f)
}
func (c *countingStore) sequenced() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.hooks {
		f()
	}
}

// TestJetStreamRelayReads: the relay reads the outbox once per batch of
// events, not again at once after a batch that was not full (the outbox
// had no more), and with WithSequencer a commit's Notify does not make it
// read (the store's batch, which follows, does).
func TestJetStreamRelayReads(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		sq, err := sqlite.Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer sq.Close()
		st := &countingStore{Store: sq}
		nt.fresh(t)
		first := appendEvents(t, sq, 30, 5, 0, "a")
		js := nt.connect(t)
		d := New(st, WithLogger(testLogger()), WithPoll(time.Hour), WithBatch(50), WithJetStream(js, nt.cfg), WithSequencer(st))
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		relayed := func(n int) func() bool {
			return func() bool {
				c, _ := st.Cursor(t.Context(), RelayConsumer)
				return c == first[0].Seq+int64(n)-1
			}
		}
		waitFor(t, "the relay", relayed(len(first)))
		time.Sleep(50 * time.Millisecond)
		if n := st.reads.Load(); n != 1 {
			t.Errorf("the relay read the outbox %d times for one batch, want once", n)
		}
		more := appendEvents(t, sq, 10, 5, 0, "b")
		for range 5 {
			d.Notify() // a commit's, before its events have their seqs
		}
		time.Sleep(50 * time.Millisecond)
		if n := st.reads.Load(); n != 1 {
			t.Errorf("Notify made the relay read the outbox (%d reads), want no read until the store's batch", n)
		}
		st.sequenced()
		waitFor(t, "the relay after the store's batch", relayed(len(first)+len(more)))
		time.Sleep(50 * time.Millisecond)
		if n := st.reads.Load(); n != 2 {
			t.Errorf("the relay read the outbox %d times, want 2 (one per batch)", n)
		}
	})
}

// TestRelayCursorSaveInterval: a busy relay stores its cursor at most once
// per WithCursorSave interval (here the first batch's, then nothing for an
// hour), yet publishes every event, and stopping stores where it got to;
// with a short interval an idle relay stores it without being stopped.
func TestRelayCursorSaveInterval(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		st := memStore(t)
		nt.fresh(t)
		want := appendEvents(t, st, 100, 20, 0, "r")
		js := nt.connect(t)
		cs := &savesCounted{Store: st}
		d := newDispatcher(cs, WithBatch(10), WithCursorSave(time.Hour), WithJetStream(js, nt.cfg))
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the stream", func() bool { return nt.streamInfo(t, js).State.Msgs == uint64(len(want)) })
		if c, err := st.Cursor(t.Context(), RelayConsumer); err != nil || c != want[9].Seq || cs.saves.Load() != 1 {
			t.Errorf("relay cursor stored while busy = %d (%v) after %d stores; want only the first batch's, %d",
				c, err, cs.saves.Load(), want[9].Seq)
		}
		d.Stop()
		if c, err := st.Cursor(t.Context(), RelayConsumer); err != nil || c != want[len(want)-1].Seq {
			t.Errorf("relay cursor after stop = %d, %v; want %d", c, err, want[len(want)-1].Seq)
		}

		// The idle relay stores its cursor without being stopped (relayAll
		// waits for it before stopping).
		nt.relayAll(t, st, js, appendEvents(t, st, 30, 5, 0, "s"), WithCursorSave(20*time.Millisecond))
	})
}

// TestRelayStreamBehindCursor: a stream restored from a snapshot older
// than the relay's saved cursor (it lost events it had acknowledged) gets
// the events after its snapshot again, in order, instead of the relay
// going on after its cursor and every consumer missing them.
func TestRelayStreamBehindCursor(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		st, js, want := nt.relayedStream(t, 40, 8, "b")
		const kept = 10
		// The restore: the stream again, holding only its first events.
		if err := js.DeleteStream(t.Context(), nt.cfg.Stream); err != nil {
			t.Fatal(err)
		}
		d := newDispatcher(st, WithJetStream(js, nt.cfg))
		if err := d.js.ensureStream(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n, err := d.publish(t.Context(), want[:kept], ""); n != kept || err != nil {
			t.Fatalf("restoring the snapshot: published %d of %d: %v", n, kept, err)
		}

		r := newRecorder()
		d.Subscribe("after-restore", nil, r.handle)
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		waitFor(t, "every event", func() bool { return r.count() == len(want) })
		checkAll(t, "after-restore", r, want)
		checkOrder(t, "after-restore", r.events())
		if info := nt.streamInfo(t, js); info.State.Msgs != uint64(len(want)) {
			t.Errorf("the stream holds %d messages, want %d", info.State.Msgs, len(want))
		}
	})
}

// TestRelayForeignLastMessage: a stream whose last message is not one of
// this outbox's events (another outbox relaying to the same stream, or a
// message published by hand with a Cancuoc-Seq) does not send the relay
// back to that message's Seq: it would publish again everything after it,
// stored anew once the duplicate window has passed, every time the other
// publisher got in between.
func TestRelayForeignLastMessage(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		st := memStore(t)
		nt.fresh(t)
		nt.cfg.Duplicates = 100 * time.Millisecond
		js := nt.connect(t)
		want := appendEvents(t, st, 40, 8, 0, "f")
		nt.relayAll(t, st, js, want)
		// Another outbox's event, Seq 5, after ours.
		msg := nats.NewMsg(nt.cfg.Prefix + "citizen.born")
		msg.Data = []byte(`{"id":"other-5","seq":5,"type":"citizen.born"}`)
		msg.Header.Set(HeaderSeq, "5")
		msg.Header.Set(HeaderType, "citizen.born")
		if _, err := js.PublishMsg(t.Context(), msg, jetstream.WithMsgID("other-5")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // past the duplicate window
		more := appendEvents(t, st, 1, 8, 0, "g")
		nt.relayAll(t, st, js, append(want, more...))
		if info := nt.streamInfo(t, js); info.State.Msgs != uint64(len(want)+2) {
			t.Errorf("the stream holds %d messages, want %d (ours, the other's, one more of ours)", info.State.Msgs, len(want)+2)
		}
	})
}

// TestRelayStreamAheadOfOutbox: a database replaced, or restored from a
// backup older than the stream, numbers its new events with Seqs the
// stream already holds (the old database's events): the relay publishes
// them instead of taking them for published.
func TestRelayStreamAheadOfOutbox(t *testing.T) {
	natsServers(t, func(t *testing.T, nt *natsTarget) {
		_, js, before := nt.relayedStream(t, 40, 8, "o")

		restored := memStore(t)
		after := appendEvents(t, restored, 10, 4, 0, "r")
		nt.relayAll(t, restored, js, after)
		if info := nt.streamInfo(t, js); info.State.Msgs != uint64(len(before)+len(after)) {
			t.Errorf("the stream holds %d messages, want %d (the old database's and the new one's)", info.State.Msgs, len(before)+len(after))
		}
	})
}
