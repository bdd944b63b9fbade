package httpapi_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc/workday"
	"github.com/cancuoc/cancuoc/workflow"
)

// TestProcedureStatsDurations: GET /v1/procedure-stats serves the median
// and 95th percentile of files and steps. Ten birth files are received on
// Monday 2 March 2026 at 08:00 and file i (1…10) completes its steps at
// +6i min, +30i min and +i h; by nearest rank (sorted[ceil(q·n)−1]) the
// files take 5 h (median) and 10 h (p95), the steps 30/60 min, 120/240
// min and 150/300 min.
func TestProcedureStatsDurations(t *testing.T) {
	var mu sync.Mutex
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, workday.Zone())
	now := t0
	at := func(d time.Duration) { mu.Lock(); now = t0.Add(d); mu.Unlock() }
	e := newWFEnv(t, workflow.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
	for i := 1; i <= 10; i++ {
		at(0)
		var f struct {
			ID string `json:"id"`
		}
		e.do("POST", "/v1/procedures", e.civil, e.submission()).ok(201, &f)
		step := "/v1/procedures/" + f.ID + "/steps/"
		d := time.Duration(i)
		for no, s := range []struct {
			key   string
			after time.Duration
		}{{e.civil, 6 * d * time.Minute}, {e.police, 30 * d * time.Minute}, {e.insurance, d * time.Hour}} {
			at(s.after)
			e.do("POST", fmt.Sprintf("%s%d/claim", step, no+1), s.key, nil).ok(200, nil)
			e.do("POST", fmt.Sprintf("%s%d/complete", step, no+1), s.key, nil).ok(200, nil)
			e.drain(t)
		}
	}
	var st struct {
		Groups []struct {
			Province string  `json:"province"`
			Kind     string  `json:"kind"`
			Done     int     `json:"completed"`
			Median   float64 `json:"median_seconds"`
			P95      float64 `json:"p95_seconds"`
			Steps    []struct {
				Name   string  `json:"name"`
				Done   int     `json:"completed"`
				Median float64 `json:"median_seconds"`
				P95    float64 `json:"p95_seconds"`
			} `json:"steps"`
		} `json:"groups"`
	}
	e.do("GET", "/v1/procedure-stats?from=2026-03-01&to=2026-03-03&province="+hanoi, e.admin, nil).ok(200, &st)
	if len(st.Groups) != 1 || st.Groups[0].Kind != "birth" || st.Groups[0].Done != 10 || len(st.Groups[0].Steps) != 3 {
		t.Fatalf("stats = %+v", st.Groups)
	}
	g := st.Groups[0]
	if g.Median != 5*3600 || g.P95 != 10*3600 {
		t.Errorf("files: median %vs p95 %vs, want 18000s 36000s", g.Median, g.P95)
	}
	for i, want := range [][2]float64{{30 * 60, 60 * 60}, {120 * 60, 240 * 60}, {150 * 60, 300 * 60}} {
		s := g.Steps[i]
		if s.Done != 10 || s.Median != want[0] || s.P95 != want[1] {
			t.Errorf("step %d (%s): completed %d, median %vs p95 %vs, want 10, %vs %vs", i+1, s.Name, s.Done, s.Median, s.P95, want[0], want[1])
		}
	}
}
