package stats

import (
	"context"
	"slices"

	"github.com/cancuoc/cancuoc"
)

// Documents is the measure of the wallet documents issued, by type (one
// column per type issued so far, so a type added later just appears) and
// the holder's home unit, with documents issued per month as trend.
func Documents(st cancuoc.DocumentStatsStore) Measure { return documents{st} }

type documents struct{ st cancuoc.DocumentStatsStore }

func (documents) Info() Info {
	return Info{ID: "documents", Title: Label{"Giấy tờ điện tử đã cấp vào ví, theo loại", "Wallet documents issued, by type"},
		Trend: &Label{"Giấy tờ cấp mỗi tháng", "Documents issued per month"}}
}

func (m documents) Count(ctx context.Context, province string) (*Counts, error) {
	rows, err := m.st.CountDocuments(ctx, province)
	if err != nil {
		return nil, err
	}
	trend, err := m.st.DocumentsIssued(ctx, province)
	if err != nil {
		return nil, err
	}
	var types []string
	for _, r := range rows {
		if !slices.Contains(types, r.Type) {
			types = append(types, r.Type)
		}
	}
	slices.Sort(types)
	c := &Counts{ByUnit: map[string][]int64{}, Trend: trend}
	for _, t := range types {
		c.Columns = append(c.Columns, Column{Key: t, Label: Label{t, t}})
	}
	for _, r := range rows {
		k := r.Province
		if province != "" {
			k = r.Commune
		}
		if c.ByUnit[k] == nil {
			c.ByUnit[k] = make([]int64, len(types))
		}
		c.ByUnit[k][slices.Index(types, r.Type)] += r.Count
	}
	return c, nil
}
