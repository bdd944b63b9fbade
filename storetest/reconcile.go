package storetest

import (
	"cmp"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunReconcile runs the conformance tests of the ReconcileStore (bulk
// reconciliation). open is as for Run.
func RunReconcile(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"MatchRecords", testMatchRecords},
		{"MatchCandidates", testMatchCandidates},
		{"ReconciliationJob", testReconciliationJob},
		{"MarkSeen", testMarkSeen},
		{"MarkSeenRollback", testMarkSeenRollback},
		{"ScanMatchRecords", testScanMatchRecords},
		{"MatchChanges", testMatchChanges},
		{"ScanCitizenDocs", testScanCitizenDocs},
		{"Retention", testReconcileRetention},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// matchFixture stores four people: a full record, two namesakes born the
// same day (one dead, with a partial stored date), and another name.
func matchFixture(t *testing.T, s cancuoc.Store) []*cancuoc.Citizen {
	t.Helper()
	full := Citizen(PIN(1)) // Nguyễn Văn Đức, 1990-05-17, Home 01/00004
	twin := Minimal(PIN(2), "Trần Văn Đức", "tran van duc")
	twin.BirthDate = cancuoc.Date{Year: 1990, Month: 5, Day: 17}
	twin.LifeStatus = cancuoc.Dead
	twin.Home = cancuoc.UnitRef{Province: "79"}
	partial := Minimal(PIN(3), "Lê Đức", "le duc") // born 1990, month and day unknown
	other := Minimal(PIN(4), "Phạm Thị Lan", "pham thi lan")
	other.BirthDate = cancuoc.Date{Year: 1990, Month: 5, Day: 17}
	all := []*cancuoc.Citizen{full, twin, partial, other}
	for _, c := range all {
		if err := s.InsertCitizen(t.Context(), c); err != nil {
			t.Fatalf("InsertCitizen: %v", err)
		}
	}
	return all
}

func testMatchRecords(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	all := matchFixture(t, s)
	unknown := PIN(999)
	got, err := s.MatchRecords(ctx, []cancuoc.PIN{all[0].PIN, unknown, all[1].PIN}, true)
	if err != nil {
		t.Fatalf("MatchRecords: %v", err)
	}
	slices.SortFunc(got, func(a, b cancuoc.MatchRecord) int { return cmp.Compare(string(a.PIN), string(b.PIN)) })
	if len(got) != 2 {
		t.Fatalf("MatchRecords returned %d records, want 2 (the unknown PIN is absent): %+v", len(got), got)
	}
	f := got[0]
	want := cancuoc.MatchRecord{PIN: all[0].PIN, FullName: "Nguyễn Văn Đức", NameKey: "nguyen van duc",
		BirthDate: cancuoc.Date{Year: 1990, Month: 5, Day: 17}, Sex: cancuoc.Male, LifeStatus: cancuoc.Alive,
		Home: cancuoc.UnitRef{Province: "01", Commune: "00004"}}
	cards := f.Cards
	f.Cards = nil
	if !equalMatch(f, want) {
		t.Errorf("MatchRecords = %+v, want %+v", f, want)
	}
	slices.Sort(cards)
	wantCards := []string{"001090000001", "012345678", string(all[0].PIN)}
	slices.Sort(wantCards)
	if !slices.Equal(cards, wantCards) {
		t.Errorf("cards = %v, want %v (every card number and the old ID)", cards, wantCards)
	}
	if got[1].LifeStatus != cancuoc.Dead || got[1].Home.Province != "79" || len(got[1].Cards) != 0 {
		t.Errorf("second record = %+v", got[1])
	}
	// Without cards the numbers are not read.
	got, err = s.MatchRecords(ctx, []cancuoc.PIN{all[0].PIN}, false)
	if err != nil || len(got) != 1 || len(got[0].Cards) != 0 || got[0].FullName != "Nguyễn Văn Đức" {
		t.Errorf("MatchRecords without cards = %+v, %v", got, err)
	}
	if got, err := s.MatchRecords(ctx, nil, false); err != nil || len(got) != 0 {
		t.Errorf("MatchRecords(nil) = %v, %v", got, err)
	}
}

func equalMatch(a, b cancuoc.MatchRecord) bool {
	return a.PIN == b.PIN && a.FullName == b.FullName && a.NameKey == b.NameKey && a.BirthDate == b.BirthDate &&
		a.Sex == b.Sex && a.LifeStatus == b.LifeStatus && a.Home == b.Home
}

func testMatchCandidates(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	all := matchFixture(t, s)
	day := cancuoc.Date{Year: 1990, Month: 5, Day: 17}
	probes := []cancuoc.MatchProbe{
		{Ref: 7, Date: day, Token: "duc"},                                 // last word: Nguyễn Văn Đức, Trần Văn Đức
		{Ref: 8, Date: cancuoc.Date{Year: 1990}, Token: "duc"},            // the stored partial date
		{Ref: 9, Date: day, Token: "pham", ByFirst: true},                 // first word
		{Ref: 10, Date: day, Token: "van"},                                // nobody's last word
		{Ref: 11, Date: cancuoc.Date{Year: 1991}, Token: "duc"},           // another year
		{Ref: 12, Date: cancuoc.Date{Year: 1990, Month: 5}, Token: "duc"}, // exact: stored day is known
	}
	got, err := s.MatchCandidates(ctx, probes, 0)
	if err != nil {
		t.Fatalf("MatchCandidates: %v", err)
	}
	found := map[int][]cancuoc.PIN{}
	for _, c := range got {
		found[c.Ref] = append(found[c.Ref], c.PIN)
		if c.Ref == 7 && c.PIN == all[0].PIN && (c.NameKey != "nguyen van duc" || c.BirthDate != day ||
			c.Home.Commune != "00004" || c.Sex != cancuoc.Male || c.LifeStatus != cancuoc.Alive) {
			t.Errorf("candidate columns: %+v", c)
		}
	}
	for _, ps := range found {
		slices.Sort(ps)
	}
	want := map[int][]cancuoc.PIN{7: {all[0].PIN, all[1].PIN}, 8: {all[2].PIN}, 9: {all[3].PIN}}
	for ref, w := range want {
		if !slices.Equal(found[ref], w) {
			t.Errorf("probe %d found %v, want %v", ref, found[ref], w)
		}
	}
	for _, ref := range []int{10, 11, 12} {
		if len(found[ref]) != 0 {
			t.Errorf("probe %d found %v, want none", ref, found[ref])
		}
	}
	// The limit bounds the rows of each probe.
	got, err = s.MatchCandidates(ctx, probes[:1], 1)
	if err != nil || len(got) != 1 {
		t.Errorf("MatchCandidates limit 1 = %d rows, %v", len(got), err)
	}
}

func testReconciliationJob(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	r := &cancuoc.Reconciliation{ID: "rc-1", Owner: "bank-1", Input: "/data/in.csv", Report: "/data/out.csv",
		InputHash: "abc", InputSize: 1234, Format: "csv", ReportFmt: "jsonl", Reveal: []string{"full_name"},
		Status: cancuoc.ReconRunning, Counts: map[string]int64{}, CreatedAt: T0, UpdatedAt: T0}
	if err := s.CreateReconciliation(ctx, r); err != nil {
		t.Fatalf("CreateReconciliation: %v", err)
	}
	if err := s.CreateReconciliation(ctx, r); cancuoc.KindOf(err) != cancuoc.Conflict {
		t.Errorf("second CreateReconciliation: %v, want Conflict", err)
	}
	if _, err := s.Reconciliation(ctx, "rc-none"); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("Reconciliation(unknown): %v, want NotFound", err)
	}
	r.Status, r.Offset, r.Line, r.ReportSize = cancuoc.ReconDone, 1234, 42, 999
	r.Counts = map[string]int64{"matched": 40, "pin_unknown": 1}
	r.Error, r.UpdatedAt = "", T0.Add(time.Minute)
	if err := s.CheckpointReconciliation(ctx, r); err != nil {
		t.Fatalf("CheckpointReconciliation: %v", err)
	}
	got, err := s.Reconciliation(ctx, "rc-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner != "bank-1" || got.Input != r.Input || got.Report != r.Report || got.InputHash != "abc" ||
		got.InputSize != 1234 || got.Format != "csv" || got.ReportFmt != "jsonl" || !slices.Equal(got.Reveal, r.Reveal) ||
		got.Status != cancuoc.ReconDone || got.Offset != 1234 || got.Line != 42 || got.ReportSize != 999 ||
		got.Counts["matched"] != 40 || got.Counts["pin_unknown"] != 1 || len(got.Counts) != 2 ||
		!got.CreatedAt.Equal(T0) || !got.UpdatedAt.Equal(T0.Add(time.Minute)) {
		t.Errorf("Reconciliation = %+v, want %+v", got, r)
	}
	// Only running jobs are listed, oldest first.
	r2 := &cancuoc.Reconciliation{ID: "rc-2", Owner: "bank-2", Input: "i", Report: "o", Format: "jsonl", ReportFmt: "csv",
		Status: cancuoc.ReconRunning, CreatedAt: T0.Add(time.Second), UpdatedAt: T0.Add(time.Second)}
	r0 := &cancuoc.Reconciliation{ID: "rc-0", Owner: "bank-2", Input: "i", Report: "o", Format: "csv", ReportFmt: "csv",
		Status: cancuoc.ReconRunning, CreatedAt: T0.Add(-time.Second), UpdatedAt: T0, Counts: map[string]int64{"matched": 3}}
	for _, j := range []*cancuoc.Reconciliation{r2, r0} {
		if err := s.CreateReconciliation(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	running, err := s.RunningReconciliations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(running) != 2 || running[0].ID != "rc-0" || running[1].ID != "rc-2" || running[0].Counts["matched"] != 3 ||
		running[1].Format != "jsonl" || !running[0].CreatedAt.Equal(T0.Add(-time.Second)) {
		t.Errorf("RunningReconciliations = %+v", running)
	}
	if err := s.CheckpointReconciliation(ctx, &cancuoc.Reconciliation{ID: "rc-none"}); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("CheckpointReconciliation(unknown): %v, want NotFound", err)
	}
}

func testMarkSeen(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	dups, err := s.MarkSeen(ctx, "j1", []cancuoc.SeenKey{{Hash: 1, Line: 2}, {Hash: -5, Line: 3}, {Hash: 1, Line: 4}})
	if err != nil {
		t.Fatalf("MarkSeen: %v", err)
	}
	if !slices.Equal(dups, []cancuoc.SeenKey{{Hash: 1, Line: 2}}) {
		t.Errorf("repeat inside a call: dups %v, want [{1 2}]", dups)
	}
	dups, err = s.MarkSeen(ctx, "j1", []cancuoc.SeenKey{{Hash: -5, Line: 10}, {Hash: 6, Line: 11}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dups, []cancuoc.SeenKey{{Hash: -5, Line: 3}}) {
		t.Errorf("repeat across calls: dups %v, want [{-5 3}]", dups)
	}
	// Jobs do not share keys.
	if dups, err := s.MarkSeen(ctx, "j2", []cancuoc.SeenKey{{Hash: 1, Line: 1}}); err != nil || len(dups) != 0 {
		t.Errorf("another job: dups %v, %v", dups, err)
	}
}

func testMarkSeenRollback(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if _, err := tx.MarkSeen(ctx, "j", []cancuoc.SeenKey{{Hash: 9, Line: 1}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx: %v", err)
	}
	if dups, err := s.MarkSeen(ctx, "j", []cancuoc.SeenKey{{Hash: 9, Line: 5}}); err != nil || len(dups) != 0 {
		t.Errorf("after rollback: dups %v, %v; the rolled-back key must be gone", dups, err)
	}
}

// testScanMatchRecords scans the fixture in batches smaller than it and
// compares every record with what MatchRecords says of its PIN.
func testScanMatchRecords(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	all := matchFixture(t, s)
	before := time.Now()
	var got []cancuoc.MatchRecord
	calls := 0
	snap, err := s.ScanMatchRecords(ctx, 3, func(b []cancuoc.MatchRecord) error {
		calls++
		if len(b) > 3 {
			t.Errorf("batch of %d, want at most 3", len(b))
		}
		got = append(got, b...)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanMatchRecords: %v", err)
	}
	if at := snap.At; at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("snapshot time %v, want about %v", at, before)
	}
	if len(got) != len(all) || calls != 2 {
		t.Fatalf("scan returned %d records in %d batches, want %d in 2", len(got), calls, len(all))
	}
	pins := make([]cancuoc.PIN, len(all))
	for i, c := range all {
		pins[i] = c.PIN
	}
	want, err := s.MatchRecords(ctx, pins, false)
	if err != nil {
		t.Fatal(err)
	}
	byPIN := func(a, b cancuoc.MatchRecord) int { return cmp.Compare(string(a.PIN), string(b.PIN)) }
	slices.SortFunc(got, byPIN)
	slices.SortFunc(want, byPIN)
	for i := range want {
		if !equalMatch(got[i], want[i]) || len(got[i].Cards) != 0 {
			t.Errorf("scanned %+v, MatchRecords says %+v", got[i], want[i])
		}
	}
	// The callback's error stops the scan and comes back as is.
	stop := errors.New("stop")
	n := 0
	if _, err := s.ScanMatchRecords(ctx, 1, func([]cancuoc.MatchRecord) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("scan with a failing callback: %v after %d calls, want stop after 1", err, n)
	}
}

// testMatchChanges: after a scan, the citizens changed in the same
// transaction as their event (sequenced or not yet) come back with their
// new columns, a new citizen too, and nothing else; a bulk import's event
// or more citizens than the limit ask for a rescan; the snapshot's Seq
// moves past the events read.
func testMatchChanges(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	all := matchFixture(t, s)
	cr, ok := s.(cancuoc.MatchChangeReader)
	if !ok {
		t.Fatal("the store does not read match changes (cancuoc.MatchChangeReader)")
	}
	snap, err := s.ScanMatchRecords(ctx, 100, func([]cancuoc.MatchRecord) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	ch, err := cr.MatchChanges(ctx, snap.Seq, 10)
	if err != nil || ch.Rescan || len(ch.Records)+len(ch.Gone) != 0 || ch.Seq != snap.Seq {
		t.Fatalf("no change: %+v, %v; want nothing at Seq %d", ch, err, snap.Seq)
	}
	// A rename and a new citizen, each committed with its event, as the
	// registry writes them.
	renamed := all[1].Clone()
	renamed.Version++
	renamed.FullName, renamed.NameKey = "Trần Văn Được", "tran van duoc"
	born := Minimal(PIN(77), "Vũ Thị Hoa", "vu thi hoa")
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.UpdateCitizen(ctx, renamed, all[1].Version); err != nil {
			return err
		}
		if err := tx.InsertCitizen(ctx, born); err != nil {
			return err
		}
		for i, c := range []*cancuoc.Citizen{renamed, born} {
			if err := tx.AppendEvent(ctx, &cancuoc.Event{ID: "ev-change-" + string(rune('a'+i)), Type: cancuoc.EventCitizenUpdated,
				PIN: c.PIN, Version: c.Version, Actor: "test", At: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ch, err = cr.MatchChanges(ctx, snap.Seq, 10)
	if err != nil || ch.Rescan || len(ch.Gone) != 0 {
		t.Fatalf("after a change: %+v, %v", ch, err)
	}
	want, err := s.MatchRecords(ctx, []cancuoc.PIN{renamed.PIN, born.PIN}, false)
	if err != nil {
		t.Fatal(err)
	}
	byPIN := func(a, b cancuoc.MatchRecord) int { return cmp.Compare(a.PIN, b.PIN) }
	slices.SortFunc(want, byPIN)
	slices.SortFunc(ch.Records, byPIN)
	if len(ch.Records) != 2 || !equalMatch(ch.Records[0], want[0]) || !equalMatch(ch.Records[1], want[1]) ||
		ch.Records[0].FullName != "Trần Văn Được" {
		t.Errorf("changed records %+v, want %+v", ch.Records, want)
	}
	if ch.At.Before(snap.At) || ch.Seq < snap.Seq {
		t.Errorf("changes read at %v Seq %d, before the scan's %v Seq %d", ch.At, ch.Seq, snap.At, snap.Seq)
	}
	// An event naming a PIN without a record says it is gone.
	if err := s.AppendEvent(ctx, &cancuoc.Event{ID: "ev-gone", Type: cancuoc.EventCitizenUpdated, PIN: PIN(78),
		Actor: "test", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if ch, err = cr.MatchChanges(ctx, snap.Seq, 10); err != nil || ch.Rescan || len(ch.Records) != 2 ||
		!slices.Equal(ch.Gone, []cancuoc.PIN{PIN(78)}) {
		t.Errorf("with a PIN without a record: %+v, %v", ch, err)
	}
	// More citizens than the limit: rescan.
	if ch, err = cr.MatchChanges(ctx, snap.Seq, 2); err != nil || !ch.Rescan || len(ch.Records) != 0 {
		t.Errorf("over the limit: %+v, %v; want a rescan", ch, err)
	}
	// A bulk import names nobody: rescan.
	if err := s.AppendEvent(ctx, &cancuoc.Event{ID: "ev-bulk", Type: cancuoc.EventCitizensLoaded, Actor: "test",
		At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if ch, err = cr.MatchChanges(ctx, snap.Seq, 10); err != nil || !ch.Rescan {
		t.Errorf("after a bulk import: %+v, %v; want a rescan", ch, err)
	}
}

// testScanCitizenDocs scans the fixture in batches smaller than it: every
// document is the one CitizenDoc returns, and the snapshot's Seq lies
// between the highest event seen before the scan and after it.
func testScanCitizenDocs(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	all := matchFixture(t, s)
	if err := s.AppendEvent(ctx, &cancuoc.Event{ID: "ev-scan", Type: cancuoc.EventCitizenUpdated, PIN: all[0].PIN,
		Version: 1, Actor: "test", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	lastSeq := func() int64 {
		evs, err := s.EventsAfter(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return 0
		}
		return evs[len(evs)-1].Seq
	}
	lo := lastSeq()
	got := map[cancuoc.PIN]cancuoc.CitizenDoc{}
	calls := 0
	seq, err := s.ScanCitizenDocs(ctx, 3, func(b []cancuoc.CitizenDoc) error {
		calls++
		if len(b) > 3 {
			t.Errorf("batch of %d, want at most 3", len(b))
		}
		for _, d := range b {
			d.JSON = slices.Clone(d.JSON)
			got[d.PIN] = d
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ScanCitizenDocs: %v", err)
	}
	if hi := lastSeq(); seq < lo || seq > hi {
		t.Errorf("snapshot Seq %d, want between %d and %d", seq, lo, hi)
	}
	if len(got) != len(all) || calls != 2 {
		t.Fatalf("scan returned %d records in %d batches, want %d in 2", len(got), calls, len(all))
	}
	for _, c := range all {
		want, err := s.CitizenDoc(ctx, c.PIN)
		if err != nil {
			t.Fatal(err)
		}
		g := got[c.PIN]
		if g.Version != want.Version || g.Home != want.Home || string(g.JSON) != string(want.JSON) {
			t.Errorf("scanned %s: version %d home %v doc %s; CitizenDoc says %d %v %s", c.PIN, g.Version, g.Home,
				g.JSON, want.Version, want.Home, want.JSON)
		}
	}
	stop := errors.New("stop")
	n := 0
	if _, err := s.ScanCitizenDocs(ctx, 1, func([]cancuoc.CitizenDoc) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("scan with a failing callback: %v after %d calls, want stop after 1", err, n)
	}
}

// testReconcileRetention lists finished jobs by age and forgets a job's
// seen keys.
func testReconcileRetention(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	mk := func(id, status string, updated time.Time) {
		j := &cancuoc.Reconciliation{ID: id, Owner: "bank", Input: "i", Report: "o", Format: "csv", ReportFmt: "csv",
			Status: status, Counts: map[string]int64{}, CreatedAt: T0, UpdatedAt: updated}
		if err := s.CreateReconciliation(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	mk("rc-old-done", cancuoc.ReconDone, T0)
	mk("rc-old-failed", cancuoc.ReconFailed, T0.Add(time.Minute))
	mk("rc-old-running", cancuoc.ReconRunning, T0)
	mk("rc-old-expired", cancuoc.ReconExpired, T0)
	mk("rc-new-done", cancuoc.ReconDone, T0.Add(time.Hour))
	got, err := s.FinishedReconciliations(ctx, T0.Add(30*time.Minute), 0)
	if err != nil {
		t.Fatalf("FinishedReconciliations: %v", err)
	}
	var ids []string
	for _, j := range got {
		ids = append(ids, j.ID)
	}
	if !slices.Equal(ids, []string{"rc-old-done", "rc-old-failed"}) {
		t.Errorf("FinishedReconciliations = %v, want the old done and failed jobs, oldest first", ids)
	}
	if got, err := s.FinishedReconciliations(ctx, T0.Add(2*time.Hour), 1); err != nil || len(got) != 1 || got[0].ID != "rc-old-done" {
		t.Errorf("FinishedReconciliations limit 1 = %v, %v", got, err)
	}
	keys := []cancuoc.SeenKey{{Hash: 1, Line: 2}, {Hash: 2, Line: 3}}
	if _, err := s.MarkSeen(ctx, "rc-old-done", keys); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkSeen(ctx, "rc-new-done", keys); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetSeen(ctx, "rc-old-done"); err != nil {
		t.Fatalf("ForgetSeen: %v", err)
	}
	if err := s.ForgetSeen(ctx, "rc-none"); err != nil {
		t.Errorf("ForgetSeen of a job without keys: %v", err)
	}
	if dups, err := s.MarkSeen(ctx, "rc-old-done", keys); err != nil || len(dups) != 0 {
		t.Errorf("after ForgetSeen the keys are still seen: %v, %v", dups, err)
	}
	if dups, err := s.MarkSeen(ctx, "rc-new-done", keys); err != nil || len(dups) != 2 {
		t.Errorf("another job's keys were forgotten: %v, %v", dups, err)
	}
}
