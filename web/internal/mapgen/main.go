// Command mapgen turns the detailed outlines of the 34 provinces into the
// small map the dashboard draws: each outline is projected (Web Mercator),
// simplified (Douglas–Peucker) and written as an SVG path with the
// province's code, in one JSON file embedded by package web. Run it with
// go generate ./web/ after the source data changes; its output is
// committed so that builds need no data outside the repository.
//
//	go run ./web/internal/mapgen -src ../shared/data/admin/geojson-provinces-2026 -out web/static/provinces.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/paulmach/orb/project"
	"github.com/paulmach/orb/simplify"
)

// Map is the generated file: the SVG viewBox and one entry per province.
type Map struct {
	Source    string     `json:"source"`
	ViewBox   string     `json:"view_box"`
	Provinces []Province `json:"provinces"`
}

// Province is one outline. Label is where its code may be drawn (the
// centroid of its largest polygon).
type Province struct {
	Code   string     `json:"code"`
	Name   string     `json:"name"`
	NameEn string     `json:"name_en"`
	D      string     `json:"d"`
	Label  [2]float64 `json:"label"`
	Box    [4]float64 `json:"box"` // min x, min y, width, height
}

const width = 600.0 // viewBox width; the height follows from the extent

func main() {
	src := flag.String("src", "../../../shared/data/admin/geojson-provinces-2026", "directory of the provinces' GeoJSON files")
	out := flag.String("out", "static/provinces.json", "output file")
	tol := flag.Float64("tolerance", 0.9, "Douglas–Peucker tolerance in output units (1/600 of the map's width)")
	flag.Parse()
	if err := run(*src, *out, *tol); err != nil {
		log.Fatal(err)
	}
}

type feature struct {
	code, name, nameEn string
	mp                 orb.MultiPolygon
}

func run(src, out string, tol float64) error {
	files, err := filepath.Glob(filepath.Join(src, "*.geojson"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no GeoJSON files in %s", src)
	}
	var feats []feature
	var bound orb.Bound
	for i, f := range files {
		ft, err := read(f)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		b := ft.mp.Bound()
		if i == 0 {
			bound = b
		} else {
			bound = bound.Union(b)
		}
		feats = append(feats, ft)
	}
	scale := width / (bound.Max[0] - bound.Min[0])
	height := math.Ceil((bound.Max[1] - bound.Min[1]) * scale)
	m := Map{Source: "thanglequoc/vietnamese-provinces-database (MIT), 2026-07", ViewBox: fmt.Sprintf("0 0 %g %g", width, height)}
	for _, ft := range feats {
		// To output units: x right, y down.
		mp := ft.mp.Clone()
		for _, poly := range mp {
			for _, ring := range poly {
				for i, p := range ring {
					ring[i] = orb.Point{(p[0] - bound.Min[0]) * scale, (bound.Max[1] - p[1]) * scale}
				}
			}
		}
		m.Provinces = append(m.Provinces, Province{Code: ft.code, Name: ft.name, NameEn: ft.nameEn,
			D: path(mp, tol), Label: label(mp), Box: box(mp)})
	}
	slices.SortFunc(m.Provinces, func(a, b Province) int { return strings.Compare(a.Code, b.Code) })
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("%d provinces, %d bytes\n", len(m.Provinces), len(b))
	return nil
}

// source is the part of a GeoJSON FeatureCollection that mapgen reads.
// (orb's geojson package would bring in a BSON library for this.)
type source struct {
	Features []struct {
		Properties struct {
			Code   string `json:"code"`
			Name   string `json:"name"`
			NameEn string `json:"nameEn"`
		} `json:"properties"`
		Geometry struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

func read(name string) (feature, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return feature{}, err
	}
	var fc source
	if err := json.Unmarshal(b, &fc); err != nil {
		return feature{}, err
	}
	if len(fc.Features) != 1 {
		return feature{}, fmt.Errorf("want one feature, have %d", len(fc.Features))
	}
	f := fc.Features[0]
	var mp orb.MultiPolygon
	switch f.Geometry.Type {
	case "MultiPolygon":
		err = json.Unmarshal(f.Geometry.Coordinates, &mp)
	case "Polygon":
		var p orb.Polygon
		err = json.Unmarshal(f.Geometry.Coordinates, &p)
		mp = orb.MultiPolygon{p}
	default:
		err = fmt.Errorf("geometry %s is not a polygon", f.Geometry.Type)
	}
	if err != nil {
		return feature{}, err
	}
	if f.Properties.Code == "" {
		return feature{}, fmt.Errorf("no province code")
	}
	// Mercator keeps shapes right at this latitude span (8°–23°N).
	mp = project.MultiPolygon(mp, project.WGS84.ToMercator)
	return feature{code: f.Properties.Code, name: f.Properties.Name, nameEn: f.Properties.NameEn, mp: mp}, nil
}

// path simplifies every ring and writes them as one SVG path in relative
// moves with one decimal, the shortest form that looks the same at the
// sizes a page draws. A ring too small to survive simplification (an
// islet) is kept as a small square so that the islands stay on the map.
func path(mp orb.MultiPolygon, tol float64) string {
	var sb strings.Builder
	var cur [2]int // last point written, in tenths
	for _, poly := range mp {
		for _, ring := range poly {
			r := simplify.DouglasPeucker(tol).Simplify(ring.Clone()).(orb.Ring)
			if len(r) < 4 || math.Abs(planar.Area(r)) < tol*tol/2 {
				c, _ := planar.CentroidArea(ring)
				r = orb.Ring{{c[0] - .4, c[1] - .4}, {c[0] + .4, c[1] - .4}, {c[0] + .4, c[1] + .4}, {c[0] - .4, c[1] + .4}, {c[0] - .4, c[1] - .4}}
			}
			pts := dedupe(r)
			if len(pts) < 3 {
				continue
			}
			for i, p := range pts {
				switch i {
				case 0:
					sb.WriteString("M")
				case 1:
					sb.WriteString("l")
				default:
					sb.WriteString(" ")
				}
				dx, dy := p[0]-cur[0], p[1]-cur[1]
				if i == 0 {
					dx, dy = p[0], p[1]
				}
				sb.WriteString(num(dx))
				if dy >= 0 {
					sb.WriteString(" ")
				}
				sb.WriteString(num(dy))
				cur = p
			}
			sb.WriteString("z")
		}
	}
	return sb.String()
}

// dedupe rounds to tenths and drops repeated points and the closing one.
func dedupe(r orb.Ring) [][2]int {
	var out [][2]int
	for _, p := range r {
		q := [2]int{int(math.Round(p[0] * 10)), int(math.Round(p[1] * 10))}
		if len(out) > 0 && out[len(out)-1] == q {
			continue
		}
		out = append(out, q)
	}
	if len(out) > 1 && out[0] == out[len(out)-1] {
		out = out[:len(out)-1]
	}
	return out
}

func num(tenths int) string {
	s := strconv.FormatFloat(float64(tenths)/10, 'f', -1, 64)
	return s
}

// label is the centroid of the largest polygon.
func label(mp orb.MultiPolygon) [2]float64 {
	var best orb.Point
	var area float64
	for _, poly := range mp {
		c, a := planar.CentroidArea(poly)
		if math.Abs(a) > area {
			best, area = c, math.Abs(a)
		}
	}
	return [2]float64{math.Round(best[0]*10) / 10, math.Round(best[1]*10) / 10}
}

// box is the outline's bounding box as an SVG viewBox, a little padded.
func box(mp orb.MultiPolygon) [4]float64 {
	b := mp.Bound()
	r := func(v float64) float64 { return math.Round(v*10) / 10 }
	return [4]float64{r(b.Min[0] - 2), r(b.Min[1] - 2), r(b.Max[0] - b.Min[0] + 4), r(b.Max[1] - b.Min[1] + 4)}
}
