package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/internal/testkit"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/sqlite"
)

// TestMain says loudly when the PostgreSQL or NATS halves are skipped.
func TestMain(m *testing.M) {
	if os.Getenv(pgtest.Env) == "" {
		fmt.Fprintln(os.Stderr, "\n*** dispatch: PostgreSQL tests SKIPPED ("+pgtest.Env+" not set); only SQLite was tested. ***")
	}
	if os.Getenv(envNATS) == "" {
		fmt.Fprintln(os.Stderr, "*** dispatch: tests against a real NATS server SKIPPED ("+envNATS+" not set); only the embedded server was tested. ***")
	}
	os.Exit(m.Run())
}

// pin returns a made-up PIN for citizen i; the dispatcher only groups by it.
func pin(i int) cancuoc.PIN { return cancuoc.PIN(fmt.Sprintf("001%09d", i)) }

// appendEvents writes n events spread over citizens, each citizen's
// Version counting up, and every every-th event about no citizen (none if
// every is 0). It returns them with their Seq.
func appendEvents(t *testing.T, st cancuoc.Store, n, citizens, every int, tag string) []cancuoc.Event {
	t.Helper()
	ctx := t.Context()
	versions := map[cancuoc.PIN]int64{}
	// Continue the versions of earlier calls, so order checks span them.
	prev, err := st.EventsAfter(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range prev {
		versions[e.PIN] = max(versions[e.PIN], e.Version)
	}
	r := rand.New(rand.NewPCG(uint64(n), uint64(len(prev))))
	out := make([]cancuoc.Event, 0, n)
	for i := range n {
		e := &cancuoc.Event{ID: fmt.Sprintf("%s-%04d", tag, i), Type: cancuoc.EventCitizenUpdated, Actor: "test", At: time.Now()}
		switch {
		case every > 0 && i%every == every-1:
			e.Type = cancuoc.EventCitizensLoaded
		default:
			e.PIN = pin(r.IntN(citizens))
			versions[e.PIN]++
			e.Version = versions[e.PIN]
			if r.IntN(10) == 0 {
				e.Type = cancuoc.EventCitizenDied
			}
		}
		if err := st.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		out = append(out, *e)
	}
	// A store that sequences after commit (cancuoc.LogSequencer) gives the
	// Seqs then: read them back.
	if err := cancuoc.WaitSequenced(ctx, st); err != nil {
		t.Fatal(err)
	}
	var after int64
	if len(prev) > 0 {
		after = prev[len(prev)-1].Seq
	}
	got, err := st.EventsAfter(ctx, after, n+1)
	if err != nil || len(got) != n {
		t.Fatalf("reading back %d events: %d, %v", n, len(got), err)
	}
	for i := range out {
		if got[i].ID != out[i].ID {
			t.Fatalf("event %d read back as %s, want %s", i, got[i].ID, out[i].ID)
		}
		out[i].Seq = got[i].Seq
	}
	return out
}

// recorder is a handler that remembers what it handled, in order.
type recorder struct {
	mu   sync.Mutex
	got  []cancuoc.Event
	ids  map[string]int
	fail func(e cancuoc.Event) error // nil: always succeed
	slow bool
}

func newRecorder() *recorder { return &recorder{ids: map[string]int{}} }

func (r *recorder) handle(ctx context.Context, e cancuoc.Event) error {
	if r.slow {
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	}
	if r.fail != nil {
		if err := r.fail(e); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, e)
	r.ids[e.ID]++
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

func (r *recorder) events() []cancuoc.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkOrder checks that each citizen's events were handled in Version
// order, within one run of handling (re-deliveries start a new run).
func checkOrder(t *testing.T, name string, got []cancuoc.Event) {
	t.Helper()
	last := map[cancuoc.PIN]int64{}
	for _, e := range got {
		if e.PIN == "" {
			continue
		}
		if e.Version <= last[e.PIN] {
			t.Fatalf("%s: citizen %s version %d handled after version %d", name, e.PIN, e.Version, last[e.PIN])
		}
		last[e.PIN] = e.Version
	}
}

// checkAll checks that every event in want was handled at least once.
func checkAll(t *testing.T, name string, r *recorder, want []cancuoc.Event) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range want {
		if r.ids[e.ID] == 0 {
			t.Errorf("%s: event %s (seq %d) never handled", name, e.ID, e.Seq)
		}
	}
}

func newDispatcher(st Store, opts ...Option) *Dispatcher {
	return New(st, append([]Option{WithLogger(testLogger()), WithPoll(5 * time.Millisecond), WithBackoff(time.Millisecond, 20*time.Millisecond), WithBatch(50)}, opts...)...)
}

func TestOrderPerCitizen(t *testing.T) {
	testkit.Stores(t, "dispatch_test", func(t *testing.T, st cancuoc.Store) {
		want := appendEvents(t, st, 600, 25, 97, "a")
		strict, par := newRecorder(), newRecorder()
		par.slow = true
		d := newDispatcher(st)
		d.Subscribe("strict", nil, strict.handle)
		d.Subscribe("parallel", nil, par.handle, Concurrency(8))
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		waitFor(t, "every event", func() bool { return strict.count() == len(want) && par.count() == len(want) })
		d.Stop()

		got := strict.events()
		for i := range got {
			if got[i].Seq != want[i].Seq {
				t.Fatalf("strict consumer: event %d has seq %d, want %d", i, got[i].Seq, want[i].Seq)
			}
		}
		pgot := par.events()
		checkOrder(t, "parallel", pgot)
		// An event about no citizen is a barrier: handled after every event
		// before it and before every event after it.
		pos := map[int64]int{}
		for i, e := range pgot {
			pos[e.Seq] = i
		}
		for _, b := range want {
			if b.PIN != "" {
				continue
			}
			for _, e := range want {
				if (e.Seq < b.Seq) != (pos[e.Seq] < pos[b.Seq]) && e.Seq != b.Seq {
					t.Fatalf("event seq %d handled on the wrong side of barrier seq %d", e.Seq, b.Seq)
				}
			}
		}
		for _, name := range []string{"strict", "parallel"} {
			if c, err := st.Cursor(t.Context(), name); err != nil || c != want[len(want)-1].Seq {
				t.Errorf("cursor %s = %d, %v; want %d", name, c, err, want[len(want)-1].Seq)
			}
		}
	})
}

// TestRestart stops the dispatcher in the middle of the stream, appends
// more events, and starts a new one: every event is handled, none lost,
// and only a few twice.
func TestRestart(t *testing.T) {
	testkit.Stores(t, "dispatch_test", func(t *testing.T, st cancuoc.Store) {
		want := appendEvents(t, st, 400, 30, 0, "b")
		r := newRecorder()
		d1 := newDispatcher(st)
		var n atomic.Int64
		stopped := make(chan struct{})
		r.fail = func(e cancuoc.Event) error {
			if n.Add(1) == 130 {
				go func() { d1.Stop(); close(stopped) }()
			}
			return nil
		}
		d1.Subscribe("restart", nil, r.handle, Concurrency(4))
		if err := d1.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		<-stopped
		first := r.count()
		if first >= len(want) {
			t.Fatalf("the first run handled everything (%d); the test stops nothing", first)
		}
		cur, err := st.Cursor(t.Context(), "restart")
		if err != nil || cur == 0 {
			t.Fatalf("cursor after stop = %d, %v; want progress recorded", cur, err)
		}
		want = append(want, appendEvents(t, st, 100, 30, 0, "c")...)

		r.fail = nil
		d2 := newDispatcher(st)
		d2.Subscribe("restart", nil, r.handle, Concurrency(4))
		if err := d2.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d2.Stop()
		waitFor(t, "every event after the restart", func() bool { return r.count() == len(want) })
		d2.Stop()
		checkAll(t, "restart", r, want)
		got := r.events()
		if dup := len(got) - len(want); dup > 50 {
			t.Errorf("%d events delivered twice; at most a batch (50) should be", dup)
		}
		// Order holds within each run.
		checkOrder(t, "first run", got[:first])
		checkOrder(t, "second run", got[first:])
	})
}

// TestFailingHandler checks retries and that a stuck consumer holds back
// no other.
func TestFailingHandler(t *testing.T) {
	testkit.Stores(t, "dispatch_test", func(t *testing.T, st cancuoc.Store) {
		want := appendEvents(t, st, 120, 10, 0, "d")
		poison := want[40]
		release := make(chan struct{})
		var attempts atomic.Int64
		stuck, steady, flaky := newRecorder(), newRecorder(), newRecorder()
		stuck.fail = func(e cancuoc.Event) error {
			if e.ID == poison.ID {
				attempts.Add(1)
				select {
				case <-release:
				default:
					return errors.New("downstream unavailable")
				}
			}
			return nil
		}
		var flakes atomic.Int64
		flaky.fail = func(e cancuoc.Event) error {
			if e.Seq%10 == 3 && flakes.Add(1)%3 != 0 {
				if e.Seq%20 == 3 {
					panic("a handler bug")
				}
				return errors.New("flaky")
			}
			return nil
		}
		reg := prometheus.NewRegistry()
		d := newDispatcher(st, WithRegisterer(reg))
		d.Subscribe("stuck", nil, stuck.handle, Concurrency(4))
		d.Subscribe("steady", nil, steady.handle)
		d.Subscribe("flaky", nil, flaky.handle)
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		waitFor(t, "the others to finish while one is stuck", func() bool {
			return steady.count() == len(want) && flaky.count() == len(want) && attempts.Load() >= 3
		})
		for _, e := range stuck.events() {
			if e.PIN == poison.PIN && e.Version > poison.Version {
				t.Fatalf("stuck consumer handled version %d of the poisoned citizen before version %d", e.Version, poison.Version)
			}
		}
		if c, _ := st.Cursor(t.Context(), "stuck"); c >= poison.Seq {
			t.Errorf("stuck consumer's cursor %d passed the failing event %d", c, poison.Seq)
		}
		close(release)
		waitFor(t, "the stuck consumer after release", func() bool { return stuck.count() == len(want) })
		checkOrder(t, "stuck", stuck.events())
		checkOrder(t, "flaky", flaky.events())
		checkAll(t, "flaky", flaky, want)

		var failures int64
		for _, s := range d.Status() {
			failures += s.Failures
		}
		if failures < attempts.Load()-1 {
			t.Errorf("Status counts %d failures; the stuck handler alone failed %d times", failures, attempts.Load()-1)
		}
		if got := metric(t, reg, "cancuoc_event_handler_failures_total", "stuck"); got < 3 {
			t.Errorf("failures metric for stuck = %v, want ≥ 3", got)
		}
		if got := metric(t, reg, "cancuoc_events_delivered_total", "steady"); got != float64(len(want)) {
			t.Errorf("delivered metric for steady = %v, want %d", got, len(want))
		}
		if got := metric(t, reg, "cancuoc_event_consumer_lag", "steady"); got != 0 {
			t.Errorf("lag metric for steady = %v, want 0", got)
		}
	})
}

// TestTypes checks the type filter: only wanted events reach the handler,
// but the cursor passes the others too.
func TestTypes(t *testing.T) {
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := appendEvents(t, st, 200, 5, 0, "e")
	var died []cancuoc.Event
	for _, e := range want {
		if e.Type == cancuoc.EventCitizenDied {
			died = append(died, e)
		}
	}
	r := newRecorder()
	d := newDispatcher(st)
	d.Subscribe("deaths", []string{cancuoc.EventCitizenDied}, r.handle)
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	last := want[len(want)-1].Seq
	waitFor(t, "the cursor to reach the end", func() bool {
		c, _ := st.Cursor(t.Context(), "deaths")
		return c == last
	})
	if got := r.events(); len(got) != len(died) {
		t.Fatalf("handled %d events, want the %d deaths", len(got), len(died))
	}
	// A new event wakes the consumer at once with Notify.
	more := appendEvents(t, st, 1, 5, 0, "f")
	d.Notify()
	waitFor(t, "the cursor to pass a new event", func() bool {
		c, _ := st.Cursor(t.Context(), "deaths")
		return c == more[0].Seq
	})
	if s := d.Status(); len(s) != 1 || s[0].Lag != 0 || s[0].Cursor != more[0].Seq {
		t.Errorf("Status = %+v", s)
	}
}

func TestSubscribeMistakes(t *testing.T) {
	d := New(nil)
	h := func(context.Context, cancuoc.Event) error { return nil }
	d.Subscribe("ok", nil, h)
	for _, tc := range []struct {
		name  string
		types []string
		h     Handler
	}{
		{"ok", nil, h},                  // twice
		{RelayConsumer, nil, h},         // the relay's
		{"Has.Dot", nil, h},             // not a durable name
		{"", nil, h},                    // empty
		{"x", []string{"bad type"}, h},  // not subject tokens
		{"y", []string{"citizen.*"}, h}, // a wildcard other than a trailing ">"
		{"w", []string{">"}, h},         // every type: types empty says so
		{"v", []string{"citizen.>.x"}, h},
		{"z", []string{"citizen.born"}, nil},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Subscribe(%q, %q) did not panic", tc.name, tc.types)
				}
			}()
			d.Subscribe(tc.name, tc.types, tc.h)
		}()
	}
}

func TestBackoff(t *testing.T) {
	d := New(nil, WithBackoff(100*time.Millisecond, 2*time.Second))
	prevMax := time.Duration(0)
	for a := range 40 {
		b := d.backoff(a)
		if b <= 0 || b > 2*time.Second {
			t.Fatalf("backoff(%d) = %v", a, b)
		}
		hi := min(100*time.Millisecond<<min(a, 30), 2*time.Second)
		if b < hi*4/5 || hi < prevMax {
			t.Fatalf("backoff(%d) = %v, want within a fifth below %v, growing", a, b, hi)
		}
		prevMax = hi
	}
}

// TestStopWhileRetrying checks that Stop does not wait for a retry delay.
func TestStopWhileRetrying(t *testing.T) {
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	appendEvents(t, st, 3, 1, 0, "g")
	var calls atomic.Int64
	d := New(st, WithBackoff(time.Hour, time.Hour))
	d.Subscribe("never", nil, func(context.Context, cancuoc.Event) error { calls.Add(1); return errors.New("no") })
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a first attempt", func() bool { return calls.Load() > 0 })
	done := make(chan struct{})
	go func() { d.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop waited for the retry delay")
	}
	if c, _ := st.Cursor(t.Context(), "never"); c != 0 {
		t.Errorf("cursor moved to %d past a failing event", c)
	}
}

// metric reads one consumer's value of a metric from reg; -1 if absent.
func metric(t *testing.T, reg *prometheus.Registry, name, consumer string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "consumer" && l.GetValue() == consumer {
					if c := m.GetCounter(); c != nil {
						return c.GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

// testLogger discards the dispatcher's logs unless DISPATCH_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("DISPATCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// readCounter counts the outbox reads of a dispatcher.
type readCounter struct {
	Store
	n atomic.Int64
}

func (r *readCounter) EventsAfter(ctx context.Context, after int64, limit int) ([]cancuoc.Event, error) {
	r.n.Add(1)
	return r.Store.EventsAfter(ctx, after, limit)
}

// TestConsumersShareReads: after a commit's Notify, the in-process
// consumers take the new events from one read instead of one read each (and
// another each to find nothing more); every consumer still gets every
// event once.
func TestConsumersShareReads(t *testing.T) {
	testkit.Stores(t, "dispatch_test", func(t *testing.T, st cancuoc.Store) {
		ctx := t.Context()
		rc := &readCounter{Store: st}
		// A slow poll: the reads counted are those the Notify calls cause.
		d := New(rc, WithLogger(testLogger()), WithPoll(time.Hour))
		const consumers, rounds = 6, 20
		var got [consumers]atomic.Int64
		for i := range consumers {
			d.Subscribe(fmt.Sprintf("share-%d", i), nil, func(context.Context, cancuoc.Event) error { got[i].Add(1); return nil })
		}
		if err := d.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer d.Stop()
		time.Sleep(50 * time.Millisecond) // the first (fresh) reads
		before := rc.n.Load()
		for round := 1; round <= rounds; round++ {
			if err := st.AppendEvent(ctx, &cancuoc.Event{ID: fmt.Sprintf("share-ev-%d", round), Type: cancuoc.EventCitizenUpdated,
				PIN: pin(round), Version: 1, Actor: "test", At: time.Now()}); err != nil {
				t.Fatal(err)
			}
			d.Notify()
			deadline := time.Now().Add(5 * time.Second)
			for i := range consumers {
				for got[i].Load() < int64(round) {
					if time.Now().After(deadline) {
						t.Fatalf("round %d: consumer %d has %d events", round, i, got[i].Load())
					}
					time.Sleep(time.Millisecond)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
		for i := range consumers {
			if n := got[i].Load(); n != rounds {
				t.Errorf("consumer %d handled %d events, want %d", i, n, rounds)
			}
		}
		// One read each for the event and one each to find nothing more
		// would be 2 × 6 × 20 = 240.
		if reads := rc.n.Load() - before; reads > consumers*rounds/2 {
			t.Errorf("%d outbox reads for %d notified commits and %d consumers, want at most %d", reads, rounds, consumers, consumers*rounds/2)
		} else {
			t.Logf("%d outbox reads for %d notified commits and %d consumers", reads, rounds, consumers)
		}
	})
}

// savesCounted counts the cursor stores of a store.
type savesCounted struct {
	cancuoc.Store
	saves atomic.Int64
}

func (s *savesCounted) AdvanceCursor(ctx context.Context, name string, seq int64) error {
	s.saves.Add(1)
	return s.Store.AdvanceCursor(ctx, name, seq)
}

// TestCursorSaveInterval: a busy in-process consumer stores its cursor at
// most once per interval (here the first batch's, then nothing for an
// hour), yet every event is handled, and stopping stores where it got to,
// so that a restart starts after the last event handled.
func TestCursorSaveInterval(t *testing.T) {
	testkit.Stores(t, "dispatch_test", func(t *testing.T, st cancuoc.Store) {
		want := appendEvents(t, st, 300, 20, 0, "s")
		cs := &savesCounted{Store: st}
		r := newRecorder()
		d := newDispatcher(cs, WithBatch(10), WithCursorSave(time.Hour))
		d.Subscribe("interval", nil, r.handle)
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "every event", func() bool { return r.count() == len(want) })
		if c, err := st.Cursor(t.Context(), "interval"); err != nil || c != want[9].Seq || cs.saves.Load() != 1 {
			t.Errorf("cursor stored while busy = %d (%v) after %d stores; want only the first batch's, %d",
				c, err, cs.saves.Load(), want[9].Seq)
		}
		d.Stop()
		if c, err := st.Cursor(t.Context(), "interval"); err != nil || c != want[len(want)-1].Seq {
			t.Errorf("cursor after stop = %d, %v; want %d", c, err, want[len(want)-1].Seq)
		}

		// With a short interval an idle consumer stores its cursor without
		// being stopped.
		more := appendEvents(t, st, 30, 5, 0, "t")
		d2 := newDispatcher(st, WithCursorSave(20*time.Millisecond))
		d2.Subscribe("interval", nil, r.handle)
		if err := d2.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer d2.Stop()
		waitFor(t, "the idle consumer's cursor", func() bool {
			c, _ := st.Cursor(t.Context(), "interval")
			return c == more[len(more)-1].Seq
		})
	})
}

// TestWantsPrefix: a type written "prefix.>" takes every type under the
// prefix and no other, however alike.
func TestWantsPrefix(t *testing.T) {
	d := newDispatcher(nil)
	d.Subscribe("p", []string{"citizen.>", "procedure.completed"}, func(context.Context, cancuoc.Event) error { return nil })
	s := d.subs[0]
	for typ, want := range map[string]bool{"citizen.born": true, "citizen.a.b": true, "procedure.completed": true,
		"citizens.loaded": false, "citizen": false, "procedure.submitted": false} {
		if got := s.wants(typ); got != want {
			t.Errorf("wants(%q) = %v, want %v", typ, got, want)
		}
	}
}
