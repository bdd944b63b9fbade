package reconcile_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/reconcile"
)

// TestServiceResume checks that a starting server resumes the stale jobs
// whose files it holds, and only those.
func TestServiceResume(t *testing.T) {
	st := openSQLite(t)
	dir := t.TempDir()
	data, _ := seeded(t, st, 500, 200, 0.5, t.TempDir())
	raw, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	old := func() time.Time { return time.Now().Add(-time.Hour) }
	mk := func(where string, clock func() time.Time) string {
		in := filepath.Join(where, reconcile.NewID()+".in")
		if err := os.WriteFile(in, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		r := &reconcile.Runner{Store: st, Policy: reconcile.RevealList(nil), Now: clock}
		job, err := r.Create(t.Context(), reconcile.Spec{Owner: "bank", Input: in, Report: in + ".report", Format: "csv"})
		if err != nil {
			t.Fatal(err)
		}
		return job.ID
	}
	stale := mk(dir, old)
	fresh := mk(dir, time.Now)        // another process may be running it
	elsewhere := mk(t.TempDir(), old) // another node's files
	svc, err := reconcile.NewService(context.Background(), &reconcile.Runner{Store: st, Policy: reconcile.RevealList(nil)},
		dir, 1<<20, 2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	n, err := svc.Resume(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("Resume = %d, %v; want 1", n, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := st.Reconciliation(t.Context(), stale)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == cancuoc.ReconDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stale job did not finish: %+v", j)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []string{fresh, elsewhere} {
		if j, _ := st.Reconciliation(t.Context(), id); j.Status != cancuoc.ReconRunning || j.Line != 0 {
			t.Errorf("job %s was touched: %+v", id, j)
		}
	}
}
