package web

import (
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/cancuoc/cancuoc/stats"
)

//go:generate go run ./internal/mapgen -src ../../shared/data/admin/geojson-provinces-2026 -out static/provinces.json -tolerance 0.5

// outlines is the generated map (static/provinces.json; see
// internal/mapgen and static/SOURCES.md).
type outlines struct {
	ViewBox   string `json:"view_box"`
	Provinces []struct {
		Code   string     `json:"code"`
		Name   string     `json:"name"`
		NameEn string     `json:"name_en"`
		D      string     `json:"d"`
		Label  [2]float64 `json:"label"`
		Box    [4]float64 `json:"box"`
	} `json:"provinces"`
}

var loadMap = sync.OnceValue(func() *outlines {
	b, err := files.ReadFile("static/provinces.json")
	if err != nil {
		panic(err)
	}
	var m outlines
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return &m
})

// palette is a sequential blue scale whose darkest steps carry white
// text at a contrast above 4.5:1; step 0 is "nothing counted".
var palette = []string{"#f0f0f0", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"}

// shade picks the colour of v on a scale up to max (square root, so that
// a few large cities do not wash out every other province).
func shade(v, max int64) int {
	if v <= 0 || max <= 0 {
		return 0
	}
	f := math.Sqrt(float64(v) / float64(max))
	i := 1 + int(f*float64(len(palette)-2)+0.5)
	return min(i, len(palette)-1)
}

// mapShape is one province drawn on the map.
type mapShape struct {
	Code, Name, D, Fill, Href string
	Value                     int64
	Selected                  bool
}

type dashboardData struct {
	Measures []stats.Info
	Measure  string
	Figures  *stats.Figures
	Province string // when showing one province's communes
	ViewBox  string
	Shapes   []mapShape
	Legend   []legendStep
	Trend    template.HTML
	Colspan  int
	History  template.HTML // the snapshots' line chart (history.go)
	// Partners is the reconciliation results per partner (national page).
	Partners *partnerSection
}

type legendStep struct {
	Class string // c1…c6, the swatch's colour in app.css (no inline styles under the CSP)
	From  int64
}

// dashboard serves /dashboard (provinces) and /dashboard/{province} (its
// communes) for ?measure= (the first registered by default).
func (s *Site) dashboard(w http.ResponseWriter, r *http.Request) {
	v := s.newView(w, r, "")
	measures := s.stats.Measures()
	id := r.URL.Query().Get("measure")
	if id == "" && len(measures) > 0 {
		id = measures[0].ID
	}
	prov := r.PathValue("province")
	f, err := s.stats.Figures(r.Context(), id, prov)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := &dashboardData{Measures: measures, Measure: id, Figures: f, Province: prov, Colspan: len(f.Columns) + 2}
	s.drawMap(d, v.Lang)
	d.Trend = trendChart(f, v.Lang)
	d.History = historyChart(f, v.Lang)
	if prov == "" {
		if d.Partners, err = s.partnerResults(r.Context(), v.Lang); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	v.Title = f.Title.VI
	if v.Lang == "en" {
		v.Title = f.Title.EN
	}
	v.Data = d
	v.Nav = s.nav("/dashboard")
	w.Header().Set("Cache-Control", "public, max-age=60")
	s.render(w, http.StatusOK, "dashboard.html", v)
}

// drawMap colours each province by its value (national page), or draws the
// one province alone (commune page: there are no commune outlines).
func (s *Site) drawMap(d *dashboardData, lang string) {
	m := loadMap()
	values := map[string]int64{}
	for _, row := range d.Figures.Rows {
		values[row.Code] = row.Value
	}
	d.ViewBox = m.ViewBox
	for _, p := range m.Provinces {
		name := p.Name
		if lang == "en" {
			name = p.NameEn
		}
		sh := mapShape{Code: p.Code, Name: name, D: p.D, Href: "/dashboard/" + p.Code + "?measure=" + d.Measure}
		if d.Province == "" {
			sh.Value = values[p.Code]
			sh.Fill = palette[shade(sh.Value, d.Figures.Max)]
		} else if p.Code == d.Province {
			sh.Value, sh.Fill, sh.Selected = d.Figures.Total.Value, palette[5], true
			d.ViewBox = fmt.Sprintf("%g %g %g %g", p.Box[0], p.Box[1], p.Box[2], p.Box[3])
		} else {
			continue
		}
		d.Shapes = append(d.Shapes, sh)
	}
	if d.Province == "" {
		for i := 1; i < len(palette); i++ {
			// The smallest value of step i: the inverse of shade.
			f := (float64(i) - 1.5) / float64(len(palette)-2)
			from := int64(math.Ceil(math.Max(f, 0) * math.Max(f, 0) * float64(d.Figures.Max)))
			d.Legend = append(d.Legend, legendStep{Class: "c" + strconv.Itoa(i), From: max(from, 1)})
		}
	}
}

// trendChart draws the trend as an SVG bar chart with a text alternative;
// empty when the measure has no trend or nothing was counted.
func trendChart(f *stats.Figures, lang string) template.HTML {
	if len(f.Trend) == 0 || f.TrendOf == nil {
		return ""
	}
	var top int64
	for _, p := range f.Trend {
		top = max(top, p.Count)
	}
	if top == 0 {
		return ""
	}
	title := f.TrendOf.VI
	if lang == "en" {
		title = f.TrendOf.EN
	}
	const w, h, pad = 600.0, 180.0, 22.0
	bw := (w - 2*pad) / float64(len(f.Trend))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="trend" viewBox="0 0 %g %g" role="img" aria-labelledby="trend-title"><title id="trend-title">%s</title>`,
		w, h, template.HTMLEscapeString(title))
	step := max(1, len(f.Trend)/8) // at most about eight labels
	for i, p := range f.Trend {
		bh := (h - 2*pad) * float64(p.Count) / float64(top)
		x := pad + float64(i)*bw
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" data-period="%s" data-count="%d"><title>%s: %s</title></rect>`,
			x+bw*0.1, h-pad-bh, bw*0.8, bh, template.HTMLEscapeString(p.Period), p.Count,
			template.HTMLEscapeString(p.Period), formatNumber(lang, p.Count))
		if i%step == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x+bw/2, h-6, template.HTMLEscapeString(p.Period))
		}
	}
	fmt.Fprintf(&b, `<text x="%g" y="14">%s</text></svg>`, pad, formatNumber(lang, top))
	return template.HTML(b.String())
}

// nav is the site's top navigation with the current section marked.
func (s *Site) nav(current string) []navItem {
	var items []navItem
	if s.stats != nil {
		items = append(items, navItem{Path: "/dashboard", VI: "Thống kê", EN: "Dashboard"})
	}
	if s.portal != nil {
		items = append(items, navItem{Path: "/portal", VI: "Cổng công dân", EN: "Citizen portal"})
	}
	if s.console != nil {
		items = append(items, navItem{Path: "/console", VI: "Cán bộ", EN: "Officers"})
	}
	for i := range items {
		items[i].Current = items[i].Path == current
	}
	return items
}
