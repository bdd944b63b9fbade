package registry

import (
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/vntext"
)

// validate checks a whole record before it is stored, naming the first bad
// field. It also normalises what has one right spelling (NFC names).
func validate(op string, c *cancuoc.Citizen, now time.Time) error {
	bad := func(field, code, vi, en string) error { return cancuoc.InvalidField(op, field, code, vi, en) }
	c.FullName = vntext.CleanName(c.FullName)
	if err := vntext.ValidName(c.FullName); err != nil {
		return bad("full_name", "name_invalid", "Họ và tên không hợp lệ: chỉ gồm chữ cái, khoảng trắng, dấu nháy, gạch nối; không quá 100 ký tự.",
			"The full name is not valid: "+err.Error())
	}
	for i, n := range c.OtherNames {
		c.OtherNames[i] = vntext.CleanName(n)
		if err := vntext.ValidName(c.OtherNames[i]); err != nil {
			return bad(fmt.Sprintf("other_names[%d]", i), "name_invalid", "Tên gọi khác không hợp lệ.", "Other name is not valid: "+err.Error())
		}
	}
	if c.BirthDate.IsZero() {
		return bad("birth_date", "birth_date_required", "Cần ít nhất năm sinh.", "At least the birth year is required.")
	}
	if c.BirthDate.After(now) {
		return bad("birth_date", "birth_date_future", "Ngày sinh không được ở tương lai.", "The date of birth cannot be in the future.")
	}
	if c.Sex != cancuoc.Male && c.Sex != cancuoc.Female && c.Sex != cancuoc.SexUnknown {
		return bad("sex", "sex_invalid", "Giới tính phải là male hoặc female.", "Sex must be male or female.")
	}
	// The PIN's form first: CheckPerson decodes its digits, and a record
	// from a bulk import has not been through ParsePIN.
	pin, err := cancuoc.ParsePIN(string(c.PIN), now.Year())
	if err != nil {
		return err
	}
	c.PIN = pin
	if err := c.PIN.CheckPerson(c.Sex, c.BirthDate); err != nil {
		return err
	}
	for _, pl := range []struct {
		field string
		p     *cancuoc.Place
	}{{"birth_place", c.BirthPlace}, {"birth_registration", c.BirthRegistration}, {"origin", c.Origin},
		{"permanent_residence", c.PermanentResidence}, {"current_residence", c.CurrentResidence}} {
		if err := validatePlace(op, pl.field, pl.p); err != nil {
			return err
		}
	}
	if t := c.TemporaryResidence; t != nil {
		if err := validatePlace(op, "temporary_residence", &t.Place); err != nil {
			return err
		}
		if !t.Until.IsZero() && !t.From.IsZero() && t.Until.Earliest().Before(t.From.Earliest()) {
			return bad("temporary_residence.until", "period_reversed", "Ngày hết hạn tạm trú trước ngày bắt đầu.", "The temporary residence ends before it starts.")
		}
	}
	if a := c.TemporaryAbsence; a != nil {
		if err := validatePlace(op, "temporary_absence.destination", a.Destination); err != nil {
			return err
		}
	}
	if err := validateCodes(op, c); err != nil {
		return err
	}
	if c.OldIDNumber != "" && (len(c.OldIDNumber) != 9 || !digits(c.OldIDNumber)) {
		return bad("old_id_number", "old_id_format", "Số CMND cũ phải gồm 9 chữ số.", "The old ID number (CMND) has 9 digits.")
	}
	for i, card := range c.Cards {
		if card.Number == "" {
			return bad(fmt.Sprintf("cards[%d].number", i), "card_number_required", "Thẻ cần có số.", "A card needs its number.")
		}
	}
	for _, r := range relatives(c) {
		if r.rel.PIN != "" {
			if _, err := cancuoc.ParsePIN(string(r.rel.PIN), now.Year()); err != nil {
				return bad(r.field+".pin", "relative_pin_invalid", "Số định danh của người thân không hợp lệ.", "The relative's PIN is not valid.")
			}
			if r.rel.PIN == c.PIN {
				return bad(r.field+".pin", "relative_self", "Không thể là người thân của chính mình.", "A person cannot be their own relative.")
			}
		}
	}
	if c.Phone != "" && !validPhone(c.Phone) {
		return bad("phone", "phone_invalid", "Số điện thoại phải gồm 10 chữ số bắt đầu bằng 0, hoặc dạng +84…", "The phone number must be 10 digits starting with 0, or +84…")
	}
	if c.Email != "" {
		if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
			return bad("email", "email_invalid", "Địa chỉ email không hợp lệ.", "The email address is not valid.")
		}
	}
	switch c.LifeStatus {
	case cancuoc.Alive:
		if !c.DeathDate.IsZero() || !c.MissingSince.IsZero() {
			return bad("life_status", "life_status_inconsistent", "Người còn sống không có ngày mất hay ngày mất tích.", "A living person has no death or missing date.")
		}
	case cancuoc.Dead:
		if c.DeathDate.IsZero() {
			return bad("death_date", "death_date_required", "Cần ngày mất.", "The date of death is required.")
		}
		if c.DeathDate.After(now) || c.DeathDate.Latest().Before(c.BirthDate.Earliest()) {
			return bad("death_date", "death_date_invalid", "Ngày mất phải sau ngày sinh và không ở tương lai.", "The date of death must follow the birth and not be in the future.")
		}
	case cancuoc.Missing:
		if c.MissingSince.IsZero() {
			return bad("missing_since", "missing_since_required", "Cần ngày bị tuyên bố mất tích.", "The date of the missing declaration is required.")
		}
	default:
		return bad("life_status", "life_status_invalid", "Tình trạng phải là alive, dead hoặc missing.", "Life status must be alive, dead or missing.")
	}
	switch c.MaritalStatus {
	case "", cancuoc.Single, cancuoc.Married, cancuoc.Divorced, cancuoc.Widowed:
	default:
		return bad("marital_status", "marital_status_invalid", "Tình trạng hôn nhân phải là single, married, divorced hoặc widowed.", "Marital status must be single, married, divorced or widowed.")
	}
	return nil
}

func validateCodes(op string, c *cancuoc.Citizen) error {
	checks := []struct {
		field, code string
		ok          func(string) (admin.Code, bool)
		vi, en      string
	}{
		{"ethnicity", c.Ethnicity, admin.Ethnicity, "Mã dân tộc phải là một trong 54 mã 01–54.", "The ethnicity code must be one of the 54 codes 01–54."},
		{"religion", c.Religion, admin.Religion, "Mã tôn giáo không có trong danh mục (00 là không theo tôn giáo).", "Unknown religion code (00 means none)."},
		{"nationality", c.Nationality, admin.Nationality, "Quốc tịch phải là mã ISO 3166 ba chữ (ví dụ VNM).", "Nationality must be an ISO 3166 alpha-3 code (e.g. VNM)."},
		{"blood_type", c.BloodType, admin.BloodType, "Nhóm máu phải là A+, A-, B+, B-, AB+, AB-, O+ hoặc O-.", "Blood type must be A+, A-, B+, B-, AB+, AB-, O+ or O-."},
	}
	for _, ch := range checks {
		if ch.code == "" {
			continue
		}
		if _, ok := ch.ok(ch.code); !ok {
			return cancuoc.InvalidField(op, ch.field, ch.field+"_unknown", ch.vi, ch.en)
		}
	}
	return nil
}

// validatePlace checks that the unit codes exist in the era named and nest
// (the commune lies in the province). A place may be free text only.
func validatePlace(op, field string, p *cancuoc.Place) error {
	if p == nil {
		return nil
	}
	bad := func(sub, code, vi, en string) error { return cancuoc.InvalidField(op, field+sub, code, vi, en) }
	p.Detail = vntext.NFC(strings.TrimSpace(p.Detail))
	if p.Country != "" && p.Country != "VNM" {
		if _, ok := admin.Nationality(p.Country); !ok {
			return bad(".country", "country_unknown", "Mã quốc gia phải theo ISO 3166 ba chữ.", "The country must be an ISO 3166 alpha-3 code.")
		}
		if p.Province != "" || p.Commune != "" {
			return bad(".province", "foreign_place_units", "Địa điểm ở nước ngoài không có mã đơn vị hành chính Việt Nam.", "A place abroad has no Vietnamese unit codes.")
		}
		return nil
	}
	if p.Province == "" && p.Commune == "" && p.District == "" {
		if p.Detail == "" {
			return bad("", "place_empty", "Địa điểm cần mã đơn vị hành chính hoặc mô tả.", "A place needs unit codes or a description.")
		}
		return nil
	}
	var set *admin.Set
	switch p.Era {
	case cancuoc.Era34:
		set = admin.Current()
		if p.District != "" {
			return bad(".district", "district_abolished", "Từ 1/7/2025 không còn cấp huyện; bỏ mã huyện.", "Districts do not exist since 1 July 2025; drop the district code.")
		}
	case cancuoc.Era63:
		set = admin.Old()
	default:
		return bad(".era", "era_required", "Cần ghi bộ đơn vị hành chính: \"34\" (từ 1/7/2025) hoặc \"63\" (trước đó).",
			"Say which unit set the codes belong to: \"34\" (since 1 July 2025) or \"63\" (before).")
	}
	if p.Province == "" {
		return bad(".province", "province_required", "Cần mã tỉnh.", "The province code is required.")
	}
	if _, ok := set.Province(p.Province); !ok {
		return bad(".province", "province_unknown", fmt.Sprintf("Mã tỉnh %q không có trong bộ %s tỉnh.", p.Province, p.Era),
			fmt.Sprintf("Province code %q is not in the %s-province set.", p.Province, p.Era))
	}
	if p.District != "" {
		u, ok := set.District(p.District)
		if !ok || u.ProvinceCode != p.Province {
			return bad(".district", "district_unknown", "Mã huyện không thuộc tỉnh đã ghi.", "The district code is not in the given province.")
		}
	}
	if p.Commune != "" {
		u, ok := set.Commune(p.Commune)
		if !ok || u.ProvinceCode != p.Province {
			return bad(".commune", "commune_unknown", fmt.Sprintf("Mã xã/phường %q không thuộc tỉnh %s (bộ %s tỉnh).", p.Commune, p.Province, p.Era),
				fmt.Sprintf("Commune code %q is not in province %s (%s-province set).", p.Commune, p.Province, p.Era))
		}
		if p.District != "" && u.DistrictCode != p.District {
			return bad(".commune", "commune_district_mismatch", "Mã xã không thuộc huyện đã ghi.", "The commune is not in the given district.")
		}
	}
	return nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func validPhone(p string) bool {
	if rest, ok := strings.CutPrefix(p, "+84"); ok {
		return len(rest) == 9 && digits(rest)
	}
	return len(p) == 10 && p[0] == '0' && digits(p)
}

type namedRelative struct {
	field string
	rel   *cancuoc.Relative
}

// relatives lists every relative of c with its field path.
func relatives(c *cancuoc.Citizen) []namedRelative {
	var out []namedRelative
	for _, r := range []namedRelative{{"father", c.Father}, {"mother", c.Mother}, {"spouse", c.Spouse}, {"guardian", c.Guardian}} {
		if r.rel != nil {
			out = append(out, r)
		}
	}
	for i := range c.Children {
		out = append(out, namedRelative{fmt.Sprintf("children[%d]", i), &c.Children[i]})
	}
	for i := range c.Represented {
		out = append(out, namedRelative{fmt.Sprintf("represented[%d]", i), &c.Represented[i]})
	}
	return out
}
