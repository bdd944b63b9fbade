package reconcile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/reconcile"
)

// slowScanStore is a store whose registry scan starts late (and fails,
// when fail is set), so that a job's reading and parsing run well ahead
// of its index. A job with an index must not look records up in the
// store: a chunk matched before its index was there would.
type slowScanStore struct {
	cancuoc.Store
	delay time.Duration
	fail  error
}

var errStoreLookup = errors.New("a record was looked up in the store, not in the index")

func (s slowScanStore) MatchRecords(context.Context, []cancuoc.PIN, bool) ([]cancuoc.MatchRecord, error) {
	return nil, errStoreLookup
}

func (s slowScanStore) MatchCandidates(context.Context, []cancuoc.MatchProbe, int) ([]cancuoc.MatchCandidate, error) {
	return nil, errStoreLookup
}

func (s slowScanStore) ScanMatchRecords(ctx context.Context, batch int, fn func([]cancuoc.MatchRecord) error) (cancuoc.MatchSnapshot, error) {
	time.Sleep(s.delay)
	if s.fail != nil {
		return cancuoc.MatchSnapshot{}, s.fail
	}
	return s.Store.(cancuoc.MatchScanner).ScanMatchRecords(ctx, batch, fn)
}

// TestIndexLoadsBesideReading: the index loads while the first chunks are
// read and parsed. A late index changes nothing in the report (no chunk is
// matched before it is there: the report is byte-identical to the store
// path's), and an index that fails commits nothing: the job fails at its
// start, its report empty and its checkpoint untouched.
func TestIndexLoadsBesideReading(t *testing.T) {
	st := openSQLite(t)
	dir := t.TempDir()
	data, _ := seeded(t, st, 1000, 600, 0.7, dir)
	run := func(name string, r *reconcile.Runner) (*cancuoc.Reconciliation, []byte, error) {
		r.Policy = reconcile.RevealList{"full_name"}
		report := filepath.Join(dir, name)
		job, err := r.Create(t.Context(), reconcile.Spec{Owner: "console", Input: data, Report: report})
		if err != nil {
			t.Fatal(err)
		}
		job, err = r.Run(t.Context(), job.ID)
		b, rerr := os.ReadFile(report)
		if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			t.Fatal(rerr)
		}
		return job, b, err
	}
	_, want, err := run("store.jsonl", &reconcile.Runner{Store: st, Chunk: 50, Workers: 1, IndexFrom: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := run("late.jsonl", &reconcile.Runner{Store: slowScanStore{Store: st, delay: 200 * time.Millisecond},
		Chunk: 7, Workers: 3, IndexFrom: 1})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("with a late index the report differs from the store path's (%d vs %d bytes)", len(got), len(want))
	}
	checkEveryLineOnce(t, got, countLines(t, data))

	broken := errors.New("scan broken")
	job, got, err := run("failed.jsonl", &reconcile.Runner{Store: slowScanStore{Store: st, delay: 100 * time.Millisecond, fail: broken},
		Chunk: 7, Workers: 3, IndexFrom: 1})
	if !errors.Is(err, broken) {
		t.Fatalf("Run = %v, want the scan's error", err)
	}
	if len(got) != 0 || job.Offset != 0 || job.ReportSize != 0 || len(job.Counts) != 0 {
		t.Errorf("a job whose index failed committed: report %d bytes, offset %d, report size %d, counts %v",
			len(got), job.Offset, job.ReportSize, job.Counts)
	}
	if stored, err := st.Reconciliation(t.Context(), job.ID); err != nil || stored.Status != cancuoc.ReconFailed || stored.Offset != 0 {
		t.Errorf("stored job: %+v, %v; want failed at offset 0", stored, err)
	}
}
