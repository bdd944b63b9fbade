package partner

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/cancuoc/cancuoc"
)

// NewPartner is a partner as an administrator registers it.
type NewPartner struct {
	ID     string                `json:"id"`
	Name   string                `json:"name"`
	Kind   cancuoc.PartnerKind   `json:"kind"`
	Policy cancuoc.PartnerPolicy `json:"policy"`
}

// Change is an administrator's change of a partner: the fields given are
// replaced. Version is the version being changed (optimistic concurrency).
type Change struct {
	Version  int64                  `json:"version"`
	Name     *string                `json:"name,omitempty"`
	Kind     *cancuoc.PartnerKind   `json:"kind,omitempty"`
	Policy   *cancuoc.PartnerPolicy `json:"policy,omitempty"`
	Disabled *bool                  `json:"disabled,omitempty"`
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// recordFields are the top-level JSON names of a citizen's record: the
// field names a policy and a consent may list.
var recordFields = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[cancuoc.Citizen]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = true
		}
	}
	return m
}()

// RecordFields lists the field names a policy may name, sorted.
func RecordFields() []string {
	out := make([]string, 0, len(recordFields))
	for f := range recordFields {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func invalid(op, field, code, vi, en string) error {
	return cancuoc.InvalidField(op, field, code, vi, en)
}

// validate checks a partner's name, kind and policy and puts the policy's
// lists in a canonical order.
func validate(op string, p *cancuoc.Partner) error {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" {
		return invalid(op, "name", "name_required", "Cần tên đối tác.", "A partner needs a name.")
	}
	if !slices.Contains(cancuoc.PartnerKinds(), p.Kind) {
		return invalid(op, "kind", "partner_kind_invalid", "Loại đối tác là ministry, bank, hospital, telecom hoặc portal.",
			"The partner kind is ministry, bank, hospital, telecom or portal.")
	}
	pol := &p.Policy
	pol.Purpose, pol.LegalBasis = strings.TrimSpace(pol.Purpose), strings.TrimSpace(pol.LegalBasis)
	if pol.Purpose == "" || pol.LegalBasis == "" {
		return invalid(op, "policy.purpose", "purpose_required",
			"Chính sách cần nêu mục đích và căn cứ pháp lý.", "A policy needs a stated purpose and a legal basis.")
	}
	if len(pol.Operations) == 0 {
		return invalid(op, "policy.operations", "operations_required", "Chính sách cần ít nhất một thao tác.",
			"A policy needs at least one operation: match, release, reconcile, subscribe or issue_documents.")
	}
	for _, o := range pol.Operations {
		if !slices.Contains(cancuoc.PartnerOps(), o) {
			return invalid(op, "policy.operations", "operation_invalid",
				fmt.Sprintf("Thao tác %q không tồn tại.", o),
				fmt.Sprintf("Unknown operation %q; use match, release, reconcile, subscribe or issue_documents.", o))
		}
	}
	for _, f := range pol.Fields {
		if !recordFields[f] {
			return invalid(op, "policy.fields", "field_unknown",
				fmt.Sprintf("Trường %q không có trong hồ sơ dân cư.", f),
				fmt.Sprintf("The registry has no field %q; use the record's JSON field names (full_name, birth_date, …).", f))
		}
	}
	for _, e := range pol.EventTypes {
		if !slices.ContainsFunc(webhookTypePrefixes, func(p string) bool { return strings.HasPrefix(e, p) }) {
			return invalid(op, "policy.event_types", "event_type_invalid",
				fmt.Sprintf("Loại sự kiện %q không hợp lệ.", e), fmt.Sprintf("Invalid event type %q (citizen.born, citizen.died, …).", e))
		}
	}
	if pol.Quota.PerMinute < 0 || pol.Quota.PerDay < 0 {
		return invalid(op, "policy.quota", "quota_invalid", "Hạn mức không được âm.", "A quota cannot be negative.")
	}
	for _, l := range []*[]string{&pol.Fields, &pol.EventTypes, &pol.DocumentTypes} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	slices.Sort(pol.Operations)
	pol.Operations = slices.Compact(pol.Operations)
	return nil
}

// admin checks that actor may manage partners: a national administrator,
// or the operator at the console (nil).
func admin(op string, actor *cancuoc.Principal) error {
	if actor != nil && (actor.Disabled || actor.Role != cancuoc.RoleNationalAdmin) {
		return cancuoc.E(cancuoc.Forbidden, op, "role_forbidden",
			"Chỉ quản trị viên quốc gia được quản lý đối tác.", "Only a national administrator may manage partners.")
	}
	return nil
}

func actorID(actor *cancuoc.Principal) string {
	if actor == nil {
		return "console"
	}
	return actor.ID
}

// Create registers a partner. Invalid for a bad registration, Forbidden
// for a caller who is not a national administrator, Conflict if the ID is
// taken.
func (s *Service) Create(ctx context.Context, actor *cancuoc.Principal, n NewPartner) (*cancuoc.Partner, error) {
	const op = "partner.Create"
	if err := admin(op, actor); err != nil {
		return nil, err
	}
	if !idPattern.MatchString(n.ID) {
		return nil, invalid(op, "id", "partner_id_invalid", "Mã đối tác gồm 2–64 ký tự a-z, 0-9, '.', '_', '-'.",
			"A partner ID is 2–64 characters a-z, 0-9, '.', '_', '-'.")
	}
	now := s.clock()
	p := &cancuoc.Partner{ID: n.ID, Name: n.Name, Kind: n.Kind, Policy: n.Policy, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := validate(op, p); err != nil {
		return nil, err
	}
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertPartner(ctx, p); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: now, Actor: actorID(actor), Action: "partner.create",
			Purpose: p.ID, Outcome: "ok"})
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return p, nil
}

// Update applies a change to a partner: one transaction with its audit
// entry. Conflict "stale_version" if c.Version is not the current one.
func (s *Service) Update(ctx context.Context, actor *cancuoc.Principal, id string, c Change) (*cancuoc.Partner, error) {
	const op = "partner.Update"
	if err := admin(op, actor); err != nil {
		return nil, err
	}
	var out *cancuoc.Partner
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		cur, err := tx.Partner(ctx, id)
		if err != nil {
			return err
		}
		if c.Version != 0 && c.Version != cur.Version {
			return cancuoc.E(cancuoc.Conflict, op, "stale_version", "Đối tác đã được người khác thay đổi; hãy tải lại rồi thử lại.",
				"The partner was changed by someone else; reload and try again.")
		}
		n := *cur
		if c.Name != nil {
			n.Name = *c.Name
		}
		if c.Kind != nil {
			n.Kind = *c.Kind
		}
		if c.Policy != nil {
			n.Policy = *c.Policy
		}
		if c.Disabled != nil {
			n.Disabled = *c.Disabled
		}
		if err := validate(op, &n); err != nil {
			return err
		}
		n.Version, n.UpdatedAt = cur.Version+1, s.clock()
		if err := tx.UpdatePartner(ctx, &n, cur.Version); err != nil {
			return err
		}
		out = &n
		action := "partner.update"
		if c.Disabled != nil && *c.Disabled && !cur.Disabled {
			action = "partner.disable"
		}
		return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: n.UpdatedAt, Actor: actorID(actor), Action: action,
			Purpose: n.ID, Outcome: "ok"})
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	s.forget(id)
	return out, nil
}

// Disable stops a partner: every call of its clients is refused (on other
// nodes within the policy cache time).
func (s *Service) Disable(ctx context.Context, actor *cancuoc.Principal, id string) (*cancuoc.Partner, error) {
	yes := true
	return s.Update(ctx, actor, id, Change{Disabled: &yes})
}

// Get returns one partner for an administrator. NotFound if absent.
func (s *Service) Get(ctx context.Context, actor *cancuoc.Principal, id string) (*cancuoc.Partner, error) {
	const op = "partner.Get"
	if err := admin(op, actor); err != nil {
		return nil, err
	}
	p, err := s.store.Partner(ctx, id)
	return p, cancuoc.WithOp(op, err)
}

// List returns every partner for an administrator.
func (s *Service) List(ctx context.Context, actor *cancuoc.Principal) ([]*cancuoc.Partner, error) {
	const op = "partner.List"
	if err := admin(op, actor); err != nil {
		return nil, err
	}
	ps, err := s.store.Partners(ctx)
	return ps, cancuoc.WithOp(op, err)
}
