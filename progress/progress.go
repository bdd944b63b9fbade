// Package progress draws a one-line progress bar with rate and estimated
// time left, for long jobs run from a terminal (seed, reconcile).
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Bar reports progress of a job of known size. It redraws at most every
// interval so that drawing never slows the job.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int64
	done     int64
	start    time.Time
	last     time.Time
	interval time.Duration
	now      func() time.Time
	drawn    int64 // done at the last draw, so Finish does not repeat it
}

// New starts a bar writing to w (normally os.Stderr).
func New(w io.Writer, label string, total int64) *Bar {
	b := &Bar{w: w, label: label, total: total, interval: 200 * time.Millisecond, now: time.Now}
	b.start = b.now()
	return b
}

// Add records n more units done and redraws if due.
func (b *Bar) Add(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if t := b.now(); t.Sub(b.last) >= b.interval || b.done >= b.total {
		b.last = t
		b.draw(t, "\r")
	}
}

// Finish draws the final line and ends it.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn != b.done || b.last.IsZero() {
		b.draw(b.now(), "\r")
	}
	fmt.Fprintln(b.w)
}

// Rate is units per second so far.
func (b *Bar) Rate() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return rate(b.done, b.now().Sub(b.start))
}

func rate(done int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(done) / d.Seconds()
}

func (b *Bar) draw(t time.Time, prefix string) {
	b.drawn = b.done
	fmt.Fprint(b.w, prefix+Line(b.label, b.done, b.total, t.Sub(b.start)))
}

// Line renders one state: label, bar, percent, counts, rate and time left.
func Line(label string, done, total int64, elapsed time.Duration) string {
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	filled := int(frac * width)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	r := rate(done, elapsed)
	eta := "?"
	if r > 0 && total > done {
		eta = time.Duration(float64(total-done) / r * float64(time.Second)).Round(time.Second).String()
	} else if done >= total {
		eta = "0s"
	}
	return fmt.Sprintf("%s [%s] %5.1f%% %d/%d  %.0f/s  còn/ETA %s   ", label, bar, frac*100, done, total, r, eta)
}
