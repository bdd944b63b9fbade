// Package storetest is the one conformance suite for cancuoc.Store
// implementations. Every backend's tests call Run, so the capabilities can
// rely on the semantics documented in the root package's store.go whichever
// database is underneath.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/cancuoc/cancuoc"
)

// Run runs the conformance suite. open must return a fresh, empty, migrated
// store for each subtest and register its cleanup (t.Cleanup). Subtests run
// one after another: open may hand out stores that share a server.
func Run(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"Ping", testPing},
		{"CitizenRoundTrip", testCitizenRoundTrip},
		{"CitizenDoc", testCitizenDoc},
		{"CitizenDocs", testCitizenDocs},
		{"InsertTaken", testInsertTaken},
		{"Update", testUpdate},
		{"TxReadsCitizenWrites", testTxReadsCitizenWrites},
		{"TxVersionOfOwnWrite", testTxVersionOfOwnWrite},
		{"ConcurrentInsert", testConcurrentInsert},
		{"ConcurrentUpdate", testConcurrentUpdate},
		{"Search", testSearch},
		{"SearchPaging", testSearchPaging},
		{"HouseholdMembers", testHouseholdMembers},
		{"CountPopulation", testCountPopulation},
		{"History", testHistory},
		{"Outbox", testOutbox},
		{"OutboxInTx", testOutboxInTx},
		{"Principals", testPrincipals},
		{"APIKeys", testAPIKeys},
		{"Audit", testAudit},
		{"TxRollback", testTxRollback},
		{"TxPanic", testTxPanic},
		{"TxCommit", testTxCommit},
		{"BulkInsert", testBulkInsert},
		{"BulkInsertConflict", testBulkInsertConflict},
		{"BulkInsertEvent", testBulkInsertEvent},
		{"LogOrderPerCitizen", testLogOrderPerCitizen},
		{"LogRuns", testLogRuns},
		{"CitizenReadsInTx", testCitizenReadsInTx},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func testPing(t *testing.T, s cancuoc.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func mustInsert(t *testing.T, s cancuoc.Tx, cs ...*cancuoc.Citizen) {
	t.Helper()
	for _, c := range cs {
		if err := s.InsertCitizen(t.Context(), c); err != nil {
			t.Fatalf("InsertCitizen %s: %v", c.PIN, err)
		}
	}
}

func mustGet(t *testing.T, s cancuoc.Tx, pin cancuoc.PIN) *cancuoc.Citizen {
	t.Helper()
	c, err := s.Citizen(t.Context(), pin)
	if err != nil {
		t.Fatalf("Citizen %s: %v", pin, err)
	}
	return c
}

func testCitizenRoundTrip(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	full := Citizen(PIN(1))
	// Every field set, including the death and missing dates a live record
	// would not have: storage must not judge, only keep.
	full.DeathDate = cancuoc.Date{Year: 2099, Month: 1}
	full.MissingSince = cancuoc.Date{Year: 2098}
	for _, s := range []string{full.FullName, full.OtherNames[0], full.Household.HeadName} {
		if !norm.NFC.IsNormalString(s) {
			t.Fatalf("fixture %q is not NFC", s)
		}
	}
	minimal := Minimal(PIN(2), "Lò Văn A", "lo van a")
	mustInsert(t, s, full, minimal)

	sameCitizen(t, "full", mustGet(t, s, full.PIN), full)
	sameCitizen(t, "minimal", mustGet(t, s, minimal.PIN), minimal)

	// The returned record must be the caller's own copy.
	a := mustGet(t, s, full.PIN)
	a.OtherNames[0] = "changed"
	a.Other["x"] = "y"
	sameCitizen(t, "after changing a returned copy", mustGet(t, s, full.PIN), full)

	_, err := s.Citizen(ctx, PIN(3))
	if !errors.Is(err, cancuoc.ErrNotFound) {
		t.Errorf("Citizen(unknown) = %v, want NotFound", err)
	}
	wantErr(t, "Citizen(unknown)", err, cancuoc.NotFound, "")
}

// testCitizenDoc: the undecoded document decodes to the record Citizen
// returns, with the version and home columns beside it.
func testCitizenDoc(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	full := Citizen(PIN(1))
	mustInsert(t, s, full)
	d, err := s.CitizenDoc(ctx, full.PIN)
	if err != nil {
		t.Fatalf("CitizenDoc: %v", err)
	}
	if d.PIN != full.PIN || d.Version != full.Version || d.Home != full.Home {
		t.Errorf("CitizenDoc = pin %s version %d home %+v, want %s %d %+v", d.PIN, d.Version, d.Home, full.PIN, full.Version, full.Home)
	}
	var got cancuoc.Citizen
	if err := json.Unmarshal(d.JSON, &got); err != nil {
		t.Fatalf("the document is not the JSON of a Citizen: %v", err)
	}
	sameCitizen(t, "decoded document", &got, mustGet(t, s, full.PIN))
	_, err = s.CitizenDoc(ctx, PIN(3))
	wantErr(t, "CitizenDoc(unknown)", err, cancuoc.NotFound, "")
}

// testCitizenDocs: several records' documents in one read, as CitizenDoc
// gives each, only of the PINs that exist, each once; nothing for none.
func testCitizenDocs(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	if got, err := s.CitizenDocs(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("no PINs: %v, %v", got, err)
	}
	mustInsert(t, s, Citizen(PIN(1)), Minimal(PIN(2), "Lò Văn A", "lo van a"), Citizen(PIN(4)))
	got, err := s.CitizenDocs(ctx, []cancuoc.PIN{PIN(2), PIN(3), PIN(1), PIN(2)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[cancuoc.PIN]bool{}
	for _, d := range got {
		if seen[d.PIN] {
			t.Errorf("%s twice", d.PIN)
		}
		seen[d.PIN] = true
		want, err := s.CitizenDoc(ctx, d.PIN)
		if err != nil {
			t.Fatalf("%s: CitizenDocs gave a record CitizenDoc does not (%v)", d.PIN, err)
		}
		if d.Version != want.Version || d.Home != want.Home || !bytes.Equal(d.JSON, want.JSON) {
			t.Errorf("%s: CitizenDocs = version %d home %+v %s, CitizenDoc = %d %+v %s", d.PIN, d.Version, d.Home, d.JSON, want.Version, want.Home, want.JSON)
		}
	}
	if len(seen) != 2 || !seen[PIN(1)] || !seen[PIN(2)] {
		t.Errorf("documents of %v, want those of %s and %s", seen, PIN(1), PIN(2))
	}
}

func testInsertTaken(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	orig := Citizen(PIN(10))
	mustInsert(t, s, orig)

	// Directly on the store.
	dup := Citizen(PIN(10))
	dup.FullName = "Kẻ Mạo Danh"
	wantErr(t, "InsertCitizen(taken)", s.InsertCitizen(ctx, dup), cancuoc.Conflict, "pin_taken")

	// Inside a transaction, which must stay usable so the registry can draw
	// another serial and retry.
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		err := tx.InsertCitizen(ctx, dup)
		wantErr(t, "tx InsertCitizen(taken)", err, cancuoc.Conflict, "pin_taken")
		if !errors.Is(err, cancuoc.ErrConflict) {
			t.Errorf("errors.Is(%v, ErrConflict) = false", err)
		}
		other := Citizen(PIN(11))
		if err := tx.InsertCitizen(ctx, other); err != nil {
			return fmt.Errorf("insert after conflict: %w", err)
		}
		// The transaction sees its own write.
		if _, err := tx.Citizen(ctx, other.PIN); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	sameCitizen(t, "retried insert", mustGet(t, s, PIN(11)), Citizen(PIN(11)))
	sameCitizen(t, "original after conflicts", mustGet(t, s, PIN(10)), orig)
}

func testUpdate(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	v1 := Citizen(PIN(20))
	mustInsert(t, s, v1)

	v2 := v1.Clone()
	v2.Version = 2
	v2.FullName, v2.NameKey = "Nguyễn Văn Đạt", "nguyen van dat"
	v2.Home = cancuoc.UnitRef{Province: "79", Commune: "26734"}
	v2.Household = nil
	v2.UpdatedAt = T0.Add(time.Hour)
	if err := s.UpdateCitizen(ctx, v2, 1); err != nil {
		t.Fatalf("UpdateCitizen(prev=1): %v", err)
	}
	sameCitizen(t, "after update", mustGet(t, s, v1.PIN), v2)
	// The index columns follow the record.
	got, err := s.SearchCitizens(ctx, cancuoc.CitizenQuery{NameKey: "nguyen van dat", Limit: 10})
	if err != nil || len(got) != 1 {
		t.Errorf("search new name: %d rows, %v", len(got), err)
	}
	got, err = s.SearchCitizens(ctx, cancuoc.CitizenQuery{NameKey: "nguyen van duc", Limit: 10})
	if err != nil || len(got) != 0 {
		t.Errorf("search old name: %d rows, %v", len(got), err)
	}
	if m, err := s.HouseholdMembers(ctx, v1.Household.ID); err != nil || len(m) != 0 {
		t.Errorf("old household: %d members, %v", len(m), err)
	}

	stale := v2.Clone()
	stale.Version = 3
	stale.FullName = "Bản Cũ"
	wantErr(t, "UpdateCitizen(stale)", s.UpdateCitizen(ctx, stale, 1), cancuoc.Conflict, "stale_version")
	sameCitizen(t, "after stale update", mustGet(t, s, v1.PIN), v2)

	unknown := Citizen(PIN(21))
	unknown.Version = 2
	wantErr(t, "UpdateCitizen(unknown)", s.UpdateCitizen(ctx, unknown, 1), cancuoc.NotFound, "")

	// A stale update inside a transaction leaves the transaction usable.
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		wantErr(t, "tx UpdateCitizen(stale)", tx.UpdateCitizen(ctx, stale, 1), cancuoc.Conflict, "stale_version")
		return tx.UpdateCitizen(ctx, stale, 2)
	})
	if err != nil {
		t.Fatalf("InTx update after stale: %v", err)
	}
	if c := mustGet(t, s, v1.PIN); c.Version != 3 || c.FullName != "Bản Cũ" {
		t.Errorf("after tx update: version %d name %q", c.Version, c.FullName)
	}
}

const workers = 16

// race runs fn in workers goroutines started together and returns their
// errors.
func race(fn func(i int) error) []error {
	errs := make([]error, workers)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range workers {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

func testConcurrentInsert(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	pin := PIN(30)
	errs := race(func(i int) error {
		return s.InTx(ctx, func(tx cancuoc.Tx) error {
			c := Citizen(pin)
			c.FullName = fmt.Sprintf("Người %d", i)
			return tx.InsertCitizen(ctx, c)
		})
	})
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		// pin_taken is expected; a backend may also report a
		// serialization failure as a Conflict.
		wantErr(t, fmt.Sprintf("worker %d", i), err, cancuoc.Conflict, "")
	}
	if ok != 1 {
		t.Errorf("%d inserts of one PIN succeeded, want exactly 1", ok)
	}
	c := mustGet(t, s, pin)
	if c.Version != 1 {
		t.Errorf("version %d, want 1", c.Version)
	}
}

func testConcurrentUpdate(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	pin := PIN(40)
	mustInsert(t, s, Citizen(pin))

	// Like an API client with If-Match: every worker read version 1 before
	// the race and updates from it, so exactly one can win.
	errs := race(func(i int) error {
		return s.InTx(ctx, func(tx cancuoc.Tx) error {
			cur, err := tx.Citizen(ctx, pin)
			if err != nil {
				return err
			}
			n := cur.Clone()
			n.Version = 2
			n.FullName = fmt.Sprintf("Người %d", i)
			return tx.UpdateCitizen(ctx, n, 1)
		})
	})
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantErr(t, fmt.Sprintf("worker %d", i), err, cancuoc.Conflict, "")
	}
	if ok != 1 {
		t.Errorf("%d updates from version 1 succeeded, want exactly 1", ok)
	}
	if c := mustGet(t, s, pin); c.Version != 2 {
		t.Errorf("version %d, want 2", c.Version)
	}

	// Like the registry's Update closure: each worker reads in the
	// transaction and updates from what it read. Any number may succeed
	// (a serializing backend lets them all), but no two from the same
	// version: the final version counts the successes exactly.
	errs = race(func(i int) error {
		return s.InTx(ctx, func(tx cancuoc.Tx) error {
			cur, err := tx.Citizen(ctx, pin)
			if err != nil {
				return err
			}
			n := cur.Clone()
			n.Version = cur.Version + 1
			n.FullName = fmt.Sprintf("Người %d", i)
			return tx.UpdateCitizen(ctx, n, cur.Version)
		})
	})
	ok = 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantErr(t, fmt.Sprintf("read-update worker %d", i), err, cancuoc.Conflict, "")
	}
	if c := mustGet(t, s, pin); c.Version != int64(2+ok) {
		t.Errorf("version %d after %d successful read-updates from 2: lost update", c.Version, ok)
	}
	if ok == 0 {
		t.Errorf("no read-update succeeded")
	}
}

// searchPeople is the population of the search tests. Keys are chosen so
// that bytewise order differs from most locale collations (which ignore
// spaces): "nguyen van b" < "nguyenan" bytewise only.
func searchPeople() []*cancuoc.Citizen {
	type p struct {
		n        int
		name     string
		key      string
		birth    cancuoc.Date
		province string
		commune  string
	}
	rows := []p{
		{1, "Nguyễn Văn An", "nguyen van an", cancuoc.Date{Year: 1990, Month: 5, Day: 17}, "01", "00004"},
		{2, "Nguyễn Văn An", "nguyen van an", cancuoc.Date{Year: 1990, Month: 5}, "01", "00008"},
		{3, "Nguyễn Văn An", "nguyen van an", cancuoc.Date{Year: 1990}, "79", "26734"},
		{4, "Nguyễn Văn An", "nguyen van an", cancuoc.Date{Year: 1990, Month: 6, Day: 17}, "01", "00004"},
		{5, "Nguyễn Văn Anh", "nguyen van anh", cancuoc.Date{Year: 1990, Month: 5, Day: 18}, "01", "00004"},
		{6, "Nguyễn Văn B", "nguyen van b", cancuoc.Date{Year: 1990, Month: 5, Day: 17}, "79", "26734"},
		{7, "Nguyễnan", "nguyenan", cancuoc.Date{Year: 1990, Month: 5, Day: 17}, "01", "00004"},
		{8, "Ngô Văn An", "ngo van an", cancuoc.Date{Year: 1990, Month: 5, Day: 17}, "01", "00004"},
		{9, "Nguyễn_Văn", "nguyen_van", cancuoc.Date{Year: 1990, Month: 1, Day: 2}, "01", "00004"},
	}
	var out []*cancuoc.Citizen
	// Insert in reverse so that insertion order never looks like key order.
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		c := Citizen(PINFor("001", cancuoc.Male, r.birth.Year, 900000-r.n))
		c.FullName, c.NameKey, c.BirthDate = r.name, r.key, r.birth
		c.Home = cancuoc.UnitRef{Province: r.province, Commune: r.commune}
		out = append(out, c)
	}
	// One born in another year, same name: year criteria must exclude it.
	c := Citizen(PINFor("001", cancuoc.Female, 1991, 900100))
	c.FullName, c.NameKey, c.BirthDate = "Nguyễn Văn An", "nguyen van an", cancuoc.Date{Year: 1991, Month: 5, Day: 17}
	out = append(out, c)
	return out
}

// keyOf names a search result for messages and comparisons.
func keyOf(c *cancuoc.Citizen) string { return c.NameKey + "|" + string(c.PIN) }

// expect filters people by pred and orders them as the store must:
// NameKey, then PIN, bytewise.
func expect(people []*cancuoc.Citizen, pred func(*cancuoc.Citizen) bool) []string {
	var out []string
	for _, c := range people {
		if pred(c) {
			out = append(out, keyOf(c))
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		ka, pa, _ := strings.Cut(a, "|")
		kb, pb, _ := strings.Cut(b, "|")
		if c := strings.Compare(ka, kb); c != 0 {
			return c
		}
		return strings.Compare(pa, pb)
	})
	return out
}

func testSearch(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	people := searchPeople()
	mustInsert(t, s, people...)

	partOK := func(stored, want int) bool { return want == 0 || stored == 0 || stored == want }
	tests := []struct {
		name string
		q    cancuoc.CitizenQuery
		pred func(*cancuoc.Citizen) bool
	}{
		{"exact key", cancuoc.CitizenQuery{NameKey: "nguyen van an"},
			func(c *cancuoc.Citizen) bool { return c.NameKey == "nguyen van an" }},
		{"prefix", cancuoc.CitizenQuery{NameKey: "nguyen van", NamePrefix: true},
			func(c *cancuoc.Citizen) bool { return strings.HasPrefix(c.NameKey, "nguyen van") }},
		{"prefix is literal (no LIKE wildcards)", cancuoc.CitizenQuery{NameKey: "nguyen_", NamePrefix: true},
			func(c *cancuoc.Citizen) bool { return strings.HasPrefix(c.NameKey, "nguyen_") }},
		{"prefix percent", cancuoc.CitizenQuery{NameKey: "ngu%", NamePrefix: true},
			func(c *cancuoc.Citizen) bool { return false }},
		{"exact key is not a prefix", cancuoc.CitizenQuery{NameKey: "nguyen van"},
			func(c *cancuoc.Citizen) bool { return false }},
		{"birth year", cancuoc.CitizenQuery{BirthYear: 1991},
			func(c *cancuoc.Citizen) bool { return c.BirthDate.Year == 1991 }},
		{"name and year", cancuoc.CitizenQuery{NameKey: "nguyen van an", BirthYear: 1990},
			func(c *cancuoc.Citizen) bool { return c.NameKey == "nguyen van an" && c.BirthDate.Year == 1990 }},
		{"month matches stored or unknown", cancuoc.CitizenQuery{NameKey: "nguyen van an", BirthYear: 1990, BirthMonth: 5},
			func(c *cancuoc.Citizen) bool {
				return c.NameKey == "nguyen van an" && c.BirthDate.Year == 1990 && partOK(c.BirthDate.Month, 5)
			}},
		{"day matches stored or unknown", cancuoc.CitizenQuery{NameKey: "nguyen van", NamePrefix: true, BirthYear: 1990, BirthMonth: 5, BirthDay: 17},
			func(c *cancuoc.Citizen) bool {
				return strings.HasPrefix(c.NameKey, "nguyen van") && c.BirthDate.Year == 1990 &&
					partOK(c.BirthDate.Month, 5) && partOK(c.BirthDate.Day, 17)
			}},
		{"day alone", cancuoc.CitizenQuery{BirthDay: 17},
			func(c *cancuoc.Citizen) bool { return partOK(c.BirthDate.Day, 17) }},
		{"province", cancuoc.CitizenQuery{Province: "79"},
			func(c *cancuoc.Citizen) bool { return c.Home.Province == "79" }},
		{"commune", cancuoc.CitizenQuery{Province: "01", Commune: "00004"},
			func(c *cancuoc.Citizen) bool { return c.Home.Province == "01" && c.Home.Commune == "00004" }},
		{"commune alone", cancuoc.CitizenQuery{Commune: "00008"},
			func(c *cancuoc.Citizen) bool { return c.Home.Commune == "00008" }},
		{"name and commune", cancuoc.CitizenQuery{NameKey: "nguyen van an", Province: "01", Commune: "00004"},
			func(c *cancuoc.Citizen) bool {
				return c.NameKey == "nguyen van an" && c.Home.Province == "01" && c.Home.Commune == "00004"
			}},
		{"after key", cancuoc.CitizenQuery{Province: "01", AfterKey: "nguyen van an", AfterPIN: PINFor("001", cancuoc.Male, 1990, 900000-2)},
			func(c *cancuoc.Citizen) bool {
				return c.Home.Province == "01" && (c.NameKey > "nguyen van an" ||
					c.NameKey == "nguyen van an" && c.PIN > PINFor("001", cancuoc.Male, 1990, 900000-2))
			}},
		{"nothing", cancuoc.CitizenQuery{NameKey: "tran"},
			func(c *cancuoc.Citizen) bool { return false }},
	}
	for _, tc := range tests {
		q := tc.q
		q.Limit = 100
		got, err := s.SearchCitizens(ctx, q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var keys []string
		for _, c := range got {
			keys = append(keys, keyOf(c))
		}
		if want := expect(people, tc.pred); !slices.Equal(keys, want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, keys, want)
		}
	}
	// Results are whole records.
	got, err := s.SearchCitizens(ctx, cancuoc.CitizenQuery{NameKey: "ngo van an", Limit: 10})
	if err != nil || len(got) != 1 {
		t.Fatalf("search one: %d rows, %v", len(got), err)
	}
	sameCitizen(t, "search result", got[0], people[1])

	for _, q := range []cancuoc.CitizenQuery{{Limit: 10}, {AfterKey: "a", AfterPIN: PIN(1), Limit: 10}} {
		_, err := s.SearchCitizens(ctx, q)
		wantErr(t, fmt.Sprintf("search %+v", q), err, cancuoc.Invalid, "")
	}
}

func testSearchPaging(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	names := []string{"tran van a", "tran van b", "tran", "tran van a b", "tranh", "tran van"}
	var people []*cancuoc.Citizen
	for i := range 40 {
		c := Minimal(PIN(500000-i*7), "Trần", names[i%len(names)])
		c.Home = cancuoc.UnitRef{Province: "48", Commune: "20194"}
		people = append(people, c)
	}
	mustInsert(t, s, people...)
	want := expect(people, func(*cancuoc.Citizen) bool { return true })
	for _, limit := range []int{1, 3, 7, 40, 100} {
		var got []string
		q := cancuoc.CitizenQuery{Province: "48", Limit: limit}
		for page := 0; ; page++ {
			if page > 50 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			rows, err := s.SearchCitizens(ctx, q)
			if err != nil {
				t.Fatalf("limit %d page %d: %v", limit, page, err)
			}
			if len(rows) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(rows))
			}
			for _, c := range rows {
				got = append(got, keyOf(c))
			}
			if len(rows) < limit {
				break
			}
			last := rows[len(rows)-1]
			q.AfterKey, q.AfterPIN = last.NameKey, last.PIN
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: pages\n got %q\nwant %q", limit, got, want)
		}
	}
}

func testHouseholdMembers(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	var want []cancuoc.PIN
	for _, n := range []int{33, 11, 22} {
		c := Citizen(PIN(n))
		c.Household = &cancuoc.HouseholdLink{ID: "HH-A", HeadPIN: PIN(11), HeadName: "Nguyễn Văn Đức", Relation: "con"}
		mustInsert(t, s, c)
		want = append(want, c.PIN)
	}
	slices.Sort(want)
	other := Citizen(PIN(44))
	other.Household.ID = "HH-B"
	none := Citizen(PIN(55))
	none.Household = nil
	mustInsert(t, s, other, none)

	got, err := s.HouseholdMembers(ctx, "HH-A")
	if err != nil {
		t.Fatal(err)
	}
	var pins []cancuoc.PIN
	for _, c := range got {
		pins = append(pins, c.PIN)
	}
	if !slices.Equal(pins, want) {
		t.Errorf("HH-A members %v, want %v", pins, want)
	}
	if len(got) > 0 {
		w := Citizen(got[0].PIN)
		w.Household = &cancuoc.HouseholdLink{ID: "HH-A", HeadPIN: PIN(11), HeadName: "Nguyễn Văn Đức", Relation: "con"}
		sameCitizen(t, "member", got[0], w)
	}
	got, err = s.HouseholdMembers(ctx, "HH-none")
	if err != nil || len(got) != 0 {
		t.Errorf("unknown household: %d members, %v", len(got), err)
	}
}

func testCountPopulation(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	type row struct {
		province, commune string
		status            cancuoc.LifeStatus
		n                 int
	}
	rows := []row{
		{"01", "00004", cancuoc.Alive, 5},
		{"01", "00004", cancuoc.Dead, 2},
		{"01", "00008", cancuoc.Alive, 3},
		{"01", "00008", cancuoc.Missing, 1},
		{"79", "26734", cancuoc.Alive, 4},
		{"79", "26734", cancuoc.Dead, 1},
		{"79", "26737", cancuoc.Missing, 2},
	}
	serial := 0
	for _, r := range rows {
		for range r.n {
			serial++
			c := Citizen(PIN(serial))
			c.Home = cancuoc.UnitRef{Province: r.province, Commune: r.commune}
			c.LifeStatus = r.status
			mustInsert(t, s, c)
		}
	}
	byKey := func(pc []cancuoc.PopulationCount) map[string]cancuoc.PopulationCount {
		m := map[string]cancuoc.PopulationCount{}
		for _, c := range pc {
			k := c.Province + "/" + c.Commune
			if _, dup := m[k]; dup {
				t.Errorf("duplicate row %s", k)
			}
			m[k] = c
		}
		return m
	}
	national, err := s.CountPopulation(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	wantNat := map[string]cancuoc.PopulationCount{
		"01/": {Province: "01", Alive: 8, Dead: 2, Missing: 1},
		"79/": {Province: "79", Alive: 4, Dead: 1, Missing: 2},
	}
	if got := byKey(national); !mapsEqual(got, wantNat) {
		t.Errorf("national counts %v, want %v", got, wantNat)
	}
	prov, err := s.CountPopulation(ctx, "01")
	if err != nil {
		t.Fatal(err)
	}
	wantProv := map[string]cancuoc.PopulationCount{
		"01/00004": {Province: "01", Commune: "00004", Alive: 5, Dead: 2},
		"01/00008": {Province: "01", Commune: "00008", Alive: 3, Missing: 1},
	}
	if got := byKey(prov); !mapsEqual(got, wantProv) {
		t.Errorf("province 01 counts %v, want %v", got, wantProv)
	}
	empty, err := s.CountPopulation(ctx, "96")
	if err != nil || len(empty) != 0 {
		t.Errorf("empty province: %v, %v", empty, err)
	}
}

func mapsEqual(a, b map[string]cancuoc.PopulationCount) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func testHistory(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	c1 := Citizen(PIN(60))
	mustInsert(t, s, c1)
	v1 := FirstVersion(c1)
	c2 := c1.Clone()
	c2.Version, c2.FullName, c2.UpdatedAt = 2, "Nguyễn Văn Đạt", T0.Add(24*time.Hour)
	v2 := &cancuoc.CitizenVersion{PIN: c1.PIN, Version: 2, At: c2.UpdatedAt, Actor: "officer-02", Agency: "Tòa án",
		Reason: "đổi tên", LegalBasis: "Bộ luật Dân sự, điều 28",
		Changes: []cancuoc.FieldChange{{Field: "full_name", Old: json.RawMessage(`"Nguyễn Văn Đức"`), New: json.RawMessage(`"Nguyễn Văn Đạt"`)}},
		Citizen: c2}
	c3 := c2.Clone()
	c3.Version, c3.LifeStatus, c3.DeathDate, c3.UpdatedAt = 3, cancuoc.Dead, cancuoc.Date{Year: 2026, Month: 1, Day: 2}, T0.Add(48*time.Hour)
	v3 := &cancuoc.CitizenVersion{PIN: c1.PIN, Version: 3, At: c3.UpdatedAt.Add(time.Microsecond), Actor: "system",
		Agency: "Bộ Y tế", Reason: "khai tử", LegalBasis: "Luật Hộ tịch", Changes: nil, Citizen: c3}
	for _, v := range []*cancuoc.CitizenVersion{v1, v2, v3} {
		if err := s.AppendVersion(ctx, v); err != nil {
			t.Fatalf("AppendVersion %d: %v", v.Version, err)
		}
	}
	// Another citizen's history must not leak in.
	other := Citizen(PIN(61))
	mustInsert(t, s, other)
	if err := s.AppendVersion(ctx, FirstVersion(other)); err != nil {
		t.Fatal(err)
	}

	dup := FirstVersion(c1)
	dup.Reason = "lần hai"
	wantErr(t, "AppendVersion(duplicate)", s.AppendVersion(ctx, dup), cancuoc.Conflict, "")

	vs, err := s.Versions(ctx, c1.PIN)
	if err != nil {
		t.Fatal(err)
	}
	want := []*cancuoc.CitizenVersion{v1, v2, v3}
	if len(vs) != len(want) {
		t.Fatalf("Versions: %d, want %d", len(vs), len(want))
	}
	for i := range vs {
		sameVersion(t, fmt.Sprintf("Versions[%d]", i), vs[i], want[i])
	}
	if vs, err := s.Versions(ctx, PIN(62)); err != nil || len(vs) != 0 {
		t.Errorf("Versions(unknown) = %d, %v; want empty, nil", len(vs), err)
	}

	got, err := s.Version(ctx, c1.PIN, 2)
	if err != nil {
		t.Fatal(err)
	}
	sameVersion(t, "Version(2)", got, v2)
	_, err = s.Version(ctx, c1.PIN, 9)
	wantErr(t, "Version(9)", err, cancuoc.NotFound, "")

	at := []struct {
		t    time.Time
		want int64 // 0: NotFound
	}{
		{v1.At.Add(-time.Microsecond), 0},
		{v1.At, 1},
		{v1.At.In(time.UTC).Add(time.Microsecond), 1},
		{v2.At.Add(-time.Microsecond), 1},
		{v2.At, 2},
		{v3.At.Add(-time.Microsecond), 2},
		{v3.At, 3},
		{v3.At.Add(100 * 24 * time.Hour), 3},
	}
	for _, a := range at {
		got, err := s.VersionAt(ctx, c1.PIN, a.t)
		if a.want == 0 {
			wantErr(t, fmt.Sprintf("VersionAt(%v)", a.t), err, cancuoc.NotFound, "")
			continue
		}
		if err != nil {
			t.Errorf("VersionAt(%v): %v", a.t, err)
			continue
		}
		if got.Version != a.want {
			t.Errorf("VersionAt(%v) = version %d, want %d", a.t, got.Version, a.want)
		}
	}
	got, err = s.VersionAt(ctx, c1.PIN, v2.At.Add(time.Hour))
	if err == nil {
		sameVersion(t, "VersionAt", got, v2)
	}
	_, err = s.VersionAt(ctx, PIN(62), v3.At)
	wantErr(t, "VersionAt(unknown)", err, cancuoc.NotFound, "")
}

func testOutbox(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	if evs, err := s.EventsAfter(ctx, 0, 10); err != nil || len(evs) != 0 {
		t.Fatalf("empty outbox: %d, %v", len(evs), err)
	}
	var want []cancuoc.Event
	var last int64
	for i := range 7 {
		e := &cancuoc.Event{ID: fmt.Sprintf("evt-%02d", i), Type: cancuoc.EventCitizenUpdated, PIN: PIN(i),
			Version: int64(i + 1), Actor: "officer-01", At: T0.Add(time.Duration(i) * time.Second),
			Data: json.RawMessage(`{"fields":["full_name","home"],"n":` + fmt.Sprint(i) + `}`)}
		if i == 3 {
			e.PIN, e.Version, e.Data, e.Type = "", 0, nil, cancuoc.EventCitizensLoaded
		}
		if err := s.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		want = append(want, *e)
	}
	// A store that sequences later gives the Seqs then (cancuoc.LogSequencer).
	settle(t, s)
	seqs, err := s.EventsAfter(ctx, 0, 100)
	if err != nil || len(seqs) != len(want) {
		t.Fatalf("EventsAfter(0): %d events, %v; want %d", len(seqs), err, len(want))
	}
	for i := range want {
		if e := &want[i]; e.Seq != 0 && e.Seq != seqs[i].Seq {
			t.Errorf("event %d: AppendEvent set Seq %d, read back %d", i, e.Seq, seqs[i].Seq)
		}
		want[i].Seq = seqs[i].Seq
		if want[i].Seq <= last {
			t.Fatalf("event %d: Seq %d not after %d", i, want[i].Seq, last)
		}
		last = want[i].Seq
	}
	check := func(what string, got, want []cancuoc.Event) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d events, want %d", what, len(got), len(want))
			return
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.Seq != w.Seq || g.ID != w.ID || g.Type != w.Type || g.PIN != w.PIN || g.Version != w.Version ||
				g.Actor != w.Actor || !g.At.Equal(w.At) || !sameJSON(g.Data, w.Data) {
				t.Errorf("%s[%d] = %+v, want %+v", what, i, g, w)
			}
		}
	}
	all, err := s.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	check("all", all, want)
	page, err := s.EventsAfter(ctx, want[1].Seq, 3)
	if err != nil {
		t.Fatal(err)
	}
	check("page", page, want[2:5])
	rest, err := s.EventsAfter(ctx, want[4].Seq, 3)
	if err != nil {
		t.Fatal(err)
	}
	check("rest", rest, want[5:])
	if end, err := s.EventsAfter(ctx, last, 10); err != nil || len(end) != 0 {
		t.Errorf("after last: %d, %v", len(end), err)
	}
}

// testOutboxInTx: events appended in a transaction, among audit entries,
// other writes and savepoints, come out whole and in the order appended,
// without those of a savepoint rolled back (a store may hold them and
// write each run of them at once).
func testOutboxInTx(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	var want []cancuoc.Event
	n := 0
	appendOne := func(tx cancuoc.Tx, keep bool) error {
		e := &cancuoc.Event{ID: fmt.Sprintf("tx-%02d", n), Type: cancuoc.EventCitizenUpdated, PIN: PIN(n % 3),
			Version: int64(n + 1), Actor: "officer-01", At: T0.Add(time.Duration(n) * time.Second),
			Data: json.RawMessage(`{"n":` + fmt.Sprint(n) + `}`)}
		if n%4 == 3 {
			e.PIN, e.Version, e.Data, e.Type = "", 0, nil, cancuoc.EventCitizensLoaded
		}
		n++
		if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: e.At, Actor: "officer-01", Action: "test.append", Outcome: "ok"}); err != nil {
			return err
		}
		if keep {
			want = append(want, *e)
		}
		return tx.AppendEvent(ctx, e)
	}
	refused := errors.New("refused")
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		for range 3 {
			if err := appendOne(tx, true); err != nil {
				return err
			}
		}
		if err := tx.InsertProcedure(ctx, Procedure("outbox-tx", 0)); err != nil {
			return err
		}
		if err := appendOne(tx, true); err != nil {
			return err
		}
		if err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			for range 2 {
				if err := appendOne(tx, true); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			if err := appendOne(tx, false); err != nil {
				return err
			}
			if _, err := tx.Procedure(ctx, "outbox-tx"); err != nil {
				return err
			}
			if err := appendOne(tx, false); err != nil {
				return err
			}
			return refused
		}); err != refused {
			t.Errorf("refused savepoint: %v", err)
		}
		return appendOne(tx, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	got, err := s.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(got), len(want), got)
	}
	for i, g := range got {
		w := want[i]
		if g.ID != w.ID || g.Type != w.Type || g.PIN != w.PIN || g.Version != w.Version ||
			g.Actor != w.Actor || !g.At.Equal(w.At) || !sameJSON(g.Data, w.Data) {
			t.Errorf("event %d = %+v, want %+v", i, g, w)
		}
		if i > 0 && g.Seq <= got[i-1].Seq {
			t.Errorf("event %d: Seq %d not after %d", i, g.Seq, got[i-1].Seq)
		}
	}
}

func testPrincipals(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	ps := []*cancuoc.Principal{
		{ID: "officer-hn-0004", Name: "Trần Thị Lan", Role: cancuoc.RoleCommuneOfficer,
			Jurisdiction: cancuoc.Jurisdiction{Province: "01", Commune: "00004"}, Agency: "Công an phường Ba Đình",
			OfficerPIN: PINFor("001", cancuoc.Female, 1985, 42), CreatedAt: T0},
		{ID: "bhxh", Name: "Bảo hiểm xã hội Việt Nam", Role: cancuoc.RoleMinistrySystem, Agency: "BHXH",
			Disabled: true, CreatedAt: T0.Add(time.Second)},
		{ID: "admin", Name: "Quản trị", Role: cancuoc.RoleNationalAdmin, CreatedAt: T0.Add(2 * time.Second)},
	}
	for _, p := range ps {
		if err := s.InsertPrincipal(ctx, p); err != nil {
			t.Fatalf("InsertPrincipal %s: %v", p.ID, err)
		}
	}
	same := func(what string, got, want *cancuoc.Principal) {
		t.Helper()
		g, w := *got, *want
		if !g.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("%s: CreatedAt %v, want %v", what, g.CreatedAt, w.CreatedAt)
		}
		g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("%s: %+v, want %+v", what, g, w)
		}
	}
	got, err := s.Principal(ctx, "officer-hn-0004")
	if err != nil {
		t.Fatal(err)
	}
	same("Principal", got, ps[0])
	_, err = s.Principal(ctx, "nobody")
	wantErr(t, "Principal(unknown)", err, cancuoc.NotFound, "")
	dup := *ps[1]
	dup.Name = "khác"
	wantErr(t, "InsertPrincipal(duplicate)", s.InsertPrincipal(ctx, &dup), cancuoc.Conflict, "")

	all, err := s.Principals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("Principals: %d, want 3", len(all))
	}
	for i, id := range []string{"admin", "bhxh", "officer-hn-0004"} {
		if all[i].ID != id {
			t.Errorf("Principals[%d] = %s, want %s (by ID)", i, all[i].ID, id)
		}
	}
	same("Principals[1]", all[1], ps[1])
}

func testAPIKeys(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	p := &cancuoc.Principal{ID: "bank", Name: "Ngân hàng", Role: cancuoc.RoleMinistrySystem, CreatedAt: T0}
	if err := s.InsertPrincipal(ctx, p); err != nil {
		t.Fatal(err)
	}
	revoked := T0.Add(time.Hour)
	keys := []*cancuoc.APIKey{
		{ID: "ck_live_a1", PrincipalID: "bank", Hash: []byte{0, 1, 2, 0xfe, 0xff, 0, 'x'}, CreatedAt: T0},
		{ID: "ck_live_b2", PrincipalID: "bank", Hash: []byte("argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA"),
			CreatedAt: T0.Add(time.Minute), RevokedAt: &revoked},
	}
	for _, k := range keys {
		if err := s.InsertAPIKey(ctx, k); err != nil {
			t.Fatalf("InsertAPIKey %s: %v", k.ID, err)
		}
	}
	for _, w := range keys {
		g, err := s.APIKey(ctx, w.ID)
		if err != nil {
			t.Fatalf("APIKey %s: %v", w.ID, err)
		}
		if g.ID != w.ID || g.PrincipalID != w.PrincipalID || string(g.Hash) != string(w.Hash) || !g.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("APIKey %s = %+v, want %+v", w.ID, g, w)
		}
		switch {
		case (g.RevokedAt == nil) != (w.RevokedAt == nil):
			t.Errorf("APIKey %s RevokedAt = %v, want %v", w.ID, g.RevokedAt, w.RevokedAt)
		case g.RevokedAt != nil && !g.RevokedAt.Equal(*w.RevokedAt):
			t.Errorf("APIKey %s RevokedAt = %v, want %v", w.ID, *g.RevokedAt, *w.RevokedAt)
		}
	}
	_, err := s.APIKey(ctx, "ck_live_none")
	wantErr(t, "APIKey(unknown)", err, cancuoc.NotFound, "")
	dup := *keys[0]
	dup.Hash = []byte("other")
	wantErr(t, "InsertAPIKey(duplicate)", s.InsertAPIKey(ctx, &dup), cancuoc.Conflict, "")
	if g, err := s.APIKey(ctx, keys[0].ID); err != nil || string(g.Hash) != string(keys[0].Hash) {
		t.Errorf("key after duplicate insert: %v, %v", g, err)
	}
}

func testAudit(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	pin, other := PIN(70), PIN(71)
	var mine []*cancuoc.AuditEntry
	for i := range 5 {
		e := &cancuoc.AuditEntry{At: T0.Add(time.Duration(i) * time.Minute), Actor: "officer-01", Action: "citizen.read",
			PIN: pin, Fields: []string{"full_name", "birth_date", "họ_tên"}, Purpose: "xác minh hồ sơ", Outcome: "ok"}
		if i == 2 {
			e.Action, e.Fields, e.Purpose, e.Outcome = "citizen.update", nil, "", "stale_version"
		}
		mine = append(mine, e)
	}
	noise := []*cancuoc.AuditEntry{
		{At: T0, Actor: "officer-02", Action: "citizen.read", PIN: other, Outcome: "ok"},
		{At: T0, Actor: "admin", Action: "principal.create", Outcome: "ok"},
	}
	// Several entries per call, interleaved with other citizens'.
	if err := s.AppendAudit(ctx, mine[0], noise[0], mine[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, mine[2]); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, noise[1], mine[3], mine[4]); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx); err != nil {
		t.Errorf("AppendAudit(): %v", err)
	}
	same := func(what string, got []*cancuoc.AuditEntry) {
		t.Helper()
		if len(got) != len(mine) {
			t.Fatalf("%s: %d entries, want %d", what, len(got), len(mine))
		}
		for i, g := range got {
			w := mine[len(mine)-1-i]
			if !g.At.Equal(w.At) || g.Actor != w.Actor || g.Action != w.Action || g.PIN != w.PIN ||
				!slices.Equal(g.Fields, w.Fields) || g.Purpose != w.Purpose || g.Outcome != w.Outcome {
				t.Errorf("%s[%d] = %+v, want %+v", what, i, g, w)
			}
		}
	}
	// The citizen sees the entries at once, before a store that sequences
	// later (cancuoc.LogSequencer) has given them their places.
	got, err := s.AuditFor(ctx, pin, 100)
	if err != nil {
		t.Fatal(err)
	}
	same("AuditFor right after appending", got)
	settle(t, s)
	got, err = s.AuditFor(ctx, pin, 100)
	if err != nil {
		t.Fatal(err)
	}
	same("AuditFor", got)
	for i, g := range got {
		if g.ID == 0 || (i > 0 && g.ID >= got[i-1].ID) {
			t.Errorf("AuditFor: IDs %d then %d: not places, or not newest first", got[max(i-1, 0)].ID, g.ID)
		}
		if w := mine[len(mine)-1-i]; w.ID != 0 && w.ID != g.ID {
			t.Errorf("AppendAudit set ID %d, read back %d", w.ID, g.ID)
		}
	}
	all := got
	got, err = s.AuditFor(ctx, pin, 2)
	if err != nil || len(got) != 2 || got[0].ID != all[0].ID || got[1].ID != all[1].ID {
		t.Errorf("AuditFor limit 2: %v, %v", got, err)
	}
	if got, err := s.AuditFor(ctx, PIN(72), 10); err != nil || len(got) != 0 {
		t.Errorf("AuditFor(unknown): %d, %v", len(got), err)
	}
}

// writeAll writes one change the way the registry does: record, history,
// event and audit entry in one transaction.
func writeAll(ctx context.Context, tx cancuoc.Tx, c *cancuoc.Citizen) error {
	if err := tx.InsertCitizen(ctx, c); err != nil {
		return err
	}
	if err := tx.AppendVersion(ctx, FirstVersion(c)); err != nil {
		return err
	}
	if err := tx.AppendEvent(ctx, &cancuoc.Event{ID: "evt-" + string(c.PIN), Type: cancuoc.EventCitizenBorn,
		PIN: c.PIN, Version: 1, Actor: "officer-01", At: T0}); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: T0, Actor: "officer-01", Action: "citizen.create",
		PIN: c.PIN, Outcome: "ok"})
}

// visible counts what writeAll left behind for pin.
func visible(t *testing.T, s cancuoc.Store, pin cancuoc.PIN) (citizen bool, versions, events, audits int) {
	t.Helper()
	ctx := t.Context()
	settle(t, s) // events are read as consumers read them: sequenced
	_, err := s.Citizen(ctx, pin)
	switch {
	case err == nil:
		citizen = true
	case !errors.Is(err, cancuoc.ErrNotFound):
		t.Fatalf("Citizen: %v", err)
	}
	vs, err := s.Versions(ctx, pin)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.PIN == pin {
			events++
		}
	}
	as, err := s.AuditFor(ctx, pin, 100)
	if err != nil {
		t.Fatal(err)
	}
	return citizen, len(vs), events, len(as)
}

func testTxRollback(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	pin := PIN(80)
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := writeAll(ctx, tx, Citizen(pin)); err != nil {
			t.Errorf("writeAll: %v", err)
		}
		return boom
	})
	if err != boom {
		t.Errorf("InTx returned %v, want the closure's error as is", err)
	}
	if c, v, e, a := visible(t, s, pin); c || v+e+a != 0 {
		t.Errorf("after rollback: citizen %v, %d versions, %d events, %d audit entries", c, v, e, a)
	}
	// The store is still usable, and the same PIN is free.
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error { return writeAll(ctx, tx, Citizen(pin)) }); err != nil {
		t.Fatalf("InTx after rollback: %v", err)
	}
}

func testTxPanic(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	pin := PIN(81)
	func() {
		defer func() {
			if r := recover(); r != "kaboom" {
				t.Errorf("recovered %v, want the closure's panic value re-raised", r)
			}
		}()
		_ = s.InTx(ctx, func(tx cancuoc.Tx) error {
			if err := writeAll(ctx, tx, Citizen(pin)); err != nil {
				t.Errorf("writeAll: %v", err)
			}
			panic("kaboom")
		})
		t.Errorf("InTx returned after a panic")
	}()
	if c, v, e, a := visible(t, s, pin); c || v+e+a != 0 {
		t.Errorf("after panic: citizen %v, %d versions, %d events, %d audit entries", c, v, e, a)
	}
	// A panic must not leak the writer: another transaction can run.
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(tx cancuoc.Tx) error { return writeAll(ctx, tx, Citizen(pin)) })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("InTx after panic: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("InTx after panic hangs: the panicking transaction was not released")
	}
}

func testTxCommit(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	pin := PIN(82)
	if err := s.InTx(ctx, func(tx cancuoc.Tx) error { return writeAll(ctx, tx, Citizen(pin)) }); err != nil {
		t.Fatal(err)
	}
	if c, v, e, a := visible(t, s, pin); !c || v != 1 || e != 1 || a != 1 {
		t.Errorf("after commit: citizen %v, %d versions, %d events, %d audit entries; want all, 1, 1, 1", c, v, e, a)
	}
}

// bulkVersions makes n first versions with distinct PINs from serial start.
func bulkVersions(start, n int) []*cancuoc.CitizenVersion {
	out := make([]*cancuoc.CitizenVersion, n)
	for i := range out {
		c := Citizen(PIN(start + i))
		c.Home.Commune = fmt.Sprintf("%05d", i%50)
		out[i] = FirstVersion(c)
	}
	return out
}

func testBulkInsert(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	const n = 5000
	vs := bulkVersions(100000, n)
	start := time.Now()
	if err := s.BulkInsert(ctx, vs, nil); err != nil {
		t.Fatalf("BulkInsert: %v", err)
	}
	t.Logf("BulkInsert of %d: %v", n, time.Since(start))

	// Every record is there: count them through search pages.
	count := 0
	q := cancuoc.CitizenQuery{Province: "01", Limit: 1000}
	for {
		rows, err := s.SearchCitizens(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		count += len(rows)
		if len(rows) < q.Limit {
			break
		}
		q.AfterKey, q.AfterPIN = rows[len(rows)-1].NameKey, rows[len(rows)-1].PIN
	}
	if count != n {
		t.Errorf("%d records readable, want %d", count, n)
	}
	for i := 0; i < n; i += 97 {
		want := vs[i]
		sameCitizen(t, "bulk record", mustGet(t, s, want.PIN), want.Citizen)
		h, err := s.Versions(ctx, want.PIN)
		if err != nil || len(h) != 1 {
			t.Fatalf("bulk history of %s: %d, %v", want.PIN, len(h), err)
		}
		sameVersion(t, "bulk history", h[0], want)
	}
	if evs, err := s.EventsAfter(ctx, 0, 10); err != nil || len(evs) != 0 {
		t.Errorf("BulkInsert wrote %d events (%v), want none", len(evs), err)
	}
	if err := s.BulkInsert(ctx, nil, nil); err != nil {
		t.Errorf("BulkInsert(nil): %v", err)
	}
}

// testBulkInsertEvent: a batch's event commits with the batch, and a batch
// that fails takes its event with it (a consumer that rebuilds on a load
// must never see the records without the event, nor the event without
// the records).
func testBulkInsertEvent(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	mustInsert(t, s, Citizen(PIN(500050)))
	loaded := func(id string) *cancuoc.Event {
		return &cancuoc.Event{ID: id, Type: cancuoc.EventCitizensLoaded, Actor: "console", At: T0,
			Data: json.RawMessage(`{"count":100}`)}
	}
	wantErr(t, "BulkInsert(existing PIN) with its event",
		s.BulkInsert(ctx, bulkVersions(500000, 100), loaded("load-failed")), cancuoc.Conflict, "")
	if err := s.BulkInsert(ctx, bulkVersions(600000, 100), loaded("load-ok")); err != nil {
		t.Fatalf("BulkInsert with its event: %v", err)
	}
	settle(t, s)
	evs, err := s.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range evs {
		if e.Type == cancuoc.EventCitizensLoaded {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) != 1 || ids[0] != "load-ok" {
		t.Errorf("load events after a failed and a good batch: %v, want [load-ok]", ids)
	}
	if _, err := s.Citizen(ctx, bulkVersions(600000, 1)[0].PIN); err != nil {
		t.Errorf("record of the good batch: %v", err)
	}
}

func testBulkInsertConflict(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	mustInsert(t, s, Citizen(PIN(200050)))

	// A PIN that exists, in the middle of the batch.
	batch := bulkVersions(200000, 100)
	wantErr(t, "BulkInsert(existing PIN)", s.BulkInsert(ctx, batch, nil), cancuoc.Conflict, "")
	// A PIN twice within the batch.
	twice := bulkVersions(300000, 100)
	twice = append(twice, bulkVersions(300042, 1)...)
	wantErr(t, "BulkInsert(repeated PIN)", s.BulkInsert(ctx, twice, nil), cancuoc.Conflict, "")

	for _, b := range [][]*cancuoc.CitizenVersion{batch, twice} {
		for _, v := range b {
			if v.PIN == PIN(200050) {
				continue
			}
			if _, err := s.Citizen(ctx, v.PIN); !errors.Is(err, cancuoc.ErrNotFound) {
				t.Fatalf("record %s of a failed batch: %v, want NotFound", v.PIN, err)
			}
			if h, err := s.Versions(ctx, v.PIN); err != nil || len(h) != 0 {
				t.Fatalf("history %s of a failed batch: %d, %v", v.PIN, len(h), err)
			}
		}
	}
	if h, err := s.Versions(ctx, PIN(200050)); err != nil || len(h) != 0 {
		t.Errorf("history of the existing PIN: %d, %v; want none", len(h), err)
	}
	// The store still takes a good batch.
	if err := s.BulkInsert(ctx, bulkVersions(400000, 10), nil); err != nil {
		t.Fatalf("BulkInsert after conflicts: %v", err)
	}
}

// testTxReadsCitizenWrites: inside a transaction a record read again gives
// what the transaction wrote since (a store may answer a read again from
// the transaction's copy), after a savepoint rolled back the record before
// it, and a copy changed by the caller changes nothing stored.
func testTxReadsCitizenWrites(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	c := Citizen(PIN(7))
	if err := s.InsertCitizen(ctx, c); err != nil {
		t.Fatal(err)
	}
	errItem := cancuoc.E(cancuoc.Conflict, "test", "item_failed", "x", "x")
	read := func(tx cancuoc.Tx, version int64, name, when string) *cancuoc.Citizen {
		t.Helper()
		r, err := tx.Citizen(ctx, c.PIN)
		if err != nil || r.Version != version || r.FullName != name {
			t.Fatalf("%s: %+v, %v; want version %d %q", when, r, err, version, name)
		}
		return r
	}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		r := read(tx, 1, c.FullName, "first read")
		r.FullName = "changed by the caller only"
		read(tx, 1, c.FullName, "after the caller changed its copy")
		n := c.Clone()
		n.Version, n.FullName = 2, "Nguyễn Văn Hai"
		if err := tx.UpdateCitizen(ctx, n, 1); err != nil {
			return err
		}
		read(tx, 2, n.FullName, "after an update")
		err := tx.Savepoint(ctx, func(tx cancuoc.Tx) error {
			read(tx, 2, n.FullName, "in a savepoint")
			m := n.Clone()
			m.Version, m.FullName = 3, "Nguyễn Văn Ba"
			if err := tx.UpdateCitizen(ctx, m, 2); err != nil {
				return err
			}
			read(tx, 3, m.FullName, "after an update in a savepoint")
			return errItem
		})
		if err != errItem {
			t.Errorf("savepoint: %v", err)
		}
		read(tx, 2, n.FullName, "after the savepoint rolled back")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Citizen(ctx, c.PIN); err != nil || r.Version != 2 || r.FullName != "Nguyễn Văn Hai" {
		t.Errorf("stored: %+v, %v", r, err)
	}
}

// testTxVersionOfOwnWrite: the history row of a version the transaction
// stored the record at (a store may send it with the next statement) is
// there after the commit, and a second one of that version is refused at
// once, the transaction going on.
func testTxVersionOfOwnWrite(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	c := Citizen(PIN(8))
	version := func(r *cancuoc.Citizen) *cancuoc.CitizenVersion {
		return &cancuoc.CitizenVersion{PIN: r.PIN, Version: r.Version, At: T0, Actor: "test", Reason: "test", Citizen: r}
	}
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertCitizen(ctx, c); err != nil {
			return err
		}
		if err := tx.AppendVersion(ctx, version(c)); err != nil {
			return err
		}
		n := c.Clone()
		n.Version, n.FullName = 2, "Nguyễn Văn Hai"
		if err := tx.UpdateCitizen(ctx, n, 1); err != nil {
			return err
		}
		if err := tx.AppendVersion(ctx, version(n)); err != nil {
			return err
		}
		if err := tx.AppendVersion(ctx, version(n)); cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("a second history row of version 2: %v, want Conflict", err)
		}
		_, err := tx.Citizen(ctx, c.PIN)
		return err
	})
	if err != nil {
		t.Fatalf("transaction: %v", err)
	}
	vs, err := s.Versions(ctx, c.PIN)
	if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || vs[1].Citizen.FullName != "Nguyễn Văn Hai" {
		t.Errorf("history: %d versions, %v", len(vs), err)
	}
}
