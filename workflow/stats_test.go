package workflow_test

import (
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/workflow"
)

// durationFiles runs ten birth files and four death files, all received on
// Monday 2 March 2026 at 08:00, with known times: birth file i (1…10)
// completes its steps at +6i min, +30i min and +i h, death file j (1…4) at
// +j h, +1.5j h and +2j h. It returns the figures expected per the
// nearest-rank definition (sorted[ceil(q·n)−1]).
func durationFiles(t *testing.T, w *world) (wantBirth, wantDeath [4][2]float64) {
	t.Helper()
	ctx := t.Context()
	t0 := vn(2026, 3, 2, 8, 0)
	at := func(d time.Duration) { w.clock.set(t0.Add(d)) }
	for i := 1; i <= 10; i++ {
		at(0)
		f := w.submitBirth(t)
		d := time.Duration(i)
		at(6 * d * time.Minute)
		w.runStep(t, w.civil, f.ID, 1)
		at(30 * d * time.Minute)
		w.runStep(t, w.police, f.ID, 2)
		at(d * time.Hour)
		w.runStep(t, w.insurance, f.ID, 3)
	}
	for j := 1; j <= 4; j++ {
		at(0)
		old := w.person(t, "Nguyễn Văn Cụ", cancuoc.Male, 1940, "")
		f, err := w.wf.Submit(ctx, workflow.Applicant{Officer: w.civil}, workflow.Submission{Kind: cancuoc.ProcedureDeath,
			Applicant: w.father.PIN, Death: &workflow.DeathApplication{Deceased: old.PIN, Date: cancuoc.Date{Year: 2026, Month: 3, Day: 1},
				FuneralAllowance: true}})
		if err != nil {
			t.Fatal(err)
		}
		d := time.Duration(j)
		at(d * time.Hour)
		w.runStep(t, w.civil, f.ID, 1)
		at(3 * d * time.Hour / 2)
		w.runStep(t, w.police, f.ID, 2)
		at(2 * d * time.Hour)
		w.runStep(t, w.labour, f.ID, 3)
	}
	h, m := 3600.0, 60.0
	// Births: files 1…10 h → median rank 5 = 5 h, p95 rank 10 = 10 h;
	// step 1 takes 6i min, step 2 24i min, step 3 30i min.
	wantBirth = [4][2]float64{{5 * h, 10 * h}, {30 * m, 60 * m}, {120 * m, 240 * m}, {150 * m, 300 * m}}
	// Deaths: files 2j h (2, 4, 6, 8) → median rank 2 = 4 h, p95 rank 4 =
	// 8 h; step 1 j h, steps 2 and 3 j/2 h.
	wantDeath = [4][2]float64{{4 * h, 8 * h}, {2 * h, 4 * h}, {1 * h, 2 * h}, {1 * h, 2 * h}}
	return wantBirth, wantDeath
}

// checkDurations compares the median and 95th percentile of each group
// and step with the expected figures (file, then steps 1…3).
func checkDurations(t *testing.T, groups []*workflow.GroupStats, wantBirth, wantDeath [4][2]float64) {
	t.Helper()
	if len(groups) != 2 {
		t.Fatalf("%d groups, want Hà Nội birth and death", len(groups))
	}
	for _, g := range groups {
		want, n := wantBirth, 10
		if g.Kind == cancuoc.ProcedureDeath {
			want, n = wantDeath, 4
		}
		if g.Province != hanoi || g.Submitted != n || g.Completed != n || len(g.Steps) != 3 {
			t.Errorf("%s %s: submitted %d completed %d, %d steps; want %d, %d, 3", g.Province, g.Kind, g.Submitted, g.Completed, len(g.Steps), n, n)
			continue
		}
		if g.MedianSec != want[0][0] || g.P95Sec != want[0][1] {
			t.Errorf("%s files: median %vs p95 %vs, want %vs %vs", g.Kind, g.MedianSec, g.P95Sec, want[0][0], want[0][1])
		}
		for i, st := range g.Steps {
			if st.Completed != n || st.MedianSec != want[i+1][0] || st.P95Sec != want[i+1][1] {
				t.Errorf("%s step %d (%s): completed %d, median %vs p95 %vs, want %d, %vs %vs", g.Kind, i+1, st.Name,
					st.Completed, st.MedianSec, st.P95Sec, n, want[i+1][0], want[i+1][1])
			}
		}
	}
}

// TestStatisticsDurations: the median and 95th percentile of files and
// steps, per province and procedure, from files of known durations.
func TestStatisticsDurations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		wantBirth, wantDeath := durationFiles(t, w)
		stats, err := w.wf.Statistics(t.Context(), w.admin, workflow.StatsQuery{From: vn(2026, 3, 1, 0, 0), To: vn(2026, 3, 3, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		checkDurations(t, stats.Groups, wantBirth, wantDeath)
		// A province officer of another province is refused above; one of
		// Hà Nội sees the same figures.
		police := w.principal(t, cancuoc.RoleProvinceOfficer, workflow.AgencyPolice, cancuoc.Jurisdiction{Province: hanoi})
		if stats, err = w.wf.Statistics(t.Context(), police, workflow.StatsQuery{From: vn(2026, 3, 1, 0, 0), To: vn(2026, 3, 3, 0, 0)}); err != nil {
			t.Fatal(err)
		}
		checkDurations(t, stats.Groups, wantBirth, wantDeath)
	})
}
