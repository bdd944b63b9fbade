package eid

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
)

// mayGrant are the roles that check people in person: police officers of a
// commune or province, and national administrators. Ministries' systems and
// auditors never change accounts.
func mayGrant(r cancuoc.Role) bool {
	return r == cancuoc.RoleCommuneOfficer || r == cancuoc.RoleProvinceOfficer || r == cancuoc.RoleNationalAdmin
}

// officerCitizen checks that p is an officer whose jurisdiction covers the
// citizen's home, the registry's rule for acting on a citizen.
func officerCitizen(ctx context.Context, tx cancuoc.Tx, op string, p *cancuoc.Principal, pin cancuoc.PIN) (*cancuoc.Citizen, error) {
	if p == nil || p.Disabled {
		return nil, cancuoc.E(cancuoc.Unauthenticated, op, "unauthenticated", "Cần đăng nhập bằng khoá API hợp lệ.", "A valid API key is required.")
	}
	if !mayGrant(p.Role) {
		return nil, cancuoc.E(cancuoc.Forbidden, op, "role_forbidden", "Vai trò của bạn không được phép thực hiện thao tác này.",
			"Your role ("+string(p.Role)+") may not manage electronic identity accounts.")
	}
	c, err := tx.Citizen(ctx, pin)
	if err != nil {
		return nil, err
	}
	if !p.Jurisdiction.Covers(c.Home) {
		return nil, cancuoc.E(cancuoc.Forbidden, op, "outside_jurisdiction", "Công dân này không thuộc địa bàn quản lý của bạn.",
			"This citizen is outside your jurisdiction.")
	}
	return c, nil
}

func needReason(op, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return cancuoc.InvalidField(op, "reason", "reason_required", "Cần ghi lý do.", "A reason is required.")
	}
	return nil
}

// raise sets level 2 on the citizen's open account.
func raise(op string, a *cancuoc.Account, g *cancuoc.LevelGrant) error {
	if err := statusError(op, a.Status); err != nil {
		return err
	}
	if a.Level == cancuoc.Level2 {
		return cancuoc.E(cancuoc.Conflict, op, "already_level2", "Tài khoản đã ở mức 2.", "The account is already at level 2.")
	}
	a.Level, a.Level2 = cancuoc.Level2, g
	return nil
}

// GrantLevel2 raises a citizen's account to level 2 after an officer has
// checked the person in person (card, face, fingerprints). The officer must
// cover the citizen's home; who and why are recorded on the account, in the
// audit log and in the outbox.
func (s *Service) GrantLevel2(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, reason string) (*cancuoc.Account, error) {
	var out *cancuoc.Account
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var err error
		out, err = s.GrantLevel2Tx(ctx, tx, p, pin, reason)
		return err
	})
	return out, err
}

// GrantLevel2Tx is GrantLevel2 inside the caller's transaction, for a
// grant recorded with something else (an approved application).
func (s *Service) GrantLevel2Tx(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Principal, pin cancuoc.PIN, reason string) (*cancuoc.Account, error) {
	const op = "eid.GrantLevel2"
	if err := needReason(op, reason); err != nil {
		return nil, err
	}
	out, err := func() (*cancuoc.Account, error) {
		c, err := officerCitizen(ctx, tx, op, p, pin)
		if err != nil {
			return nil, err
		}
		if err := checkAlive(op, c); err != nil {
			return nil, err
		}
		a, err := tx.AccountByPIN(ctx, pin)
		if err != nil {
			return nil, err
		}
		out, err := s.update(ctx, tx, a.ID, func(a *cancuoc.Account) error {
			return raise(op, a, &cancuoc.LevelGrant{Method: "in_person", By: p.ID, Reason: reason, At: s.clock()})
		})
		if err != nil {
			return nil, err
		}
		return out, s.record(ctx, tx, p.ID, "eid.level2", cancuoc.EventAccountLevel2, out, reason)
	}()
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// ChipEvidence is the outcome of reading and verifying a citizen's chip
// card (ICAO 9303), supplied by the chip-card capability. Level 2 needs
// proof that the data is genuine (passive authentication), that the chip is
// not a copy (active or chip authentication), and that the person present
// is its holder (a live face matched against the chip's DG2 photo).
type ChipEvidence struct {
	// PIN is the personal identification number read from the chip (DG13
	// or the MRZ's optional data).
	PIN cancuoc.PIN `json:"pin"`
	// DocumentNumber is the card number from the MRZ.
	DocumentNumber string `json:"document_number"`
	// Access is how the chip was opened: "pace" or "bac".
	Access string `json:"access"`
	// PassiveAuth: EF.SOD's signature chains to a trusted CSCA and the data
	// groups' hashes match it.
	PassiveAuth bool `json:"passive_auth"`
	// ActiveAuth / ChipAuth: the chip proved it holds the private key of
	// DG15 or DG14.
	ActiveAuth bool `json:"active_auth"`
	ChipAuth   bool `json:"chip_auth"`
	// FaceMatch: a live capture matched the DG2 photo.
	FaceMatch bool `json:"face_match"`
	// Verifier names the component that checked, for the record.
	Verifier   string    `json:"verifier"`
	VerifiedAt time.Time `json:"verified_at"`
}

// check explains what evidence is missing.
func (e ChipEvidence) check(op string, pin cancuoc.PIN, now time.Time) error {
	bad := func(code, vi, en string) error { return cancuoc.InvalidField(op, "evidence", code, vi, en) }
	switch {
	case e.PIN != pin:
		return bad("chip_pin_mismatch", "Thẻ không phải của công dân này.", "The card belongs to someone else.")
	case !e.PassiveAuth:
		return bad("chip_not_genuine", "Dữ liệu chip chưa được xác thực chữ ký.", "The chip's data signature was not verified.")
	case !e.ActiveAuth && !e.ChipAuth:
		return bad("chip_clone_check", "Chip chưa chứng minh là thẻ thật (xác thực chủ động).", "The chip did not prove it is not a copy.")
	case !e.FaceMatch:
		return bad("face_mismatch", "Khuôn mặt chưa được đối chiếu với ảnh trong chip.", "The face was not matched against the chip's photo.")
	case e.VerifiedAt.IsZero() || now.Sub(e.VerifiedAt) > 10*time.Minute || e.VerifiedAt.After(now.Add(time.Minute)):
		return bad("chip_evidence_stale", "Kết quả đọc chip đã quá hạn; hãy đọc lại.", "The chip reading is too old; read it again.")
	}
	return nil
}

// RaiseToLevel2ByChip raises an account to level 2 on a verified chip-card
// read presented by the app (the chip issue supplies the verification).
func (s *Service) RaiseToLevel2ByChip(ctx context.Context, pin cancuoc.PIN, evidence ChipEvidence) error {
	const op = "eid.RaiseToLevel2ByChip"
	if err := evidence.check(op, pin, s.clock()); err != nil {
		return err
	}
	by := "chip:" + evidence.Verifier
	return cancuoc.WithOp(op, s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		c, err := tx.Citizen(ctx, pin)
		if err != nil {
			return err
		}
		if err := checkAlive(op, c); err != nil {
			return err
		}
		a, err := tx.AccountByPIN(ctx, pin)
		if err != nil {
			return err
		}
		reason := fmt.Sprintf("Đọc chip thẻ căn cước (%s, xác thực thụ động và chủ động, đối chiếu khuôn mặt)", evidence.Access)
		a, err = s.update(ctx, tx, a.ID, func(a *cancuoc.Account) error {
			return raise(op, a, &cancuoc.LevelGrant{Method: "chip", By: by, Reason: reason, At: s.clock()})
		})
		if err != nil {
			return err
		}
		return s.record(ctx, tx, by, "eid.level2", cancuoc.EventAccountLevel2, a, reason)
	}))
}

// Lock locks an account at the request of its holder, or of the guardian of
// a child's account: a lost phone, a suspected theft. Only an officer can
// unlock it (Unlock). Forbidden "not_holder" for anyone else.
func (s *Service) Lock(ctx context.Context, actor *cancuoc.Account, pin cancuoc.PIN) (*cancuoc.Account, error) {
	const op = "eid.Lock"
	var out *cancuoc.Account
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		a, err := tx.AccountByPIN(ctx, pin)
		if err != nil {
			return err
		}
		guards := false
		if a.ID != actor.ID {
			if guards, err = Guards(ctx, tx, actor.PIN, a, s.clock(), s.cfg.ChildAge); err != nil {
				return err
			}
		}
		if a.ID != actor.ID && !guards {
			return cancuoc.E(cancuoc.Forbidden, op, "not_holder", "Chỉ chủ tài khoản hoặc người giám hộ mới khoá được.",
				"Only the holder or the guardian can lock the account.")
		}
		out, err = s.update(ctx, tx, a.ID, func(a *cancuoc.Account) error {
			if a.Status != cancuoc.AccountActive {
				return statusError(op, a.Status)
			}
			a.Status = cancuoc.AccountLocked
			return nil
		})
		if err != nil {
			return err
		}
		if err := s.endSessions(ctx, tx, out); err != nil {
			return err
		}
		return s.record(ctx, tx, actor.ID, "eid.lock", cancuoc.EventAccountLocked, out, "Chủ tài khoản yêu cầu khoá")
	})
	return out, cancuoc.WithOp(op, err)
}

// Unlock reopens a locked account after an officer covering the citizen's
// home has checked the holder, and forgets failed attempts. Conflict
// "not_locked" if the account is not locked (suspension and closure follow
// the registry, not an officer).
func (s *Service) Unlock(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, reason string) (*cancuoc.Account, error) {
	const op = "eid.Unlock"
	if err := needReason(op, reason); err != nil {
		return nil, err
	}
	var out *cancuoc.Account
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if _, err := officerCitizen(ctx, tx, op, p, pin); err != nil {
			return err
		}
		a, err := tx.AccountByPIN(ctx, pin)
		if err != nil {
			return err
		}
		out, err = s.update(ctx, tx, a.ID, func(a *cancuoc.Account) error {
			if a.Status != cancuoc.AccountLocked {
				return cancuoc.E(cancuoc.Conflict, op, "not_locked", "Tài khoản không bị khoá.", "The account is not locked.")
			}
			a.Status = cancuoc.AccountActive
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range []string{accountKey(out.ID), totpKey(out.ID)} {
			if err := tx.ClearThrottle(ctx, k); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, p.ID, "eid.unlock", cancuoc.EventAccountUnlocked, out, reason)
	})
	return out, cancuoc.WithOp(op, err)
}

// ChildRequest is what a guardian gives to open a child's account.
type ChildRequest struct {
	PIN      cancuoc.PIN `json:"pin"`
	Password string      `json:"password"`
	// Phone receives the child's codes; the guardian's when empty.
	Phone string `json:"phone,omitempty"`
}

// isGuardianOf reports whether the registry links g to child as parent,
// legal representative or the person represented.
func isGuardianOf(g, child *cancuoc.Citizen) bool {
	for _, r := range []*cancuoc.Relative{child.Father, child.Mother, child.Guardian} {
		if r != nil && r.PIN == g.PIN {
			return true
		}
	}
	for _, list := range [][]cancuoc.Relative{g.Children, g.Represented} {
		for _, r := range list {
			if r.PIN == child.PIN {
				return true
			}
		}
	}
	return false
}

// CreateChildAccount opens a level-1 account for a child under ChildAge,
// managed by the guardian: the guardian must hold an active level-2 account
// and be the child's parent or legal representative in the registry.
func (s *Service) CreateChildAccount(ctx context.Context, guardian *cancuoc.Account, req ChildRequest) (*cancuoc.Account, error) {
	const op = "eid.CreateChildAccount"
	if guardian.Kind != cancuoc.AccountCitizen || guardian.Level != cancuoc.Level2 || guardian.Status != cancuoc.AccountActive {
		return nil, cancuoc.E(cancuoc.Forbidden, op, "level2_required",
			"Cần tài khoản định danh điện tử mức 2 đang hoạt động.", "An active level-2 account is required.")
	}
	if err := s.checkPassword(op, req.Password); err != nil {
		return nil, err
	}
	phone := guardian.Phone
	if req.Phone != "" {
		var err error
		if phone, err = NormalizePhone(op, req.Phone); err != nil {
			return nil, err
		}
	}
	hash, err := s.hash(ctx, op, req.Password)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	now := s.clock()
	a := &cancuoc.Account{ID: newID("a_"), Kind: cancuoc.AccountCitizen, PIN: req.PIN, Level: cancuoc.Level1,
		Status: cancuoc.AccountActive, Phone: phone, GuardianPIN: guardian.PIN, CreatedAt: now, UpdatedAt: now, Version: 1}
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		g, err := tx.Citizen(ctx, guardian.PIN)
		if err != nil {
			return err
		}
		child, err := tx.Citizen(ctx, req.PIN)
		if cancuoc.KindOf(err) == cancuoc.NotFound || (err == nil && !isGuardianOf(g, child)) {
			return cancuoc.InvalidField(op, "pin", "not_guardian",
				"Theo Cơ sở dữ liệu quốc gia về dân cư, bạn không phải cha, mẹ hay người giám hộ của người này.",
				"The registry does not list you as this person's parent or guardian.")
		}
		if err != nil {
			return err
		}
		if err := checkAlive(op, child); err != nil {
			return err
		}
		if child.BirthDate.IsZero() || child.BirthDate.AgeOn(now) >= s.cfg.ChildAge {
			return cancuoc.E(cancuoc.Forbidden, op, "not_a_child",
				fmt.Sprintf("Chỉ mở tài khoản cho trẻ dưới %d tuổi; người từ %d tuổi tự đăng ký.", s.cfg.ChildAge, s.cfg.ChildAge),
				fmt.Sprintf("Only children under %d get an account from a guardian; from %d they register themselves.", s.cfg.ChildAge, s.cfg.ChildAge))
		}
		if err := tx.InsertAccount(ctx, a); err != nil {
			return err
		}
		if err := tx.PutSecrets(ctx, &cancuoc.AccountSecrets{AccountID: a.ID, PasswordHash: hash, PasswordSetAt: now}); err != nil {
			return err
		}
		return s.record(ctx, tx, guardian.ID, "eid.register_child", cancuoc.EventAccountCreated, a, "Người giám hộ đăng ký tài khoản cho trẻ em")
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return a, nil
}

// Children lists the accounts a guardian manages.
func (s *Service) Children(ctx context.Context, guardian *cancuoc.Account) ([]*cancuoc.Account, error) {
	out, err := s.store.AccountsByGuardian(ctx, guardian.PIN)
	return out, cancuoc.WithOp("eid.Children", err)
}

// ChildLogins lists a child's logins for the guardian. NotFound when the
// PIN is not a child the guardian manages, so a guardian learns nothing of
// other people's children.
//
// The child's consents will be listed beside them once the OpenID provider
// stores consents (issue 3, second half).
func (s *Service) ChildLogins(ctx context.Context, guardian *cancuoc.Account, child cancuoc.PIN, limit int) ([]*cancuoc.LoginRecord, error) {
	const op = "eid.ChildLogins"
	a, err := s.store.AccountByPIN(ctx, child)
	if err == nil {
		var guards bool
		if guards, err = Guards(ctx, s.store, guardian.PIN, a, s.clock(), s.cfg.ChildAge); err == nil && !guards {
			err = cancuoc.E(cancuoc.NotFound, op, "not_found", "Không tìm thấy tài khoản của trẻ.", "No such child's account.")
		}
	}
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return s.Logins(ctx, a.ID, limit)
}

// CreateOrganisation opens an organisation account (no level) whose first
// administrator is the creator, who must hold an active level-2 account:
// acting for a company or hospital needs the strongest identity.
func (s *Service) CreateOrganisation(ctx context.Context, creator *cancuoc.Account, name string) (*cancuoc.Account, error) {
	const op = "eid.CreateOrganisation"
	name = strings.Join(strings.Fields(name), " ")
	if name == "" || len(name) > 200 {
		return nil, cancuoc.InvalidField(op, "name", "name_required", "Cần tên tổ chức (tối đa 200 ký tự).", "The organisation's name is required (200 characters at most).")
	}
	if creator.Kind != cancuoc.AccountCitizen || creator.Level != cancuoc.Level2 || creator.Status != cancuoc.AccountActive {
		return nil, cancuoc.E(cancuoc.Forbidden, op, "level2_required",
			"Cần tài khoản định danh điện tử mức 2 đang hoạt động.", "An active level-2 account is required.")
	}
	now := s.clock()
	org := &cancuoc.Account{ID: newID("o_"), Kind: cancuoc.AccountOrganisation, Level: cancuoc.LevelNone,
		Status: cancuoc.AccountActive, OrgName: name, CreatedAt: now, UpdatedAt: now, Version: 1}
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertAccount(ctx, org); err != nil {
			return err
		}
		if err := tx.PutOrgMember(ctx, &cancuoc.OrgMembership{OrgID: org.ID, AccountID: creator.ID, Role: cancuoc.OrgAdmin,
			AddedBy: creator.ID, AddedAt: now}); err != nil {
			return err
		}
		return s.record(ctx, tx, creator.ID, "eid.org_create", cancuoc.EventAccountCreated, org, "")
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return org, nil
}

// AddOrgMember lets an organisation's administrator add (or change the role
// of) a citizen who acts for it.
func (s *Service) AddOrgMember(ctx context.Context, actor *cancuoc.Account, orgID string, pin cancuoc.PIN, role string) (*cancuoc.OrgMembership, error) {
	const op = "eid.AddOrgMember"
	if role != cancuoc.OrgAdmin && role != cancuoc.OrgMember {
		return nil, cancuoc.InvalidField(op, "role", "role_unknown", "Vai trò phải là admin hoặc member.", "The role must be admin or member.")
	}
	if err := s.requireOrgRole(ctx, op, actor, orgID, true); err != nil {
		return nil, err
	}
	a, err := s.store.AccountByPIN(ctx, pin)
	if err == nil && a.Status != cancuoc.AccountActive {
		err = statusError(op, a.Status)
	}
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil, cancuoc.InvalidField(op, "pin", "member_no_account", "Người này chưa có tài khoản định danh điện tử.",
			"This person has no electronic identity account.")
	}
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	m := &cancuoc.OrgMembership{OrgID: orgID, AccountID: a.ID, Role: role, AddedBy: actor.ID, AddedAt: s.clock()}
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.PutOrgMember(ctx, m); err != nil {
			return err
		}
		return s.record(ctx, tx, actor.ID, "eid.org_member", "", a, orgID)
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return m, nil
}

// OrgMembers lists an organisation's members for one of them.
func (s *Service) OrgMembers(ctx context.Context, actor *cancuoc.Account, orgID string) ([]*cancuoc.OrgMembership, error) {
	const op = "eid.OrgMembers"
	if err := s.requireOrgRole(ctx, op, actor, orgID, false); err != nil {
		return nil, err
	}
	out, err := s.store.OrgMembers(ctx, orgID)
	return out, cancuoc.WithOp(op, err)
}

// ActsFor reports the role with which an account acts for an organisation;
// NotFound if it does not. Relying parties use it through the OpenID
// provider to let a member act for the organisation.
func (s *Service) ActsFor(ctx context.Context, accountID, orgID string) (string, error) {
	m, err := s.store.OrgMember(ctx, orgID, accountID)
	if err != nil {
		return "", cancuoc.WithOp("eid.ActsFor", err)
	}
	return m.Role, nil
}

func (s *Service) requireOrgRole(ctx context.Context, op string, actor *cancuoc.Account, orgID string, admin bool) error {
	org, err := s.store.Account(ctx, orgID)
	if err == nil && org.Kind != cancuoc.AccountOrganisation {
		err = cancuoc.E(cancuoc.NotFound, op, "not_found", "Không tìm thấy tổ chức.", "No such organisation.")
	}
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	if err := statusError(op, org.Status); err != nil {
		return err
	}
	m, err := s.store.OrgMember(ctx, orgID, actor.ID)
	if cancuoc.KindOf(err) == cancuoc.NotFound || (err == nil && admin && m.Role != cancuoc.OrgAdmin) {
		return cancuoc.E(cancuoc.Forbidden, op, "not_org_admin", "Bạn không phải quản trị viên của tổ chức này.",
			"You are not an administrator of this organisation.")
	}
	return cancuoc.WithOp(op, err)
}

// lifeFor is the citizen's life status that an account's status follows.
var lifeFor = map[cancuoc.AccountStatus]cancuoc.LifeStatus{
	cancuoc.AccountClosed: cancuoc.Dead, cancuoc.AccountSuspended: cancuoc.Missing, cancuoc.AccountActive: cancuoc.Alive}

// HandleRegistryEvent follows the registry: a death closes the citizen's
// account, a declaration of missing suspends it, and an update that shows
// the citizen alive again lifts a suspension. Handling an event twice
// changes nothing the second time.
func (s *Service) HandleRegistryEvent(ctx context.Context, e cancuoc.Event) error {
	const op = "eid.HandleRegistryEvent"
	var to cancuoc.AccountStatus
	var event string
	switch e.Type {
	case cancuoc.EventCitizenDied:
		to, event = cancuoc.AccountClosed, cancuoc.EventAccountClosed
	case cancuoc.EventCitizenMissing:
		to, event = cancuoc.AccountSuspended, cancuoc.EventAccountSuspended
	case cancuoc.EventCitizenUpdated:
		// Only a return from missing lifts a suspension (below): an update
		// that did not touch the life status is passed over without a read.
		if !e.MayHaveChanged("life_status") {
			return nil
		}
		to, event = cancuoc.AccountActive, cancuoc.EventAccountUnlocked
	default:
		return nil
	}
	if e.PIN == "" {
		return nil
	}
	// Most registry events are about people without an account (a
	// newborn's residence, a record corrected): settle those on a read
	// rather than a write transaction each (on SQLite, queued behind the
	// single writer). The transaction reads the account again.
	if _, err := s.store.AccountByPIN(ctx, e.PIN); cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil
	}
	return cancuoc.WithOp(op, s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		a, err := tx.AccountByPIN(ctx, e.PIN)
		if cancuoc.KindOf(err) == cancuoc.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case a.Status == cancuoc.AccountClosed || a.Status == to:
			return nil
		case to != cancuoc.AccountClosed && a.Status != cancuoc.AccountActive && a.Status != cancuoc.AccountSuspended:
			// A lock is the holder's or an officer's decision: a missing
			// person's locked account stays locked, and a return lifts
			// only the suspension the registry put.
			return nil
		case to == cancuoc.AccountActive && a.Status != cancuoc.AccountSuspended:
			return nil
		}
		// Act on the record as it is now, not as the event says it was:
		// events arrive at least once, and a replay (a consumer recreated
		// from the stream's start, a redelivery after a later change) of
		// an old citizen.missing or citizen.died must not suspend or close
		// the account of someone since found, or whose death record was
		// corrected.
		c, err := tx.Citizen(ctx, e.PIN)
		if cancuoc.KindOf(err) == cancuoc.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if c.LifeStatus != lifeFor[to] {
			return nil
		}
		a, err = s.update(ctx, tx, a.ID, func(a *cancuoc.Account) error { a.Status = to; return nil })
		if err != nil {
			return err
		}
		if to != cancuoc.AccountActive {
			if err := s.endSessions(ctx, tx, a); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, "system", "eid."+string(to), event, a, "Registry event "+e.Type+" "+e.ID)
	}))
}
