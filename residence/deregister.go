package residence

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

// DeregistrationCause is the legal cause of deregistering a permanent
// residence (Law on Residence art. 24(1)).
type DeregistrationCause string

// The causes. Their codes are stable API values; Label gives the legal
// wording.
const (
	CauseDeath             DeregistrationCause = "death"              // died, or declared dead by a court
	CauseMissing           DeregistrationCause = "missing"            // declared missing by a court
	CauseNationalityLost   DeregistrationCause = "nationality_lost"   // lost Vietnamese nationality
	CauseAbsent12Months    DeregistrationCause = "absent_12_months"   // absent 12 months without temporary registration or absence declaration
	CauseSettledAbroad     DeregistrationCause = "settled_abroad"     // settled abroad
	CauseRegistrationVoid  DeregistrationCause = "registration_void"  // the registration was cancelled as unlawful
	CauseResidenceLost     DeregistrationCause = "residence_lost"     // no longer allowed to live at a rented, lent or borrowed home
	CauseOwnershipLost     DeregistrationCause = "ownership_lost"     // the home changed owner and the new owner does not agree
	CauseResidenceUnusable DeregistrationCause = "residence_unusable" // the home was demolished, confiscated or is no longer lawful
)

// causeLabels are the causes in the law's words.
var causeLabels = map[DeregistrationCause]string{
	CauseDeath:             "Chết, có quyết định của Tòa án tuyên bố mất tích hoặc đã chết",
	CauseMissing:           "Có quyết định của Tòa án tuyên bố mất tích",
	CauseNationalityLost:   "Được thôi quốc tịch, bị tước quốc tịch hoặc bị hủy quyết định nhập quốc tịch Việt Nam",
	CauseAbsent12Months:    "Vắng mặt liên tục tại nơi thường trú từ 12 tháng trở lên mà không đăng ký tạm trú hoặc không khai báo tạm vắng",
	CauseSettledAbroad:     "Định cư ở nước ngoài",
	CauseRegistrationVoid:  "Bị hủy bỏ đăng ký thường trú",
	CauseResidenceLost:     "Không còn được chủ hộ, chủ sở hữu đồng ý cho tiếp tục cư trú tại chỗ ở thuê, mượn, ở nhờ",
	CauseOwnershipLost:     "Đã chuyển quyền sở hữu chỗ ở cho người khác và không được chủ sở hữu mới đồng ý",
	CauseResidenceUnusable: "Chỗ ở bị phá dỡ, tịch thu hoặc không còn là chỗ ở hợp pháp",
}

// Causes lists every cause with its legal wording, for clients.
func Causes() map[DeregistrationCause]string {
	out := make(map[DeregistrationCause]string, len(causeLabels))
	for k, v := range causeLabels {
		out[k] = v
	}
	return out
}

// Label is the cause in the law's words; "" for an unknown cause.
func (c DeregistrationCause) Label() string { return causeLabels[c] }

// endsTemporary: the causes after which the person lives nowhere in
// Vietnam any more, so a temporary registration ends with the permanent one.
var endsTemporary = map[DeregistrationCause]bool{CauseDeath: true, CauseMissing: true, CauseNationalityLost: true, CauseSettledAbroad: true}

// Deregistration is a request to deregister a permanent residence.
type Deregistration struct {
	Cause DeregistrationCause `json:"cause"`
	registry.Meta
}

// Deregister deregisters pin's permanent residence with its legal cause,
// in a transaction of its own. Deregistering a person who has no permanent
// residence changes nothing and returns the record as it is.
func (s *Service) Deregister(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, d Deregistration) (*cancuoc.Citizen, error) {
	const op = "residence.Deregister"
	if err := meta(op, d.Meta); err != nil {
		return nil, err
	}
	var out *cancuoc.Citizen
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var err error
		out, err = s.deregister(ctx, tx, op, p, pin, d)
		return err
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// DeregisterTx deregisters pin's permanent residence inside the caller's
// transaction (the death procedure's deregistration step). It is
// idempotent: a second call for the same person changes nothing. It
// appends audit entries before events, so the caller should append its own
// events after it returns (the lock order of the log; see cancuoc.AuditLog).
func (s *Service) DeregisterTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, pin cancuoc.PIN, cause DeregistrationCause) error {
	const op = "residence.DeregisterTx"
	d := Deregistration{Cause: cause, Meta: registry.Meta{Reason: "Xóa đăng ký thường trú: " + cause.Label(),
		LegalBasis: "Luật Cư trú 2020, Điều 24 khoản 1"}}
	_, err := s.deregister(ctx, tx, op, actor, pin, d)
	return cancuoc.WithOp(op, err)
}

func (s *Service) deregister(ctx context.Context, tx cancuoc.Tx, op string, p *cancuoc.Principal, pin cancuoc.PIN, d Deregistration) (*cancuoc.Citizen, error) {
	if d.Cause.Label() == "" {
		return nil, cancuoc.InvalidField(op, "cause", "cause_unknown",
			"Lý do xóa đăng ký thường trú không có trong Luật Cư trú, Điều 24 (death, missing, nationality_lost, absent_12_months, settled_abroad, registration_void, residence_lost, ownership_lost, residence_unusable).",
			"Unknown deregistration cause; use one of death, missing, nationality_lost, absent_12_months, settled_abroad, registration_void, residence_lost, ownership_lost, residence_unusable.")
	}
	if err := registry.CheckRole(op, p, registry.ActUpdate); err != nil {
		return nil, err
	}
	c, err := tx.Citizen(ctx, pin)
	if err != nil {
		return nil, err
	}
	if err := registry.Authorize(op, p, registry.ActUpdate, c.Home); err != nil {
		return nil, err
	}
	switch {
	case d.Cause == CauseDeath && c.LifeStatus != cancuoc.Dead:
		return nil, cancuoc.E(cancuoc.Conflict, op, "death_not_registered",
			"Chưa đăng ký khai tử người này; xóa đăng ký thường trú vì chết cần khai tử trước.",
			"This person's death is not registered; register the death before deregistering for that cause.")
	case d.Cause == CauseMissing && c.LifeStatus != cancuoc.Missing:
		return nil, cancuoc.E(cancuoc.Conflict, op, "missing_not_registered",
			"Người này chưa bị tuyên bố mất tích trong cơ sở dữ liệu.", "This person is not recorded as declared missing.")
	}
	if c.PermanentResidence == nil && c.Household == nil && (!endsTemporary[d.Cause] || c.TemporaryResidence == nil) {
		return c, nil // already deregistered: nothing to do
	}
	old := c.PermanentResidence
	if c.Household != nil {
		if err := s.endMember(ctx, tx, c.Household.ID, pin); err != nil {
			return nil, err
		}
	}
	out, err := s.reg.UpdateTx(ctx, tx, p, pin, 0, d.Meta, func(r *cancuoc.Citizen) error {
		r.PermanentResidence, r.Household = nil, nil
		if endsTemporary[d.Cause] {
			r.TemporaryResidence = nil
		}
		return nil
	}, registry.AnyVersion(), registry.ResidenceProcedure())
	if err != nil {
		return nil, err
	}
	if endsTemporary[d.Cause] {
		if err := tx.DeleteTemporary(ctx, pin); err != nil {
			return nil, err
		}
	}
	hid := ""
	if c.Household != nil {
		hid = c.Household.ID
	}
	e := &cancuoc.ResidenceEntry{PIN: pin, Kind: cancuoc.ResidenceDeregistered, Place: old, Unit: c.Home,
		HouseholdID: hid, Cause: string(d.Cause), Until: s.today()}
	if err := s.record(ctx, tx, p, e, d.Meta, cancuoc.EventResidenceDeregistered); err != nil {
		return nil, err
	}
	return out, nil
}

// endMember ends pin's membership of household id, if the household is in
// the register or its records open it there. A head's household is left without a head until its
// members choose one.
func (s *Service) endMember(ctx context.Context, tx cancuoc.Tx, id string, pin cancuoc.PIN) error {
	h, err := s.household(ctx, tx, id)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if !endMembership(h, pin, s.clock()) {
		return nil
	}
	return saveHousehold(ctx, tx, h, s.clock())
}

// RegisterNewbornTx registers a newborn's permanent residence in a
// parent's household, at the parent's permanent residence, as "con" of the
// head when the parent heads the household or is the head's spouse (see
// childRelation) — the birth procedure's police step —, inside the
// caller's transaction. It is idempotent: when the child is already a
// member of that household nothing changes. The law needs no consent of
// the head for a minor child joining a parent (Law on Residence art. 20(2)(a)),
// which the membership records as "by_law". As for DeregisterTx, append
// the caller's own events after it returns.
func (s *Service) RegisterNewbornTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, child, parent cancuoc.PIN) error {
	const op = "residence.RegisterNewbornTx"
	if err := registry.CheckRole(op, actor, registry.ActUpdate); err != nil {
		return err
	}
	par, err := tx.Citizen(ctx, parent)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	if par.Household == nil || par.Household.ID == "" || par.PermanentResidence == nil {
		return cancuoc.InvalidField(op, "parent", "parent_no_household",
			"Cha/mẹ chưa đăng ký thường trú trong một hộ gia đình.", "The parent has no permanent residence in a household.")
	}
	h, err := s.householdOf(ctx, tx, par)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	if _, ok := h.Member(child); ok {
		return nil
	}
	if err := registry.Authorize(op, actor, registry.ActUpdate, unitRef(h)); err != nil {
		return err
	}
	c, err := tx.Citizen(ctx, child)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	if !isParent(c, parent) {
		return cancuoc.InvalidField(op, "parent", "not_parent",
			"Người này không được ghi là cha/mẹ của trẻ.", "This person is not recorded as the child's parent.")
	}
	if err := alive(op, c); err != nil {
		return err
	}
	m := registry.Meta{Reason: "Đăng ký thường trú cho trẻ mới sinh", LegalBasis: "Luật Cư trú 2020, Điều 20 khoản 2; Nghị định 63/2024"}
	consent := &cancuoc.HeadConsent{At: s.clock(), Method: "by_law"}
	// The parent's request is the birth procedure the parent filed.
	request := &cancuoc.HeadConsent{By: parent, At: s.clock(), Method: "procedure"}
	return cancuoc.WithOp(op, s.admit(ctx, tx, op, actor, h, c, childRelation(h, parent), consent, request, m, "child"))
}

// childRelation is the newborn's relationship to the head, which is the
// parent's relationship shifted a generation: "con" of the head or the
// head's spouse, "cháu" of the head's children, "khác" otherwise.
func childRelation(h *cancuoc.Household, parent cancuoc.PIN) string {
	m, _ := h.Member(parent)
	switch m.Relation {
	case cancuoc.RelationHead, "vợ", "chồng":
		return "con"
	case "con", "con nuôi", "con dâu", "con rể":
		return "cháu"
	}
	return "khác"
}

func isParent(c *cancuoc.Citizen, pin cancuoc.PIN) bool {
	return (c.Father != nil && c.Father.PIN == pin) || (c.Mother != nil && c.Mother.PIN == pin)
}

// householdOf returns the parent's household from the residence register,
// opened from the records first when it is known only from them (see
// household).
func (s *Service) householdOf(ctx context.Context, tx cancuoc.Tx, par *cancuoc.Citizen) (*cancuoc.Household, error) {
	return s.household(ctx, tx, par.Household.ID)
}

// householdReader is what household reads: a transaction or the store.
type householdReader interface {
	Household(ctx context.Context, id string) (*cancuoc.Household, error)
	HouseholdMembers(ctx context.Context, householdID string) ([]*cancuoc.Citizen, error)
}

// household returns household id from the residence register. A household
// known only from the records (registered on paper before the register
// existed, imported, or the demo population) is opened from every living
// person whose record links it, with the relationships their records
// give, at the head's permanent residence: so it can be viewed, joined and
// given a new head like any other. It is returned unsaved (version 0); the
// first change stores it (saveHousehold), so a read writes nothing. A
// household no record links, or whose address is not in today's units, is
// NotFound as before.
func (s *Service) household(ctx context.Context, r householdReader, id string) (*cancuoc.Household, error) {
	h, err := r.Household(ctx, id)
	if cancuoc.KindOf(err) != cancuoc.NotFound {
		return h, err
	}
	notFound := err
	linked, err := r.HouseholdMembers(ctx, id)
	if err != nil {
		return nil, err
	}
	// The members are everyone linked who is not dead: a person declared
	// missing keeps their permanent residence until the police deregister
	// them with that cause (deregister), which must find their membership.
	var living []*cancuoc.Citizen
	headPIN := cancuoc.PIN("")
	for _, c := range linked {
		if c.LifeStatus == cancuoc.Dead || c.Household == nil || c.Household.ID != id {
			continue
		}
		living = append(living, c)
		if c.Household.Relation == cancuoc.RelationHead {
			headPIN = c.PIN
		} else if headPIN == "" {
			headPIN = c.Household.HeadPIN
		}
	}
	// The address: the head's permanent residence, else a member's.
	var addr *cancuoc.Place
	for _, c := range living {
		if a, ok := todayPlace(c.PermanentResidence); ok && (addr == nil || c.PIN == headPIN) {
			addr = a
		}
	}
	if addr == nil {
		return nil, notFound
	}
	now := s.clock()
	h = &cancuoc.Household{ID: id, Address: *addr, HeadPIN: headPIN}
	for _, c := range living {
		rel := c.Household.Relation
		if c.PIN == headPIN {
			rel = cancuoc.RelationHead
		} else if rel == cancuoc.RelationHead || rel == "" {
			rel = "khác" // a second "head" in the records: not theirs to say
		}
		h.Members = append(h.Members, cancuoc.HouseholdMember{PIN: c.PIN, Name: c.FullName, Relation: rel, Since: now})
	}
	return h, nil
}

// todayPlace is p in today's units, false when it has none (a commune
// that does not map exactly): a household's address decides whose
// officers act on it. The units are registry.CurrentUnits's, as a record's
// Home and the birth procedure's police step (workflow) take them, so the
// officer the step goes to is the one this household's changes need.
func todayPlace(p *cancuoc.Place) (*cancuoc.Place, bool) {
	u, ok := registry.CurrentUnits(p)
	if !ok || u.Commune == "" {
		return nil, false
	}
	out := *p
	out.Today = nil
	out.Era, out.Province, out.District, out.Commune = cancuoc.Era34, u.Province, "", u.Commune
	return &out, true
}

// saveHousehold stores h as its next version, inserting a household
// opened from the records (version 0).
func saveHousehold(ctx context.Context, tx cancuoc.Tx, h *cancuoc.Household, now time.Time) error {
	if h.Version == 0 {
		h.Version, h.CreatedAt, h.UpdatedAt = 1, now, now
		return tx.InsertHousehold(ctx, h)
	}
	prev := h.Version
	h.Version, h.UpdatedAt = prev+1, now
	return tx.UpdateHousehold(ctx, h, prev)
}
