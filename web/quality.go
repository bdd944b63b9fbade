package web

import (
	"net/http"
	"net/url"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/quality"
)

// The console's data-quality work lists: per field, the records of the
// officer's jurisdiction to complete; the suspected duplicates. Each page
// is a keyset page of 50 (the next page's link carries the last row's
// position), read and logged by package quality.

// listNames are the work lists' titles, in the order of the overview.
var listNames = []struct {
	Kind   string
	VI, EN string
}{
	{string(cancuoc.QualityPartialBirth), "Ngày sinh chưa đủ", "Partial date of birth"},
	{string(cancuoc.QualityNoEthnicity), "Thiếu dân tộc", "No ethnicity"},
	{string(cancuoc.QualityNoResidence), "Thiếu nơi thường trú", "No permanent residence"},
	{string(cancuoc.QualityOldUnits), "Địa chỉ theo đơn vị hành chính đã bỏ (trước 1/7/2025)", "Address in units abolished on 1 July 2025"},
	{"duplicates", "Hồ sơ nghi trùng", "Suspected duplicates"},
}

// reasonNames explain a duplicate pair's reasons.
var reasonNames = map[string][2]string{
	quality.ReasonSameSpelling:   {"cùng cách viết họ tên", "same spelling of the name"},
	quality.ReasonSameBirthPlace: {"cùng tỉnh nơi sinh", "same province of birth"},
	quality.ReasonOtherBirth:     {"khác tỉnh nơi sinh", "other province of birth"},
	quality.ReasonSameFather:     {"cùng tên cha", "same father's name"},
	quality.ReasonOtherFather:    {"khác tên cha", "other father's name"},
	quality.ReasonSameMother:     {"cùng tên mẹ", "same mother's name"},
	quality.ReasonOtherMother:    {"khác tên mẹ", "other mother's name"},
	quality.ReasonSameOldID:      {"cùng số CMND cũ", "same old ID number"},
	quality.ReasonOtherOldID:     {"khác số CMND cũ", "other old ID number"},
	quality.ReasonSameHome:       {"cùng xã, phường cư trú", "same commune of residence"},
	quality.ReasonSameOrigin:     {"cùng tỉnh quê quán", "same province of origin"},
}

func (s *Site) qualityRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/quality/{list}", s.officer(s.consoleQualityList))
}

type listRow struct {
	PIN                  cancuoc.PIN
	Name, Birth, Sex     string
	Unit, Address        string
	Other                cancuoc.PIN
	OtherName, OtherUnit string
	OtherShown           bool
	Score                int
	Reasons              string
}

type listPageData struct {
	Title, Where string
	Kind         string
	Duplicates   bool
	Rows         []listRow
	Next, First  string // links
	Deep         bool   // not the first page
	Lists        []listLink
}

type listLink struct {
	Href, Label string
	Current     bool
}

// consoleQualityList shows one page of a work list.
func (s *Site) consoleQualityList(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	lists := s.console.deps.Lists
	kind := r.PathValue("list")
	q := r.URL.Query()
	area := quality.Area{Province: q.Get("province"), Commune: q.Get("commune")}
	v := s.newView(w, r, "Chất lượng dữ liệu")
	v.Nav, v.CSRF = s.nav("/console"), s.csrf(ss)
	d := listPageData{Kind: kind, Deep: q.Get("after") != ""}
	for _, l := range listNames {
		d.Lists = append(d.Lists, listLink{Href: "/console/quality/" + l.Kind + areaQuery(area, ""), Label: pick(v.Lang, [2]string{l.VI, l.EN}),
			Current: l.Kind == kind})
		if l.Kind == kind {
			d.Title = pick(v.Lang, [2]string{l.VI, l.EN})
		}
	}
	d.First = "/console/quality/" + kind + areaQuery(area, "")
	if kind == "duplicates" {
		pg, err := lists.Duplicates(r.Context(), p, area, q.Get("after"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Duplicates, d.Where = true, areaText(v.Lang, pg.Area)
		for _, x := range pg.Pairs {
			row := recordRow(v.Lang, x.Record)
			row.Other, row.Score = x.Other, x.Score
			row.OtherUnit = placeText(v.Lang, &cancuoc.Place{Era: cancuoc.Era34, Province: x.OtherProvince, Commune: x.OtherCommune})
			if x.OtherRecord != nil {
				row.OtherShown, row.OtherName = true, x.OtherRecord.FullName
			}
			for i, reason := range x.Reasons {
				if i > 0 {
					row.Reasons += "; "
				}
				if n, ok := reasonNames[reason]; ok {
					row.Reasons += pick(v.Lang, n)
				} else {
					row.Reasons += reason
				}
			}
			d.Rows = append(d.Rows, row)
		}
		if pg.Next != "" {
			d.Next = "/console/quality/duplicates" + areaQuery(area, pg.Next)
		}
	} else {
		pg, err := lists.List(r.Context(), p, cancuoc.QualityKind(kind), area, q.Get("after"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Where = areaText(v.Lang, pg.Area)
		for _, c := range pg.Records {
			row := recordRow(v.Lang, c)
			if pg.Kind == cancuoc.QualityOldUnits {
				if c.PermanentResidence != nil && c.PermanentResidence.Era == cancuoc.Era63 {
					row.Address = placeText(v.Lang, c.PermanentResidence)
				} else {
					row.Address = placeText(v.Lang, c.CurrentResidence)
				}
			}
			d.Rows = append(d.Rows, row)
		}
		if pg.Next != "" {
			d.Next = "/console/quality/" + kind + areaQuery(area, pg.Next)
		}
	}
	v.Title = d.Title
	v.Data = d
	s.render(w, http.StatusOK, "console_quality_list.html", v)
}

func recordRow(lang string, c *cancuoc.Citizen) listRow {
	sex := pick(lang, [2]string{"Nữ", "Female"})
	if c.Sex == cancuoc.Male {
		sex = pick(lang, [2]string{"Nam", "Male"})
	}
	return listRow{PIN: c.PIN, Name: c.FullName, Birth: c.BirthDate.String(), Sex: sex,
		Unit: placeText(lang, &cancuoc.Place{Era: cancuoc.Era34, Province: c.Home.Province, Commune: c.Home.Commune})}
}

func areaText(lang string, a quality.Area) string {
	return jurisdictionText(lang, cancuoc.Jurisdiction{Province: a.Province, Commune: a.Commune})
}

// areaQuery keeps a narrowed area (and a page position) in a link.
func areaQuery(a quality.Area, after string) string {
	v := url.Values{}
	if a.Province != "" {
		v.Set("province", a.Province)
	}
	if a.Commune != "" {
		v.Set("commune", a.Commune)
	}
	if after != "" {
		v.Set("after", after)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// listLinks are the overview's links to the work lists (none when the
// lists are not wired).
func (s *Site) listLinks(lang string) []listLink {
	if s.console.deps.Lists == nil {
		return nil
	}
	var out []listLink
	for _, l := range listNames {
		out = append(out, listLink{Href: "/console/quality/" + l.Kind, Label: pick(lang, [2]string{l.VI, l.EN})})
	}
	return out
}
