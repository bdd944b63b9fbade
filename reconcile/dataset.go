package reconcile

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/vntext"
)

// DatasetConfig describes a synthetic partner data set with known truth,
// drawn from a seeded registry: what a bank's or a ministry's customer file
// looks like when held against the population database.
type DatasetConfig struct {
	Records    int     // about how many records to draw from the registry
	Population int     // the size of the registry the records are drawn from
	Seed       int64   // the same seed and population give the same data set
	PINShare   float64 // share of records that carry a PIN (the rest are matched by name)
	// Rates of noise, each applied independently (zero values take the
	// defaults of DefaultNoise).
	Noise Noise
}

// Noise is the rate of each kind of error in a partner's records.
type Noise struct {
	NoDiacritics float64 // the name typed without marks ("Nguyen Van Duc")
	Typo         float64 // one slip in one word of the name
	WordOrder    float64 // family name last ("Đức Nguyễn Văn")
	DaySwap      float64 // day and month exchanged
	OldAddress   float64 // the address written with pre-2025 units
	NoAddress    float64 // no address
	NoSex        float64 // no sex
	WrongPIN     float64 // a PIN with a mistyped serial
	Outsiders    float64 // people who are not in the registry (share of records)
	Duplicates   float64 // records sent twice
	Card         float64 // a card number sent (records with a PIN)
}

// DefaultNoise are rates in the range partners' data cleaning reports
// describe: marks are often lost, real typos and swaps are rarer.
var DefaultNoise = Noise{NoDiacritics: 0.3, Typo: 0.05, WordOrder: 0.03, DaySwap: 0.03, OldAddress: 0.2,
	NoAddress: 0.1, NoSex: 0.2, WrongPIN: 0.02, Outsiders: 0.03, Duplicates: 0.01, Card: 0.3}

// Dataset writes a partner data set (CSV with every column) and its truth
// (CSV: record_id, pin, in_registry, noise) as people are fed to it.
type Dataset struct {
	cfg   DatasetConfig
	r     *rand.Rand
	out   *csv.Writer
	truth *csv.Writer
	n     int
	p     float64
}

// NewDataset starts a data set writing to out and truth.
func NewDataset(cfg DatasetConfig, out, truth io.Writer) (*Dataset, error) {
	if cfg.Records < 1 || cfg.Population < 1 {
		return nil, fmt.Errorf("reconcile: a data set needs a positive size and population")
	}
	if cfg.Noise == (Noise{}) {
		cfg.Noise = DefaultNoise
	}
	d := &Dataset{cfg: cfg, r: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7061727472)),
		out: csv.NewWriter(out), truth: csv.NewWriter(truth)}
	d.p = min(1, float64(cfg.Records)/float64(cfg.Population))
	if err := d.out.Write(Columns); err != nil {
		return nil, err
	}
	return d, d.truth.Write([]string{"record_id", "pin", "in_registry", "noise"})
}

// Add offers a batch of registry people (as stored: derived fields set);
// about Records/Population of them are drawn, some sent twice, and people
// not in the registry are mixed in at the Outsiders rate.
func (d *Dataset) Add(batch []*cancuoc.Citizen) error {
	for _, c := range batch {
		if d.r.Float64() >= d.p {
			continue
		}
		if err := d.write(c, true); err != nil {
			return err
		}
	}
	return nil
}

// AddOutsiders offers people who are not in the registry; the data set
// takes as many as its Outsiders rate asks for.
func (d *Dataset) AddOutsiders(people []*cancuoc.Citizen) error {
	want := int(float64(d.cfg.Records) * d.cfg.Noise.Outsiders)
	for _, c := range people[:min(want, len(people))] {
		if err := d.write(c, false); err != nil {
			return err
		}
	}
	return nil
}

// Close flushes both files.
func (d *Dataset) Close() error {
	d.out.Flush()
	d.truth.Flush()
	if err := d.out.Error(); err != nil {
		return err
	}
	return d.truth.Error()
}

func (d *Dataset) chance(p float64) bool { return p > 0 && d.r.Float64() < p }

func (d *Dataset) write(c *cancuoc.Citizen, inRegistry bool) error {
	d.n++
	id := fmt.Sprintf("KH%08d", d.n)
	nz := d.cfg.Noise
	var noise []string
	note := func(s string) { noise = append(noise, s) }

	name := c.FullName
	if d.chance(nz.WordOrder) {
		if w := strings.Fields(name); len(w) > 1 {
			name = strings.Join(append(w[1:], w[0]), " ")
			note("word_order")
		}
	}
	if d.chance(nz.Typo) {
		name = d.typo(name)
		note("typo")
	}
	if d.chance(nz.NoDiacritics) {
		name = vntext.StripDiacritics(name)
		note("no_diacritics")
	}
	birth := c.BirthDate
	if s := swapped(birth); !s.IsZero() && d.chance(nz.DaySwap) {
		birth = s
		note("day_swap")
	}
	sex := map[cancuoc.Sex]string{cancuoc.Male: "Nam", cancuoc.Female: "Nữ"}[c.Sex]
	if d.chance(nz.NoSex) {
		sex = ""
	}
	addr := ""
	if !d.chance(nz.NoAddress) {
		old := d.chance(nz.OldAddress)
		addr = d.address(c.PermanentResidence, old)
		if old && addr != "" {
			note("old_address")
		}
	}
	pin, card := "", ""
	if inRegistry && d.chance(d.cfg.PINShare) {
		pin = string(c.PIN)
		if d.chance(nz.WrongPIN) {
			b := []byte(pin)
			i := 6 + d.r.IntN(6)
			b[i] = byte('0' + (int(b[i]-'0')+1+d.r.IntN(9))%10)
			pin = string(b)
			note("wrong_pin")
		}
		if len(c.Cards) > 0 && d.chance(nz.Card) {
			card = c.Cards[len(c.Cards)-1].Number
		}
	}
	if c.LifeStatus != cancuoc.Alive {
		note(string(c.LifeStatus))
	}
	row := []string{id, pin, name, dateText(birth, d.r), sex, addr, card}
	truePIN := ""
	if inRegistry {
		truePIN = string(c.PIN)
	}
	times := 1
	if d.chance(nz.Duplicates) {
		times = 2
		note("duplicate")
	}
	for range times {
		if err := d.out.Write(row); err != nil {
			return err
		}
	}
	return d.truth.Write([]string{id, truePIN, strconv.FormatBool(inRegistry), strings.Join(noise, ";")})
}

// dateText writes a date in ISO or Vietnamese day-first form.
func dateText(b cancuoc.Date, r *rand.Rand) string {
	if b.Complete() && r.IntN(2) == 0 {
		return fmt.Sprintf("%02d/%02d/%04d", b.Day, b.Month, b.Year)
	}
	return b.String()
}

// typo makes one slip in one word: a letter replaced, dropped, doubled or
// swapped with its neighbour.
func (d *Dataset) typo(name string) string {
	words := strings.Fields(name)
	wi := d.r.IntN(len(words))
	w := []rune(words[wi])
	if len(w) < 2 {
		return name
	}
	i := d.r.IntN(len(w) - 1)
	switch d.r.IntN(4) {
	case 0:
		l := rune('a' + d.r.IntN(26))
		if unicode.IsUpper(w[i]) {
			l = unicode.ToUpper(l)
		}
		w[i] = l
	case 1:
		w = append(w[:i+1], w[i+2:]...)
	case 2:
		w = append(w[:i+1], w[i:]...)
	case 3:
		w[i], w[i+1] = w[i+1], w[i]
	}
	words[wi] = string(w)
	return strings.Join(words, " ")
}

// address writes a place as people write it: detail, commune, (district,)
// province. With old set, a place in today's units is written with one of
// the pre-2025 communes that went into it.
func (d *Dataset) address(p *cancuoc.Place, old bool) string {
	if p == nil {
		return ""
	}
	parts := []string{}
	if p.Detail != "" {
		parts = append(parts, p.Detail)
	}
	switch {
	case p.Era == cancuoc.Era34 && old:
		olds := places().old[p.Commune]
		if len(olds) == 0 {
			return d.address(p, false)
		}
		o := olds[d.r.IntN(len(olds))]
		return strings.Join(append(parts, oldNames(o)...), ", ")
	case p.Era == cancuoc.Era34:
		if c, ok := admin.Current().Commune(p.Commune); ok {
			parts = append(parts, c.FullName)
		}
		if pr, ok := admin.Current().Province(p.Province); ok {
			parts = append(parts, pr.FullName)
		}
	case p.Era == cancuoc.Era63:
		if c, ok := admin.Old().Commune(p.Commune); ok {
			parts = append(parts, oldNames(c)...)
		}
	}
	return strings.Join(parts, ", ")
}

func oldNames(c admin.Unit) []string {
	out := []string{c.FullName}
	if dn, ok := admin.Old().District(c.DistrictCode); ok {
		out = append(out, dn.FullName)
	}
	if pr, ok := admin.Old().Province(c.ProvinceCode); ok {
		out = append(out, pr.FullName)
	}
	return out
}
