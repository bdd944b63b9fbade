package wftest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/synth"
)

// Seeded unit: the files of the crash test and the benchmark are handled
// in Phường Ba Đình, Hà Nội.
const (
	Province = "01"
	Commune  = "00004"
)

// Seeded is what Seed created: eight API keys per agency (clients that
// race for the same tasks), n mothers heading a household each (in the
// residence register and on their records), and n
// people born in 1940 (85 or older, so the funeral allowance is paid by
// labour–social affairs unless they were insured: born 1930–1940).
type Seeded struct {
	Keys    map[string][]string `json:"keys"`
	Mothers []cancuoc.PIN       `json:"mothers"`
	Elders  []cancuoc.PIN       `json:"elders"`
}

// Seed creates the principals and people for n files of each kind through
// the registry, directly on the store (before the server runs). Its
// people have names and birth dates drawn as a population's (Name,
// BirthDate), so that few share both, as in a registry: identical ones
// made each a suspected duplicate of all the others, and the data-quality
// recount (run at every start) spent the measured run on thousands of
// pairs no real commune has.
func Seed(ctx context.Context, st cancuoc.Store, n int, agencies []string) (*Seeded, error) {
	w := audit.NewWriter(st, 0)
	defer w.Close()
	reg := registry.New(st, w)
	admin, _, err := reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: "seed", Role: cancuoc.RoleNationalAdmin})
	if err != nil {
		return nil, err
	}
	out := &Seeded{Keys: map[string][]string{}}
	for _, ag := range agencies {
		role, j := cancuoc.RoleMinistrySystem, cancuoc.Jurisdiction{}
		switch ag {
		case "civil_status":
			role, j = cancuoc.RoleCommuneOfficer, cancuoc.Jurisdiction{Province: Province, Commune: Commune}
		case "police":
			role, j = cancuoc.RoleProvinceOfficer, cancuoc.Jurisdiction{Province: Province}
		}
		for range 8 {
			_, key, err := reg.CreatePrincipal(ctx, nil, registry.NewPrincipal{Name: ag, Role: role, Jurisdiction: j, Agency: ag})
			if err != nil {
				return nil, err
			}
			out.Keys[ag] = append(out.Keys[ag], key)
		}
	}
	person := func(name string, sex cancuoc.Sex, born cancuoc.Date) (*cancuoc.Citizen, error) {
		return reg.RegisterBirth(ctx, admin, registry.Birth{FullName: name, BirthDate: born, Sex: sex,
			Registration:       cancuoc.Place{Era: cancuoc.Era34, Province: Province, Commune: Commune},
			PermanentResidence: &cancuoc.Place{Era: cancuoc.Era34, Province: Province, Commune: Commune, Detail: "phố Kiểm Thử"},
			Meta:               registry.Meta{LegalBasis: "seed"}})
	}
	for i := range n {
		born := BirthDate(i, 1985, 15)
		m, err := person(Name(i, cancuoc.Female, born.Year), cancuoc.Female, born)
		if err != nil {
			return nil, err
		}
		hh := fmt.Sprintf("HH-SEED-%d", i)
		if _, err := reg.Update(ctx, admin, m.PIN, m.Version, registry.Meta{Reason: "hộ", LegalBasis: "seed"}, func(c *cancuoc.Citizen) error {
			c.Household = &cancuoc.HouseholdLink{ID: hh, HeadPIN: c.PIN, HeadName: c.FullName, Relation: cancuoc.RelationHead}
			return nil
		}); err != nil {
			return nil, err
		}
		// The household is in the register too, as a household is once any
		// residence procedure has touched it: a newborn joins it as it is,
		// and the births measured are not the one-time opening of a
		// household known only from the records.
		at := m.UpdatedAt
		if err := st.InsertHousehold(ctx, &cancuoc.Household{ID: hh, Version: 1, HeadPIN: m.PIN, CreatedAt: at, UpdatedAt: at,
			Address: *m.PermanentResidence,
			Members: []cancuoc.HouseholdMember{{PIN: m.PIN, Name: m.FullName, Relation: cancuoc.RelationHead, Since: at}}}); err != nil {
			return nil, err
		}
		born = BirthDate(i, 1930, 11)
		e, err := person(Name(i, cancuoc.Male, born.Year), cancuoc.Male, born)
		if err != nil {
			return nil, err
		}
		out.Mothers, out.Elders = append(out.Mothers, m.PIN), append(out.Elders, e.PIN)
	}
	return out, nil
}

var namer = sync.OnceValue(synth.NewNamer)

// Name is the i-th seeded full name of a person of sex born in
// birthYear, drawn as synth draws a population's (the same for the same
// arguments).
func Name(i int, sex cancuoc.Sex, birthYear int) string {
	return namer().FullName(rand.New(rand.NewPCG(uint64(i), 0x5eed)), sex, birthYear)
}

// BirthDate is the i-th seeded birth date in the years from first, over
// years of them.
func BirthDate(i, first, years int) cancuoc.Date {
	return cancuoc.Date{Year: first + (i*7)%years, Month: 1 + (i*5)%12, Day: 1 + (i*11)%28}
}
