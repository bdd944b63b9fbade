package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cancuoc/cancuoc"
)

// Part is one handler of a shared subscription (SubscribeShared).
type Part struct {
	// Name is the consumer the part is on its own: its cursor in
	// in-process mode, and in JetStream mode the consumer whose position
	// the shared one takes over.
	Name    string
	Types   []string // as Subscribe takes them; nil: every type
	Handler Handler
	// Options are the part's own, when it is subscribed alone (in-process
	// mode, or the only part).
	Options []SubscribeOption
}

// maxParts bounds a shared subscription (a bit set records which parts
// handled an event being retried).
const maxParts = 64

// RetireAfter is how long a part's own JetStream consumer, superseded by a
// shared one, is kept once nothing reads it: a node of an older release
// still reading it keeps it alive, and a return to that release within
// this time finds its position (and handles again, at least once, what
// the shared consumer handled since).
const RetireAfter = 7 * 24 * time.Hour

// SubscribeShared subscribes parts that, in JetStream mode, are fed from
// one durable consumer named name rather than one each: every message the
// stream delivers and that is acknowledged costs the server and this node
// a round of work, and two handlers of the same types (a death closes the
// eID account and revokes the wallet's documents) took every such event
// twice. Each event goes to the parts that want its type, in the order
// given, and is acknowledged once all have handled it; a part that fails
// is retried as a subscription's handler is, without running again the
// parts that succeeded (a redelivery after a crash runs them all again:
// at least once). The parts share the options (Concurrency), the order
// per citizen and the stalls: a part that keeps failing holds back the
// others, so share only handlers of one kind (writes to the same store).
//
// Created for the first time, the shared consumer starts after the first
// event that some part's own consumer has not acknowledged (from the
// stream's start if a part has none): nothing is skipped, and a part that
// was ahead handles again the events between, as after a crash. The
// parts' own consumers are then left to expire (RetireAfter) rather than
// deleted, since a node of an older release may still read them.
//
// In-process mode (no JetStream), each part is a subscription of its own
// under its own name, with its own Options, as before: the outbox reads
// are shared already (sharedReads), and its cursors stay where they were.
// So is a lone part (the other handlers turned off): a shared consumer of
// one part would be found later, when a part is added, with a position
// the new part never had.
func (d *Dispatcher) SubscribeShared(name string, parts []Part, opts ...SubscribeOption) {
	if len(parts) == 0 || len(parts) > maxParts {
		panic(fmt.Sprintf("dispatch: shared subscription %s needs 1 to %d parts", name, maxParts))
	}
	if d.js == nil || len(parts) == 1 {
		for _, p := range parts {
			d.Subscribe(p.Name, p.Types, p.Handler, p.Options...)
		}
		return
	}
	sh := &shared{done: map[string]uint64{}}
	names := make([]string, len(parts))
	for i, p := range parts {
		sh.parts = append(sh.parts, newSubscription(p.Name, p.Types, p.Handler))
		names[i] = p.Name
	}
	s := newSubscription(name, unionTypes(parts), sh.handle)
	s.after = names
	for _, o := range opts {
		o(s)
	}
	d.add(s, names...)
}

// unionTypes is every type some part wants (nil if one wants every type),
// without those another's pattern covers: NATS refuses overlapping filters.
func unionTypes(parts []Part) []string {
	var all []string
	for _, p := range parts {
		if len(p.Types) == 0 {
			return nil
		}
		all = append(all, p.Types...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	return slices.DeleteFunc(all, func(t string) bool {
		for _, o := range all {
			if p, ok := strings.CutSuffix(o, ">"); ok && o != t && strings.HasPrefix(t, p) {
				return true
			}
		}
		return false
	})
}

// shared hands an event to its parts.
type shared struct {
	parts []*subscription
	mu    sync.Mutex
	// done: for an event some part failed on, the parts that handled it
	// (bit i: parts[i]), so that the retry does not run them again.
	done map[string]uint64
}

func (sh *shared) handle(ctx context.Context, e cancuoc.Event) error {
	sh.mu.Lock()
	done, retried := sh.done[e.ID]
	sh.mu.Unlock()
	for i, p := range sh.parts {
		if done&(1<<i) != 0 || !p.wants(e.Type) {
			continue
		}
		if err := call(ctx, p.h, e); err != nil {
			sh.mu.Lock()
			if len(sh.done) >= 4096 {
				// Events abandoned mid-retry (a stop): forgetting them
				// only means running their parts again.
				clear(sh.done)
			}
			sh.done[e.ID] = done
			sh.mu.Unlock()
			return fmt.Errorf("%s: %w", p.name, err)
		}
		done |= 1 << i
	}
	if retried {
		sh.mu.Lock()
		delete(sh.done, e.ID)
		sh.mu.Unlock()
	}
	return nil
}

// startOf is where a new shared consumer starts: the first message that
// one of the consumers names has not acknowledged; 0 when one of them does
// not exist (from the stream's start, as it would have).
func (j *jsConfig) startOf(ctx context.Context, names []string) (uint64, error) {
	var start uint64
	for i, name := range names {
		c, err := j.js.Consumer(ctx, j.cfg.Stream, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if next := c.CachedInfo().AckFloor.Stream + 1; i == 0 || next < start {
			start = next
		}
	}
	return start, nil
}

// retire lets the consumers names expire once unread for RetireAfter (see
// SubscribeShared); those that are gone or already set are left alone.
func (j *jsConfig) retire(ctx context.Context, names []string) error {
	for _, name := range names {
		c, err := j.js.Consumer(ctx, j.cfg.Stream, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		cfg := c.CachedInfo().Config
		if cfg.InactiveThreshold != 0 {
			continue
		}
		cfg.InactiveThreshold = RetireAfter
		if _, err := j.js.UpdateConsumer(ctx, j.cfg.Stream, cfg); err != nil {
			return fmt.Errorf("retiring consumer %s: %w", name, err)
		}
	}
	return nil
}
