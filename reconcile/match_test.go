package reconcile

import (
	"context"
	"slices"
	"testing"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/sqlite"
	"github.com/cancuoc/cancuoc/storetest"
	"github.com/cancuoc/cancuoc/vntext"
)

func TestNameScore(t *testing.T) {
	k := vntext.Key
	cases := []struct {
		a, b     string
		min, max float64
	}{
		{"Nguyễn Văn Đức", "Nguyen Van Duc", 1, 1},        // marks, đ/d
		{"Nguyễn Văn Đức", "Đức Nguyễn Văn", 0.95, 0.95},  // word order
		{"Nguyễn Văn Đức", "Nguyễn Văn Đứcc", 0.94, 0.96}, // a typo: "ducc" is no syllable
		{"Nguyễn Văn Đức", "Ngyuễn Văn Đức", 0.94, 0.96},  // a transposition: "ngyuen" neither
		{"Lê Văn Tân", "Lê Vcn Tân", 0.94, 0.96},          // either side may hold the slip
		{"Nguyễn Văn Anh", "Nguyễn Văn An", 0.75, 0.85},   // another name, not a typo
		{"Nguyễn Văn An", "Nguyễn Văn Na", 0.7, 0.8},      // a swap that leaves a syllable
		{"Trần Thị Trà", "Trần Thị Jra", 0.94, 0.96},
		{"Nguyễn Văn Đức", "Trần Thị Lan", 0, 0.2}, // someone else
		{"Nguyễn Văn Đức", "Nguyễn Đức", 0.6, 0.7}, // middle name dropped
		{"Lê Thị Hồng Nhung", "Nhung Lê Thị Hồng", 0.95, 0.95},
		{"", "Nguyễn", 0, 0},
	}
	for _, c := range cases {
		if s := NameScore(k(c.a), k(c.b)); s < c.min || s > c.max {
			t.Errorf("NameScore(%q, %q) = %.3f, want %.2f–%.2f", c.a, c.b, s, c.min, c.max)
		}
	}
	if osa("ca", "ac") != 1 || osa("abc", "") != 3 || osa("kitten", "sitting") != 3 {
		t.Error("osa distances")
	}
}

func TestPlaceMatch(t *testing.T) {
	k := vntext.Key
	home := cancuoc.UnitRef{Province: "01", Commune: "00004"} // Phường Ba Đình, Hà Nội
	newOf := admin.NewCommunesOf("00004")                     // old Trúc Bạch
	if len(newOf) == 0 || newOf[0].Code != "00004" {
		t.Fatalf("fixture: old Trúc Bạch maps to %+v", newOf)
	}
	cases := []struct {
		addr string
		want int
	}{
		{"Số 12 Quán Thánh, Phường Ba Đình, Thành phố Hà Nội", PlaceCommune},
		{"12 Quan Thanh, P. Truc Bach, Q. Ba Dinh, Ha Noi", PlaceCommune}, // before the merger, no marks
		{"Hà Nội", PlaceProvince},
		{"Phường Ba Đình, Tỉnh Tuyên Quang", PlaceNone},
		{"", PlaceUnknown},
	}
	for _, c := range cases {
		if got := PlaceMatch(k(c.addr), home); got != c.want {
			t.Errorf("PlaceMatch(%q) = %d, want %d", c.addr, got, c.want)
		}
	}
	// An old province's name finds today's province it went into.
	if got := PlaceMatch(k("Tỉnh Hà Giang"), cancuoc.UnitRef{Province: "08"}); got != PlaceProvince {
		t.Errorf("old province Hà Giang in today's Tuyên Quang: %d", got)
	}
	if got := PlaceMatch(k("Ho Chi Minh"), cancuoc.UnitRef{}); got != PlaceUnknown {
		t.Errorf("no Home: %d", got)
	}
}

func TestSyllable(t *testing.T) {
	for _, w := range []string{"nguyen", "van", "duc", "anh", "an", "a", "y", "quynh", "quoc", "gi", "gia",
		"nghia", "khuong", "truong", "uyen", "huong", "oanh", "thuy", "khoa", "hoang", "yen", "tuyet", "phuong"} {
		if !syllable(w) {
			t.Errorf("%q is a syllable", w)
		}
	}
	for _, w := range []string{"vcn", "jra", "houng", "triuh", "kkim", "ngyuen", "nguyn", "ah", "d", "v", "tine",
		"ducc", "phhan", "trna", "ksor", ""} {
		if syllable(w) {
			t.Errorf("%q is no syllable", w)
		}
	}
}

func TestHasWords(t *testing.T) {
	if !hasWords("xa an hoa nghe an", "an hoa") || hasWords("xa an hoa", "an ho") || hasWords("nghean", "an") || !hasWords("an", "an") {
		t.Error("hasWords")
	}
}

// pinFixture stores people for the PIN mode: an exact match, a dead and a
// missing person.
func pinFixture(t *testing.T) (cancuoc.Store, []*cancuoc.Citizen) {
	st, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	alive := storetest.Citizen(storetest.PIN(1)) // Nguyễn Văn Đức 1990-05-17, Ba Đình
	dead := storetest.Minimal(storetest.PIN(2), "Trần Văn Bình", "tran van binh")
	dead.LifeStatus = cancuoc.Dead
	missing := storetest.Minimal(storetest.PIN(3), "Lê Văn Cường", "le van cuong")
	missing.LifeStatus = cancuoc.Missing
	all := []*cancuoc.Citizen{alive, dead, missing}
	for _, c := range all {
		if err := st.InsertCitizen(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	return st, all
}

func TestMatchWithPIN(t *testing.T) {
	st, all := pinFixture(t)
	pin := string(all[0].PIN)
	recs := [][]string{
		{"r1", pin, "Nguyễn Văn Đức", "17/05/1990", "Nam", "Phường Trúc Bạch, Quận Ba Đình, Hà Nội", "001090000001"},
		{"r2", pin, "Nguyen Van Duc", "1990-05-18", "Nữ", "Phường Bến Nghé, TP Hồ Chí Minh", "999999999"},
		{"r3", pin, "Nguyễn Văn Đức", "1990", "", "Hà Nội", ""}, // a partial date agrees; the commune is missing
		{"r4", string(all[1].PIN), "Trần Văn Bình"},
		{"r5", string(all[2].PIN)},
		{"r6", string(storetest.PIN(777))},
		{"r7", "12345"},
		{"r8", ""},
	}
	ins := make([]*Input, len(recs))
	for i, f := range recs {
		r := &Record{Line: int64(i + 2)}
		copy(r.Fields[:], f)
		in, bad := Parse(r, 2026)
		if bad != "" {
			t.Fatalf("record %d: %s", i, bad)
		}
		ins[i] = in
	}
	m := &Matcher{Store: st, Reveal: map[string]bool{"full_name": true, "birth_date": true}, Cards: true}
	out := make([]Result, len(ins))
	if err := m.Match(t.Context(), ins, out); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		outcome string
		diff    []string
		reg     map[string]string
	}{
		{Matched, nil, nil},
		{MatchedDiff, []string{"full_name", "birth_date", "sex", "address", "card_number"},
			map[string]string{"full_name": "Nguyễn Văn Đức", "birth_date": "1990-05-17"}},
		{MatchedDiff, []string{"address"}, nil},
		{Deceased, nil, nil},
		{MissingPerson, nil, nil},
		{PINUnknown, nil, nil},
		{PINInvalid, nil, nil},
		{InsufficientData, nil, nil},
	}
	for i, w := range want {
		g := out[i]
		if g.Outcome != w.outcome || !slices.Equal(g.Differences, w.diff) || len(g.Registry) != len(w.reg) {
			t.Errorf("record %d: %s %v %v; want %s %v %v", i, g.Outcome, g.Differences, g.Registry, w.outcome, w.diff, w.reg)
			continue
		}
		for k, v := range w.reg {
			if g.Registry[k] != v {
				t.Errorf("record %d: registry %s = %q, want %q", i, k, g.Registry[k], v)
			}
		}
	}
	if out[3].LifeStatus != "dead" || out[6].Reason == "" || out[0].RecordID != "r1" || out[0].Line != 2 {
		t.Errorf("results %+v", out)
	}
}

func TestMatchWithoutPIN(t *testing.T) {
	st, all := pinFixture(t)
	// A namesake born the same day in another commune, and a twin-like
	// record that makes a third search ambiguous.
	other := storetest.Minimal(storetest.PIN(10), "Nguyễn Văn Đức", "nguyen van duc")
	other.BirthDate = cancuoc.Date{Year: 1990, Month: 5, Day: 17}
	other.Home = cancuoc.UnitRef{Province: "79", Commune: "26734"}
	if err := st.InsertCitizen(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	recs := [][]string{
		{"a", "", "Nguyen Van Duc", "17/05/1990", "", "Phường Ba Đình, Hà Nội"},        // the one in Ba Đình
		{"b", "", "Đức Nguyễn Văn", "05/17/1990", "Nam", "Trúc Bạch, Ba Đình, Hà Nội"}, // month 17: not a date
		{"c", "", "Nguyễn Văn Đức", "1990-05-17"},                                      // two people fit equally
		{"d", "", "Nguyễn Văn Đức", "1990-17-05"},
		{"e", "", "Hoàng Thị Mai", "1990-05-17", "", "Hà Nội"},
		{"f", "", "Nguyễn Văn Đức", "17/04/1990", "", "Ba Đình, Hà Nội"},
	}
	ins := make([]*Input, len(recs))
	out := make([]Result, len(recs))
	for i, f := range recs {
		r := &Record{Line: int64(i + 2)}
		copy(r.Fields[:], f)
		in, bad := Parse(r, 2026)
		if bad != "" {
			out[i] = Result{Outcome: Malformed, Reason: bad}
			continue
		}
		ins[i] = in
	}
	m := &Matcher{Store: st}
	if err := m.Match(t.Context(), ins, out); err != nil {
		t.Fatal(err)
	}
	if out[0].Outcome != CandidateFound || out[0].PIN != all[0].PIN || len(out[0].Candidates) != 1 {
		t.Errorf("a: %+v", out[0])
	}
	if out[1].Outcome != Malformed || out[3].Outcome != Malformed {
		t.Errorf("b, d (month 17): %+v %+v", out[1], out[3])
	}
	if out[2].Outcome != Ambiguous || !out[2].Ambiguous || len(out[2].Candidates) != 2 {
		t.Errorf("c: %+v", out[2])
	}
	if out[4].Outcome != NoCandidate || len(out[4].Candidates) != 0 {
		t.Errorf("e: %+v", out[4])
	}
	if out[5].Outcome != NoCandidate {
		t.Errorf("f (another birth day): %+v", out[5])
	}
	// Day and month swapped, family name last: still found (wide pass).
	sw := &Record{Line: 10}
	copy(sw.Fields[:], []string{"h", "", "Đức Nguyễn Văn", "1990-12-05", "Nam", "Trúc Bạch, Ba Đình, Hà Nội"})
	dup := storetest.Minimal(storetest.PIN(11), "Phạm Văn Đức", "pham van duc")
	dup.BirthDate = cancuoc.Date{Year: 1990, Month: 5, Day: 12}
	dup.Home = cancuoc.UnitRef{Province: "01", Commune: "00004"}
	if err := st.InsertCitizen(t.Context(), dup); err != nil {
		t.Fatal(err)
	}
	swIn, _ := Parse(sw, 2026)
	swIn.NameKey = vntext.Key("Đức Phạm Văn")
	res := make([]Result, 1)
	if err := m.Match(t.Context(), []*Input{swIn}, res); err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != CandidateFound || res[0].PIN != dup.PIN {
		t.Errorf("swapped day/month and word order: %+v", res[0])
	}
}

// TestMatchWeakAgreement holds the agreements that do not name a person
// without a PIN: a namesake born the same day whose coded residence is in
// another province than the address, a birth date that agrees only partly
// without the commune, and another sex.
func TestMatchWeakAgreement(t *testing.T) {
	st, all := pinFixture(t) // Nguyễn Văn Đức 1990-05-17, residence coded in Ba Đình, Hà Nội
	born := storetest.Minimal(storetest.PIN(12), "Lê Thị Hoa", "le thi hoa")
	born.BirthDate, born.Sex = cancuoc.Date{Year: 1985, Month: 3, Day: 4}, cancuoc.Female
	born.Home = cancuoc.UnitRef{Province: "48"} // from a birth registration: no commune
	if err := st.InsertCitizen(t.Context(), born); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		rec  []string
		want string
	}{
		{[]string{"a", "", "Nguyễn Văn Đức", "17/05/1990", "Nam", "Phường Bến Nghé, TP Hồ Chí Minh"}, NoCandidate},
		{[]string{"b", "", "Nguyễn Văn Đức", "17/05/1990", "Nam", "Phường Ba Đình, Hà Nội"}, CandidateFound},
		{[]string{"c", "", "Nguyễn Văn Đức", "17/05/1990", "Nam", ""}, CandidateFound},
		{[]string{"d", "", "Nguyễn Văn Đức", "1990", "Nam", "Hà Nội"}, NoCandidate},
		{[]string{"e", "", "Nguyễn Văn Đức", "05/1990", "Nam", "Phường Ba Đình, Hà Nội"}, CandidateFound},
		{[]string{"f", "", "Lê Thị Hoa", "04/03/1985", "Nữ", "Phường Bến Nghé, TP Hồ Chí Minh"}, CandidateFound},
		{[]string{"g", "", "Nguyễn Văn Đức", "17/05/1990", "Nữ", "Hà Nội"}, NoCandidate},
	}
	ins := make([]*Input, len(cases))
	for i, c := range cases {
		r := &Record{Line: int64(i + 2)}
		copy(r.Fields[:], c.rec)
		in, bad := Parse(r, 2026)
		if bad != "" {
			t.Fatalf("%s: %s", c.rec[0], bad)
		}
		ins[i] = in
	}
	out := make([]Result, len(ins))
	if err := (&Matcher{Store: st}).Match(t.Context(), ins, out); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if out[i].Outcome != c.want {
			t.Errorf("%s: %s %+v, want %s", c.rec[0], out[i].Outcome, out[i].Candidates, c.want)
		}
		if c.want == NoCandidate && len(out[i].Candidates) != 0 {
			t.Errorf("%s: a weak candidate is named: %+v", c.rec[0], out[i].Candidates)
		}
	}
	if out[1].PIN != all[0].PIN || out[5].PIN != born.PIN {
		t.Errorf("found %s and %s", out[1].PIN, out[5].PIN)
	}
}

// probeLog records the probes a Matcher sends.
type probeLog struct {
	Source
	calls [][]cancuoc.MatchProbe
}

func (p *probeLog) MatchCandidates(ctx context.Context, probes []cancuoc.MatchProbe, limit int) ([]cancuoc.MatchCandidate, error) {
	p.calls = append(p.calls, probes)
	return p.Source.MatchCandidates(ctx, probes, limit)
}

// TestWideProbes holds the bounds of the wide pass: family-name blocks only
// on the record's own date (and its swap, for a name with a sure typo),
// never on the coarser stored forms, and no wide pass for a record the
// narrow pass left ambiguous.
func TestWideProbes(t *testing.T) {
	r := &Record{Line: 2}
	for name, want := range map[string]int{"Nguyễn Văn Đức": 2, "Nguyễn Vcn Đức": 4} {
		copy(r.Fields[:], []string{"x", "", name, "05/11/1990"})
		in, _ := Parse(r, 2026)
		byFirst := 0
		for _, p := range probes(in, true) {
			if p.byFirst {
				byFirst++
				if p.date != in.Birth && p.date != swapped(in.Birth) {
					t.Errorf("%s: family-name probe on %v", name, p.date)
				}
			}
		}
		// First and last word, on the date, and on its swap only when a
		// word is a sure typo.
		if byFirst != want {
			t.Errorf("%s: %d family-name probes, want %d", name, byFirst, want)
		}
	}

	st, _ := pinFixture(t)
	other := storetest.Minimal(storetest.PIN(10), "Nguyễn Văn Đức", "nguyen van duc")
	other.BirthDate = cancuoc.Date{Year: 1990, Month: 5, Day: 17}
	if err := st.InsertCitizen(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	log := &probeLog{Source: st}
	copy(r.Fields[:], []string{"c", "", "Nguyễn Văn Đức", "1990-05-17"})
	in, _ := Parse(r, 2026)
	out := make([]Result, 1)
	if err := (&Matcher{Store: st, Source: log}).Match(t.Context(), []*Input{in}, out); err != nil {
		t.Fatal(err)
	}
	if out[0].Outcome != Ambiguous || len(log.calls) != 1 {
		t.Errorf("%s after %d lookups, want ambiguous after the narrow one", out[0].Outcome, len(log.calls))
	}
}

// TestMatchDateRivals holds that namesakes agreeing only on the swapped or
// a partial birth date do not make an exact-date fit ambiguous, while two
// exact-date namesakes still do.
func TestMatchDateRivals(t *testing.T) {
	st, _ := pinFixture(t)
	lan := func(n int, d cancuoc.Date, home cancuoc.UnitRef) *cancuoc.Citizen {
		c := storetest.Minimal(storetest.PIN(n), "Trần Thị Lan", "tran thi lan")
		c.BirthDate, c.Sex, c.Home = d, cancuoc.Female, home
		if err := st.InsertCitizen(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	exact := lan(20, cancuoc.Date{Year: 1985, Month: 3, Day: 4}, cancuoc.UnitRef{Province: "01", Commune: "00004"})
	lan(21, cancuoc.Date{Year: 1985, Month: 4, Day: 3}, cancuoc.UnitRef{Province: "79", Commune: "26734"})
	lan(22, cancuoc.Date{Year: 1985}, cancuoc.UnitRef{Province: "79", Commune: "26734"})
	match := func(date string) Result {
		r := &Record{Line: 2}
		copy(r.Fields[:], []string{"x", "", "Tran Thi Lan", date, "Nữ"})
		in, bad := Parse(r, 2026)
		if bad != "" {
			t.Fatal(bad)
		}
		out := make([]Result, 1)
		if err := (&Matcher{Store: st}).Match(t.Context(), []*Input{in}, out); err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	if got := match("04/03/1985"); got.Outcome != CandidateFound || got.PIN != exact.PIN {
		t.Errorf("exact date beside a swapped and a year-only namesake: %s %+v", got.Outcome, got.Candidates)
	}
	lan(23, cancuoc.Date{Year: 1985, Month: 3, Day: 4}, cancuoc.UnitRef{Province: "48", Commune: "20194"})
	if got := match("04/03/1985"); got.Outcome != Ambiguous || len(got.Candidates) != 2 {
		t.Errorf("two exact-date namesakes: %s %+v", got.Outcome, got.Candidates)
	}
}
