package partner

import (
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// limiter counts each partner's calls in fixed windows of a minute and of
// a day (UTC). Counts are per node: behind a load balancer of n nodes a
// partner gets up to n times its quota, which operators allow for when
// they set it. A shared counter would cost a database write per call, more
// than the match check itself.
type limiter struct {
	mu sync.Mutex
	m  map[string]*windows
}

type windows struct {
	minute, day     int64 // start of the current windows, Unix seconds
	inMinute, inDay int
}

func newLimiter() *limiter { return &limiter{m: map[string]*windows{}} }

// take counts one call of partner at now if q allows it; otherwise it
// reports how long until the exhausted window ends.
func (l *limiter) take(partner string, q cancuoc.Quota, now time.Time) (time.Duration, bool) {
	if q.PerMinute <= 0 && q.PerDay <= 0 {
		return 0, true
	}
	sec := now.Unix()
	minute, day := sec-sec%60, sec-sec%86400
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[partner]
	if w == nil {
		w = &windows{}
		l.m[partner] = w
	}
	if w.minute != minute {
		w.minute, w.inMinute = minute, 0
	}
	if w.day != day {
		w.day, w.inDay = day, 0
	}
	if q.PerDay > 0 && w.inDay >= q.PerDay {
		return time.Unix(day+86400, 0).Sub(now), false
	}
	if q.PerMinute > 0 && w.inMinute >= q.PerMinute {
		return time.Unix(minute+60, 0).Sub(now), false
	}
	w.inMinute++
	w.inDay++
	return 0, true
}
