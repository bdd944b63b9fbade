package reconcile_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/reconcile"
	"github.com/cancuoc/cancuoc/sqlite"
)

// runJob runs a whole job without interruption and returns its report.
func runJob(t *testing.T, st cancuoc.Store, data, report string, chunk int) (*cancuoc.Reconciliation, []byte) {
	t.Helper()
	r := &reconcile.Runner{Store: st, Policy: reconcile.RevealList{"full_name"}, Chunk: chunk}
	job, err := r.Create(t.Context(), reconcile.Spec{Owner: "console", Input: data, Report: report})
	if err != nil {
		t.Fatal(err)
	}
	if job, err = r.Run(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	return job, b
}

// checkEveryLineOnce checks that a JSON Lines report has one result per
// data line of the input, each once, in order.
func checkEveryLineOnce(t *testing.T, report []byte, dataLines int) {
	t.Helper()
	var lines []int64
	sc := bufio.NewScanner(strings.NewReader(string(report)))
	for sc.Scan() {
		var r reconcile.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("report line %q: %v", sc.Text(), err)
		}
		lines = append(lines, r.Line)
	}
	if len(lines) != dataLines {
		t.Errorf("report has %d results, the input %d records", len(lines), dataLines)
	}
	for i, l := range lines {
		if l != int64(i+2) { // line 1 is the header
			t.Fatalf("result %d is for line %d, want %d: a record was lost or repeated", i, l, i+2)
		}
	}
}

func countLines(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n") - 1
}

// testResumeAfterCancel cancels a job after its second chunk, resumes it,
// and checks the report is the same, byte for byte, as an uninterrupted
// run's, and that every touched citizen was audited exactly once.
func testResumeAfterCancel(t *testing.T, st, fresh cancuoc.Store) { testResume(t, st, fresh, 0) }

// testResume is testResumeAfterCancel with at most seenKeys duplicate keys
// in memory (0: the default), so that a small bound sends most keys to the
// store, before and after the checkpoint.
func testResume(t *testing.T, st, fresh cancuoc.Store, seenKeys int) {
	dir := t.TempDir()
	data, _ := seeded(t, st, 2000, 1000, 0.5, dir)
	seeded(t, fresh, 2000, 0, 0, dir) // the same population
	// The first records sent again at the end: duplicates whose first
	// occurrence is before the checkpoint the resume starts from.
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.SplitAfter(string(b), "\n")
	if err := os.WriteFile(data, []byte(string(b)+strings.Join(rows[1:11], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, want := runJob(t, fresh, data, filepath.Join(dir, "whole.jsonl"), 100)

	ctx, cancel := context.WithCancel(t.Context())
	chunks := 0
	r := &reconcile.Runner{Store: st, Policy: reconcile.RevealList{"full_name"}, Chunk: 100, SeenKeys: seenKeys,
		Progress: func(records, offset int64) {
			if chunks++; chunks == 2 {
				cancel()
			}
		}}
	report := filepath.Join(dir, "resumed.jsonl")
	job, err := r.Create(ctx, reconcile.Spec{Owner: "console", Input: data, Report: report})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx, job.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v, want context.Canceled", err)
	}
	mid, err := st.Reconciliation(t.Context(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.Status != cancuoc.ReconRunning || mid.Line == 0 || mid.Offset == 0 {
		t.Fatalf("after cancel the job is %s at line %d offset %d; want running at a checkpoint", mid.Status, mid.Line, mid.Offset)
	}
	// Garbage after the checkpoint (a chunk written but not committed)
	// must be dropped by the resume.
	f, _ := os.OpenFile(report, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"line":999999,"outcome":"half-written"`)
	f.Close()

	r.Progress = nil
	done, err := r.Run(t.Context(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(report)
	if string(got) != string(want) {
		t.Errorf("resumed report differs from an uninterrupted run's (%d vs %d bytes)", len(got), len(want))
	}
	checkEveryLineOnce(t, got, countLines(t, data))
	// Duplicates across the checkpoint are flagged (the keys before it
	// were rebuilt from the input): a record after it names a first
	// occurrence before it.
	across := 0
	for _, l := range strings.Split(strings.TrimSpace(string(got)), "\n") {
		var res reconcile.Result
		_ = json.Unmarshal([]byte(l), &res)
		if res.Line > mid.Line && res.DuplicateOf > 0 && res.DuplicateOf <= mid.Line {
			across++
		}
	}
	if across == 0 {
		t.Error("no duplicate after the checkpoint names a line before it: the resume lost the keys (or the data has none)")
	}
	if done.Status != cancuoc.ReconDone || done.ReportSize != int64(len(got)) {
		t.Errorf("job after resume: %+v", done)
	}
	// Every touched citizen sees one access-log entry per chunk that
	// touched them (the chunk's block entry), none repeated by the resume.
	chunksOf := map[string]map[int64]bool{}
	touch := func(pin cancuoc.PIN, line int64) {
		if chunksOf[string(pin)] == nil {
			chunksOf[string(pin)] = map[int64]bool{}
		}
		chunksOf[string(pin)][(line-2)/100] = true // 100 records a chunk after the header
	}
	sc := bufio.NewScanner(strings.NewReader(string(got)))
	for sc.Scan() {
		var res reconcile.Result
		_ = json.Unmarshal(sc.Bytes(), &res)
		switch res.Outcome {
		case reconcile.Matched, reconcile.MatchedDiff, reconcile.Deceased, reconcile.MissingPerson, reconcile.CandidateFound:
			touch(res.PIN, res.Line)
		case reconcile.Ambiguous:
			for _, c := range res.Candidates {
				touch(c.PIN, res.Line)
			}
		}
	}
	if len(chunksOf) == 0 {
		t.Fatal("the job touched nobody")
	}
	for pin, cs := range chunksOf {
		n := len(cs)
		es, err := st.AuditFor(t.Context(), cancuoc.PIN(pin), 100)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for _, e := range es {
			if e.Action == reconcile.ActionReconcile {
				k++
				if e.Actor != "console" || e.Purpose != "reconciliation "+job.ID || len(e.Fields) == 0 {
					t.Errorf("audit entry %+v", e)
				}
			}
		}
		if k != n {
			t.Errorf("citizen %s: %d reconcile audit entries, want %d", pin, k, n)
			break
		}
	}
}

func TestResumeAfterCancelSQLite(t *testing.T) {
	testResumeAfterCancel(t, openSQLite(t), openSQLite(t))
}

// TestResumeSeenBeyondMemory: with room for 150 keys in memory (the first
// 75 or so records), the rest of the job's duplicate keys live in the
// store; the report is still byte-identical to an uninterrupted run's with
// every key in memory, across a resume.
func TestResumeSeenBeyondMemory(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testResume(t, openSQLite(t), openSQLite(t), 150) })
	t.Run("postgres", func(t *testing.T) {
		testResume(t, pgtest.Open(t, "reconcile"), pgtest.Open(t, "reconcile"), 150)
	})
}

func TestResumeAfterCancelPostgres(t *testing.T) {
	testResumeAfterCancel(t, pgtest.Open(t, "reconcile"), pgtest.Open(t, "reconcile"))
}

// TestResumeAfterKill runs a job in a child process, kills it with SIGKILL
// once it has checkpointed, resumes it here, and checks the report against
// an uninterrupted run's.
func TestResumeAfterKill(t *testing.T) {
	if os.Getenv("RECONCILE_CHILD_DB") != "" {
		return // the child's work is in TestMain
	}
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "db.sqlite")
	st, err := sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := seeded(t, st, 2500, 2000, 0.5, dir)
	r := &reconcile.Runner{Store: st, Policy: reconcile.RevealList{"full_name"}, Chunk: 50}
	report := filepath.Join(dir, "report.jsonl")
	job, err := r.Create(t.Context(), reconcile.Spec{Owner: "console", Input: data, Report: report})
	if err != nil {
		t.Fatal(err)
	}
	// The reference run reads the same registry (its own job, its own keys).
	_, want := runJob(t, st, data, filepath.Join(dir, "whole.jsonl"), 50)

	cmd := exec.Command(os.Args[0], "-test.run=^TestResumeAfterKill$")
	cmd.Env = append(os.Environ(), "RECONCILE_CHILD_DB="+dbPath, "RECONCILE_CHILD_JOB="+job.ID)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := st.Reconciliation(t.Context(), job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Line > 200 || j.Status == cancuoc.ReconDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child made no progress")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Kill at a random moment of a chunk, not just after a commit.
	time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	mid, _ := st.Reconciliation(t.Context(), job.ID)
	fi, _ := os.Stat(report)
	t.Logf("killed at line %d of %d (status %s) with %d report bytes past the checkpoint",
		mid.Line, countLines(t, data)+1, mid.Status, fi.Size()-mid.ReportSize)
	if mid.Status == cancuoc.ReconDone {
		t.Skip("the child finished before it was killed; nothing to resume")
	}
	// The killed child still holds the job's lease: a resume is refused
	// until it expires.
	if _, err := r.Run(t.Context(), job.ID); !isCode(err, "reconciliation_leased") {
		t.Fatalf("resume while the killed runner's lease lasts: %v, want reconciliation_leased", err)
	}
	time.Sleep(childLease)
	done, err := r.Run(t.Context(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(report)
	if string(got) != string(want) {
		t.Errorf("resumed report differs from an uninterrupted run's (%d vs %d bytes)", len(got), len(want))
	}
	checkEveryLineOnce(t, got, countLines(t, data))
	if done.Status != cancuoc.ReconDone {
		t.Errorf("status %s", done.Status)
	}
}

// childLease is the lease of TestResumeAfterKill's child, short so that
// the test waits little for it to expire.
const childLease = 2 * time.Second

func isCode(err error, code string) bool {
	var e *cancuoc.Error
	return errors.As(err, &e) && e.Code == code
}

// TestMain runs the child of TestResumeAfterKill: it runs the job slowly
// enough to be killed in the middle.
func TestMain(m *testing.M) {
	if db := os.Getenv("RECONCILE_CHILD_DB"); db != "" {
		st, err := sqlite.Open(context.Background(), db)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// The child matches against an in-memory index with several
		// workers; the reference run and the resume query the store.
		r := &reconcile.Runner{Store: st, Policy: reconcile.RevealList{"full_name"}, Chunk: 50, Lease: childLease,
			IndexFrom: 1, Workers: 3, Progress: func(int64, int64) { time.Sleep(time.Millisecond) }}
		_, err = r.Run(context.Background(), os.Getenv("RECONCILE_CHILD_JOB"))
		fmt.Fprintln(os.Stderr, "child finished:", err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestInputChangedRefused: a job whose input changed after Create is
// refused by Run, also by the Runner that hashed it (which skips hashing
// again only for the same file, size and modification time), whether the
// change altered the size or only the content.
func TestInputChangedRefused(t *testing.T) {
	st := openSQLite(t)
	dir := t.TempDir()
	data, _ := seeded(t, st, 200, 100, 1, dir)
	orig, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	r := &reconcile.Runner{Store: st, Policy: reconcile.RevealList{}, Chunk: 10}
	for i, change := range []func([]byte) []byte{
		func(b []byte) []byte { return append(b, "x,001090000001,,,,,\n"...) },
		func(b []byte) []byte { b[len(b)-2] ^= 1; return b }, // same size
	} {
		if err := os.WriteFile(data, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		job, err := r.Create(t.Context(), reconcile.Spec{Owner: "console", Input: data, Report: filepath.Join(dir, "r.csv")})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // a modification time of its own, on coarse clocks too
		if err := os.WriteFile(data, change(bytes.Clone(orig)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Run(t.Context(), job.ID); cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("change %d: Run = %v, want the input-changed conflict", i, err)
		}
	}
	// Unchanged, the same Runner runs it.
	if err := os.WriteFile(data, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	job, err := r.Create(t.Context(), reconcile.Spec{Owner: "console", Input: data, Report: filepath.Join(dir, "ok.csv")})
	if err != nil {
		t.Fatal(err)
	}
	if job, err = r.Run(t.Context(), job.ID); err != nil || job.Status != cancuoc.ReconDone {
		t.Errorf("unchanged input: %v, %s", err, job.Status)
	}
}
