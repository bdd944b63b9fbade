package wallet

import (
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/cancuoc/cancuoc"
)

// Claim kinds a schema checks values against.
const (
	KindString = "string"
	KindDate   = "date" // YYYY-MM-DD
	KindBool   = "bool"
	KindList   = "list" // an array of strings
)

// ClaimDef documents one claim of a document type, with its display labels.
type ClaimDef struct {
	Name     string `json:"name"`
	LabelVI  string `json:"label_vi"`
	LabelEN  string `json:"label_en"`
	Kind     string `json:"kind"`
	Required bool   `json:"required"`
}

// DocType is a kind of document the platform issues: who issues it by
// default (an agency code, which is also the last segment of the issuer
// URL), its claims, how long it lasts unless the issuer says otherwise.
type DocType struct {
	ID       string        `json:"id"`
	NameVI   string        `json:"name_vi"`
	NameEN   string        `json:"name_en"`
	Agency   string        `json:"agency"`
	Validity time.Duration `json:"-"`
	// FromRegistry: the claims are taken from the registry record, never
	// from the request (the electronic identity card).
	FromRegistry bool `json:"from_registry,omitempty"`
	// Level2 demands a level-2 eID account of the holder.
	Level2 bool       `json:"level2,omitempty"`
	Claims []ClaimDef `json:"claims"`
}

const year = 365 * 24 * time.Hour

var (
	familyName = ClaimDef{"family_name", "Họ", "Family name", KindString, true}
	givenName  = ClaimDef{"given_name", "Tên đệm và tên", "Given names", KindString, true}
	fullName   = ClaimDef{"full_name", "Họ, chữ đệm và tên", "Full name", KindString, true}
	birthDate  = ClaimDef{"birth_date", "Ngày sinh", "Date of birth", KindDate, true}
	sex        = ClaimDef{"sex", "Giới tính", "Sex", KindString, false}
	pinClaim   = ClaimDef{"pin", "Số định danh cá nhân", "Personal identification number", KindString, true}
)

// Types are the document types, by ID. Labels are shown to holders and
// verifiers; the claim names are the SD-JWT claim names.
var Types = map[string]*DocType{
	"driver_licence": {ID: "driver_licence", NameVI: "Giấy phép lái xe", NameEN: "Driving licence", Agency: "transport", Validity: 10 * year,
		Claims: []ClaimDef{familyName, givenName, birthDate,
			{"licence_number", "Số giấy phép", "Licence number", KindString, true},
			{"categories", "Hạng", "Categories", KindList, true},
			{"issue_date", "Ngày cấp", "Date of issue", KindDate, true},
			{"expiry_date", "Có giá trị đến", "Valid until", KindDate, false},
			{"issuing_authority", "Nơi cấp", "Issuing authority", KindString, true}}},
	"health_insurance_card": {ID: "health_insurance_card", NameVI: "Thẻ bảo hiểm y tế", NameEN: "Health insurance card", Agency: "social_insurance", Validity: year,
		Claims: []ClaimDef{fullName, birthDate, sex,
			{"card_number", "Mã số thẻ", "Card number", KindString, true},
			{"benefit_level", "Mức hưởng", "Benefit level", KindString, true},
			{"initial_facility", "Nơi đăng ký khám chữa bệnh ban đầu", "Registered primary care facility", KindString, true},
			{"valid_from", "Giá trị sử dụng từ", "Valid from", KindDate, true},
			{"valid_to", "Giá trị sử dụng đến", "Valid to", KindDate, false}}},
	"judicial_record": {ID: "judicial_record", NameVI: "Phiếu lý lịch tư pháp", NameEN: "Judicial-record certificate", Agency: "justice", Validity: year / 2,
		Claims: []ClaimDef{fullName, birthDate, pinClaim,
			{"certificate_number", "Số phiếu", "Certificate number", KindString, true},
			{"form", "Loại phiếu (số 1 hoặc số 2)", "Form (no. 1 or no. 2)", KindString, true},
			{"criminal_record", "Tình trạng án tích", "Criminal record", KindString, true},
			{"prohibitions", "Cấm đảm nhiệm chức vụ, thành lập, quản lý doanh nghiệp", "Bans on holding office or managing companies", KindString, false},
			{"issued_on", "Ngày cấp", "Date of issue", KindDate, true},
			{"issuing_authority", "Cơ quan cấp", "Issuing authority", KindString, true}}},
	"birth_certificate": {ID: "birth_certificate", NameVI: "Giấy khai sinh điện tử", NameEN: "Electronic birth certificate", Agency: "civil_status", Validity: 10 * year,
		Claims: []ClaimDef{fullName, pinClaim, birthDate, {"sex", "Giới tính", "Sex", KindString, true},
			{"place_of_birth", "Nơi sinh", "Place of birth", KindString, true},
			{"ethnicity", "Dân tộc", "Ethnicity", KindString, false},
			{"nationality", "Quốc tịch", "Nationality", KindString, true},
			{"father_name", "Họ, chữ đệm, tên của cha", "Father's name", KindString, false},
			{"mother_name", "Họ, chữ đệm, tên của mẹ", "Mother's name", KindString, false},
			{"registration_number", "Số đăng ký khai sinh", "Birth registration number", KindString, true},
			{"registered_on", "Ngày đăng ký", "Date of registration", KindDate, true},
			{"registration_authority", "Nơi đăng ký", "Registration authority", KindString, true}}},
	"health_book": {ID: "health_book", NameVI: "Sổ sức khoẻ điện tử (tóm tắt)", NameEN: "Electronic health book (summary)", Agency: "health", Validity: year,
		Claims: []ClaimDef{fullName, birthDate,
			{"blood_type", "Nhóm máu", "Blood type", KindString, false},
			{"allergies", "Dị ứng", "Allergies", KindList, false},
			{"chronic_conditions", "Bệnh mạn tính", "Chronic conditions", KindList, false},
			{"vaccinations", "Tiêm chủng", "Vaccinations", KindList, false},
			{"updated_on", "Cập nhật ngày", "Updated on", KindDate, true}}},
	"eid_card": {ID: "eid_card", NameVI: "Căn cước điện tử", NameEN: "Electronic identity card", Agency: "police", Validity: 5 * year,
		FromRegistry: true, Level2: true,
		Claims: []ClaimDef{pinClaim, fullName, birthDate, {"sex", "Giới tính", "Sex", KindString, true},
			{"nationality", "Quốc tịch", "Nationality", KindString, true},
			{"ethnicity", "Dân tộc", "Ethnicity", KindString, false},
			{"place_of_origin", "Quê quán", "Place of origin", KindString, false},
			{"place_of_residence", "Nơi thường trú", "Place of residence", KindString, false},
			{"card_number", "Số thẻ căn cước", "Identity card number", KindString, false}}},
}

// TypeIDs lists the type IDs, sorted.
func TypeIDs() []string {
	ids := make([]string, 0, len(Types))
	for id := range Types {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Agencies lists the issuing agencies' codes, sorted.
func Agencies() []string { return slices.Clone(agencies()) }

// agencies is computed once: every verification asks (agencyOf).
var agencies = sync.OnceValue(func() []string {
	var out []string
	for _, t := range Types {
		if !slices.Contains(out, t.Agency) {
			out = append(out, t.Agency)
		}
	}
	slices.Sort(out)
	return out
})

func (t *DocType) claim(name string) *ClaimDef {
	for i := range t.Claims {
		if t.Claims[i].Name == name {
			return &t.Claims[i]
		}
	}
	return nil
}

var dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// Validate checks claims against the schema: every required claim is
// present, none is unknown, each has its kind. The messages name the claim.
func (t *DocType) Validate(op string, claims map[string]any) error {
	for name, v := range claims {
		def := t.claim(name)
		if def == nil {
			return cancuoc.InvalidField(op, "claims."+name, "claim_unknown",
				fmt.Sprintf("Loại tài liệu %s không có trường %q.", t.NameVI, name),
				fmt.Sprintf("Document type %s has no claim %q; see GET /v1/wallet/types.", t.ID, name))
		}
		if !kindOK(def.Kind, v) {
			return cancuoc.InvalidField(op, "claims."+name, "claim_kind",
				fmt.Sprintf("Trường %q phải là %s.", name, kindVI[def.Kind]),
				fmt.Sprintf("Claim %q must be a %s.", name, kindEN[def.Kind]))
		}
	}
	for _, def := range t.Claims {
		if _, ok := claims[def.Name]; def.Required && !ok {
			return cancuoc.InvalidField(op, "claims."+def.Name, "claim_required",
				fmt.Sprintf("Thiếu trường bắt buộc %q (%s).", def.Name, def.LabelVI),
				fmt.Sprintf("The required claim %q (%s) is missing.", def.Name, def.LabelEN))
		}
	}
	return nil
}

var kindVI = map[string]string{KindString: "chuỗi ký tự khác rỗng", KindDate: "ngày dạng YYYY-MM-DD", KindBool: "true hoặc false", KindList: "danh sách chuỗi"}
var kindEN = map[string]string{KindString: "non-empty string", KindDate: "date as YYYY-MM-DD", KindBool: "boolean", KindList: "list of strings"}

func kindOK(kind string, v any) bool {
	switch kind {
	case KindString:
		s, ok := v.(string)
		return ok && s != "" && len(s) <= 1000
	case KindDate:
		s, ok := v.(string)
		if !ok || !dateRe.MatchString(s) {
			return false
		}
		_, err := time.Parse(time.DateOnly, s)
		return err == nil
	case KindBool:
		_, ok := v.(bool)
		return ok
	case KindList:
		l, ok := v.([]any)
		if !ok || len(l) > 100 {
			return false
		}
		for _, x := range l {
			if s, ok := x.(string); !ok || s == "" {
				return false
			}
		}
		return true
	}
	return false
}

// registryClaims are the electronic identity card's claims, from the
// registry record.
func registryClaims(c *cancuoc.Citizen) map[string]any {
	m := map[string]any{"pin": c.PIN.String(), "full_name": c.FullName, "birth_date": c.BirthDate.String(),
		"sex": string(c.Sex), "nationality": c.Nationality}
	if m["nationality"] == "" {
		m["nationality"] = "VNM"
	}
	if c.Ethnicity != "" {
		m["ethnicity"] = c.Ethnicity
	}
	if p := placeText(c.Origin); p != "" {
		m["place_of_origin"] = p
	}
	if p := placeText(c.PermanentResidence); p != "" {
		m["place_of_residence"] = p
	}
	for _, card := range c.Cards {
		if card.Status == cancuoc.CardValid {
			m["card_number"] = card.Number
		}
	}
	return m
}

func placeText(p *cancuoc.Place) string {
	if p == nil {
		return ""
	}
	parts := []string{}
	for _, s := range []string{p.Detail, p.Commune, p.District, p.Province, p.Country} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	out := ""
	for i, s := range parts {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}
