package quality

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/vntext"
)

// Reasons a pair's score names, each with its weight. The block itself
// (same name key, full date of birth and sex) is worth Base.
const (
	Base = 50

	ReasonSameSpelling   = "same_spelling"    // names equal with their diacritics, not only folded
	ReasonSameBirthPlace = "same_birth_place" // same province of birth (today's units)
	ReasonOtherBirth     = "other_birth_place"
	ReasonSameFather     = "same_father"
	ReasonOtherFather    = "other_father"
	ReasonSameMother     = "same_mother"
	ReasonOtherMother    = "other_mother"
	ReasonSameOldID      = "same_old_id"
	ReasonOtherOldID     = "other_old_id"
	ReasonSameHome       = "same_home" // same commune of residence
	ReasonSameOrigin     = "same_origin"
)

var weight = map[string]int{
	ReasonSameSpelling: 10, ReasonSameBirthPlace: 10, ReasonOtherBirth: -15,
	ReasonSameFather: 10, ReasonOtherFather: -15, ReasonSameMother: 10, ReasonOtherMother: -15,
	ReasonSameOldID: 20, ReasonOtherOldID: -30, ReasonSameHome: 5, ReasonSameOrigin: 5,
}

// MinScore is the smallest score kept: below it, the records disagree on
// enough to be two people who share a name and a birthday.
const MinScore = 40

// maxGroup bounds the pairs of one block (n people give n(n-1)/2 pairs): a
// larger block is a pattern of the data (placeholder dates), not a list of
// duplicates, and only its first maxGroup records are paired.
const maxGroup = 30

// Score compares two records of one block: Base plus or minus the weight
// of each reason, within 0..100. Only fields both records hold count, for
// or against.
func Score(a, b *cancuoc.Citizen) (int, []string) {
	score, reasons := Base, []string{}
	add := func(r string) {
		score += weight[r]
		reasons = append(reasons, r)
	}
	if vntext.SameName(a.FullName, b.FullName, vntext.NameExact) {
		add(ReasonSameSpelling)
	}
	if pa, pb := province(a.BirthPlace), province(b.BirthPlace); pa != "" && pb != "" {
		add(pick(pa == pb, ReasonSameBirthPlace, ReasonOtherBirth))
	}
	if fa, fb := relName(a.Father), relName(b.Father); fa != "" && fb != "" {
		add(pick(fa == fb, ReasonSameFather, ReasonOtherFather))
	}
	if ma, mb := relName(a.Mother), relName(b.Mother); ma != "" && mb != "" {
		add(pick(ma == mb, ReasonSameMother, ReasonOtherMother))
	}
	if a.OldIDNumber != "" && b.OldIDNumber != "" {
		add(pick(a.OldIDNumber == b.OldIDNumber, ReasonSameOldID, ReasonOtherOldID))
	}
	if a.Home.Commune != "" && a.Home == b.Home {
		add(ReasonSameHome)
	}
	if oa, ob := province(a.Origin), province(b.Origin); oa != "" && oa == ob {
		add(ReasonSameOrigin)
	}
	return min(max(score, 0), 100), reasons
}

func pick(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

// province is a place's province in today's units ("" if unknown).
func province(p *cancuoc.Place) string {
	switch {
	case p == nil:
		return ""
	case p.Today != nil:
		return p.Today.Province
	case p.Era == cancuoc.Era34:
		return p.Province
	}
	return ""
}

func relName(r *cancuoc.Relative) string {
	if r == nil {
		return ""
	}
	return vntext.Key(r.Name)
}

// Recount finds every suspected duplicate again and replaces the stored
// pairs, answering how many pairs it kept. It reads the whole registry's
// blocks: run it in the background (RunRecount), not per request.
func (s *Service) Recount(ctx context.Context) (int, error) {
	const op = "quality.Recount"
	now := s.clock().UTC()
	var pairs []cancuoc.DuplicatePair
	err := s.store.DuplicateCandidates(ctx, func(g []*cancuoc.Citizen) error {
		g = g[:min(len(g), maxGroup)]
		for i, a := range g {
			for _, b := range g[i+1:] {
				score, reasons := Score(a, b)
				if score < MinScore {
					continue
				}
				pairs = append(pairs,
					cancuoc.DuplicatePair{PIN: a.PIN, Other: b.PIN, Province: a.Home.Province, Commune: a.Home.Commune,
						OtherProvince: b.Home.Province, OtherCommune: b.Home.Commune, Score: score, Reasons: reasons, FoundAt: now},
					cancuoc.DuplicatePair{PIN: b.PIN, Other: a.PIN, Province: b.Home.Province, Commune: b.Home.Commune,
						OtherProvince: a.Home.Province, OtherCommune: a.Home.Commune, Score: score, Reasons: reasons, FoundAt: now})
			}
		}
		return nil
	})
	if err != nil {
		return 0, cancuoc.WithOp(op, err)
	}
	if err := s.store.ReplaceDuplicates(ctx, pairs); err != nil {
		return 0, cancuoc.WithOp(op, err)
	}
	return len(pairs) / 2, nil
}

// RunRecount recounts at once and then every period until ctx ends,
// reporting each outcome to done (nil for none).
func (s *Service) RunRecount(ctx context.Context, every time.Duration, done func(pairs int, took time.Duration, err error)) {
	for {
		start := time.Now()
		n, err := s.Recount(ctx)
		if done != nil {
			done(n, time.Since(start), err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Pair is one suspected duplicate as a page shows it: the record in the
// area and the other, whose details are shown only when it is inside the
// officer's jurisdiction too (otherwise its PIN and unit only).
type Pair struct {
	cancuoc.DuplicatePair
	Record      *cancuoc.Citizen
	OtherRecord *cancuoc.Citizen // nil when outside the jurisdiction
}

// PairPage is one page of suspected duplicates.
type PairPage struct {
	Area  Area
	Pairs []Pair
	Next  string
}

// Duplicates answers one page of suspected duplicates in area, best first.
// Each record shown is logged, the other side of a pair outside the
// jurisdiction with its PIN and unit only.
func (s *Service) Duplicates(ctx context.Context, p *cancuoc.Principal, area Area, cursor string) (*PairPage, error) {
	const op = "quality.Duplicates"
	area, err := scope(op, p, area)
	if err != nil {
		return nil, err
	}
	after, err := ParsePairCursor(cursor)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	pairs, err := s.store.Duplicates(ctx, cancuoc.DuplicateQuery{Province: area.Province, Commune: area.Commune, After: after, Limit: PageSize + 1})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	pg := &PairPage{Area: area}
	if len(pairs) > PageSize {
		pairs = pairs[:PageSize]
		pg.Next = FormatPairCursor(pairs[PageSize-1])
	}
	now := s.clock()
	const purpose = "Danh sách hồ sơ nghi trùng"
	var entries []*cancuoc.AuditEntry
	log := func(pin cancuoc.PIN, fields []string) {
		entries = append(entries, &cancuoc.AuditEntry{At: now, Actor: p.ID, Action: Action, PIN: pin,
			Fields: fields, Purpose: purpose, Outcome: "ok"})
	}
	// A pair found by the last recount may name a record changed since:
	// the page shows the records as they are now, read in one query.
	var pins []cancuoc.PIN
	for _, d := range pairs {
		pins = append(pins, d.PIN, d.Other)
	}
	recs, err := s.store.MatchRecords(ctx, pins, false)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	byPIN := map[cancuoc.PIN]*cancuoc.Citizen{}
	for _, m := range recs {
		byPIN[m.PIN] = &cancuoc.Citizen{PIN: m.PIN, FullName: m.FullName, NameKey: m.NameKey, BirthDate: m.BirthDate,
			Sex: m.Sex, LifeStatus: m.LifeStatus, Home: m.Home}
	}
	for _, d := range pairs {
		x := Pair{DuplicatePair: d, Record: byPIN[d.PIN]}
		if x.Record == nil {
			continue // gone since the recount (records are never deleted; kept for safety)
		}
		log(d.PIN, ListFields)
		if p.Jurisdiction.Covers(cancuoc.UnitRef{Province: d.OtherProvince, Commune: d.OtherCommune}) && byPIN[d.Other] != nil {
			x.OtherRecord = byPIN[d.Other]
			log(d.Other, ListFields)
		} else {
			log(d.Other, []string{"pin", "home"})
		}
		pg.Pairs = append(pg.Pairs, x)
	}
	if err := s.audit.Record(ctx, entries...); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return pg, nil
}
