package reconcile

import (
	"cmp"
	"context"
	"slices"

	"github.com/cancuoc/cancuoc"
)

// Outcomes of a record.
const (
	Matched          = "matched"                  // PIN known, every sent field agrees
	MatchedDiff      = "matched_with_differences" // PIN known, some sent fields differ
	Deceased         = "deceased"                 // PIN of a dead person
	MissingPerson    = "missing"                  // PIN of a person declared missing
	PINUnknown       = "pin_unknown"              // a valid PIN no record has
	PINInvalid       = "pin_invalid"              // not a PIN at all
	CandidateFound   = "candidate_found"          // no PIN sent; one person fits
	Ambiguous        = "ambiguous"                // no PIN sent; several people fit about equally
	NoCandidate      = "no_candidate"             // no PIN sent; nobody fits
	InsufficientData = "insufficient_data"        // neither a PIN nor a name and birth date
	Malformed        = "malformed"                // the row could not be read
)

// Outcomes lists every outcome, in the order summaries show them.
var Outcomes = []string{Matched, MatchedDiff, Deceased, MissingPerson, PINUnknown, PINInvalid,
	CandidateFound, Ambiguous, NoCandidate, InsufficientData, Malformed}

// Candidate is a person who may be the one a record describes.
type Candidate struct {
	PIN   cancuoc.PIN `json:"pin"`
	Score float64     `json:"score"`
}

// Result is one line of the report.
type Result struct {
	Line        int64             `json:"line"`
	RecordID    string            `json:"record_id"`
	Outcome     string            `json:"outcome"`
	PIN         cancuoc.PIN       `json:"pin,omitempty"` // the PIN sent (when valid) or found
	Differences []string          `json:"differences,omitempty"`
	Registry    map[string]string `json:"registry,omitempty"` // registry values the policy reveals
	Candidates  []Candidate       `json:"candidates,omitempty"`
	Ambiguous   bool              `json:"ambiguous,omitempty"`
	LifeStatus  string            `json:"life_status,omitempty"` // of the person found, when not alive
	DuplicateOf int64             `json:"duplicate_of_line,omitempty"`
	Reason      string            `json:"reason,omitempty"`

	fields []string // compared fields, for the audit entry
}

// Thresholds of the no-PIN decision, tuned on the synthetic partner data
// set (see TestPrecisionRecall): a candidate is accepted with a total score
// of at least acceptScore, a name score of at least acceptName and some
// agreement on the birth date; another candidate within ambiguityMargin
// of the best makes the record ambiguous. Candidates under listScore are
// not reported at all: their PINs would tell the partner about people who
// are not its customer.
const (
	acceptScore     = 0.85
	acceptName      = 0.75
	ambiguityMargin = 0.05
	listScore       = 0.75
	maxCandidates   = 3
	probeLimit      = 200
	wideSlice       = 256 // records whose wide-pass candidates are held at once
)

// Matcher matches interpreted records against the registry.
type Matcher struct {
	Store cancuoc.ReconcileStore
	// Source, when set, answers the lookups instead of Store (an Index);
	// card numbers are still read from Store, for the records that send
	// one other than their PIN.
	Source Source
	Reveal map[string]bool // registry values that may be shown for differing fields
	Cards  bool            // the input has card numbers
}

// Source is where a Matcher looks records up: the store, or an Index.
type Source interface {
	MatchRecords(ctx context.Context, pins []cancuoc.PIN, cards bool) ([]cancuoc.MatchRecord, error)
	MatchCandidates(ctx context.Context, probes []cancuoc.MatchProbe, limit int) ([]cancuoc.MatchCandidate, error)
}

func (m *Matcher) source() Source {
	if m.Source != nil {
		return m.Source
	}
	return m.Store
}

// Match decides every input of a chunk. ins[i] nil means malformed (the
// caller fills those results).
func (m *Matcher) Match(ctx context.Context, ins []*Input, out []Result) error {
	var withPIN []int
	var noPIN []int
	for i, in := range ins {
		if in == nil {
			continue
		}
		r := &out[i]
		r.Line, r.RecordID = in.Line, in.ID
		switch {
		case in.PINError != "":
			r.Outcome, r.Reason = PINInvalid, in.PINError
		case in.PIN != "":
			withPIN = append(withPIN, i)
		case in.NameKey == "" || in.Birth.IsZero():
			r.Outcome, r.Reason = InsufficientData, "a record needs a PIN, or a full name and a birth date"
		default:
			noPIN = append(noPIN, i)
		}
	}
	if err := m.matchPINs(ctx, ins, out, withPIN); err != nil {
		return err
	}
	return m.matchNoPIN(ctx, ins, out, noPIN)
}

func (m *Matcher) matchPINs(ctx context.Context, ins []*Input, out []Result, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	pins := make([]cancuoc.PIN, len(idx))
	for k, i := range idx {
		pins[k] = ins[i].PIN
	}
	// A chip card's number is the PIN itself (since 2016), so the cards
	// are read from the documents only for the records that send another
	// number (an old 9-digit CMND).
	var cardPINs []cancuoc.PIN
	for _, i := range idx {
		if c := ins[i].Card; m.Cards && c != "" && c != string(ins[i].PIN) {
			cardPINs = append(cardPINs, ins[i].PIN)
		}
	}
	// The in-memory index answers PIN by PIN, in the chunk's order: no map
	// of the chunk's records is needed unless cards are merged in.
	var (
		byPIN   map[cancuoc.PIN]*cancuoc.MatchRecord
		inOrder []cancuoc.MatchRecord
	)
	if ix, ok := m.source().(*Index); ok && len(cardPINs) == 0 {
		inOrder = ix.recordsInOrder(pins)
	} else {
		recs, err := m.source().MatchRecords(ctx, pins, false)
		if err != nil {
			return err
		}
		byPIN = make(map[cancuoc.PIN]*cancuoc.MatchRecord, len(recs))
		for i := range recs {
			byPIN[recs[i].PIN] = &recs[i]
		}
	}
	if len(cardPINs) > 0 {
		withCards, err := m.Store.MatchRecords(ctx, cardPINs, true)
		if err != nil {
			return err
		}
		for i := range withCards {
			if r := byPIN[withCards[i].PIN]; r != nil {
				r.Cards = withCards[i].Cards
			}
		}
	}
	for k, i := range idx {
		in, r := ins[i], &out[i]
		r.PIN = in.PIN
		var c *cancuoc.MatchRecord
		if inOrder != nil {
			if inOrder[k].PIN != "" {
				c = &inOrder[k]
			}
		} else {
			c = byPIN[in.PIN]
		}
		if c == nil {
			r.Outcome = PINUnknown
			continue
		}
		r.fields = compared(in)
		m.compare(in, c, r)
	}
	return nil
}

// compared lists the fields of a record that were compared: one of the
// 32 lists of comparedSets, shared and never changed (a list per record
// was an allocation or more per record).
func compared(in *Input) []string {
	set := 0
	for bit, ok := range []bool{in.Name != "", !in.Birth.IsZero(), in.Sex != "", in.AddrKey != "", in.Card != ""} {
		if ok {
			set |= 1 << bit
		}
	}
	return comparedSets[set]
}

// comparedSets[s] lists the fields of comparedFields whose bits are in s.
var comparedSets = func() (sets [32][]string) {
	for s := range sets {
		for bit, f := range comparedFields {
			if s&(1<<bit) != 0 {
				sets[s] = append(sets[s], f)
			}
		}
	}
	return sets
}()

var comparedFields = [...]string{"full_name", "birth_date", "sex", "address", "card_number"}

// compare fills the outcome of a record whose PIN is known.
func (m *Matcher) compare(in *Input, c *cancuoc.MatchRecord, r *Result) {
	differ := func(field, value string) {
		r.Differences = append(r.Differences, field)
		if m.Reveal[field] {
			if r.Registry == nil {
				r.Registry = map[string]string{}
			}
			r.Registry[field] = value
		}
	}
	if in.Name != "" && in.Name != c.FullName {
		differ("full_name", c.FullName)
	}
	if !in.Birth.IsZero() && !in.Birth.Compatible(c.BirthDate) {
		differ("birth_date", c.BirthDate.String())
	}
	if in.Sex != "" && c.Sex != "" && in.Sex != c.Sex {
		differ("sex", string(c.Sex))
	}
	if p := PlaceMatch(in.AddrKey, c.Home); p == PlaceNone || (p == PlaceProvince && c.Home.Commune != "") {
		differ("address", placeNames(c.Home))
	}
	if in.Card != "" && in.Card != string(c.PIN) && m.Cards && !slices.Contains(c.Cards, in.Card) {
		last := ""
		if len(c.Cards) > 0 {
			last = c.Cards[0]
		}
		differ("card_number", last)
	}
	switch {
	case c.LifeStatus == cancuoc.Dead:
		r.Outcome, r.LifeStatus = Deceased, string(c.LifeStatus)
	case c.LifeStatus == cancuoc.Missing:
		r.Outcome, r.LifeStatus = MissingPerson, string(c.LifeStatus)
	case len(r.Differences) > 0:
		r.Outcome = MatchedDiff
	default:
		r.Outcome = Matched
	}
}

// Score is how well a registry record fits an input without a PIN, 0 to 1:
// name 0.55, birth date 0.25, place 0.15, sex 0.05 (an unknown sex or
// place scores half). It returns the name
// score too, which the decision also bounds.
func Score(in *Input, c *cancuoc.MatchRecord) (total, name float64) {
	f := fit(in, c)
	return f.total, f.name
}

// fitness is Score with the parts the decision looks at besides the sums.
type fitness struct {
	total, name float64
	date        float64 // 1 equal, 0.85 day and month swapped, datePartial
	place       int     // PlaceMatch
	sex         float64 // 1 the same, 0 another, 0.5 unknown on either side
}

// datePartial is the date score of a birth date that agrees only partly:
// one side holds only the year, or the year and month.
const datePartial = 0.8

func fit(in *Input, c *cancuoc.MatchRecord) fitness {
	return fitNamed(in, c, NameScore(in.NameKey, c.NameKey))
}

// fitNamed is fit with the name score already known.
func fitNamed(in *Input, c *cancuoc.MatchRecord, name float64) fitness {
	f := fitness{name: name, place: PlaceMatch(in.AddrKey, c.Home)}
	switch {
	case in.Birth == c.BirthDate:
		f.date = 1
	case in.Birth.Complete() && swapped(in.Birth) == c.BirthDate:
		f.date = 0.85
	case in.Birth.Compatible(c.BirthDate):
		f.date = datePartial
	default:
		return f
	}
	f.sex = 0.5
	if in.Sex != "" && c.Sex != "" {
		f.sex = 0
		if in.Sex == c.Sex {
			f.sex = 1
		}
	}
	place := 0.5
	switch f.place {
	case PlaceNone:
		// Weak evidence against: people move, and a registry Home may
		// come from a birth registration when no residence is coded.
		place = 0.25
	case PlaceProvince:
		place = 0.6
	case PlaceCommune:
		place = 1
	}
	f.total = 0.55*f.name + 0.25*f.date + 0.05*f.sex + 0.15*place
	return f
}

// accepted says whether a candidate may be named as the person a record
// describes. Not when the sexes differ (names are gendered, so a namesake
// of the other sex is someone else far more often than a mistyped sex).
// Besides the score bounds, two kinds of agreement are too weak
// at national size, where a common name has namesakes born the same day
// (or year) in every province; people who are not in the registry then
// found one of them (3% of such records at 3.5 million people):
//   - an address that names neither the province nor the commune of the
//     person's coded residence (a Home with a commune; a province-only
//     Home comes from a birth registration and says little): the name and
//     birth date then point to a namesake elsewhere more often than to the
//     same person with an address the registry does not know;
//   - a birth date that agrees only partly (one side holds only the year
//     or the month): accepted only when the commune agrees too.
func (f fitness) accepted(c *cancuoc.MatchRecord) bool {
	switch {
	case f.total < acceptScore || f.name < acceptName:
		return false
	case f.place == PlaceNone && c.Home.Commune != "":
		return false
	case f.date == datePartial && f.place != PlaceCommune:
		return false
	case f.sex == 0:
		return false
	}
	return true
}

// swapped is d with day and month exchanged, or the zero Date when that
// is no date.
func swapped(d cancuoc.Date) cancuoc.Date {
	if !d.Complete() || d.Day > 12 || d.Day == d.Month {
		return cancuoc.Date{}
	}
	return cancuoc.Date{Year: d.Year, Month: d.Day, Day: d.Month}
}

// storedForms are the stored dates a birth date may match: itself, and the
// partial forms an old record may hold. A partial input date also matches
// every fuller stored date within it (expanded only in the wide pass).
func storedForms(d cancuoc.Date, wide bool) []cancuoc.Date {
	out := []cancuoc.Date{d}
	switch {
	case d.Complete():
		if wide {
			out = append(out, cancuoc.Date{Year: d.Year, Month: d.Month}, cancuoc.Date{Year: d.Year})
		}
	case d.Month != 0:
		out = append(out, cancuoc.Date{Year: d.Year})
		if wide {
			for day := 1; day <= 31; day++ {
				out = append(out, cancuoc.Date{Year: d.Year, Month: d.Month, Day: day})
			}
		}
	default:
		if wide {
			for mo := 1; mo <= 12; mo++ {
				out = append(out, cancuoc.Date{Year: d.Year, Month: mo})
				for day := 1; day <= 31; day++ {
					out = append(out, cancuoc.Date{Year: d.Year, Month: mo, Day: day})
				}
			}
		}
	}
	return out
}

type probeKey struct {
	date    cancuoc.Date
	token   string
	byFirst bool
}

// probes lists the blocking probes of an input. The narrow pass looks up
// the exact birth date (and its day/month swap) with the name's last word,
// which is the given name in Vietnamese order. The wide pass, for records
// the narrow pass found no clear or ambiguous fit for, adds the partial
// stored forms of the date, every word of the name as a last word (Western
// order, typos in the given name's neighbours) and, on the input's own
// date form only, the first and last words as a family name (typos in the
// given name).
func probes(in *Input, wide bool) []probeKey {
	words := splitWords(in.NameKey)
	dates := []cancuoc.Date{in.Birth}
	if s := swapped(in.Birth); !s.IsZero() {
		dates = append(dates, s)
	}
	var out []probeKey
	last := words[len(words)-1]
	for _, d := range dates {
		for _, f := range storedForms(d, wide) {
			// The fuller dates a partial input date expands into (up to
			// 400 of them for a year) are probed with the given name only,
			// which bounds the cost of such records.
			if !wide || (f.Month != 0 && d.Month == 0) || (f.Day != 0 && d.Day == 0) {
				out = append(out, probeKey{f, last, false})
				continue
			}
			for _, w := range words {
				out = append(out, probeKey{f, w, false})
			}
			if f != d || (d != in.Birth && allSyllables(words)) {
				// The family-name blocks of a coarser stored form (every
				// person born that year with that family name, hundreds
				// at national size) are not searched: a record whose
				// given name is mistyped and whose registry date is only
				// partly known has too little left to be named anyway.
				// On the swapped date they are searched only for a name
				// with a word that is no syllable (a sure typo): a swap
				// and a slip together are rare, and each such block holds
				// about a hundred people at national size.
				continue
			}
			out = append(out, probeKey{f, words[0], true})
			if len(words) > 1 {
				out = append(out, probeKey{f, last, true})
			}
		}
	}
	return out
}

func splitWords(key string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(key); i++ {
		if i == len(key) || key[i] == ' ' {
			if i > start {
				out = append(out, key[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func (m *Matcher) matchNoPIN(ctx context.Context, ins []*Input, out []Result, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	// Per record of the chunk: its candidates (a PIN found by several
	// probes appears several times; decide keeps one) and the narrow
	// pass's probes, which the wide pass does not repeat.
	cands := make([][]*cancuoc.MatchRecord, len(ins))
	narrow := make([][]probeKey, len(ins))
	run := func(which []int, wide bool) error {
		var ps []cancuoc.MatchProbe
		for _, i := range which {
			list := probes(ins[i], wide)
			if wide {
				list = slices.DeleteFunc(list, func(p probeKey) bool { return slices.Contains(narrow[i], p) })
				slices.SortFunc(list, compareProbe)
				list = slices.Compact(list)
			} else {
				narrow[i] = list
			}
			for _, p := range list {
				ps = append(ps, cancuoc.MatchProbe{Ref: i, Date: p.date, Token: p.token, ByFirst: p.byFirst})
			}
		}
		if len(ps) == 0 {
			return nil
		}
		found, err := m.source().MatchCandidates(ctx, ps, probeLimit)
		if err != nil {
			return err
		}
		for k := range found {
			c := &found[k]
			cands[c.Ref] = append(cands[c.Ref], &c.MatchRecord)
		}
		return nil
	}
	if err := run(idx, false); err != nil {
		return err
	}
	var again []int
	for _, i := range idx {
		cands[i] = uniquePINs(cands[i])
		// A record left ambiguous already has two close fits on its exact
		// date and given name; the wide pass's blocks would only add people
		// who fit less well, at the cost of a record with no candidate.
		if !m.decide(ins[i], cands[i], &out[i]) && out[i].Outcome != Ambiguous {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		return nil
	}
	// The wide pass in slices of the chunk, each decided and its candidates
	// let go before the next: a record none of the narrow probes settles
	// (above all someone who is not in the registry) can draw thousands of
	// candidates at national size, and a whole chunk's of them held at once
	// took gigabytes per worker.
	for len(again) > 0 {
		part := again[:min(len(again), wideSlice)]
		again = again[len(part):]
		if err := run(part, true); err != nil {
			return err
		}
		for _, i := range part {
			cands[i] = uniquePINs(cands[i])
			out[i].Candidates, out[i].Ambiguous, out[i].PIN, out[i].LifeStatus = nil, false, "", ""
			m.decide(ins[i], cands[i], &out[i])
			cands[i], narrow[i] = nil, nil
		}
	}
	return nil
}

// compareProbe orders probes, to drop repeated ones.
func compareProbe(a, b probeKey) int {
	for _, d := range [3][2]int{{a.date.Year, b.date.Year}, {a.date.Month, b.date.Month}, {a.date.Day, b.date.Day}} {
		if d[0] != d[1] {
			return d[0] - d[1]
		}
	}
	if c := cmp.Compare(a.token, b.token); c != 0 {
		return c
	}
	switch {
	case a.byFirst == b.byFirst:
		return 0
	case b.byFirst:
		return -1
	}
	return 1
}

// uniquePINs sorts candidates by PIN and keeps one of each PIN, the one
// found last (a later pass's copy of a record).
func uniquePINs(c []*cancuoc.MatchRecord) []*cancuoc.MatchRecord {
	slices.SortStableFunc(c, func(a, b *cancuoc.MatchRecord) int { return cmp.Compare(string(a.PIN), string(b.PIN)) })
	out := c[:0]
	for k, r := range c {
		if k+1 < len(c) && c[k+1].PIN == r.PIN {
			continue
		}
		out = append(out, r)
	}
	return out
}

// scored is a candidate with its fit.
type scored struct {
	c *cancuoc.MatchRecord
	fitness
	ok bool
}

// rival says whether another candidate fits about as well as the best
// one, s, which makes the record ambiguous: a total within
// ambiguityMargin, unless s agrees on the exact birth date and the other
// only on its day/month swap or on part of it, with a name no better. Such
// a namesake is far less likely to be the person: a swap is a rare slip
// (a few in a hundred records), and someone whose registry date is only a
// year was born on this very day about once in 365.
func (s scored) rival(o scored) bool {
	if o.total < s.total-ambiguityMargin {
		return false
	}
	return !(s.date == 1 && o.date < 1 && s.name >= o.name)
}

// decide scores the candidates of an input and fills its result. It
// reports whether the result is settled: one clear candidate.
func (m *Matcher) decide(in *Input, cands []*cancuoc.MatchRecord, r *Result) bool {
	var list []scored
	var buf [8]string
	words := splitKey(in.NameKey, &buf)
	for _, c := range cands {
		name := nameScore(in.NameKey, words, c.NameKey)
		if 0.55*name+0.45 < listScore-1e-9 {
			// Date, sex and place weigh 0.45 at most: this candidate
			// cannot be listed, and its place need not be looked up.
			continue
		}
		f := fitNamed(in, c, name)
		if f.total >= listScore {
			list = append(list, scored{c, f, f.accepted(c)})
		}
	}
	slices.SortFunc(list, func(a, b scored) int {
		switch {
		case a.total > b.total:
			return -1
		case a.total < b.total:
			return 1
		}
		return cmp.Compare(string(a.c.PIN), string(b.c.PIN))
	})
	if len(list) > maxCandidates {
		list = list[:maxCandidates]
	}
	r.fields = compared(in)
	switch {
	case len(list) == 0 || !list[0].ok:
		// Weak candidates are not named: they are most likely other people.
		r.Outcome = NoCandidate
		return false
	case slices.ContainsFunc(list[1:], list[0].rival):
		r.Outcome, r.Ambiguous = Ambiguous, true
		for k, s := range list {
			if k == 0 || list[0].rival(s) {
				r.Candidates = append(r.Candidates, Candidate{PIN: s.c.PIN, Score: round3(s.total)})
			}
		}
		return false
	}
	best := list[0].c
	r.Outcome, r.PIN = CandidateFound, best.PIN
	r.Candidates = []Candidate{{PIN: best.PIN, Score: round3(list[0].total)}}
	if best.LifeStatus != cancuoc.Alive && best.LifeStatus != "" {
		r.LifeStatus = string(best.LifeStatus)
	}
	return true
}

func round3(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }

// allSyllables reports whether every word has the shape of a syllable.
func allSyllables(words []string) bool {
	for _, w := range words {
		if !syllable(w) {
			return false
		}
	}
	return true
}
