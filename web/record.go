package web

import (
	"strings"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
)

// field is one labelled value of a record as shown.
type field struct {
	VI, EN string // label
	Value  string
}

// record is a citizen's record laid out for reading: fields in the order
// of the Law on Identity, cards and relatives as tables.
type record struct {
	PIN       cancuoc.PIN
	Name      string
	Version   int64
	Fields    []field
	Cards     []cancuoc.Card
	Relatives []relative
}

type relative struct {
	VI, EN string
	cancuoc.Relative
}

// recordView lays c out in lang.
func recordView(lang string, c *cancuoc.Citizen) *record {
	rec := &record{PIN: c.PIN, Name: c.FullName, Version: c.Version, Cards: c.Cards}
	add := func(vi, en, value string) {
		if value != "" {
			rec.Fields = append(rec.Fields, field{vi, en, value})
		}
	}
	add("Họ, chữ đệm và tên", "Full name", c.FullName)
	add("Tên gọi khác", "Other names", strings.Join(c.OtherNames, ", "))
	add("Số định danh cá nhân", "Personal identification number", string(c.PIN))
	add("Ngày sinh", "Date of birth", c.BirthDate.String())
	add("Giới tính", "Sex", pick(lang, sexes[c.Sex]))
	add("Nơi sinh", "Place of birth", placeText(lang, c.BirthPlace))
	add("Nơi đăng ký khai sinh", "Birth registered at", placeText(lang, c.BirthRegistration))
	add("Quê quán", "Place of origin", placeText(lang, c.Origin))
	add("Dân tộc", "Ethnicity", codeName(lang, admin.Ethnicity, c.Ethnicity))
	add("Tôn giáo", "Religion", codeName(lang, admin.Religion, c.Religion))
	add("Quốc tịch", "Nationality", codeName(lang, admin.Nationality, c.Nationality))
	add("Nhóm máu", "Blood type", c.BloodType)
	add("Số CMND cũ", "Former ID number (CMND)", c.OldIDNumber)
	add("Nơi thường trú", "Permanent residence", placeText(lang, c.PermanentResidence))
	if t := c.TemporaryResidence; t != nil {
		add("Nơi tạm trú", "Temporary residence", placeText(lang, &t.Place)+" ("+t.From.String()+" – "+t.Until.String()+")")
	}
	add("Nơi ở hiện tại", "Current residence", placeText(lang, c.CurrentResidence))
	add("Số hồ sơ cư trú", "Residence file number", c.ResidenceFileNumber)
	add("Tình trạng hôn nhân", "Marital status", pick(lang, maritals[c.MaritalStatus]))
	if h := c.Household; h != nil {
		add("Hộ gia đình", "Household", h.ID+" — "+h.HeadName+" ("+h.Relation+")")
	}
	add("Tình trạng", "Status", pick(lang, lives[c.LifeStatus]))
	add("Điện thoại", "Phone", c.Phone)
	add("Thư điện tử", "Email", c.Email)
	rel := func(vi, en string, r *cancuoc.Relative) {
		if r != nil {
			rec.Relatives = append(rec.Relatives, relative{vi, en, *r})
		}
	}
	rel("Cha", "Father", c.Father)
	rel("Mẹ", "Mother", c.Mother)
	rel("Vợ/chồng", "Spouse", c.Spouse)
	for i := range c.Children {
		rel("Con", "Child", &c.Children[i])
	}
	rel("Người giám hộ", "Guardian", c.Guardian)
	return rec
}

var sexes = map[cancuoc.Sex][2]string{cancuoc.Male: {"Nam", "Male"}, cancuoc.Female: {"Nữ", "Female"}}
var lives = map[cancuoc.LifeStatus][2]string{cancuoc.Alive: {"Còn sống", "Alive"}, cancuoc.Dead: {"Đã mất", "Dead"},
	cancuoc.Missing: {"Mất tích", "Missing"}}
var maritals = map[cancuoc.MaritalStatus][2]string{cancuoc.Single: {"Chưa kết hôn", "Single"}, cancuoc.Married: {"Đã kết hôn", "Married"},
	cancuoc.Divorced: {"Đã ly hôn", "Divorced"}, cancuoc.Widowed: {"Goá", "Widowed"}}

func pick(lang string, l [2]string) string {
	if lang == "en" {
		return l[1]
	}
	return l[0]
}

func codeName(lang string, get func(string) (admin.Code, bool), code string) string {
	if code == "" {
		return ""
	}
	c, ok := get(code)
	if !ok {
		return code
	}
	return pick(lang, [2]string{c.Name, c.NameEn})
}

// placeText writes a place with the names of its units (as recorded, in
// the set of its era), most specific first, and today's names when the
// units have since been reorganised.
func placeText(lang string, p *cancuoc.Place) string {
	if p == nil {
		return ""
	}
	var parts []string
	if p.Detail != "" {
		parts = append(parts, p.Detail)
	}
	set := admin.Current()
	if p.Era == cancuoc.Era63 {
		set = admin.Old()
	}
	name := func(u admin.Unit, ok bool, code string) string {
		if !ok {
			return code
		}
		return pick(lang, [2]string{u.Name, u.NameEn})
	}
	if p.Commune != "" {
		u, ok := set.Commune(p.Commune)
		parts = append(parts, name(u, ok, p.Commune))
	}
	if p.District != "" {
		u, ok := set.District(p.District)
		parts = append(parts, name(u, ok, p.District))
	}
	if p.Province != "" {
		u, ok := set.Province(p.Province)
		parts = append(parts, name(u, ok, p.Province))
	}
	if p.Country != "" && p.Country != "VNM" {
		parts = append(parts, codeName(lang, admin.Nationality, p.Country))
	}
	s := strings.Join(parts, ", ")
	if p.Era == cancuoc.Era63 && p.Today != nil {
		today := cancuoc.Place{Era: cancuoc.Era34, Province: p.Today.Province, Commune: p.Today.Commune}
		s += " — " + pick(lang, [2]string{"nay là ", "now "}) + placeText(lang, &today)
	}
	return s
}
