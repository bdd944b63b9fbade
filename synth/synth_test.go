package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/vntext"
)

var testNow = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)

// firstBatches returns the JSON of the first n batches of a population.
func firstBatches(t *testing.T, seed int64, n int) [][]byte {
	t.Helper()
	var out [][]byte
	stop := errors.New("stop")
	err := Generate(context.Background(), Config{Citizens: 50_000, Seed: seed, Now: testNow, BatchSize: 2000},
		func(b []*cancuoc.Citizen) error {
			j, err := json.Marshal(b)
			if err != nil {
				return err
			}
			out = append(out, j)
			if len(out) == n {
				return stop
			}
			return nil
		})
	if !errors.Is(err, stop) {
		t.Fatalf("Generate: %v", err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a, b := firstBatches(t, 42, 3), firstBatches(t, 42, 3)
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("batch %d differs between two runs with the same seed", i)
		}
	}
	c := firstBatches(t, 43, 1)
	if bytes.Equal(a[0], c[0]) {
		t.Fatal("seeds 42 and 43 gave the same first batch")
	}
}

func TestConfigErrors(t *testing.T) {
	noop := func([]*cancuoc.Citizen) error { return nil }
	if err := Generate(context.Background(), Config{Citizens: 10}, noop); err == nil {
		t.Error("zero Now accepted")
	}
	if err := Generate(context.Background(), Config{Citizens: -1, Now: testNow}, noop); err == nil {
		t.Error("negative Citizens accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Generate(ctx, Config{Citizens: 100, Now: testNow}, noop); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
	n := 0
	if err := Generate(context.Background(), Config{Citizens: 0, Now: testNow}, func(b []*cancuoc.Citizen) error { n += len(b); return nil }); err != nil || n != 0 {
		t.Errorf("empty population: %d people, err %v", n, err)
	}
}

func TestPINIssuer(t *testing.T) {
	p := newPINIssuer(7)
	seen := make([]bool, serialSpace)
	for k := range serialSpace {
		pin, err := p.issue("001", cancuoc.Female, 1990)
		if err != nil {
			t.Fatalf("serial %d: %v", k, err)
		}
		s := int(pin[6]-'0')*100000 + int(pin[7]-'0')*10000 + int(pin[8]-'0')*1000 + int(pin[9]-'0')*100 + int(pin[10]-'0')*10 + int(pin[11]-'0')
		if want, err := cancuoc.NewPIN("001", cancuoc.Female, 1990, uint32(s)); err != nil || pin != want {
			t.Fatalf("issued %s, cancuoc.NewPIN gives %s (%v)", pin, want, err)
		}
		if seen[s] {
			t.Fatalf("serial %06d issued twice", s)
		}
		seen[s] = true
	}
	if _, err := p.issue("001", cancuoc.Female, 1990); err == nil {
		t.Fatal("no error when the bucket is full")
	}
	if pin, err := p.issue("079", cancuoc.Male, 2031); err != nil || pin[:6] != "079231" {
		t.Fatalf("another bucket: %s, %v", pin, err)
	}
	if _, err := p.issue("003", cancuoc.Male, 1990); err == nil {
		t.Fatal("unknown province 003 accepted")
	}
}

// checkPlace reports what is wrong with a place's codes in its era.
func checkPlace(p *cancuoc.Place) string {
	if p == nil {
		return ""
	}
	var set *admin.Set
	switch p.Era {
	case cancuoc.Era63:
		set = admin.Old()
	case cancuoc.Era34:
		set = admin.Current()
		if p.District != "" {
			return "district in the current era"
		}
	case "":
		if p.Province != "" || p.Commune != "" || p.Detail == "" {
			return "place without era has codes or no text"
		}
		return ""
	default:
		return "unknown era"
	}
	if _, ok := set.Province(p.Province); !ok {
		return "unknown province " + p.Province
	}
	if p.District != "" {
		d, ok := set.District(p.District)
		if !ok || d.ProvinceCode != p.Province {
			return "district " + p.District + " not in province " + p.Province
		}
	}
	if p.Commune != "" {
		c, ok := set.Commune(p.Commune)
		if !ok || c.ProvinceCode != p.Province || (p.District != "" && c.DistrictCode != p.District) {
			return "commune " + p.Commune + " not in province " + p.Province + " district " + p.District
		}
	}
	return ""
}

func TestPopulation(t *testing.T) {
	const n = 200_000
	const batchSize = 5000
	pins := make(map[cancuoc.PIN]bool, n)
	var (
		total, nguyen, kinh, ethKnown, under15, over65, dead, missing, incomplete int
		noReligion, relKnown, legacy, temp, carded, adults14, households, oldIDs  int
		sizes                                                                     [10]int
		decades                                                                   [11]int
	)
	err := Generate(context.Background(), Config{Citizens: n, Seed: 1, Now: testNow, BatchSize: batchSize},
		func(batch []*cancuoc.Citizen) error {
			if len(batch) > batchSize+maxHousehold {
				t.Errorf("batch of %d people", len(batch))
			}
			byPIN := make(map[cancuoc.PIN]*cancuoc.Citizen, len(batch))
			for _, c := range batch {
				byPIN[c.PIN] = c
			}
			hh := map[string]int{}
			for _, c := range batch {
				total++
				if _, err := cancuoc.ParsePIN(string(c.PIN), testNow.Year()); err != nil {
					t.Fatalf("PIN %s: %v", c.PIN, err)
				}
				if err := c.PIN.CheckPerson(c.Sex, c.BirthDate); err != nil {
					t.Fatalf("PIN %s vs %s %s: %v", c.PIN, c.Sex, c.BirthDate, err)
				}
				if pins[c.PIN] {
					t.Fatalf("PIN %s issued twice", c.PIN)
				}
				pins[c.PIN] = true
				if c.FullName != vntext.NFC(c.FullName) || vntext.CleanName(c.FullName) != c.FullName {
					t.Fatalf("name %q is not clean NFC", c.FullName)
				}
				if c.Version != 0 || c.NameKey != "" || c.Home != (cancuoc.UnitRef{}) || !c.CreatedAt.IsZero() {
					t.Fatalf("%s: derived fields set", c.PIN)
				}
				if c.Nationality != "VNM" {
					t.Fatalf("%s: nationality %q", c.PIN, c.Nationality)
				}
				for _, p := range []*cancuoc.Place{c.BirthPlace, c.BirthRegistration, c.Origin, c.PermanentResidence, c.CurrentResidence} {
					if msg := checkPlace(p); msg != "" {
						t.Fatalf("%s: %s: %+v", c.PIN, msg, *p)
					}
				}
				if c.TemporaryResidence != nil {
					temp++
					if msg := checkPlace(&c.TemporaryResidence.Place); msg != "" {
						t.Fatalf("%s temporary residence: %s", c.PIN, msg)
					}
				}
				if c.BirthRegistration.Province != c.PIN.ProvinceCode() {
					t.Fatalf("%s registered in %s", c.PIN, c.BirthRegistration.Province)
				}
				era := c.BirthRegistration.Era
				if (c.BirthDate.Latest().Before(reorganisation) && era != cancuoc.Era63) ||
					(!c.BirthDate.Earliest().Before(reorganisation) && era != cancuoc.Era34) {
					t.Fatalf("%s born %s registered in era %s", c.PIN, c.BirthDate, c.BirthRegistration.Era)
				}
				if c.PermanentResidence.Era != cancuoc.Era34 {
					legacy++
				}
				if c.Ethnicity != "" {
					ethKnown++
					if _, ok := admin.Ethnicity(c.Ethnicity); !ok {
						t.Fatalf("ethnicity %q", c.Ethnicity)
					}
				}
				if c.Ethnicity == "01" {
					kinh++
				}
				if c.Religion != "" {
					relKnown++
					if c.Religion == "00" {
						noReligion++
					}
				}
				if len([]rune(c.FullName)) > 6 && string([]rune(c.FullName)[:7]) == "Nguyễn " {
					nguyen++
				}
				age := c.BirthDate.AgeOn(testNow)
				decades[min(age/10, 10)]++
				if age < 15 {
					under15++
				}
				if age >= 65 {
					over65++
				}
				if !c.BirthDate.Complete() {
					incomplete++
				}
				if c.OldIDNumber != "" {
					oldIDs++
					if len(c.OldIDNumber) != 9 {
						t.Fatalf("old ID %q", c.OldIDNumber)
					}
				}
				if age >= 14 {
					adults14++
					if len(c.Cards) == 1 && c.Cards[0].Number == string(c.PIN) {
						carded++
					}
					for _, k := range c.Cards {
						if !k.ExpiresOn.IsZero() && !k.ExpiresOn.Earliest().After(k.IssuedOn.Earliest()) {
							t.Fatalf("%s: card expires before it was issued", c.PIN)
						}
					}
				} else if len(c.Cards) > 0 {
					t.Fatalf("%s: card at age %d", c.PIN, age)
				}
				switch c.LifeStatus {
				case cancuoc.Dead:
					dead++
					if c.DeathDate.IsZero() || c.DeathDate.Earliest().Before(testNow.AddDate(-5, 0, -1)) {
						t.Fatalf("%s: death date %s", c.PIN, c.DeathDate)
					}
					if c.Spouse != nil && byPIN[c.Spouse.PIN].MaritalStatus != cancuoc.Widowed {
						t.Fatalf("%s: spouse of the dead is %s", c.PIN, byPIN[c.Spouse.PIN].MaritalStatus)
					}
				case cancuoc.Missing:
					missing++
					if c.MissingSince.IsZero() {
						t.Fatalf("%s: missing without date", c.PIN)
					}
				case cancuoc.Alive:
				default:
					t.Fatalf("%s: life status %q", c.PIN, c.LifeStatus)
				}

				// Links are symmetric and stay within the batch.
				h := c.Household
				if h == nil || byPIN[h.HeadPIN] == nil || byPIN[h.HeadPIN].FullName != h.HeadName {
					t.Fatalf("%s: household head not in batch", c.PIN)
				}
				hh[h.ID]++
				if (h.HeadPIN == c.PIN) != (h.Relation == cancuoc.RelationHead) {
					t.Fatalf("%s: relation %q", c.PIN, h.Relation)
				}
				for _, par := range []*cancuoc.Relative{c.Father, c.Mother} {
					if par == nil || par.PIN == "" {
						continue
					}
					p := byPIN[par.PIN]
					if p == nil || !hasChild(p, c.PIN) {
						t.Fatalf("%s: parent %s does not list the child", c.PIN, par.PIN)
					}
					if p.BirthDate.Year+18 > c.BirthDate.Year || p.BirthDate.Year+46 < c.BirthDate.Year {
						t.Fatalf("%s born %d: parent born %d", c.PIN, c.BirthDate.Year, p.BirthDate.Year)
					}
				}
				for _, k := range c.Children {
					kc := byPIN[k.PIN]
					if kc == nil || !((kc.Father != nil && kc.Father.PIN == c.PIN) || (kc.Mother != nil && kc.Mother.PIN == c.PIN)) {
						t.Fatalf("%s: child %s does not name the parent", c.PIN, k.PIN)
					}
				}
				if c.Spouse != nil {
					s := byPIN[c.Spouse.PIN]
					if s == nil || s.Spouse == nil || s.Spouse.PIN != c.PIN || s.Sex == c.Sex {
						t.Fatalf("%s: spouse link not symmetric", c.PIN)
					}
					if c.LifeStatus != cancuoc.Dead && s.LifeStatus != cancuoc.Dead && c.MaritalStatus != cancuoc.Married {
						t.Fatalf("%s: has a living spouse but is %s", c.PIN, c.MaritalStatus)
					}
				}
			}
			for _, k := range hh {
				households++
				sizes[min(k, 9)]++
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if total != n {
		t.Fatalf("generated %d people, want %d", total, n)
	}
	share := func(k, of int) float64 { return 100 * float64(k) / float64(of) }
	t.Logf("households %d (sizes %v), Nguyễn %.1f%%, Kinh %.1f%%, no religion %.1f%%, under 15 %.1f%%, 65+ %.1f%%",
		households, sizes, share(nguyen, n), share(kinh, ethKnown), share(noReligion, relKnown), share(under15, n), share(over65, n))
	t.Logf("dead %.2f%%, missing %.3f%%, partial birth dates %.1f%%, legacy residence %.1f%%, temporary residence %.1f%%, old ID %.1f%%",
		share(dead, n), share(missing, n), share(incomplete, n), share(legacy, n), share(temp, n), share(oldIDs, n))
	t.Logf("by decade of age: %v", decades)
	for _, c := range []struct {
		name     string
		got      float64
		min, max float64
	}{
		{"Nguyễn", share(nguyen, n), 33, 43},
		{"Kinh", share(kinh, ethKnown), 80, 90},
		{"under 15", share(under15, n), 18, 28},
		{"65 and over", share(over65, n), 6, 12},
		{"no religion", share(noReligion, relKnown), 80, 92},
		{"dead", share(dead, n), 0.2, 1},
		{"partial birth dates", share(incomplete, n), 1, 5},
		{"legacy residence", share(legacy, n), 1, 4},
		{"cards among 14+", share(carded, adults14), 100, 100},
	} {
		if c.got < c.min || c.got > c.max {
			t.Errorf("%s: %.2f%%, want %.0f–%.0f%%", c.name, c.got, c.min, c.max)
		}
	}
}

func hasChild(p *cancuoc.Citizen, pin cancuoc.PIN) bool {
	for _, k := range p.Children {
		if k.PIN == pin {
			return true
		}
	}
	return false
}

func BenchmarkGenerate(b *testing.B) {
	const perOp = 100_000
	b.ReportAllocs()
	people := 0
	for i := 0; b.Loop(); i++ {
		err := Generate(context.Background(), Config{Citizens: perOp, Seed: int64(i), Now: testNow},
			func(batch []*cancuoc.Citizen) error { people += len(batch); return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(people)/b.Elapsed().Seconds(), "people/s")
}
