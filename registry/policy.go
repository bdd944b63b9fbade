package registry

import (
	"encoding/json"
	"sort"

	"github.com/cancuoc/cancuoc"
)

// Action is something a principal asks to do to the registry.
type Action string

// Actions checked by Authorize.
const (
	ActRead             Action = "citizen.read"
	ActSearch           Action = "citizen.search"
	ActHistory          Action = "citizen.history"
	ActRegisterBirth    Action = "citizen.register_birth"
	ActUpdate           Action = "citizen.update"
	ActRecordDeath      Action = "citizen.record_death"
	ActRecordMissing    Action = "citizen.record_missing"
	ActStats            Action = "population.stats"
	ActManagePrincipals Action = "principal.manage"
)

// allowed is the role × action matrix. Jurisdiction is checked separately:
// a role that may do an action may do it only inside its jurisdiction.
var allowed = map[cancuoc.Role]map[Action]bool{
	cancuoc.RoleNationalAdmin: {ActRead: true, ActSearch: true, ActHistory: true, ActRegisterBirth: true,
		ActUpdate: true, ActRecordDeath: true, ActRecordMissing: true, ActStats: true, ActManagePrincipals: true},
	cancuoc.RoleProvinceOfficer: {ActRead: true, ActSearch: true, ActHistory: true, ActRegisterBirth: true,
		ActUpdate: true, ActRecordDeath: true, ActRecordMissing: true, ActStats: true},
	cancuoc.RoleCommuneOfficer: {ActRead: true, ActSearch: true, ActHistory: true, ActRegisterBirth: true,
		ActUpdate: true, ActRecordDeath: true, ActRecordMissing: true, ActStats: true},
	// Ministries' systems read a reduced record nationally; they change the
	// registry only through procedures (a later capability), never directly.
	cancuoc.RoleMinistrySystem: {ActRead: true, ActSearch: true, ActStats: true},
	// Auditors read everything, including history, and never write.
	cancuoc.RoleAuditor: {ActRead: true, ActSearch: true, ActHistory: true, ActStats: true},
}

// Allowed reports whether role may perform act at all (ignoring jurisdiction).
func Allowed(role cancuoc.Role, act Action) bool { return allowed[role][act] }

// authorize checks role and jurisdiction for an action on a place.
func authorize(op string, p *cancuoc.Principal, act Action, where cancuoc.UnitRef) error {
	if err := checkRole(op, p, act); err != nil {
		return err
	}
	return checkPlace(op, p, where)
}

// checkRole checks that p is an active principal whose role allows act.
func checkRole(op string, p *cancuoc.Principal, act Action) error {
	if p == nil || p.Disabled {
		return cancuoc.E(cancuoc.Unauthenticated, op, "unauthenticated",
			"Cần đăng nhập bằng khoá API hợp lệ.", "A valid API key is required.")
	}
	if !Allowed(p.Role, act) {
		return cancuoc.E(cancuoc.Forbidden, op, "role_forbidden",
			"Vai trò của bạn không được phép thực hiện thao tác này.",
			"Your role ("+string(p.Role)+") may not perform "+string(act)+".")
	}
	return nil
}

// checkPlace checks that a place lies in p's jurisdiction.
func checkPlace(op string, p *cancuoc.Principal, where cancuoc.UnitRef) error {
	if !p.Jurisdiction.Covers(where) {
		return cancuoc.E(cancuoc.Forbidden, op, "outside_jurisdiction",
			"Công dân này không thuộc địa bàn quản lý của bạn.",
			"This citizen is outside your jurisdiction.")
	}
	return nil
}

// ministryFields are the fields a ministry's system receives: identity,
// life status and residence, not ethnicity, religion, blood type, family or
// contact data, which need a consented release (the verification capability).
var ministryFields = map[string]bool{
	"pin": true, "version": true, "full_name": true, "other_names": true, "birth_date": true, "sex": true,
	"nationality": true, "cards": true, "permanent_residence": true, "current_residence": true,
	"life_status": true, "death_date": true, "missing_since": true, "updated_at": true,
}

// VisibleFields returns the record fields role may see; nil means all.
func VisibleFields(role cancuoc.Role) map[string]bool {
	if role == cancuoc.RoleMinistrySystem {
		return ministryFields
	}
	return nil
}

// redact returns a copy of c holding only the fields role may see, and the
// list of field names released (for the audit entry).
func redact(c *cancuoc.Citizen, role cancuoc.Role) (*cancuoc.Citizen, []string, error) {
	vis := VisibleFields(role)
	if vis == nil {
		return c, []string{"*"}, nil
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, nil, err
	}
	raw, fields, err := filterJSON(raw, vis)
	if err != nil {
		return nil, nil, err
	}
	out := new(cancuoc.Citizen)
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, nil, err
	}
	return out, fields, nil
}

// filterJSON keeps only the visible top-level fields of a record's JSON and
// lists them, sorted, for the audit entry.
func filterJSON(doc []byte, vis map[string]bool) ([]byte, []string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, nil, err
	}
	var fields []string
	for k := range m {
		if !vis[k] {
			delete(m, k)
			continue
		}
		fields = append(fields, k)
	}
	sort.Strings(fields)
	out, err := json.Marshal(m)
	return out, fields, err
}
