package main

import (
	"bytes"
	"database/sql"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// TestAuditExportVerify runs the commands as an operator would: export the
// log, verify it, tamper with the database, export and verify again.
func TestAuditExportVerify(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	env := func(string) string { return "" }
	args := func(a ...string) []string { return append(a, "--data-dir", dir) }
	// A log with some entries.
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c, validate := bindConfig(fs, env)
	if err := fs.Parse([]string{"--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	if err := validate(); err != nil {
		t.Fatal(err)
	}
	a, err := openApp(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if err := a.store.AppendAudit(ctx, &cancuoc.AuditEntry{At: time.Now(), Actor: "officer-01", Action: "citizen.read",
			Purpose: fmt.Sprintf("lượt %d", i), Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	var out bytes.Buffer
	if err := run(ctx, args("audit", "checkpoint"), env, &out); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "export.jsonl")
	if err := run(ctx, args("audit", "export", "--out", file), env, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, append([]string{"audit", "verify", file}, "--data-dir", dir), env, &out); err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	if !strings.HasPrefix(out.String(), "OK entries 1…30") {
		t.Errorf("verify said %q", out.String())
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "cancuoc.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE audit SET actor = 'ai đó' WHERE seq = 12`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := run(ctx, args("audit", "export", "--out", file, "--checkpoint=false"), env, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run(ctx, args("audit", "verify", file), env, &out)
	if err == nil || !strings.Contains(out.String(), "entry 12 was changed") {
		t.Errorf("verify after tampering: %v, %q", err, out.String())
	}
}
