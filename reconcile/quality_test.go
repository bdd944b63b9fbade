package reconcile_test

import (
	"path/filepath"
	"testing"

	"github.com/cancuoc/cancuoc/reconcile"
)

// TestPrecisionRecall measures the no-PIN mode on a synthetic partner data
// set with known truth and realistic noise, against the goals:
// precision ≥ 99.5%, recall ≥ 99% (held at 99.5% here).
func TestPrecisionRecall(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("loads a population: run without -short and -race (the race detector makes it ten times slower and the code is the same)")
	}
	st := openSQLite(t)
	dir := t.TempDir()
	data, truth := seeded(t, st, 30000, 3000, 0, dir)
	r := &reconcile.Runner{Store: st, Policy: reconcile.RevealList(nil), Chunk: 700}
	report := filepath.Join(dir, "report.jsonl")
	job, err := r.Create(t.Context(), reconcile.Spec{Owner: "console", Input: data, Report: report})
	if err != nil {
		t.Fatal(err)
	}
	if job, err = r.Run(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("summary: %s", reconcile.Summary(job))
	q := evaluate(t, report, reconcile.FormatJSONL, data, truth)
	t.Logf("%s", q)
	if q.NoPIN < 2500 || q.InRegistry < 2400 {
		t.Fatalf("data set too small to judge: %+v", q)
	}
	if q.Precision() < 0.995 {
		t.Errorf("precision %.4f < 0.995", q.Precision())
	}
	// Tighter than the goal's 99%: with typos that leave no syllable scored
	// as typos this set gives 99.87% (99.47% before).
	if q.Recall() < 0.995 {
		t.Errorf("recall %.4f < 0.995", q.Recall())
	}
}
