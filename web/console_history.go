package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/cancuoc/cancuoc"
)

// fieldLabels name the record's top-level JSON fields in the diff pages.
var fieldLabels = map[string][2]string{
	"full_name": {"Họ, chữ đệm và tên", "Full name"}, "other_names": {"Tên gọi khác", "Other names"},
	"birth_date": {"Ngày sinh", "Date of birth"}, "sex": {"Giới tính", "Sex"},
	"birth_place": {"Nơi sinh", "Place of birth"}, "birth_registration": {"Nơi đăng ký khai sinh", "Birth registered at"},
	"origin": {"Quê quán", "Place of origin"}, "ethnicity": {"Dân tộc", "Ethnicity"}, "religion": {"Tôn giáo", "Religion"},
	"nationality": {"Quốc tịch", "Nationality"}, "blood_type": {"Nhóm máu", "Blood type"},
	"old_id_number": {"Số CMND cũ", "Former ID number"}, "cards": {"Thẻ căn cước", "Identity cards"},
	"father": {"Cha", "Father"}, "mother": {"Mẹ", "Mother"}, "spouse": {"Vợ/chồng", "Spouse"}, "children": {"Con", "Children"},
	"guardian": {"Người giám hộ", "Guardian"}, "represented": {"Người được đại diện", "Represented"},
	"permanent_residence": {"Nơi thường trú", "Permanent residence"}, "temporary_residence": {"Nơi tạm trú", "Temporary residence"},
	"current_residence": {"Nơi ở hiện tại", "Current residence"}, "temporary_absence": {"Tạm vắng", "Temporary absence"},
	"residence_file_number": {"Số hồ sơ cư trú", "Residence file number"}, "marital_status": {"Tình trạng hôn nhân", "Marital status"},
	"household": {"Hộ gia đình", "Household"}, "life_status": {"Tình trạng", "Status"}, "death_date": {"Ngày mất", "Date of death"},
	"missing_since": {"Mất tích từ", "Missing since"}, "phone": {"Điện thoại", "Phone"}, "email": {"Thư điện tử", "Email"},
}

// leafChange is one value that differs between two versions, at its path
// inside the field (permanent_residence.commune, children[1].pin).
type leafChange struct {
	Field, Label string // the top-level field and its label
	Path         string // the rest of the path, "" for the field itself
	Old, New     string // "" when absent
}

// leafDiff compares the JSON values of one changed field leaf by leaf, so
// that a new commune in an address shows as that commune, not as two
// whole addresses. Leaves present on one side only count as changed.
func leafDiff(lang, field string, oldRaw, newRaw json.RawMessage) []leafChange {
	oldLeaves, newLeaves := map[string]string{}, map[string]string{}
	flatten("", decodeLoose(oldRaw), oldLeaves)
	flatten("", decodeLoose(newRaw), newLeaves)
	paths := make([]string, 0, len(oldLeaves)+len(newLeaves))
	for p := range oldLeaves {
		paths = append(paths, p)
	}
	for p := range newLeaves {
		if _, ok := oldLeaves[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	label := field
	if l, ok := fieldLabels[field]; ok {
		label = pick(lang, l)
	}
	var out []leafChange
	for _, p := range paths {
		if o, n := oldLeaves[p], newLeaves[p]; o != n {
			out = append(out, leafChange{Field: field, Label: label, Path: strings.TrimPrefix(p, "."), Old: o, New: n})
		}
	}
	return out
}

// decodeLoose decodes stored JSON keeping numbers as written; a value that
// does not decode is shown as its text.
func decodeLoose(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	return v
}

// flatten puts the scalar leaves of v into out under their paths; null
// and empty values are absent.
func flatten(path string, v any, out map[string]string) {
	switch x := v.(type) {
	case nil:
	case map[string]any:
		for k, e := range x {
			flatten(path+"."+k, e, out)
		}
	case []any:
		for i, e := range x {
			flatten(path+"["+strconv.Itoa(i)+"]", e, out)
		}
	case string:
		if x != "" {
			out[path] = x
		}
	case json.Number:
		out[path] = x.String()
	case bool:
		out[path] = strconv.FormatBool(x)
	}
}

type versionPageData struct {
	PIN       cancuoc.PIN
	Version   *cancuoc.CitizenVersion
	ActorName string
	Changes   []leafChange
	Record    *record
	Prev      int64 // the version before, 0 when none
}

// consoleVersion shows one version of a record: who made it, when, for
// which agency, why and on what legal basis, the field-level diff against
// the version before, and the record as it then stood. The registry
// checks the history right and the jurisdiction, and logs the reading.
func (s *Site) consoleVersion(w http.ResponseWriter, r *http.Request, ss *session, p *cancuoc.Principal) {
	ctx := r.Context()
	pin, err := cancuoc.ParsePIN(r.PathValue("pin"), s.now().Year())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	if err != nil || n < 1 {
		s.fail(w, r, cancuoc.InvalidField("web.console", "version", "version_invalid",
			"Số phiên bản phải là số nguyên từ 1.", "The version number must be a whole number from 1."))
		return
	}
	h, err := s.console.deps.Registry.Version(ctx, p, pin, n, "Xem lịch sử hồ sơ trên giao diện cán bộ")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := s.newView(w, r, "v"+strconv.FormatInt(n, 10))
	v.Nav, v.CSRF = s.nav("/console"), s.csrf(ss)
	d := versionPageData{PIN: pin, Version: h, ActorName: s.nameOf(ctx, map[string]string{}, h.Actor), Prev: n - 1}
	for _, c := range h.Changes {
		d.Changes = append(d.Changes, leafDiff(v.Lang, c.Field, c.Old, c.New)...)
	}
	if h.Citizen != nil {
		d.Record = recordView(v.Lang, h.Citizen)
	}
	v.Data = d
	s.render(w, http.StatusOK, "console_version.html", v)
}
