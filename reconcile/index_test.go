package reconcile_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/postgres/pgtest"
	"github.com/cancuoc/cancuoc/reconcile"
)

// testIndexLikeStore runs one data set (with and without PINs, old card
// numbers, noise, outsiders, duplicates) twice on one registry: matched by
// the store's queries, one chunk at a time, and by an in-memory index with
// several workers. The reports must be the same byte for byte, and the
// index's blocking answers the same as the store's.
func testIndexLikeStore(t *testing.T, st cancuoc.Store) {
	dir := t.TempDir()
	data, _ := seeded(t, st, 3000, 1500, 0.5, dir)
	run := func(name string, r *reconcile.Runner) []byte {
		r.Store, r.Policy = st, reconcile.RevealList{"full_name", "birth_date"}
		report := filepath.Join(dir, name)
		job, err := r.Create(t.Context(), reconcile.Spec{Owner: "console", Input: data, Report: report})
		if err != nil {
			t.Fatal(err)
		}
		if job, err = r.Run(t.Context(), job.ID); err != nil || job.Status != cancuoc.ReconDone {
			t.Fatalf("%s: %v, status %s", name, err, job.Status)
		}
		b, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want := run("store.jsonl", &reconcile.Runner{Chunk: 200, Workers: 1, IndexFrom: -1})
	var built *reconcile.Index
	before := time.Now()
	got := run("index.jsonl", &reconcile.Runner{Chunk: 97, Workers: 4, IndexFrom: 1,
		OnIndex: func(ix *reconcile.Index) { built = ix }})
	if built == nil || built.Len() != 3000 {
		t.Fatalf("the job built no index of the 3000 people: %v", built)
	}
	if built.At.Before(before) || built.At.After(time.Now()) {
		t.Errorf("index snapshot at %v, want during the job", built.At)
	}
	if string(got) != string(want) {
		t.Errorf("the index's report differs from the store's (%d vs %d bytes)", len(got), len(want))
	}
	checkEveryLineOnce(t, got, countLines(t, data))

	// Blocking: every record's probes, also the partial dates and first
	// words, answer the same from both.
	var probes []cancuoc.MatchProbe
	for y := 1930; y < 2026; y += 3 {
		for _, tok := range []string{"anh", "an", "binh", "nguyen", "tran", "le", "thi", "van"} {
			for _, d := range []cancuoc.Date{{Year: y}, {Year: y, Month: 3}, {Year: y, Month: 3, Day: 14}} {
				probes = append(probes, cancuoc.MatchProbe{Ref: len(probes), Date: d, Token: tok},
					cancuoc.MatchProbe{Ref: len(probes) + 1, Date: d, Token: tok, ByFirst: true})
			}
		}
	}
	a, err := st.MatchCandidates(t.Context(), probes, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := built.MatchCandidates(t.Context(), probes, 0)
	if err != nil {
		t.Fatal(err)
	}
	key := func(c cancuoc.MatchCandidate) string {
		return string(rune(c.Ref)) + string(c.PIN) + c.NameKey + c.BirthDate.String() + string(c.Sex) +
			string(c.LifeStatus) + c.Home.Province + c.Home.Commune
	}
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i] = key(a[i])
	}
	for i := range b {
		kb[i] = key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	if len(a) == 0 || !slices.Equal(ka, kb) {
		t.Errorf("MatchCandidates: the store found %d rows, the index %d, or they differ", len(a), len(b))
	}
	// Unknown and malformed PINs are simply absent; cards are refused.
	if rs, err := built.MatchRecords(t.Context(), []cancuoc.PIN{"000000000000", "12", "abcdefghijkl"}, false); err != nil || len(rs) != 0 {
		t.Errorf("MatchRecords of unknown PINs = %v, %v", rs, err)
	}
	if _, err := built.MatchRecords(t.Context(), nil, true); err == nil {
		t.Error("the index answered a request for card numbers it does not hold")
	}
	if per := built.Bytes() / int64(built.Len()); per <= 0 {
		t.Errorf("index bytes per person %d", per)
	}
}

func TestIndexLikeStoreSQLite(t *testing.T) { testIndexLikeStore(t, openSQLite(t)) }

func TestIndexLikeStorePostgres(t *testing.T) { testIndexLikeStore(t, pgtest.Open(t, "reconcile")) }
