package reconcile_test

import (
	"bytes"
	"context"
	"errors"
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

// TestServiceRetention: a finished job's upload is deleted at once; its
// report stays until the retention period ends (Sweep) or the owner
// deletes it; console jobs' files are never touched; a running job cannot
// be deleted; an expired job cannot be run again.
func TestServiceRetention(t *testing.T) {
	st := openSQLite(t)
	dir := t.TempDir()
	data, _ := seeded(t, st, 300, 100, 0.5, t.TempDir())
	raw, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	now := func() time.Time { return clock }
	r := &reconcile.Runner{Store: st, Policy: reconcile.RevealList(nil), Now: now}
	svc, err := reconcile.NewService(context.Background(), r, dir, 1<<20, 2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	svc.WithRetention(48 * time.Hour)
	bank := &cancuoc.Principal{ID: "ministry-1", Role: cancuoc.RoleMinistrySystem}
	submit := func() *cancuoc.Reconciliation {
		job, err := svc.Submit(t.Context(), bank, bytes.NewReader(raw), reconcile.FormatCSV, "")
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			j, err := st.Reconciliation(t.Context(), job.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, inErr := os.Stat(j.Input)
			if j.Status == cancuoc.ReconDone && errors.Is(inErr, os.ErrNotExist) {
				return j
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s: %s, input still there: %v", j.ID, j.Status, inErr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	a, b := submit(), submit()
	if _, err := os.Stat(a.Report); err != nil {
		t.Fatalf("the report went with the input: %v", err)
	}
	// A console job whose files are the operator's, long finished.
	consoleIn := filepath.Join(t.TempDir(), "mine.csv")
	if err := os.WriteFile(consoleIn, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	console, err := r.Create(t.Context(), reconcile.Spec{Owner: "console", Input: consoleIn, Report: consoleIn + ".report.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(t.Context(), console.ID); err != nil {
		t.Fatal(err)
	}
	// The owner acknowledges a's report: gone at once.
	if j, err := svc.Delete(t.Context(), bank, a.ID); err != nil || j.Status != cancuoc.ReconExpired {
		t.Fatalf("Delete = %+v, %v", j, err)
	}
	if _, err := os.Stat(a.Report); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the deleted job's report is still there: %v", err)
	}
	if _, _, err := svc.Report(t.Context(), bank, a.ID); !isCode(err, "reconciliation_report_expired") {
		t.Errorf("Report of a deleted job: %v", err)
	}
	if _, err := r.Run(t.Context(), a.ID); !isCode(err, "reconciliation_expired") {
		t.Errorf("Run of an expired job: %v", err)
	}
	other := &cancuoc.Principal{ID: "ministry-2", Role: cancuoc.RoleMinistrySystem}
	if _, err := svc.Delete(t.Context(), other, b.ID); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("another caller deleted the job: %v", err)
	}
	// Before the period ends the sweep keeps b; after it, b expires and
	// the console job's files stay.
	if n, err := svc.Sweep(t.Context()); err != nil || n != 0 {
		t.Fatalf("early Sweep = %d, %v", n, err)
	}
	clock = clock.Add(49 * time.Hour)
	if n, err := svc.Sweep(t.Context()); err != nil || n != 1 {
		t.Fatalf("Sweep after the period = %d, %v; want 1", n, err)
	}
	if j, _ := st.Reconciliation(t.Context(), b.ID); j.Status != cancuoc.ReconExpired || j.Counts[reconcile.Matched] == 0 {
		t.Errorf("swept job: %+v (expired, counts kept)", j)
	}
	if _, err := os.Stat(b.Report); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the swept job's report is still there: %v", err)
	}
	for _, p := range []string{consoleIn, consoleIn + ".report.csv"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the console job's file %s was touched: %v", p, err)
		}
	}
	if j, _ := st.Reconciliation(t.Context(), console.ID); j.Status != cancuoc.ReconDone {
		t.Errorf("console job: %s", j.Status)
	}
	// A running job cannot be deleted.
	in := filepath.Join(dir, reconcile.NewID()+".in")
	if err := os.WriteFile(in, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	running, err := r.Create(t.Context(), reconcile.Spec{Owner: bank.ID, Input: in, Report: in + ".report"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(t.Context(), bank, running.ID); !isCode(err, "reconciliation_running") {
		t.Errorf("Delete of a running job: %v", err)
	}
}
