package wftest

import (
	"context"
	"fmt"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/registry"
)

// Seeded unit: the files of the crash test and the benchmark are handled
// in Phường Ba Đình, Hà Nội.
const (
	Province = "01"
	Commune  = "00004"
)

// Seeded is what Seed created: eight API keys per agency (clients that
// race for the same tasks), n mothers heading a household each, and n
// people born in 1940 (85 or older, so the funeral allowance is paid by
// labour–social affairs unless they were insured: born 1930–1940).
type Seeded struct {
	Keys    map[string][]string `json:"keys"`
	Mothers []cancuoc.PIN       `json:"mothers"`
	Elders  []cancuoc.PIN       `json:"elders"`
}

// Seed creates the principals and people for n files of each kind through
// the registry, directly on the store (before the server runs). Its
// people have names and birth dates of their own (Name, BirthDate), as a
// registry's do: identical ones would make each a suspected duplicate of
// all the others, and the data-quality recount (run at every start) would
// spend the measured run on thousands of pairs no real commune has.
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
		m, err := person(Name(i, cancuoc.Female), cancuoc.Female, BirthDate(i, 1985, 15))
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
		e, err := person(Name(i, cancuoc.Male), cancuoc.Male, BirthDate(i, 1930, 11))
		if err != nil {
			return nil, err
		}
		out.Mothers, out.Elders = append(out.Mothers, m.PIN), append(out.Elders, e.PIN)
	}
	return out, nil
}

// The parts of the seeded names: common Vietnamese family names, middle
// names and given names.
var (
	familyNames = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	middleNames = map[cancuoc.Sex][]string{
		cancuoc.Female: {"Thị", "Ngọc", "Thu", "Minh", "Thanh", "Kim", "Mỹ", "Hồng"},
		cancuoc.Male:   {"Văn", "Minh", "Đức", "Quốc", "Hữu", "Thành", "Công", "Gia"},
	}
	givenNames = map[cancuoc.Sex][]string{
		cancuoc.Female: {"Lan", "Hoa", "Mai", "Hương", "Linh", "Trang", "Thảo", "Ngân", "Phương", "Hà", "Yến", "Vy", "Quỳnh", "Dung", "Hạnh", "Nhung"},
		cancuoc.Male:   {"An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khoa", "Long", "Nam", "Phúc", "Quân", "Sơn", "Tuấn", "Việt", "Vinh", "Khánh"},
	}
)

// Name is the i-th seeded full name of a person of sex: 2,048 names per
// sex, consecutive i differing in every part.
func Name(i int, sex cancuoc.Sex) string {
	mid, given := middleNames[sex], givenNames[sex]
	return familyNames[i%len(familyNames)] + " " + mid[(i/len(familyNames))%len(mid)] + " " +
		given[(i/(len(familyNames)*len(mid)))%len(given)]
}

// BirthDate is the i-th seeded birth date in the years from first, over
// years of them.
func BirthDate(i, first, years int) cancuoc.Date {
	return cancuoc.Date{Year: first + (i*7)%years, Month: 1 + (i*5)%12, Day: 1 + (i*11)%28}
}
