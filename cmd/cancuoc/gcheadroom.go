package main

import (
	"flag"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
)

// The collector's pace. With GOGC's default (100) the heap may grow by as
// much as it holds live before the next collection: the server's live heap
// is small (about 25 MB under a birth-procedure load, most of it the
// caches), and its requests allocate quickly, so it collected ten times a
// second and the collector was about a sixth of the server's CPU. A
// headroom lets the heap grow by at least that many bytes above the live
// heap between collections (GOGC raised while the live heap is smaller
// than the headroom, left at 100 once it is larger, and never above
// gcPercentMax): the memory it costs is about the headroom, where a higher
// GOGC alone would multiply a large heap (the match projection of a whole
// population) as well. It is not a hard bound: GOGC is set a collection
// late (see gcPercentMax), and an operator who needs one sets GOMEMLIMIT,
// which the runtime applies over any GOGC.

// gcConfig is the collector's setting (serve only).
type gcConfig struct {
	HeadroomMB int // CANCUOC_GC_HEADROOM_MB: least heap growth between collections; 0: Go's default pace
}

func bindGC(fs *flag.FlagSet, getenv func(string) string) *gcConfig {
	c := &gcConfig{}
	def := 128
	if v, err := strconv.Atoi(getenv("CANCUOC_GC_HEADROOM_MB")); err == nil {
		def = v
	}
	fs.IntVar(&c.HeadroomMB, "gc-headroom-mb", def, "least growth of the heap (MB) between garbage collections while the live heap is smaller: "+
		"fewer collections for at most that much more memory; 0 for Go's default pace; ignored when GOGC is set (CANCUOC_GC_HEADROOM_MB)")
	return c
}

// startGCHeadroom keeps the collector's heap goal at least headroom bytes
// above the live heap, adjusting GOGC after each collection, until the
// returned stop is called. It does nothing when headroom is 0 or when the
// operator set GOGC (whose choice stands).
func startGCHeadroom(headroom uint64, getenv func(string) string, log *slog.Logger) (stop func()) {
	if headroom == 0 || getenv("GOGC") != "" {
		return func() {}
	}
	t := &gcTuner{headroom: headroom, percent: 100}
	t.arm()
	log.Debug("garbage collector paced by headroom", "headroom_bytes", headroom)
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.stopped = true
		debug.SetGCPercent(100)
	}
}

// gcTuner sets GOGC from the live heap after each collection.
type gcTuner struct {
	headroom uint64
	mu       sync.Mutex // a cleanup running when stop is called sets nothing after it
	stopped  bool
	percent  int // the GOGC it set last
	sample   [3]metrics.Sample
}

// gcSentinel is garbage from its creation: its cleanup runs after the next
// collection, and arms the next one. Larger than the tiny allocator's
// blocks, so it is an object of its own.
type gcSentinel struct {
	_ *byte
	_ [16]byte
}

func (t *gcTuner) arm() {
	runtime.AddCleanup(new(gcSentinel), func(t *gcTuner) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.stopped {
			t.adjust()
			t.arm()
		}
	}, t)
}

// adjust sets GOGC for the live heap the last collection left. Changes of
// less than a tenth are not made: each is a call into the runtime, and the
// live heap moves a little with every collection.
func (t *gcTuner) adjust() {
	// GOGC is a percentage of the live heap and of the stacks and globals
	// the collector scans (about a megabyte of globals here: without them
	// a start's goal was twice the headroom).
	t.sample[0].Name, t.sample[1].Name, t.sample[2].Name = "/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"
	metrics.Read(t.sample[:])
	var live uint64
	for _, s := range t.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return
		}
		live += s.Value.Uint64()
	}
	p := gcPercentFor(live, t.headroom)
	if p == t.percent || (p > t.percent*10/11 && p < t.percent*11/10) {
		return
	}
	t.percent = p
	debug.SetGCPercent(p)
}

// gcPercentFor is the GOGC that lets a live heap of live bytes (with the
// stacks and globals the collector scans) grow by headroom before the next
// collection, never less than Go's default (100): the heap may always
// double, as without a headroom; and never more than gcPercentMax.
func gcPercentFor(live, headroom uint64) int {
	// A start's heap of a megabyte or two is measured poorly (its goal
	// came out at twice the headroom): counted as 4 MB.
	live = max(live, 4<<20)
	if headroom/live >= gcPercentMax/100 {
		return gcPercentMax
	}
	return max(100, int(headroom*100/live))
}

// gcPercentMax bounds the GOGC the headroom sets. The percentage comes a
// collection late: the runtime sets the next goal when a collection ends,
// from its live heap and the GOGC in force, and the cleanup that adjusts
// GOGC runs only once the sentinel's span is swept (with a high GOGC,
// lazily, often after the next collection has begun). So a percentage set
// for a small heap applies to a larger one: while a starting server fills
// its caches, 3,200 % (128 MB over a heap counted as 4 MB) of a 23 MB
// live heap is a 766 MB goal, the peak seen in the benchmark, and more
// with a larger heap. At most 500 %, a goal is at most six times the
// live heap, whatever the lag; the benchmark's own (~490 % for its 26 MB
// live heap) is left as it was.
const gcPercentMax = 500
