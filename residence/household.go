package residence

import (
	"context"
	"slices"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

// Relations are the relationships to the household head a member may
// have, as written in the residence database. Anything else is "khác"
// (other), so a typo cannot create a new kind of relative.
var Relations = []string{"vợ", "chồng", "con", "con nuôi", "con dâu", "con rể", "cha", "mẹ", "cha nuôi", "mẹ nuôi",
	"ông", "bà", "cháu", "anh", "chị", "em", "cô", "dì", "chú", "bác", "cậu", "mợ", "thím", "khác"}

// ParseRelation normalises a relationship to the head and checks it is one
// of Relations.
func ParseRelation(op, field, s string) (string, error) {
	r := clean(s)
	for _, x := range Relations {
		if r == x {
			return r, nil
		}
	}
	return "", cancuoc.InvalidField(op, field, "relation_unknown",
		"Quan hệ với chủ hộ phải là một trong: vợ, chồng, con, con nuôi, con dâu, con rể, cha, mẹ, ông, bà, cháu, anh, chị, em, … hoặc khác.",
		"The relationship to the head must be one of the listed Vietnamese terms (vợ, chồng, con, cha, mẹ, …) or \"khác\" (other).")
}

// ConsentMethods are how a head's consent may be given.
var ConsentMethods = []string{"in_person", "written", "vneid"}

// NewHousehold registers a person's permanent residence at an address as
// the head of a new household (a lawful residence of theirs: the document
// proving it is named in LegalBasis).
type NewHousehold struct {
	Address cancuoc.Place `json:"address"`
	HeadPIN cancuoc.PIN   `json:"head_pin"`
	// Request is the head's own request to register (see checkRequest).
	Request *cancuoc.HeadConsent `json:"request"`
	registry.Meta
}

// Join registers a person's permanent residence in an existing household,
// with the head's consent and the relationship to the head.
type Join struct {
	PIN      cancuoc.PIN          `json:"pin"`
	Relation string               `json:"relation"`
	Consent  *cancuoc.HeadConsent `json:"consent"`
	// Request is the person's own request to register, or their legal
	// representative's (see checkRequest).
	Request *cancuoc.HeadConsent `json:"request"`
	registry.Meta
}

// headAge is the age of full legal capacity (Civil Code art. 20), which a
// household head must have (Law on Residence art. 10).
const headAge = 18

// CreateHousehold registers hh.HeadPIN's permanent residence at the
// address as head of a new household. The officer must cover the address.
func (s *Service) CreateHousehold(ctx context.Context, p *cancuoc.Principal, hh NewHousehold) (*cancuoc.Household, error) {
	var out *cancuoc.Household
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var err error
		out, err = s.CreateHouseholdTx(ctx, tx, p, hh)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CheckAddress checks a household's address as CreateHousehold does and
// returns its unit (today's), before anything is read: an application
// checks it when filed.
func CheckAddress(op string, addr *cancuoc.Place) (cancuoc.UnitRef, error) {
	return unitOf(op, "address", addr)
}

// CreateHouseholdTx is CreateHousehold inside the caller's transaction.
func (s *Service) CreateHouseholdTx(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Principal, hh NewHousehold) (*cancuoc.Household, error) {
	const op = "residence.CreateHousehold"
	if err := meta(op, hh.Meta); err != nil {
		return nil, err
	}
	addr := hh.Address
	unit, err := unitOf(op, "address", &addr)
	if err != nil {
		return nil, err
	}
	if err := registry.Authorize(op, p, registry.ActUpdate, unit); err != nil {
		return nil, err
	}
	out, err := func() (*cancuoc.Household, error) {
		head, err := tx.Citizen(ctx, hh.HeadPIN)
		if err != nil {
			return nil, err
		}
		if err := alive(op, head); err != nil {
			return nil, err
		}
		if !adultOn(head.BirthDate, s.clock(), headAge) {
			return nil, cancuoc.InvalidField(op, "head_pin", "head_minor",
				"Chủ hộ phải là người có năng lực hành vi dân sự đầy đủ (từ đủ 18 tuổi).",
				"A household head must have full legal capacity (18 or older).")
		}
		if err := s.checkRequest(op, head, hh.Request); err != nil {
			return nil, err
		}
		h := &cancuoc.Household{ID: newID("hh_"), Address: addr, HeadPIN: head.PIN}
		if err := s.admit(ctx, tx, op, p, h, head, cancuoc.RelationHead, nil, hh.Request, hh.Meta, "head_pin"); err != nil {
			return nil, err
		}
		if err := tx.AppendEvent(ctx, &cancuoc.Event{ID: newID("ev_"), Type: cancuoc.EventHouseholdCreated, PIN: head.PIN,
			Actor: p.ID, At: h.CreatedAt, Data: householdData(h)}); err != nil {
			return nil, err
		}
		return h, nil
	}()
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// JoinHousehold registers j.PIN's permanent residence in household id. The
// officer must cover the household's address; the head's consent is
// required (Law on Residence art. 20–21).
func (s *Service) JoinHousehold(ctx context.Context, p *cancuoc.Principal, id string, j Join) (*cancuoc.Household, error) {
	var out *cancuoc.Household
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var err error
		out, err = s.JoinHouseholdTx(ctx, tx, p, id, j)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// JoinHouseholdTx is JoinHousehold inside the caller's transaction.
func (s *Service) JoinHouseholdTx(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Principal, id string, j Join) (*cancuoc.Household, error) {
	const op = "residence.JoinHousehold"
	if err := meta(op, j.Meta); err != nil {
		return nil, err
	}
	rel, err := ParseRelation(op, "relation", j.Relation)
	if err != nil {
		return nil, err
	}
	if err := registry.CheckRole(op, p, registry.ActUpdate); err != nil {
		return nil, err
	}
	out, err := func() (*cancuoc.Household, error) {
		h, err := s.household(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if err := registry.Authorize(op, p, registry.ActUpdate, unitRef(h)); err != nil {
			return nil, err
		}
		if err := s.checkConsent(op, h, j.Consent); err != nil {
			return nil, err
		}
		c, err := tx.Citizen(ctx, j.PIN)
		if err != nil {
			return nil, err
		}
		if err := alive(op, c); err != nil {
			return nil, err
		}
		if err := s.checkRequest(op, c, j.Request); err != nil {
			return nil, err
		}
		if _, ok := h.Member(c.PIN); ok {
			return nil, cancuoc.E(cancuoc.Conflict, op, "already_member",
				"Người này đã là thành viên của hộ.", "This person is already a member of the household.")
		}
		if err := s.admit(ctx, tx, op, p, h, c, rel, j.Consent, j.Request, j.Meta, "pin"); err != nil {
			return nil, err
		}
		return h, nil
	}()
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// HouseholdUnit is the unit of household id's address, whose officers
// decide who joins it.
// Opened returns household id as the register has it or, for a household
// known only from its members' records, as the register would open it at
// its first change (household): what a request to join it is checked
// against. NotFound when neither knows it. It logs no access: the caller's
// check reads for its own decision and shows nothing.
func (s *Service) Opened(ctx context.Context, id string) (*cancuoc.Household, error) {
	return s.household(ctx, s.store, id)
}

func (s *Service) HouseholdUnit(ctx context.Context, id string) (cancuoc.UnitRef, error) {
	h, err := s.household(ctx, s.store, id)
	if err != nil {
		return cancuoc.UnitRef{}, err
	}
	return unitRef(h), nil
}

// checkConsent requires the active head's consent, given no later than now.
func (s *Service) checkConsent(op string, h *cancuoc.Household, c *cancuoc.HeadConsent) error {
	if c == nil {
		return cancuoc.InvalidField(op, "consent", "consent_required",
			"Cần ý kiến đồng ý của chủ hộ (ai, khi nào, bằng hình thức nào).",
			"The household head's consent is required (who, when, how).")
	}
	if _, ok := h.Member(h.HeadPIN); !ok {
		return cancuoc.E(cancuoc.Conflict, op, "head_vacant",
			"Hộ chưa có chủ hộ; các thành viên cần chọn chủ hộ mới trước.",
			"The household has no head; the members must choose a new head first.")
	}
	if c.By != h.HeadPIN {
		return cancuoc.InvalidField(op, "consent.by", "consent_not_head",
			"Người đồng ý phải là chủ hộ.", "The consent must be given by the household head.")
	}
	ok := false
	for _, m := range ConsentMethods {
		ok = ok || c.Method == m
	}
	if !ok {
		return cancuoc.InvalidField(op, "consent.method", "consent_method",
			"Hình thức đồng ý phải là in_person, written hoặc vneid.", "The consent method must be in_person, written or vneid.")
	}
	if c.At.IsZero() || c.At.After(s.clock().Add(5*time.Minute)) {
		return cancuoc.InvalidField(op, "consent.at", "consent_time",
			"Cần thời điểm đồng ý, không ở tương lai.", "The time of consent is required and cannot be in the future.")
	}
	c.At = c.At.UTC().Truncate(time.Microsecond)
	return nil
}

// checkRequest requires the request of the person whose permanent
// residence is registered: registration happens at the person's own
// request (Law on Residence 2020 art. 22(1): the person registering files
// the application; the head's consent of art. 21 is in addition to it, not
// instead of it). A minor's request is made by a parent or guardian, their
// legal representatives (Civil Code 2015 art. 136), as is that of an adult
// whose record names a guardian. Without it an officer could move anyone
// into a household of their commune, ending their residence elsewhere.
// The request is recorded as the head's consent is: who, when, how.
func (s *Service) checkRequest(op string, c *cancuoc.Citizen, r *cancuoc.HeadConsent) error {
	if r == nil {
		return cancuoc.InvalidField(op, "request", "request_required",
			"Cần yêu cầu đăng ký thường trú của chính người đăng ký (hoặc cha, mẹ, người giám hộ nếu là người chưa thành niên): ai, khi nào, bằng hình thức nào.",
			"The request of the person being registered is required (or of a parent or guardian for a minor): who, when, how (request.by, request.at, request.method).")
	}
	if !mayRequestFor(c, r.By, s.clock()) {
		return cancuoc.InvalidField(op, "request.by", "request_not_person",
			"Người yêu cầu phải là chính người đăng ký, hoặc cha, mẹ, người giám hộ được ghi trong hồ sơ nếu người đó chưa thành niên.",
			"The request must come from the person being registered; for a minor (or a person under guardianship), from a parent or guardian named in their record.")
	}
	if !slices.Contains(ConsentMethods, r.Method) {
		return cancuoc.InvalidField(op, "request.method", "request_method",
			"Hình thức yêu cầu phải là in_person, written hoặc vneid.", "The request method must be in_person, written or vneid.")
	}
	if r.At.IsZero() || r.At.After(s.clock().Add(5*time.Minute)) {
		return cancuoc.InvalidField(op, "request.at", "request_time",
			"Cần thời điểm yêu cầu, không ở tương lai.", "The time of the request is required and cannot be in the future.")
	}
	r.At = r.At.UTC().Truncate(time.Microsecond)
	return nil
}

// mayRequestFor reports whether by may request c's registration: c, or a
// legal representative named in c's record when c is a minor or has a
// guardian.
func mayRequestFor(c *cancuoc.Citizen, by cancuoc.PIN, now time.Time) bool {
	if by == "" {
		return false
	}
	if by == c.PIN {
		return true
	}
	if c.Guardian != nil && c.Guardian.PIN == by {
		return true
	}
	if adultOn(c.BirthDate, now, headAge) {
		return false
	}
	return (c.Father != nil && c.Father.PIN == by) || (c.Mother != nil && c.Mother.PIN == by)
}

// admit makes c a member of h with relation: it ends c's membership of
// another household, adds the membership, changes c's record (permanent
// residence, household link) through the registry, and writes the entry.
func (s *Service) admit(ctx context.Context, tx cancuoc.Tx, op string, p *cancuoc.Principal, h *cancuoc.Household,
	c *cancuoc.Citizen, relation string, consent, request *cancuoc.HeadConsent, m registry.Meta, field string) error {
	now := s.clock()
	left, err := s.leave(ctx, tx, op, c, h.ID, field)
	if err != nil {
		return err
	}
	e := &cancuoc.ResidenceEntry{ID: newID("re_"), PIN: c.PIN, Kind: cancuoc.ResidencePermanent, Place: placeCopy(h.Address),
		Unit: unitRef(h), HouseholdID: h.ID, Relation: relation, Consent: consent, Request: request, From: cancuoc.DateOf(now.In(Zone))}
	h.Members = append(h.Members, cancuoc.HouseholdMember{PIN: c.PIN, Name: c.FullName, Relation: relation,
		Since: now, Consent: consent, Request: request, EntryID: e.ID})
	if err := saveHousehold(ctx, tx, h, now); err != nil { // a new household, or one opened from the records, is inserted
		return err
	}
	head := c
	if c.PIN != h.HeadPIN {
		if head, err = tx.Citizen(ctx, h.HeadPIN); err != nil {
			return err
		}
	}
	ended, err := s.endTemporary(ctx, tx, c, unitRef(h))
	if err != nil {
		return err
	}
	// The record first: its audit entry must precede the events below
	// (see cancuoc.AuditLog on lock order).
	if _, err := s.reg.UpdateTx(ctx, tx, p, c.PIN, 0, m, func(r *cancuoc.Citizen) error {
		r.PermanentResidence = placeCopy(h.Address)
		r.Household = &cancuoc.HouseholdLink{ID: h.ID, HeadPIN: head.PIN, HeadName: head.FullName, Relation: relation}
		if ended != nil {
			r.TemporaryResidence = nil
		}
		return nil
	}, registry.AnyVersion(), registry.PlaceChecked(), registry.ResidenceProcedure()); err != nil {
		return err
	}
	if left != nil {
		if err := s.record(ctx, tx, p, left, m, cancuoc.EventResidenceLeft); err != nil {
			return err
		}
	}
	if ended != nil {
		if err := s.record(ctx, tx, p, ended, m, cancuoc.EventResidenceTemporaryEnded); err != nil {
			return err
		}
	}
	return s.record(ctx, tx, p, e, m, cancuoc.EventResidenceRegistered)
}

// endTemporary ends c's temporary residence in unit, where they now
// register permanent residence: the temporary registration is deleted when
// the person is registered permanently where they stayed (Law on Residence
// art. 29(1)(đ)), and temporary residence is not kept in the commune of
// the permanent one (art. 27). Left in place it would stay on the commune's
// expiry list and on the record. A temporary residence elsewhere goes on.
// It removes the current registration and returns the entry to record,
// nil when there is none in unit.
func (s *Service) endTemporary(ctx context.Context, tx cancuoc.Tx, c *cancuoc.Citizen, unit cancuoc.UnitRef) (*cancuoc.ResidenceEntry, error) {
	// The register's row is written with the record's field (putTemporary)
	// and removed with it, so a record without one has none to end: no
	// read. The read would cost more than its round trip in a batch of
	// settled steps (a newborn's residence each): the writes around it are
	// gathered into one statement per table only when no read answer is
	// waited for between them (postgres pipeset.go).
	if c.TemporaryResidence == nil {
		return nil, nil
	}
	cur, err := tx.Temporary(ctx, c.PIN)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		cur, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	if cur != nil && cur.Unit != unit {
		return nil, nil
	}
	if cur == nil {
		if pl, ok := todayPlace(&c.TemporaryResidence.Place); !ok || (cancuoc.UnitRef{Province: pl.Province, Commune: pl.Commune}) != unit {
			return nil, nil
		}
	}
	e := &cancuoc.ResidenceEntry{PIN: c.PIN, Kind: cancuoc.ResidenceTemporaryEnded, Until: s.today()}
	switch {
	case cur != nil:
		e.Place, e.Unit, e.From = placeCopy(cur.Place), cur.Unit, cur.From
		if err := tx.DeleteTemporary(ctx, c.PIN); err != nil {
			return nil, err
		}
	default: // only on the record (imported)
		e.Place, e.Unit, e.From = placeCopy(c.TemporaryResidence.Place), unit, c.TemporaryResidence.From
	}
	return e, nil
}

// leave ends c's active membership of a household other than except, when
// they register permanent residence elsewhere, and returns the entry to
// record (nil when there was none). A head whose household still has
// other members cannot leave it headless.
func (s *Service) leave(ctx context.Context, tx cancuoc.Tx, op string, c *cancuoc.Citizen, except, field string) (*cancuoc.ResidenceEntry, error) {
	if c.Household == nil || c.Household.ID == "" || c.Household.ID == except {
		return nil, nil
	}
	old, err := s.household(ctx, tx, c.Household.ID)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil, nil // a link no other record shares, at no address of today's units
	}
	if err != nil {
		return nil, err
	}
	if old.HeadPIN == c.PIN && len(old.ActiveMembers()) > 1 {
		return nil, cancuoc.InvalidField(op, field, "head_has_members",
			"Người này là chủ hộ của hộ khác còn thành viên; hộ đó cần chọn chủ hộ mới trước.",
			"This person heads another household that still has members; it must choose a new head first.")
	}
	if !endMembership(old, c.PIN, s.clock()) {
		return nil, nil
	}
	if err := saveHousehold(ctx, tx, old, s.clock()); err != nil {
		return nil, err
	}
	return &cancuoc.ResidenceEntry{PIN: c.PIN, Kind: cancuoc.ResidenceLeft, Place: placeCopy(old.Address), Unit: unitRef(old),
		HouseholdID: old.ID, Until: s.today()}, nil
}

// endMembership sets the end of pin's active membership; false if none.
func endMembership(h *cancuoc.Household, pin cancuoc.PIN, at time.Time) bool {
	for i := range h.Members {
		if h.Members[i].PIN == pin && h.Members[i].Active() {
			t := at
			h.Members[i].Until = &t
			return true
		}
	}
	return false
}

// HouseholdView is the electronic household book: the household, whether
// its head is still a member, and its current and past members.
type HouseholdView struct {
	cancuoc.Household
	HeadActive bool `json:"head_active"`
}

// Household returns a household for an officer covering its address. Every
// member listed is logged as accessed.
func (s *Service) Household(ctx context.Context, p *cancuoc.Principal, id, purpose string) (*HouseholdView, error) {
	const op = "residence.Household"
	if err := registry.CheckRole(op, p, registry.ActRead); err != nil {
		return nil, err
	}
	if err := canSee(op, p, "household"); err != nil {
		return nil, err
	}
	h, err := s.household(ctx, s.store, id)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := registry.Authorize(op, p, registry.ActRead, unitRef(h)); err != nil {
		return nil, err
	}
	pins := make([]cancuoc.PIN, 0, len(h.Members))
	for _, m := range h.Members {
		pins = append(pins, m.PIN)
	}
	if err := s.readAudit(ctx, p.ID, "household.read", pins, []string{"household"}, purpose); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	_, headActive := h.Member(h.HeadPIN)
	return &HouseholdView{Household: *h, HeadActive: headActive}, nil
}

func unitRef(h *cancuoc.Household) cancuoc.UnitRef {
	return cancuoc.UnitRef{Province: h.Address.Province, Commune: h.Address.Commune}
}

func placeCopy(p cancuoc.Place) *cancuoc.Place {
	c := p
	c.Today = nil
	return &c
}

func householdData(h *cancuoc.Household) []byte {
	return []byte(`{"household_id":"` + h.ID + `"}`)
}

// NewHead is the members' choice of a new household head (Law on
// Residence art. 10(2)): the new head, and every other current member's
// relationship to them, since relationships are to the head.
type NewHead struct {
	HeadPIN   cancuoc.PIN            `json:"head_pin"`
	Relations map[cancuoc.PIN]string `json:"relations"`
	registry.Meta
}

// ChangeHead makes a current member the head of household id, after the
// head died, moved out or was replaced by the members' choice. Every
// member's record (fields 22, 23) changes in the same transaction. The
// officer must cover the household's address.
func (s *Service) ChangeHead(ctx context.Context, p *cancuoc.Principal, id string, nh NewHead) (*cancuoc.Household, error) {
	const op = "residence.ChangeHead"
	if err := meta(op, nh.Meta); err != nil {
		return nil, err
	}
	if err := registry.CheckRole(op, p, registry.ActUpdate); err != nil {
		return nil, err
	}
	var out *cancuoc.Household
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		h, err := s.household(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := registry.Authorize(op, p, registry.ActUpdate, unitRef(h)); err != nil {
			return err
		}
		if _, ok := h.Member(nh.HeadPIN); !ok || nh.HeadPIN == h.HeadPIN {
			return cancuoc.InvalidField(op, "head_pin", "head_not_member",
				"Chủ hộ mới phải là thành viên hiện tại của hộ, khác chủ hộ cũ.", "The new head must be a current member of the household, not the current head.")
		}
		head, err := tx.Citizen(ctx, nh.HeadPIN)
		if err != nil {
			return err
		}
		if err := alive(op, head); err != nil {
			return err
		}
		if !adultOn(head.BirthDate, s.clock(), headAge) {
			return cancuoc.InvalidField(op, "head_pin", "head_minor",
				"Chủ hộ phải là người có năng lực hành vi dân sự đầy đủ (từ đủ 18 tuổi).",
				"A household head must have full legal capacity (18 or older).")
		}
		rels := map[cancuoc.PIN]string{nh.HeadPIN: cancuoc.RelationHead}
		for _, m := range h.ActiveMembers() {
			if m.PIN == nh.HeadPIN {
				continue
			}
			r, err := ParseRelation(op, "relations."+string(m.PIN), nh.Relations[m.PIN])
			if err != nil {
				return err
			}
			rels[m.PIN] = r
		}
		for pin := range nh.Relations {
			if _, ok := rels[pin]; !ok || pin == nh.HeadPIN {
				return cancuoc.InvalidField(op, "relations."+string(pin), "relation_not_member",
					"Chỉ ghi quan hệ của các thành viên hiện tại khác chủ hộ mới.", "Give relationships only for current members other than the new head.")
			}
		}
		h.HeadPIN = nh.HeadPIN
		for i := range h.Members {
			if r, ok := rels[h.Members[i].PIN]; ok && h.Members[i].Active() {
				h.Members[i].Relation = r
			}
		}
		if err := saveHousehold(ctx, tx, h, s.clock()); err != nil {
			return err
		}
		for _, m := range h.ActiveMembers() {
			if _, err := s.reg.UpdateTx(ctx, tx, p, m.PIN, 0, nh.Meta, func(r *cancuoc.Citizen) error {
				r.Household = &cancuoc.HouseholdLink{ID: h.ID, HeadPIN: head.PIN, HeadName: head.FullName, Relation: m.Relation}
				return nil
			}, registry.AnyVersion(), registry.PlaceChecked(), registry.ResidenceProcedure()); err != nil {
				return err
			}
		}
		if err := tx.AppendEvent(ctx, &cancuoc.Event{ID: newID("ev_"), Type: cancuoc.EventHouseholdHead, PIN: head.PIN,
			Actor: p.ID, At: h.UpdatedAt, Data: householdData(h)}); err != nil {
			return err
		}
		out = h
		return nil
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}
