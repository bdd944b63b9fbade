// Package synth generates a believable synthetic population of Vietnam for
// load tests, demonstrations and development: households with linked
// parents, spouses and children, valid and unique PINs, places in the right
// administrative era, and the gaps of real old records.
//
// The output depends only on the Config: the same seed and "now" give the
// same people byte for byte, so a benchmark or a bug report can be
// reproduced. People are streamed in batches and only bounded state is kept
// (a counter per PIN bucket, the unit tables), so ten million people take no
// more memory than ten thousand.
package synth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
)

// DefaultBatchSize is the batch size used when Config.BatchSize is not set.
const DefaultBatchSize = 10_000

// Config describes the population to generate.
type Config struct {
	// Citizens is how many people to generate, exactly.
	Citizens int
	// Seed selects the population: the same seed (with the same Now) gives
	// the same people byte for byte; another seed gives other people.
	Seed int64
	// Now is the "today" of the population, from which ages, card and death
	// dates are counted. It is passed in, never read from the clock, so that
	// output stays reproducible. Only its date (in its location) is used.
	Now time.Time
	// BatchSize is the number of people per emitted batch (DefaultBatchSize
	// when zero). A household is never split, so a batch may exceed it by
	// a few people.
	BatchSize int
}

// Generate streams cfg.Citizens people to emit, batch by batch, in a
// deterministic order. Members of one household arrive in the same batch, so
// a loader can insert a batch in one transaction and every PIN a record links
// to (father, mother, spouse, children, household head) is in that batch.
// emit may keep the batch slice: a new one is allocated each time. Generate
// stops at the first error from emit or when ctx is done.
//
// Derived fields (Version, NameKey, Home, CreatedAt, UpdatedAt) are left
// zero for the registry to fill on import.
func Generate(ctx context.Context, cfg Config, emit func(batch []*cancuoc.Citizen) error) error {
	if cfg.Citizens < 0 {
		return errors.New("synth: Citizens must not be negative")
	}
	if cfg.Now.IsZero() {
		return errors.New("synth: Now must be set (the generator never reads the clock)")
	}
	if cfg.Now.Year() < 1990 || cfg.Now.Year() > 2300 {
		return fmt.Errorf("synth: Now %s is outside the years the model covers", cfg.Now.Format(time.DateOnly))
	}
	size := cfg.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	g, err := newGenerator(cfg)
	if err != nil {
		return err
	}
	batch := make([]*cancuoc.Citizen, 0, size+maxHousehold)
	for made := 0; made < cfg.Citizens; {
		n := len(batch)
		batch, err = g.household(batch, cfg.Citizens-made)
		if err != nil {
			return err
		}
		made += len(batch) - n
		if len(batch) >= size || made == cfg.Citizens {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := emit(batch); err != nil {
				return err
			}
			batch = make([]*cancuoc.Citizen, 0, size+maxHousehold)
		}
	}
	return nil
}

// maxHousehold bounds a household: head, spouse, a parent and four children.
const maxHousehold = 7

// Relations to the household head (field 22), as written in residence files.
const (
	relWife    = "vợ"
	relHusband = "chồng"
	relChild   = "con"
	relFather  = "bố"
	relMother  = "mẹ"
)

// issuer is the card-issuing authority for chip cards since 2021.
const issuer = "Cục Cảnh sát QLHC về TTXH"

// Dates that change which rules apply.
var (
	// reorganisation is when the 34-province set took effect: births
	// registered from then on are recorded in current units.
	reorganisation = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	// chipCards is when mass issuance of chip cards (CCCD gắn chip) began;
	// every card in the generated registry is a chip card.
	chipCards = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	// canCuoc is when the Law on Identity renamed the card "thẻ căn cước".
	canCuoc = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
)

// generator holds the state of one Generate call. All randomness comes from
// r, in a fixed order, which is what makes the output reproducible.
type generator struct {
	r     *rand.Rand
	seed  uint64
	now   time.Time
	geo   *geo
	names *namer
	pins  *pinIssuer

	// Unique numbers other than PINs come from counters through affine
	// permutations, for the same reason as PIN serials.
	households, oldIDs, phones, emails    affine
	nHouseholds, nOldIDs, nPhones, nEmail uint64

	headAge, singleAge bands
	religion           weighted
	religionCodes      []string
	blood              weighted
	bloodCodes         []string
}

// Household age profiles. Tuned so that the whole population matches
// Vietnam's pyramid around 2024 (under 15 ≈ 23%, 65 and over ≈ 9%); the
// tests check the shares.
var (
	headAges = []band{
		{20, 24, 1.5}, {25, 29, 6}, {30, 34, 10}, {35, 39, 11}, {40, 44, 11}, {45, 49, 10},
		{50, 54, 9}, {55, 59, 8}, {60, 64, 6}, {65, 69, 4}, {70, 74, 2.5}, {75, 79, 1.3},
		{80, 84, 0.7}, {85, 92, 0.3},
	}
	singleAges = []band{
		{18, 24, 10}, {25, 29, 13}, {30, 34, 8}, {35, 44, 8}, {45, 54, 7}, {55, 64, 9},
		{65, 74, 9}, {75, 84, 7}, {85, 99, 2.5},
	}
)

// religionShares: about 86% declare no religion (2019 census); Catholics and
// Buddhists lead the rest. Codes are those of admin.Religions.
var religionShares = []struct {
	code string
	w    float64
}{
	{"00", 86.0}, {"02", 6.1}, {"01", 4.8}, {"03", 1.0}, {"05", 1.0}, {"04", 0.8},
	{"06", 0.08}, {"08", 0.06}, {"10", 0.03}, {"14", 0.03}, {"07", 0.01},
}

// bloodShares: ABO/RhD shares reported for Vietnamese blood donors; RhD
// negative is rare (well under 1%).
var bloodShares = []struct {
	code string
	w    float64
}{
	{"O+", 41.7}, {"B+", 30.7}, {"A+", 21.2}, {"AB+", 5.6},
	{"O-", 0.3}, {"B-", 0.2}, {"A-", 0.2}, {"AB-", 0.1},
}

func newGenerator(cfg Config) (*generator, error) {
	geo, err := newGeo()
	if err != nil {
		return nil, err
	}
	y, m, d := cfg.Now.Date()
	seed := uint64(cfg.Seed)
	g := &generator{
		r:          rand.New(rand.NewPCG(seed, 0x63616e63756f63)),
		seed:       seed,
		now:        time.Date(y, m, d, 0, 0, 0, 0, time.UTC),
		geo:        geo,
		names:      newNamer(),
		pins:       newPINIssuer(cfg.Seed),
		households: newAffine(1e9, mix(seed^0x686f757365)),
		oldIDs:     newAffine(1e9, mix(seed^0x636d6e64)),
		phones:     newAffine(7e8, mix(seed^0x70686f6e65)),
		emails:     newAffine(1e8, mix(seed^0x656d61696c)),
		headAge:    newBands(headAges),
		singleAge:  newBands(singleAges),
	}
	var w []float64
	for _, s := range religionShares {
		if _, ok := admin.Religion(s.code); !ok {
			return nil, fmt.Errorf("synth: religion %s not in admin.Religions", s.code)
		}
		g.religionCodes = append(g.religionCodes, s.code)
		w = append(w, s.w)
	}
	g.religion = newWeighted(w)
	w = nil
	for _, s := range bloodShares {
		if _, ok := admin.BloodType(s.code); !ok {
			return nil, fmt.Errorf("synth: blood type %s not in admin.BloodTypes", s.code)
		}
		g.bloodCodes = append(g.bloodCodes, s.code)
		w = append(w, s.w)
	}
	g.blood = newWeighted(w)
	return g, nil
}

// chance reports true with probability p.
func (g *generator) chance(p float64) bool { return g.r.Float64() < p }

// birthAt returns a birth date for someone exactly age years old today.
func (g *generator) birthAt(age int) time.Time {
	return g.now.AddDate(-age, 0, -g.r.IntN(365))
}

// yearsBetween is the completed years from a to b.
func yearsBetween(a, b time.Time) int {
	n := b.Year() - a.Year()
	if b.Month() < a.Month() || (b.Month() == a.Month() && b.Day() < a.Day()) {
		n--
	}
	return n
}
