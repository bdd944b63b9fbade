package application

import (
	"context"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/stats"
)

// Counter is what the measures count in (cancuoc.Store is one).
type Counter interface {
	CountApplications(ctx context.Context, province string, now time.Time) ([]cancuoc.ApplicationCount, error)
}

// Measures are the dashboard's figures of applications: one for all kinds
// ("applications") and one per kind ("applications-eid-level2", …), each
// by deciding province (or commune within a province), split into
// approved, rejected, open past the due time, and the rest (open in time
// or withdrawn), so that a unit's value is the number received.
func Measures(st Counter, now func() time.Time) []stats.Measure {
	if now == nil {
		now = time.Now
	}
	out := []stats.Measure{measure{st: st, now: now}}
	for _, k := range cancuoc.ApplicationKinds {
		out = append(out, measure{st: st, now: now, kind: k})
	}
	return out
}

// Register adds Measures to s.
func Register(s *stats.Service, st Counter, now func() time.Time) {
	for _, m := range Measures(st, now) {
		s.Register(m)
	}
}

type measure struct {
	st   Counter
	now  func() time.Time
	kind cancuoc.ApplicationKind // "" for all
}

var kindTitles = map[cancuoc.ApplicationKind]stats.Label{
	"":                            {VI: "Hồ sơ đề nghị trực tuyến", EN: "Online applications"},
	cancuoc.AppTemporaryResidence: {VI: "Hồ sơ đăng ký tạm trú trực tuyến", EN: "Online temporary-residence applications"},
	cancuoc.AppPermanentResidence: {VI: "Hồ sơ đăng ký thường trú trực tuyến", EN: "Online permanent-residence applications"},
	cancuoc.AppEIDLevel2:          {VI: "Hồ sơ đề nghị định danh điện tử mức 2", EN: "eID level-2 applications"},
	cancuoc.AppCorrection:         {VI: "Yêu cầu điều chỉnh thông tin", EN: "Correction requests"},
}

func (m measure) Info() stats.Info {
	id := "applications"
	if m.kind != "" {
		id += "-" + strings.ReplaceAll(string(m.kind), "_", "-")
	}
	return stats.Info{ID: id, Title: kindTitles[m.kind]}
}

func (m measure) Count(ctx context.Context, province string) (*stats.Counts, error) {
	rows, err := m.st.CountApplications(ctx, province, m.now())
	if err != nil {
		return nil, err
	}
	c := &stats.Counts{Columns: []stats.Column{
		{Key: "approved", Label: stats.Label{VI: "Đã duyệt", EN: "Approved"}},
		{Key: "rejected", Label: stats.Label{VI: "Từ chối", EN: "Rejected"}},
		{Key: "overdue", Label: stats.Label{VI: "Quá hạn", EN: "Overdue"}},
		{Key: "other", Label: stats.Label{VI: "Đang giải quyết trong hạn hoặc đã rút", EN: "Open in time, or withdrawn"}},
	}, ByUnit: map[string][]int64{}}
	for _, r := range rows {
		if m.kind != "" && r.Kind != m.kind {
			continue
		}
		k := r.Province
		if province != "" {
			k = r.Commune
		}
		v := c.ByUnit[k]
		if v == nil {
			v = make([]int64, 4)
			c.ByUnit[k] = v
		}
		v[0] += r.Approved
		v[1] += r.Rejected
		v[2] += r.Overdue
		v[3] += r.Received - r.Approved - r.Rejected - r.Overdue
	}
	return c, nil
}
