package partner

import (
	"context"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// limiter counts each partner's calls in fixed windows of a minute and of
// a day (UTC). A call is decided on this node's memory alone — a shared
// counter written per call would cost more than the match check itself —
// from the node's own calls plus the other nodes' calls as the shared
// store last reported them (cancuoc.QuotaStore). sync adds the node's new
// calls to the store and learns the others' about once a second, so behind
// n nodes a partner can exceed its quota only by what the other nodes
// admitted since their last sync, never by n times the quota.
type limiter struct {
	mu sync.Mutex
	m  map[string]*windows
}

// windows are one partner's current minute and day on this node.
type windows struct {
	minute, day window
}

// window is one quota window: its start, this node's calls in it, how
// many of those the store has, and the other nodes' calls it reported.
type window struct {
	start               int64 // Unix seconds
	own, synced, others int64
}

func (w *window) roll(start int64) {
	if w.start != start {
		*w = window{start: start}
	}
}

func (w *window) used() int64 { return w.own + w.others }

func newLimiter() *limiter { return &limiter{m: map[string]*windows{}} }

func windowStarts(now time.Time) (minute, day int64) {
	sec := now.Unix()
	return sec - sec%60, sec - sec%86400
}

// take counts one call of partner at now if q allows it; otherwise it
// reports how long until the exhausted window ends.
func (l *limiter) take(partner string, q cancuoc.Quota, now time.Time) (time.Duration, bool) {
	if q.PerMinute <= 0 && q.PerDay <= 0 {
		return 0, true
	}
	minute, day := windowStarts(now)
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[partner]
	if w == nil {
		w = &windows{}
		l.m[partner] = w
	}
	w.minute.roll(minute)
	w.day.roll(day)
	if q.PerDay > 0 && w.day.used() >= int64(q.PerDay) {
		return time.Unix(day+86400, 0).Sub(now), false
	}
	if q.PerMinute > 0 && w.minute.used() >= int64(q.PerMinute) {
		return time.Unix(minute+60, 0).Sub(now), false
	}
	w.minute.own++
	w.day.own++
	return 0, true
}

// pending is one window's share to send to the store.
type pending struct {
	partner, kind string
	start, add    int64
}

// due lists the current windows of partners with counted calls, with the
// calls the store does not have yet (possibly none: the sync then only
// learns the other nodes' count), and forgets partners idle for a day.
func (l *limiter) due(now time.Time) []pending {
	minute, day := windowStarts(now)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []pending
	for id, w := range l.m {
		if w.day.start != day {
			delete(l.m, id)
			continue
		}
		out = append(out, pending{id, "day", day, w.day.own - w.day.synced})
		if w.minute.start == minute {
			out = append(out, pending{id, "minute", minute, w.minute.own - w.minute.synced})
		}
	}
	return out
}

// learn records that the store took add calls of the window and holds
// total calls from all nodes.
func (l *limiter) learn(p pending, total int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[p.partner]
	if w == nil {
		return
	}
	win := &w.day
	if p.kind == "minute" {
		win = &w.minute
	}
	if win.start != p.start {
		return // the window rolled over meanwhile
	}
	win.synced += p.add
	win.others = max(0, total-win.synced)
}

// SyncQuotas adds this node's calls to the shared counters and learns the
// other nodes' (one upsert per active partner and window). RunQuotaSync
// calls it every interval; tests call it directly.
func (s *Service) SyncQuotas(ctx context.Context) error {
	for _, p := range s.quota.due(s.now()) {
		total, err := s.store.AddQuotaUsage(ctx, p.partner, p.kind, time.Unix(p.start, 0), p.add)
		if err != nil {
			return err
		}
		s.quota.learn(p, total)
	}
	return nil
}

// RunQuotaSync syncs the quota counters every interval until ctx ends,
// deleting windows older than two days once an hour. Errors are returned
// to onErr (the node keeps deciding on what it knows).
func (s *Service) RunQuotaSync(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var swept time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.SyncQuotas(ctx); err != nil && ctx.Err() == nil {
			onErr(err)
		}
		if now := s.now(); now.Sub(swept) > time.Hour {
			if err := s.store.DeleteQuotaUsage(ctx, now.Add(-48*time.Hour)); err != nil && ctx.Err() == nil {
				onErr(err)
			}
			swept = now
		}
	}
}
