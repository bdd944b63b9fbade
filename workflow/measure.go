package workflow

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/stats"
)

// Measures are the dashboard's figures of the interlinked procedures: for
// each kind, the files submitted in the last twelve months by where they
// stand (completed, refused, open in time, open past the chain's due date),
// and the same files by channel (online through the portal, or at an
// officer's counter), each with the files submitted per month as trend.
// They count files, never a person's data.
func Measures(st cancuoc.ProcedureStore, now func() time.Time) []stats.Measure {
	var out []stats.Measure
	for _, k := range []struct {
		kind   cancuoc.ProcedureKind
		vi, en string
	}{{cancuoc.ProcedureBirth, "khai sinh liên thông", "birth, interlinked"}, {cancuoc.ProcedureDeath, "khai tử liên thông", "death, interlinked"}} {
		out = append(out,
			procMeasure{st: st, now: now, kind: k.kind, channel: false, vi: k.vi, en: k.en},
			procMeasure{st: st, now: now, kind: k.kind, channel: true, vi: k.vi, en: k.en})
	}
	return out
}

type procMeasure struct {
	st      cancuoc.ProcedureStore
	now     func() time.Time
	kind    cancuoc.ProcedureKind
	channel bool // by channel rather than by status
	vi, en  string
}

func (m procMeasure) Info() stats.Info {
	trend := &stats.Label{VI: "Hồ sơ nộp mỗi tháng", EN: "Files submitted per month"}
	if m.channel {
		return stats.Info{ID: "procedures-" + string(m.kind) + "-channel", Trend: trend,
			Title: stats.Label{VI: "Thủ tục " + m.vi + ": trực tuyến và tại quầy (12 tháng)", EN: "Procedures, " + m.en + ": online and at the counter (12 months)"}}
	}
	return stats.Info{ID: "procedures-" + string(m.kind), Trend: trend,
		Title: stats.Label{VI: "Thủ tục " + m.vi + ": đã nộp, theo tình trạng (12 tháng)", EN: "Procedures, " + m.en + ": submitted, by status (12 months)"}}
}

// procPage is how many files a count reads at a time.
const procPage = 1000

func (m procMeasure) Count(ctx context.Context, province string) (*stats.Counts, error) {
	now := m.now()
	c := &stats.Counts{ByUnit: map[string][]int64{}}
	if m.channel {
		c.Columns = []stats.Column{{Key: "online", Label: stats.Label{VI: "Trực tuyến", EN: "Online"}},
			{Key: "counter", Label: stats.Label{VI: "Tại quầy", EN: "At the counter"}}}
	} else {
		c.Columns = []stats.Column{{Key: "completed", Label: stats.Label{VI: "Đã hoàn thành", EN: "Completed"}},
			{Key: "refused", Label: stats.Label{VI: "Từ chối", EN: "Refused"}},
			{Key: "open", Label: stats.Label{VI: "Đang xử lý, trong hạn", EN: "Open, in time"}},
			{Key: "overdue", Label: stats.Label{VI: "Đang xử lý, quá hạn", EN: "Open, overdue"}}}
	}
	months := map[string]int64{}
	q := cancuoc.ProcedureQuery{Kind: m.kind, Province: province, SubmittedFrom: now.AddDate(-1, 0, 0), SubmittedTo: now, Limit: procPage}
	for {
		page, err := m.st.Procedures(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			unit := p.Province
			if province != "" {
				unit = p.Commune
			}
			row := c.ByUnit[unit]
			if row == nil {
				row = make([]int64, len(c.Columns))
				c.ByUnit[unit] = row
			}
			row[m.column(p, now)]++
			months[p.SubmittedAt.UTC().Format("2006-01")]++
		}
		if len(page) < procPage {
			break
		}
		q.AfterID = page[len(page)-1].ID
	}
	for t := now.AddDate(-1, 0, 0); !t.After(now); t = t.AddDate(0, 1, 0) {
		month := t.UTC().Format("2006-01")
		c.Trend = append(c.Trend, cancuoc.PeriodCount{Period: month, Count: months[month]})
	}
	return c, nil
}

// column is where a file is counted.
func (m procMeasure) column(p *cancuoc.Procedure, now time.Time) int {
	if m.channel {
		if p.Online {
			return 0
		}
		return 1
	}
	switch {
	case p.Status == cancuoc.ProcedureCompleted:
		return 0
	case p.Status == cancuoc.ProcedureRefused:
		return 1
	case now.After(p.Deadline) && p.ResubmitBy == nil:
		// Past the chain's due while with the agencies; a file waiting
		// for the applicant's resubmission is not the agencies' delay.
		return 3
	}
	return 2
}
