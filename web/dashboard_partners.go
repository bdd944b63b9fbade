package web

import (
	"context"
	"fmt"
	"math"

	"github.com/cancuoc/cancuoc/stats"
)

// partnerRow is one partner's reconciliation results with its bar: the
// matched and matched-with-differences parts of a full-width bar that
// stands for the records checked, and the seeds' "35.1/36.2 million
// matched" as its text.
type partnerRow struct {
	stats.PartnerResult
	MatchedW, DiffW float64 // widths in the bar's 0–200 units
	DiffX           float64
	Caption         string
	Percent         string
	Lang            string // for the row's template
	IsTotal         bool
}

// partnerSection is the dashboard's "reconciliation results per partner".
type partnerSection struct {
	Rows  []partnerRow
	Total partnerRow
	Res   *stats.PartnerResults
}

const barWidth = 200.0

// partnerResults lays the results out for the page; nil when the service
// does not publish them.
func (s *Site) partnerResults(ctx context.Context, lang string) (*partnerSection, error) {
	if !s.stats.HasPartnerResults() {
		return nil, nil
	}
	res, err := s.stats.PartnerResults(ctx)
	if err != nil {
		return nil, err
	}
	sec := &partnerSection{Res: res, Total: newPartnerRow(res.Total, lang)}
	sec.Total.IsTotal = true
	for _, r := range res.Partners {
		sec.Rows = append(sec.Rows, newPartnerRow(r, lang))
	}
	return sec, nil
}

func newPartnerRow(r stats.PartnerResult, lang string) partnerRow {
	row := partnerRow{PartnerResult: r, Percent: percent(lang, r.Share), Lang: lang}
	if r.Records > 0 {
		row.MatchedW = round1(barWidth * float64(r.Matched) / float64(r.Records))
		row.DiffW = round1(barWidth * float64(r.Differences) / float64(r.Records))
		row.DiffX = row.MatchedW
	}
	matched := humanCount(lang, r.Matched+r.Differences)
	of := humanCount(lang, r.Records)
	if lang == "en" {
		row.Caption = fmt.Sprintf("%s of %s matched (%s)", matched, of, row.Percent)
	} else {
		row.Caption = fmt.Sprintf("khớp %s/%s (%s)", matched, of, row.Percent)
	}
	return row
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// percent writes a share as "97,0 %" (Vietnamese) or "97.0%".
func percent(lang string, share float64) string {
	if lang == "en" {
		return fmt.Sprintf("%.1f%%", share*100)
	}
	return decimalComma(fmt.Sprintf("%.1f", share*100)) + " %"
}

// humanCount writes large counts the way the seeds do ("35,1 triệu",
// "35.1 million"); smaller ones in full.
func humanCount(lang string, n int64) string {
	units := []struct {
		size   float64
		vi, en string
	}{{1e9, "tỉ", "billion"}, {1e6, "triệu", "million"}}
	for _, u := range units {
		if float64(n) >= u.size {
			v := fmt.Sprintf("%.1f", float64(n)/u.size)
			if lang == "en" {
				return v + " " + u.en
			}
			return decimalComma(v) + " " + u.vi
		}
	}
	return formatNumber(lang, n)
}

func decimalComma(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '.' {
			b[i] = ','
		}
	}
	return string(b)
}
