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
	if !strings.Contains(s, "index: scan of the registry (no index file yet); saved to "+dir) {
		t.Errorf("the first job did not save its index in the data directory:\n%s", s)
	}
	// The next job reads the index from the file, with the same report.
	var again bytes.Buffer
	err = run(t.Context(), []string{"reconcile", data, "--data-dir", dir, "--reveal", "full_name,birth_date",
		"--report", filepath.Join(dir, "r2.jsonl"), "--index", "on"}, noEnv, &again)
	if err != nil || !strings.Contains(again.String(), "index: index file "+dir) {
		t.Errorf("second job: %v\n%s", err, again.String())
	}
	if a, b := readFile(t, filepath.Join(dir, "r.jsonl")), readFile(t, filepath.Join(dir, "r2.jsonl")); a != b {
		t.Error("the job from the index file wrote another report")
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

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRegistryKey: the index file's registry key names the tables read,
// never the password, and ignores settings that do not change them.
func TestRegistryKey(t *testing.T) {
	a := registryKey("postgres://u:secret@db:5432/reg?sslmode=disable&search_path=s1&application_name=x")
	b := registryKey("postgres://u:other@db:5432/reg?search_path=s1&application_name=y")
	if a != b || strings.Contains(a, "secret") || !strings.Contains(a, "s1") {
		t.Errorf("keys %q and %q", a, b)
	}
	if registryKey("postgres://u@db/reg?search_path=s2") == a || registryKey("postgres://u@db/other?search_path=s1") == a {
		t.Error("two registries have one key")
	}
	if k := registryKey("data/cancuoc.db"); !strings.HasPrefix(k, "sqlite:/") {
		t.Errorf("SQLite key %q, want the absolute path", k)
	}
}
