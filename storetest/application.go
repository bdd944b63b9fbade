package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

func app(id string, kind cancuoc.ApplicationKind, pin cancuoc.PIN, unit cancuoc.UnitRef, due time.Time) *cancuoc.Application {
	return &cancuoc.Application{ID: id, Version: 1, Kind: kind, Status: cancuoc.AppSubmitted, PIN: pin, FiledBy: pin,
		FiledAccount: "acc-" + string(pin), Unit: unit, Payload: json.RawMessage(`{"note":"Tôi cần mức 2"}`),
		FiledAt: T0, Due: due, UpdatedAt: T0}
}

// RunApplications checks the applications store: round trip, duplicates,
// versioned updates (one of racing decisions wins), the queue's filters,
// order and paging, the citizen's list, and the counts.
func RunApplications(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	t.Run("Applications", func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		baDinh := cancuoc.UnitRef{Province: "01", Commune: "00004"}
		hoanKiem := cancuoc.UnitRef{Province: "01", Commune: "00070"}
		hcm := cancuoc.UnitRef{Province: "79", Commune: "26734"}
		day := 24 * time.Hour
		a1 := app("ap-1", cancuoc.AppTemporaryResidence, PIN(1), baDinh, T0.Add(3*day))
		a2 := app("ap-2", cancuoc.AppCorrection, PIN(2), baDinh, T0.Add(1*day))
		a3 := app("ap-3", cancuoc.AppEIDLevel2, PIN(3), hoanKiem, T0.Add(2*day))
		a4 := app("ap-4", cancuoc.AppTemporaryResidence, PIN(4), hcm, T0.Add(5*day))
		a4.FiledBy = PIN(1) // a parent filing for a child
		for _, a := range []*cancuoc.Application{a1, a2, a3, a4} {
			if err := s.InsertApplication(ctx, a); err != nil {
				t.Fatalf("insert %s: %v", a.ID, err)
			}
		}
		wantErr(t, "duplicate", s.InsertApplication(ctx, app("ap-1", cancuoc.AppCorrection, PIN(9), hcm, T0)), cancuoc.Conflict, "duplicate")
		_, err := s.Application(ctx, "ap-none")
		wantErr(t, "missing", err, cancuoc.NotFound, "application_not_found")

		got, err := s.Application(ctx, "ap-4")
		if err != nil {
			t.Fatal(err)
		}
		if !got.FiledAt.Equal(T0) || !got.Due.Equal(a4.Due) || got.FiledBy != PIN(1) || got.Unit != hcm ||
			string(got.Payload) != string(a4.Payload) || got.Version != 1 || got.Status != cancuoc.AppSubmitted {
			t.Errorf("round trip: %+v", got)
		}

		ids := func(what string, q cancuoc.ApplicationQuery, want ...string) {
			t.Helper()
			list, err := s.Applications(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			var out []string
			for _, a := range list {
				out = append(out, a.ID)
			}
			if fmt.Sprint(out) != fmt.Sprint(want) {
				t.Errorf("%s: %v, want %v", what, out, want)
			}
		}
		ids("national, by due", cancuoc.ApplicationQuery{}, "ap-2", "ap-3", "ap-1", "ap-4")
		ids("province", cancuoc.ApplicationQuery{Province: "01"}, "ap-2", "ap-3", "ap-1")
		ids("commune", cancuoc.ApplicationQuery{Province: "01", Commune: "00004"}, "ap-2", "ap-1")
		ids("kind", cancuoc.ApplicationQuery{Kinds: []cancuoc.ApplicationKind{cancuoc.AppTemporaryResidence}}, "ap-1", "ap-4")
		ids("overdue", cancuoc.ApplicationQuery{DueBefore: T0.Add(2*day + time.Second)}, "ap-2", "ap-3")
		ids("person (subject or filer)", cancuoc.ApplicationQuery{Person: PIN(1)}, "ap-1", "ap-4")
		ids("page 1", cancuoc.ApplicationQuery{Limit: 2}, "ap-2", "ap-3")
		ids("page 2", cancuoc.ApplicationQuery{Limit: 2, AfterDue: a3.Due, AfterID: "ap-3"}, "ap-1", "ap-4")

		// A decision at the version read; a second one from the same read
		// is refused.
		dec := *got
		at := T0.Add(time.Hour)
		dec.Version, dec.Status, dec.DecidedBy, dec.DecidedAt, dec.Reason, dec.UpdatedAt = 2, cancuoc.AppApproved, "officer-1", &at, "Đủ hồ sơ", at
		if err := s.UpdateApplication(ctx, &dec, 1); err != nil {
			t.Fatal(err)
		}
		again := *got
		again.Version, again.Status = 2, cancuoc.AppRejected
		wantErr(t, "stale decision", s.UpdateApplication(ctx, &again, 1), cancuoc.Conflict, "stale_version")
		missing := again
		missing.ID = "ap-none"
		wantErr(t, "update of a missing one", s.UpdateApplication(ctx, &missing, 1), cancuoc.NotFound, "application_not_found")
		got, _ = s.Application(ctx, "ap-4")
		if got.Status != cancuoc.AppApproved || got.Version != 2 || got.DecidedAt == nil || !got.DecidedAt.Equal(at) {
			t.Errorf("after the decision: %+v", got)
		}
		ids("submitted only", cancuoc.ApplicationQuery{Statuses: []cancuoc.ApplicationStatus{cancuoc.AppSubmitted}}, "ap-2", "ap-3", "ap-1")

		// Racing decisions in transactions: exactly one commits.
		errs := race(func(i int) error {
			return s.InTx(ctx, func(tx cancuoc.Tx) error {
				cur, err := tx.Application(ctx, "ap-1")
				if err != nil {
					return err
				}
				if cur.Version != 1 {
					return cancuoc.E(cancuoc.Conflict, "test", "stale_version", "", "")
				}
				n := *cur
				n.Version, n.Status, n.Reason = 2, cancuoc.AppRejected, fmt.Sprint("worker ", i)
				return tx.UpdateApplication(ctx, &n, 1)
			})
		})
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else {
				wantErr(t, "losing decision", err, cancuoc.Conflict, "")
			}
		}
		if wins != 1 {
			t.Errorf("%d racing decisions won, want 1", wins)
		}

		// Counts at T0 + 2 days: ap-2 (due T0+1d) is overdue; ap-3 is due
		// later that day... at T0+2d+1s it is too.
		counts, err := s.CountApplications(ctx, "", T0.Add(2*day+time.Second))
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string]cancuoc.ApplicationCount{}
		for _, c := range counts {
			byKey[string(c.Kind)+"/"+c.Province+"/"+c.Commune] = c
		}
		want := map[string]cancuoc.ApplicationCount{
			"temporary_residence/01/": {Kind: cancuoc.AppTemporaryResidence, Province: "01", Received: 1, Rejected: 1},
			"correction/01/":          {Kind: cancuoc.AppCorrection, Province: "01", Received: 1, Overdue: 1},
			"eid_level2/01/":          {Kind: cancuoc.AppEIDLevel2, Province: "01", Received: 1, Overdue: 1},
			"temporary_residence/79/": {Kind: cancuoc.AppTemporaryResidence, Province: "79", Received: 1, Approved: 1},
		}
		if fmt.Sprint(byKey) != fmt.Sprint(want) {
			t.Errorf("national counts:\n got %v\nwant %v", byKey, want)
		}
		counts, err = s.CountApplications(ctx, "01", T0)
		if err != nil {
			t.Fatal(err)
		}
		communes := map[string]int64{}
		for _, c := range counts {
			communes[c.Commune] += c.Received
			if c.Province != "01" || c.Overdue != 0 {
				t.Errorf("province count: %+v", c)
			}
		}
		if communes["00004"] != 2 || communes["00070"] != 1 || len(communes) != 2 {
			t.Errorf("by commune: %v", communes)
		}
	})
}
