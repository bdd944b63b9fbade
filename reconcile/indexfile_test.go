package reconcile_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/reconcile"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/synth"
)

// testIndexFile runs jobs that keep their index in a file between them.
// Each job's report must be the one a fresh scan of the registry gives at
// that moment: after a citizen is renamed through the registry (the file
// is then brought up to date from the events, not rescanned), after a bulk
// import (rescanned), and with a damaged file (rescanned).
func testIndexFile(t *testing.T, st cancuoc.Store) {
	ctx := t.Context()
	dir := t.TempDir()
	data, _ := seeded(t, st, 2000, 1200, 0.8, dir)
	file := &reconcile.IndexFile{Path: filepath.Join(dir, "registry.idx"), Key: "test registry"}
	n := 0
	run := func(withFile bool) ([]byte, *reconcile.Index) {
		t.Helper()
		n++
		var used *reconcile.Index
		r := &reconcile.Runner{Store: st, Policy: reconcile.RevealList{"full_name", "birth_date"}, Chunk: 101,
			Workers: 3, IndexFrom: 1, OnIndex: func(ix *reconcile.Index) { used = ix }}
		if withFile {
			r.IndexFile = file
		}
		report := filepath.Join(dir, "report"+string(rune('a'+n))+".csv")
		job, err := r.Create(ctx, reconcile.Spec{Owner: "console", Input: data, Report: report})
		if err != nil {
			t.Fatal(err)
		}
		if job, err = r.Run(ctx, job.ID); err != nil || job.Status != cancuoc.ReconDone {
			t.Fatalf("run %d: %v, status %s", n, err, job.Status)
		}
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		return b, used
	}
	same := func(what string, got, want []byte) {
		t.Helper()
		if string(got) != string(want) {
			t.Errorf("%s: the report differs from a fresh scan's (%d vs %d bytes)", what, len(got), len(want))
		}
	}
	first, ix := run(true)
	if !strings.HasPrefix(ix.Origin, "scan of the registry (no index file yet); saved to ") {
		t.Errorf("first job's index: %q", ix.Origin)
	}
	fresh, _ := run(false)
	same("the job that wrote the file", first, fresh)
	again, ix := run(true)
	if !strings.Contains(ix.Origin, ", 0 changed citizens applied") {
		t.Errorf("second job's index: %q, want the file's", ix.Origin)
	}
	same("a job from the file", again, fresh)

	// Rename a citizen the data set names by PIN, through the registry.
	// On PostgreSQL its event may still wait for the sequencer when the
	// next job starts: it is read from the queue then.
	pin := firstPIN(t, data)
	reg := registry.New(st, audit.NewWriter(st, 0))
	admin, _, err := reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: "test", Role: cancuoc.RoleNationalAdmin})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Citizen(ctx, pin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Update(ctx, admin, pin, c.Version, registry.Meta{Reason: "test", LegalBasis: "test"},
		func(c *cancuoc.Citizen) error {
			c.FullName = "Hoàng Thị Mới"
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	changed, ix := run(true)
	if !strings.Contains(ix.Origin, ", 1 changed citizens applied") {
		t.Errorf("index after the rename: %q, want the file with 1 change", ix.Origin)
	}
	fresh, built := run(false)
	same("after a rename", changed, fresh)
	if string(changed) == string(first) {
		t.Error("the renamed citizen's line did not change")
	}
	checkSameIndex(t, ix, built)

	// A bulk import names nobody: the file is rebuilt.
	err = synth.Generate(ctx, synth.Config{Citizens: 50, Seed: 5, Now: now}, func(b []*cancuoc.Citizen) error {
		return reg.Import(ctx, nil, b, registry.Meta{Reason: "test", LegalBasis: "test"})
	})
	if err != nil {
		t.Fatal(err)
	}
	imported, ix := run(true)
	if !strings.HasPrefix(ix.Origin, "scan of the registry (the registry changed too much") || ix.Len() != 2050 {
		t.Errorf("index after a bulk import: %q, %d people", ix.Origin, ix.Len())
	}
	fresh, _ = run(false)
	same("after a bulk import", imported, fresh)

	// A damaged file is not used.
	b, err := os.ReadFile(file.Path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(file.Path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	damaged, ix := run(true)
	if !strings.Contains(ix.Origin, "damaged") {
		t.Errorf("index from a damaged file: %q", ix.Origin)
	}
	same("after the file was damaged", damaged, fresh)
}

func TestIndexFileSQLite(t *testing.T) { testIndexFile(t, openSQLite(t)) }

func TestIndexFilePostgres(t *testing.T) { testIndexFile(t, pgtest.Open(t, "reconcile")) }

// firstPIN is the PIN of the data set's first record that has one.
func firstPIN(t *testing.T, data string) cancuoc.PIN {
	t.Helper()
	f, err := os.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "pin")
	for _, r := range rows[1:] {
		if len(r[col]) == 12 {
			return cancuoc.PIN(r[col])
		}
	}
	t.Fatal("no record with a PIN")
	return ""
}

// checkSameIndex compares an index brought up to date from a file with
// one built afresh: the same people and the same candidates in the same
// order for blocking probes on every person's birth date and name words.
func checkSameIndex(t *testing.T, got, want *reconcile.Index) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Errorf("index from the file has %d people, a fresh one %d", got.Len(), want.Len())
	}
	var probes []cancuoc.MatchProbe
	for y := 1930; y < 2026; y += 2 {
		for _, tok := range []string{"hoang", "moi", "thi", "nguyen", "van", "anh", "tran", "le"} {
			for _, d := range []cancuoc.Date{{Year: y}, {Year: y, Month: 3}, {Year: y, Month: 3, Day: 14}} {
				probes = append(probes, cancuoc.MatchProbe{Ref: len(probes), Date: d, Token: tok},
					cancuoc.MatchProbe{Ref: len(probes) + 1, Date: d, Token: tok, ByFirst: true})
			}
		}
	}
	for _, limit := range []int{0, 2} {
		a, err := got.MatchCandidates(t.Context(), probes, limit)
		if err != nil {
			t.Fatal(err)
		}
		b, err := want.MatchCandidates(t.Context(), probes, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 || !slices.EqualFunc(a, b, func(x, y cancuoc.MatchCandidate) bool {
			return x.Ref == y.Ref && x.PIN == y.PIN && x.NameKey == y.NameKey && x.BirthDate == y.BirthDate &&
				x.Sex == y.Sex && x.LifeStatus == y.LifeStatus && x.Home == y.Home
		}) {
			t.Errorf("limit %d: the file's index gives %d candidates, a fresh one %d, or another order", limit, len(a), len(b))
		}
	}
}
