package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReconcileCommand seeds a registry with a partner data set, reconciles
// it from the console with an evaluation against the truth, and resumes
// the finished job (which only reprints its summary).
func TestReconcileCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "bank.csv")
	var out bytes.Buffer
	err := run(t.Context(), []string{"seed", "--data-dir", dir, "--citizens", "3000", "--partner-dataset", data,
		"--partner-n", "400", "--partner-pin-share", "0.5"}, noEnv, &out)
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "bank-truth.csv")); err != nil {
		t.Fatalf("truth file: %v\n%s", err, out.String())
	}
	out.Reset()
	err = run(t.Context(), []string{"reconcile", data, "--data-dir", dir, "--truth", filepath.Join(dir, "bank-truth.csv"),
		"--reveal", "full_name,birth_date", "--report", filepath.Join(dir, "r.jsonl"), "--index", "on"}, noEnv, &out)
	if err != nil {
		t.Fatalf("reconcile: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"matched (", "candidate_found", "precision", "recall", "registry as of", "3000 people",
		"peak RSS", "bytes/person"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "r.jsonl")); err != nil || !bytes.Contains(b, []byte(`"outcome":"matched"`)) {
		t.Errorf("report: %v %.200s", err, b)
	}
	id := regexp.MustCompile(`rc_[a-z0-9]+`).FindString(s)
	out.Reset()
	if err := run(t.Context(), []string{"reconcile", "--resume", id, "--data-dir", dir}, noEnv, &out); err != nil || !strings.Contains(out.String(), "matched (") {
		t.Errorf("resume of a finished job: %v\n%s", err, out.String())
	}
	for _, bad := range [][]string{{"reconcile"}, {"reconcile", data, "--resume", id}, {"reconcile", data, "--reveal", "phone"},
		{"reconcile", filepath.Join(dir, "none.csv")}, {"reconcile", data, "--index", "maybe"}} {
		if err := run(t.Context(), append(bad, "--data-dir", dir), noEnv, &out); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	// The operator's retention sweep: console jobs' files are the
	// operator's and are never deleted.
	out.Reset()
	if err := run(t.Context(), []string{"reconcile", "--sweep", "--data-dir", dir, "--reconcile-keep", "1ns"}, noEnv, &out); err != nil ||
		!strings.Contains(out.String(), "0 reconciliation reports") {
		t.Errorf("sweep: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "r.jsonl")); err != nil {
		t.Errorf("the sweep deleted a console job's report: %v", err)
	}
}
