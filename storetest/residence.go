package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
)

// RunResidence runs the conformance tests of the ResidenceStore. open is
// as for Run.
func RunResidence(t *testing.T, open func(t *testing.T) cancuoc.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cancuoc.Store)
	}{
		{"HouseholdRoundTrip", testHouseholdRoundTrip},
		{"HouseholdVersion", testHouseholdVersion},
		{"ResidenceHistory", testResidenceHistory},
		{"TemporaryEnding", testTemporaryEnding},
		{"Stays", testStays},
		{"ResidenceTxRollback", testResidenceTxRollback},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// tU is T0 in UTC: residence values keep their times inside JSON, so the
// fixtures use the form the capability writes (UTC, microseconds).
var tU = T0.UTC()

func household(id string, head cancuoc.PIN) *cancuoc.Household {
	until := tU.Add(time.Hour)
	return &cancuoc.Household{ID: id, Version: 1,
		Address: cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: "00004", Detail: "số 5 ngõ Trúc Lạc"},
		HeadPIN: head, CreatedAt: tU, UpdatedAt: tU,
		Members: []cancuoc.HouseholdMember{
			{PIN: head, Name: "Nguyễn Văn Đức", Relation: cancuoc.RelationHead, Since: tU, EntryID: "re_1"},
			{PIN: PIN(2), Name: "Trần Thị Hoa", Relation: "vợ", Since: tU, Until: &until, EntryID: "re_2",
				Consent: &cancuoc.HeadConsent{By: head, At: tU, Method: "written"}},
		}}
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func wantKind(t *testing.T, what string, err error, kind cancuoc.Kind) {
	t.Helper()
	if cancuoc.KindOf(err) != kind || err == nil {
		t.Fatalf("%s: %v, want %s", what, err, kind)
	}
}

func testHouseholdRoundTrip(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	h := household("hh_a", PIN(1))
	if err := s.InsertHousehold(ctx, h); err != nil {
		t.Fatal(err)
	}
	got, err := s.Household(ctx, "hh_a")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "household", got, h)
	wantKind(t, "insert twice", s.InsertHousehold(ctx, household("hh_a", PIN(3))), cancuoc.Conflict)
	_, err = s.Household(ctx, "hh_none")
	wantKind(t, "unknown household", err, cancuoc.NotFound)
}

func testHouseholdVersion(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	h := household("hh_v", PIN(1))
	if err := s.InsertHousehold(ctx, h); err != nil {
		t.Fatal(err)
	}
	n := h.Clone()
	n.Version, n.HeadPIN = 2, PIN(2)
	if err := s.UpdateHousehold(ctx, n, 1); err != nil {
		t.Fatal(err)
	}
	stale := h.Clone()
	stale.Version = 2
	wantKind(t, "stale update", s.UpdateHousehold(ctx, stale, 1), cancuoc.Conflict)
	got, _ := s.Household(ctx, "hh_v")
	same(t, "after update", got, n)
	unknown := household("hh_x", PIN(1))
	unknown.Version = 2
	wantKind(t, "update unknown", s.UpdateHousehold(ctx, unknown, 1), cancuoc.NotFound)
}

func testResidenceHistory(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	var want []*cancuoc.ResidenceEntry
	for i, k := range []cancuoc.ResidenceKind{cancuoc.ResidencePermanent, cancuoc.ResidenceTemporary, cancuoc.ResidenceDeregistered} {
		e := &cancuoc.ResidenceEntry{ID: "re_" + string(rune('c'-i)), PIN: PIN(1), Kind: k,
			Place: &cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: "00004"}, Unit: cancuoc.UnitRef{Province: "01", Commune: "00004"},
			From: cancuoc.Date{Year: 2025, Month: 7, Day: 1 + i}, Actor: "p_1", Reason: "r", LegalBasis: "l",
			At: tU.Add(time.Duration(i) * time.Minute), Cause: map[bool]string{true: "death"}[k == cancuoc.ResidenceDeregistered]}
		if err := s.AppendResidence(ctx, e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	// Entries of one instant (one decision) keep the order they were written in.
	for _, id := range []string{"re_y", "re_b0", "re_x"} {
		e := &cancuoc.ResidenceEntry{ID: id, PIN: PIN(1), Kind: cancuoc.ResidenceLeft, At: tU.Add(time.Hour)}
		if err := s.AppendResidence(ctx, e); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	other := &cancuoc.ResidenceEntry{ID: "re_z", PIN: PIN(2), Kind: cancuoc.ResidenceAbsence, At: tU}
	if err := s.AppendResidence(ctx, other); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "same ID twice", s.AppendResidence(ctx, other), cancuoc.Conflict)
	got, err := s.ResidenceHistory(ctx, PIN(1))
	if err != nil {
		t.Fatal(err)
	}
	same(t, "history (oldest first, then as written, whatever the IDs)", got, want)
	if got, err := s.ResidenceHistory(ctx, PIN(9)); err != nil || len(got) != 0 || got == nil {
		t.Errorf("history of nobody = %#v, %v; want an empty list", got, err)
	}
}

func tempReg(n int, prov, com string, until cancuoc.Date) *cancuoc.TemporaryRegistration {
	return &cancuoc.TemporaryRegistration{PIN: PIN(n), EntryID: "re_t", Unit: cancuoc.UnitRef{Province: prov, Commune: com},
		Place: cancuoc.Place{Era: cancuoc.Era34, Province: prov, Commune: com}, From: cancuoc.Date{Year: 2025, Month: 1, Day: 1},
		Until: until, At: tU}
}

func testTemporaryEnding(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	d := func(m, day int) cancuoc.Date { return cancuoc.Date{Year: 2026, Month: m, Day: day} }
	regs := []*cancuoc.TemporaryRegistration{
		tempReg(1, "01", "00004", d(3, 1)), tempReg(2, "01", "00004", d(1, 15)), tempReg(3, "01", "00008", d(2, 1)),
		tempReg(4, "96", "31825", d(1, 1)), tempReg(5, "01", "00004", d(12, 31)), tempReg(6, "01", "00004", d(1, 15)),
	}
	for _, r := range regs {
		if err := s.PutTemporary(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// Replacing: person 5's registration now ends early.
	moved := tempReg(5, "01", "00004", d(1, 20))
	if err := s.PutTemporary(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Temporary(ctx, PIN(5)); err != nil || !reflect.DeepEqual(got, moved) {
		t.Errorf("Temporary after replace = %+v, %v", got, err)
	}
	pins := func(rs []*cancuoc.TemporaryRegistration) []cancuoc.PIN {
		out := []cancuoc.PIN{}
		for _, r := range rs {
			out = append(out, r.PIN)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    cancuoc.TemporaryQuery
		want []cancuoc.PIN
	}{
		{"commune", cancuoc.TemporaryQuery{Province: "01", Commune: "00004", Until: d(3, 1)}, []cancuoc.PIN{PIN(2), PIN(6), PIN(5), PIN(1)}},
		{"province", cancuoc.TemporaryQuery{Province: "01", Until: d(2, 1)}, []cancuoc.PIN{PIN(2), PIN(6), PIN(5), PIN(3)}},
		{"nation", cancuoc.TemporaryQuery{Until: d(1, 15)}, []cancuoc.PIN{PIN(4), PIN(2), PIN(6)}},
		{"page", cancuoc.TemporaryQuery{Until: d(12, 31), Limit: 2}, []cancuoc.PIN{PIN(4), PIN(2)}},
		{"next page", cancuoc.TemporaryQuery{Until: d(12, 31), AfterUntil: d(1, 15), AfterPIN: PIN(2), Limit: 2}, []cancuoc.PIN{PIN(6), PIN(5)}},
		{"none", cancuoc.TemporaryQuery{Province: "01", Until: d(1, 1)}, []cancuoc.PIN{}},
	} {
		got, err := s.TemporaryEnding(ctx, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		same(t, tc.name, pins(got), tc.want)
	}
	if err := s.DeleteTemporary(ctx, PIN(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTemporary(ctx, PIN(2)); err != nil {
		t.Fatalf("deleting nothing: %v", err)
	}
	_, err := s.Temporary(ctx, PIN(2))
	wantKind(t, "deleted registration", err, cancuoc.NotFound)
}

func stay(id, reporter, ref, com string, arrival time.Time, onTime bool) *cancuoc.StayNotification {
	return &cancuoc.StayNotification{ID: id, Reporter: reporter, Reference: ref, Host: "Khách sạn Hồ Tây",
		Place: cancuoc.Place{Era: cancuoc.Era34, Province: "01", Commune: com}, Unit: cancuoc.UnitRef{Province: "01", Commune: com},
		Guests:  []cancuoc.StayGuest{{PIN: PIN(1)}, {Name: "John Smith", Document: "P1234567"}},
		Arrival: arrival, Departure: cancuoc.Date{Year: 2025, Month: 7, Day: 3}, NotifiedAt: arrival.Add(time.Hour),
		Deadline: arrival.Add(2 * time.Hour), OnTime: onTime, LateBy: map[bool]int64{false: 60}[onTime]}
}

func testStays(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	h := func(n int) time.Time { return tU.Add(time.Duration(n) * time.Hour) }
	all := []*cancuoc.StayNotification{
		stay("st_1", "p_hotel", "R1", "00004", h(0), true), stay("st_2", "p_hotel", "", "00004", h(1), false),
		stay("st_3", "p_hotel", "", "00004", h(1), true), stay("st_4", "p_other", "R1", "00008", h(2), false),
		stay("st_5", "p_hotel", "R5", "00004", h(30), true),
	}
	for _, n := range all {
		if err := s.InsertStay(ctx, n); err != nil {
			t.Fatalf("InsertStay %s: %v", n.ID, err)
		}
	}
	var ce *cancuoc.Error
	err := s.InsertStay(ctx, stay("st_6", "p_hotel", "R1", "00004", h(3), true))
	if !errors.As(err, &ce) || ce.Kind != cancuoc.Conflict || ce.Code != "duplicate" {
		t.Fatalf("repeated reference: %v, want Conflict duplicate", err)
	}
	if got, err := s.StayByReference(ctx, "p_hotel", "R1"); err != nil || !reflect.DeepEqual(got, all[0]) {
		t.Errorf("StayByReference = %+v, %v", got, err)
	}
	_, err = s.StayByReference(ctx, "p_hotel", "R9")
	wantKind(t, "unknown reference", err, cancuoc.NotFound)
	ids := func(ns []*cancuoc.StayNotification) []string {
		out := []string{}
		for _, n := range ns {
			out = append(out, n.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    cancuoc.StayQuery
		want []string
	}{
		{"commune, newest first", cancuoc.StayQuery{Province: "01", Commune: "00004", From: h(0), To: h(24)}, []string{"st_3", "st_2", "st_1"}},
		{"province", cancuoc.StayQuery{Province: "01", From: h(0), To: h(48)}, []string{"st_5", "st_4", "st_3", "st_2", "st_1"}},
		{"late only", cancuoc.StayQuery{From: h(0), To: h(48), Late: true}, []string{"st_4", "st_2"}},
		{"period is half-open", cancuoc.StayQuery{From: h(1), To: h(2)}, []string{"st_3", "st_2"}},
		{"page", cancuoc.StayQuery{From: h(0), To: h(48), Limit: 2}, []string{"st_5", "st_4"}},
		{"next page", cancuoc.StayQuery{From: h(0), To: h(48), Limit: 2, AfterArrival: h(1), AfterID: "st_3"}, []string{"st_2", "st_1"}},
	} {
		got, err := s.Stays(ctx, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		same(t, tc.name, ids(got), tc.want)
	}
}

// testResidenceTxRollback checks residence writes roll back with their
// transaction, and a duplicate stay leaves the transaction usable.
func testResidenceTxRollback(t *testing.T, s cancuoc.Store) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertHousehold(ctx, household("hh_r", PIN(1))); err != nil {
			return err
		}
		if err := tx.AppendResidence(ctx, &cancuoc.ResidenceEntry{ID: "re_r", PIN: PIN(1), Kind: cancuoc.ResidencePermanent, At: tU}); err != nil {
			return err
		}
		if err := tx.PutTemporary(ctx, tempReg(1, "01", "00004", cancuoc.Date{Year: 2026, Month: 1, Day: 1})); err != nil {
			return err
		}
		if err := tx.InsertStay(ctx, stay("st_r", "p", "X", "00004", tU, true)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if _, err := s.Household(ctx, "hh_r"); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("household survived rollback: %v", err)
	}
	if h, _ := s.ResidenceHistory(ctx, PIN(1)); len(h) != 0 {
		t.Errorf("entry survived rollback")
	}
	if _, err := s.Temporary(ctx, PIN(1)); cancuoc.KindOf(err) != cancuoc.NotFound {
		t.Errorf("temporary registration survived rollback: %v", err)
	}
	if err := s.InsertStay(ctx, stay("st_a", "p", "X", "00004", tU, true)); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertStay(ctx, stay("st_b", "p", "X", "00004", tU, true)); cancuoc.KindOf(err) != cancuoc.Conflict {
			t.Errorf("duplicate in tx: %v", err)
		}
		return tx.AppendResidence(ctx, &cancuoc.ResidenceEntry{ID: "re_after", PIN: PIN(3), At: tU})
	})
	if err != nil {
		t.Fatalf("transaction after a duplicate: %v", err)
	}
}
