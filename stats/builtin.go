package stats

import (
	"context"
	"strconv"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Store is what the built-in measures count in.
type Store interface {
	CountPopulation(ctx context.Context, province string) ([]cancuoc.PopulationCount, error)
	cancuoc.StatsStore
}

// Builtin registers the measures of what exists in the registry itself:
// population, eID accounts by level, identity cards by age group.
func (s *Service) Builtin(st Store) *Service {
	s.Register(population{st})
	s.Register(accounts{st})
	s.Register(cards{st, s.now})
	return s
}

// population counts living people by home unit.
type population struct{ st Store }

func (population) Info() Info {
	return Info{ID: "population", Title: Label{"Dân số (người đang sống)", "Population (living people)"}}
}

func (m population) Count(ctx context.Context, province string) (*Counts, error) {
	rows, err := m.st.CountPopulation(ctx, province)
	if err != nil {
		return nil, err
	}
	c := &Counts{Columns: []Column{{"alive", Label{"Đang sống", "Living"}}}, ByUnit: map[string][]int64{}}
	for _, r := range rows {
		k := r.Province
		if province != "" {
			k = r.Commune
		}
		c.ByUnit[k] = []int64{r.Alive}
	}
	return c, nil
}

// accounts counts open eID accounts by level, with accounts opened per
// month as the trend.
type accounts struct{ st Store }

func (accounts) Info() Info {
	return Info{ID: "eid-accounts", Title: Label{"Tài khoản định danh điện tử", "Electronic identity accounts"},
		Trend: &Label{"Tài khoản mở mỗi tháng", "Accounts opened per month"}}
}

func (m accounts) Count(ctx context.Context, province string) (*Counts, error) {
	rows, err := m.st.CountAccounts(ctx, province)
	if err != nil {
		return nil, err
	}
	trend, err := m.st.AccountsOpened(ctx, province)
	if err != nil {
		return nil, err
	}
	c := &Counts{Columns: []Column{{"level1", Label{"Mức 1", "Level 1"}}, {"level2", Label{"Mức 2", "Level 2"}}},
		ByUnit: map[string][]int64{}, Trend: trend}
	for _, r := range rows {
		k := r.Province
		if province != "" {
			k = r.Commune
		}
		if c.ByUnit[k] == nil {
			c.ByUnit[k] = make([]int64, 2)
		}
		if r.Level == cancuoc.Level1 || r.Level == cancuoc.Level2 {
			c.ByUnit[k][r.Level-1] += r.Count
		}
	}
	return c, nil
}

// cards counts valid identity cards by the holder's age group. The groups
// end at the ages at which the Law on Identity has a card renewed (14, 25,
// 40, 60); age is reached this calendar year, from the year of birth.
type cards struct {
	st  Store
	now func() time.Time
}

// AgeGroups are the lower bounds of the card age groups.
var AgeGroups = []int{0, 14, 25, 40, 60}

func (cards) Info() Info {
	return Info{ID: "cards", Title: Label{"Thẻ căn cước còn hiệu lực, theo nhóm tuổi", "Valid identity cards, by age group"},
		Trend: &Label{"Thẻ cấp mỗi năm", "Cards issued per year"}}
}

func cardColumns() []Column {
	var cols []Column
	for i, lo := range AgeGroups {
		key := strconv.Itoa(lo) + "+"
		vi, en := "Từ "+strconv.Itoa(lo)+" tuổi", strconv.Itoa(lo)+" and over"
		if i+1 < len(AgeGroups) {
			hi := strconv.Itoa(AgeGroups[i+1] - 1)
			key = strconv.Itoa(lo) + "-" + hi
			vi, en = strconv.Itoa(lo)+"–"+hi+" tuổi", strconv.Itoa(lo)+"–"+hi
		}
		cols = append(cols, Column{key, Label{vi, en}})
	}
	return cols
}

func ageGroup(age int) int {
	g := 0
	for i, lo := range AgeGroups {
		if age >= lo {
			g = i
		}
	}
	return g
}

func (m cards) Count(ctx context.Context, province string) (*Counts, error) {
	rows, err := m.st.CountCards(ctx, province)
	if err != nil {
		return nil, err
	}
	trend, err := m.st.CardsIssued(ctx, province)
	if err != nil {
		return nil, err
	}
	year := m.now().Year()
	c := &Counts{Columns: cardColumns(), ByUnit: map[string][]int64{}, Trend: trend}
	for _, r := range rows {
		k := r.Province
		if province != "" {
			k = r.Commune
		}
		if c.ByUnit[k] == nil {
			c.ByUnit[k] = make([]int64, len(AgeGroups))
		}
		c.ByUnit[k][ageGroup(year-r.BirthYear)] += r.Count
	}
	return c, nil
}

// Quality is the officers' data-quality measure ("đúng, đủ, sạch, sống"):
// living people's records to complete, by problem. It is not public: the
// console registers it on a service of its own.
func Quality(st cancuoc.StatsStore) Measure { return quality{st} }

type quality struct{ st cancuoc.StatsStore }

func (quality) Info() Info {
	return Info{ID: "data-quality", Title: Label{"Chất lượng dữ liệu: hồ sơ cần bổ sung", "Data quality: records to complete"}}
}

func (m quality) Count(ctx context.Context, province string) (*Counts, error) {
	rows, err := m.st.CountQuality(ctx, province)
	if err != nil {
		return nil, err
	}
	c := &Counts{Columns: []Column{
		{"partial_birth", Label{"Ngày sinh chưa đủ", "Partial date of birth"}},
		{"no_ethnicity", Label{"Thiếu dân tộc", "No ethnicity"}},
		{"no_permanent_residence", Label{"Thiếu nơi thường trú", "No permanent residence"}},
		{"old_unit_address", Label{"Địa chỉ theo đơn vị đã bỏ", "Address in abolished units"}},
	}, ByUnit: map[string][]int64{}}
	for _, r := range rows {
		k := r.Province
		if province != "" {
			k = r.Commune
		}
		c.ByUnit[k] = []int64{r.PartialBirth, r.NoEthnicity, r.NoResidence, r.OldUnitAddress}
	}
	return c, nil
}
