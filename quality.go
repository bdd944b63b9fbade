package cancuoc

import (
	"context"
	"time"
)

// QualityKind names one data-quality work list: living records that lack
// something an officer should complete ("đúng, đủ, sạch, sống").
type QualityKind string

// The work lists. Their conditions are those of StatsStore.CountQuality,
// except that an address in abolished units is looked for in the current
// residence too.
const (
	QualityPartialBirth QualityKind = "partial_birth"          // day or month of birth unknown
	QualityNoEthnicity  QualityKind = "no_ethnicity"           // field 9 empty
	QualityNoResidence  QualityKind = "no_permanent_residence" // field 16 empty
	QualityOldUnits     QualityKind = "old_unit_address"       // permanent or current residence in the 63-province units
)

// QualityKinds lists the work lists in the order pages show them.
var QualityKinds = []QualityKind{QualityPartialBirth, QualityNoEthnicity, QualityNoResidence, QualityOldUnits}

// Valid reports whether k is one of QualityKinds.
func (k QualityKind) Valid() bool {
	for _, x := range QualityKinds {
		if x == k {
			return true
		}
	}
	return false
}

// QualityQuery asks for one page of a work list in an area (Province ""
// for the nation; Commune only with Province), in (home province, home
// commune, PIN) order after the cursor.
type QualityQuery struct {
	Kind     QualityKind
	Province string
	Commune  string
	After    QualityCursor
	Limit    int
}

// QualityCursor is the position of a work list's last row: its home unit
// and PIN. The zero cursor is the start.
type QualityCursor struct {
	Province string
	Commune  string
	PIN      PIN
}

// DuplicatePair is a suspected duplicate: a living record (PIN, in its
// home unit) and another living record (Other) that may describe the same
// person, with a score from 0 to 100 and the reasons for it.
type DuplicatePair struct {
	PIN           PIN       `json:"pin"`
	Other         PIN       `json:"other"`
	Province      string    `json:"province"`
	Commune       string    `json:"commune"`
	OtherProvince string    `json:"other_province"`
	OtherCommune  string    `json:"other_commune"`
	Score         int       `json:"score"`
	Reasons       []string  `json:"reasons"`
	FoundAt       time.Time `json:"found_at"`
}

// DuplicateQuery asks for one page of suspected duplicates in an area,
// best score first, after the cursor (the last pair of the previous page;
// nil for the first page). Above a commune, a pair whose two records are
// both in the area is listed once.
type DuplicateQuery struct {
	Province string
	Commune  string
	After    *DuplicatePair
	Limit    int
}

// QualityStore holds the data-quality work lists (migration 00014).
type QualityStore interface {
	// QualityList returns one page of a work list: the records, decoded.
	// The lists are partial indexes, so a page costs an index range.
	QualityList(ctx context.Context, q QualityQuery) ([]*Citizen, error)
	// DuplicateCandidates calls fn with each group of two or more living
	// records that share the blocking key (name key, full date of birth,
	// sex), in key order; an error from fn stops the walk and is returned.
	DuplicateCandidates(ctx context.Context, fn func(group []*Citizen) error) error
	// ReplaceDuplicates replaces every stored pair with pairs (each stored
	// as given; callers store both directions), in one transaction.
	ReplaceDuplicates(ctx context.Context, pairs []DuplicatePair) error
	// Duplicates returns one page of stored pairs (see DuplicateQuery).
	Duplicates(ctx context.Context, q DuplicateQuery) ([]DuplicatePair, error)
}

// SnapshotPoint is one stored value of a dashboard measure: for the
// country (Unit "") or one province, at a time.
type SnapshotPoint struct {
	Measure string    `json:"measure"`
	Unit    string    `json:"unit"`
	At      time.Time `json:"at"`
	Value   int64     `json:"value"`
}

// SnapshotStore keeps the dashboard's periodic snapshots (migration 00014).
type SnapshotStore interface {
	// SaveSnapshot stores points, all or none; a point that exists
	// (same measure, unit and time) is replaced.
	SaveSnapshot(ctx context.Context, points []SnapshotPoint) error
	// Snapshots lists a measure's points for a unit since a time, oldest
	// first.
	Snapshots(ctx context.Context, measure, unit string, since time.Time) ([]SnapshotPoint, error)
}

// SameBlock reports whether two records share the blocking key of
// suspected duplicates: name key, full date of birth and sex.
func SameBlock(a, b *Citizen) bool {
	return a.NameKey == b.NameKey && a.BirthDate == b.BirthDate && a.Sex == b.Sex
}

// QualityCountsOf merges per-list counts, given in unit order (n cells,
// each a unit, a list and a count), into CountQuality's rows: for stores
// that count each list over its own index.
func QualityCountsOf(n int, cell func(i int) (province, commune string, kind QualityKind, count int64)) []QualityCount {
	out := []QualityCount{}
	for i := range n {
		p, c, k, v := cell(i)
		if len(out) == 0 || out[len(out)-1].Province != p || out[len(out)-1].Commune != c {
			out = append(out, QualityCount{Province: p, Commune: c})
		}
		r := &out[len(out)-1]
		switch k {
		case QualityPartialBirth:
			r.PartialBirth += v
		case QualityNoEthnicity:
			r.NoEthnicity += v
		case QualityNoResidence:
			r.NoResidence += v
		case QualityOldUnits:
			r.OldUnitAddress += v
		}
	}
	return out
}

// Quality flags, stored in the citizens table's quality column (migration
// 00014) by every write and indexed by the work lists' partial indexes: a
// record's flags are computed here from the Go value, so that no index
// predicate has to parse the stored JSON on every write. The values are
// written into the migration and the stores' queries: never renumber.
const (
	QualityFlagNoEthnicity = 1 << iota // QualityNoEthnicity
	QualityFlagNoResidence             // QualityNoResidence
	QualityFlagOldUnits                // QualityOldUnits
)

// QualityFlags are c's quality flags (a partial date of birth needs none:
// the birth date has columns of its own).
func QualityFlags(c *Citizen) int16 {
	var f int16
	if c.Ethnicity == "" {
		f |= QualityFlagNoEthnicity
	}
	if c.PermanentResidence == nil {
		f |= QualityFlagNoResidence
	}
	if (c.PermanentResidence != nil && c.PermanentResidence.Era == Era63) || (c.CurrentResidence != nil && c.CurrentResidence.Era == Era63) {
		f |= QualityFlagOldUnits
	}
	return f
}
