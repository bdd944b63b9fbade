package web

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/cancuoc/cancuoc/stats"
)

// historyChart draws the area's stored snapshots as an SVG line chart
// (value over time, on a time axis), with every point's value in a
// <title> for screen readers and hover; empty with fewer than two points,
// as one point is no trend. The table beside the chart carries the same
// figures for those who cannot see it.
func historyChart(f *stats.Figures, lang string) template.HTML {
	pts := f.History
	if len(pts) < 2 {
		return ""
	}
	lo, hi := pts[0].Value, pts[0].Value
	for _, p := range pts {
		lo, hi = min(lo, p.Value), max(hi, p.Value)
	}
	// The axis starts at zero unless the values sit far above it, where a
	// zero base would flatten every change into a straight line.
	if lo > 0 && float64(hi-lo) > 0.2*float64(hi) {
		lo = 0
	}
	if hi == lo {
		hi = lo + 1
	}
	t0, t1 := pts[0].At, pts[len(pts)-1].At
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	const w, h, padL, padR, padY = 600.0, 200.0, 70.0, 12.0, 22.0
	x := func(i int) float64 { return padL + (w-padL-padR)*pts[i].At.Sub(t0).Seconds()/span }
	y := func(v int64) float64 { return h - padY - (h-2*padY)*float64(v-lo)/float64(hi-lo) }
	title := pick(lang, [2]string{"Diễn biến theo thời gian (các lần chụp số liệu)", "Over time (stored snapshots)"})
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="history" viewBox="0 0 %g %g" role="img" aria-labelledby="history-title"><title id="history-title">%s</title>`,
		w, h, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<line class="axis" x1="%g" y1="%g" x2="%g" y2="%g"/>`, padL, h-padY, w-padR, h-padY)
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end">%s</text><text x="%g" y="%g" text-anchor="end">%s</text>`,
		padL-6, padY+4, formatNumber(lang, hi), padL-6, h-padY, formatNumber(lang, lo))
	var path strings.Builder
	for i, p := range pts {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&path, "%s%.1f %.1f", cmd, x(i), y(p.Value))
	}
	fmt.Fprintf(&b, `<path class="line" d="%s"/>`, path.String())
	for i, p := range pts {
		when := p.At.In(vnTime).Format("02/01/2006")
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" data-at="%s" data-value="%d"><title>%s: %s</title></circle>`,
			x(i), y(p.Value), p.At.Format("2006-01-02T15:04:05Z"), p.Value, when, formatNumber(lang, p.Value))
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g">%s</text><text x="%g" y="%g" text-anchor="end">%s</text></svg>`,
		padL, h-4, t0.In(vnTime).Format("02/01/2006"), w-padR, h-4, t1.In(vnTime).Format("02/01/2006"))
	return template.HTML(b.String())
}
