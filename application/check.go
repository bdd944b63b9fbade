package application

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
)

// check validates a request with the rules of the capability that will
// carry it out, normalises it in place, and returns the deciding unit.
func (s *Service) check(ctx context.Context, op string, c *cancuoc.Citizen, kind cancuoc.ApplicationKind, req any) (cancuoc.UnitRef, error) {
	switch r := req.(type) {
	case *TemporaryRequest:
		return s.checkTemporary(op, c, r)
	case *PermanentRequest:
		return s.checkPermanent(ctx, op, c, r)
	case *Level2Request:
		return s.checkLevel2(ctx, op, c, r)
	case *CorrectionRequest:
		return s.checkCorrection(op, c, r)
	}
	return cancuoc.UnitRef{}, cancuoc.InvalidField(op, "kind", "kind_unknown", "Loại đề nghị không hợp lệ.", "Unknown kind.")
}

func (s *Service) checkTemporary(op string, c *cancuoc.Citizen, r *TemporaryRequest) (cancuoc.UnitRef, error) {
	t := residence.Temporary{PIN: c.PIN, Place: r.Place, From: r.From, Until: r.Until}
	if err := residence.CheckTemporary(op, &t, s.today()); err != nil {
		return cancuoc.UnitRef{}, prefix(err)
	}
	r.Place, r.From, r.Note = t.Place, t.From, clean(r.Note)
	if err := text(op, "payload.note", r.Note, 300); err != nil {
		return cancuoc.UnitRef{}, err
	}
	unit := cancuoc.UnitRef{Province: r.Place.Province, Commune: r.Place.Commune}
	return unit, prefix(residence.TemporaryAllowed(op, c, unit))
}

func (s *Service) checkPermanent(ctx context.Context, op string, c *cancuoc.Citizen, r *PermanentRequest) (cancuoc.UnitRef, error) {
	r.Proof = clean(r.Proof)
	if r.Proof == "" {
		return cancuoc.UnitRef{}, cancuoc.InvalidField(op, "payload.proof", "proof_required",
			"Cần ghi giấy tờ chứng minh chỗ ở hợp pháp (ví dụ giấy chứng nhận quyền sử dụng đất, hợp đồng thuê nhà, văn bản đồng ý của chủ hộ).",
			"Name the document proving the residence is lawful (a land-use certificate, a lease, the head's written consent).")
	}
	if err := text(op, "payload.proof", r.Proof, 300); err != nil {
		return cancuoc.UnitRef{}, err
	}
	if (r.Address == nil) == (r.HouseholdID == "") {
		return cancuoc.UnitRef{}, cancuoc.InvalidField(op, "payload.address", "address_or_household",
			"Ghi hoặc địa chỉ (lập hộ mới, bạn là chủ hộ) hoặc mã hộ muốn nhập vào, không cả hai.",
			"Give either an address (a new household, with you as head) or the household to join, not both.")
	}
	if !r.Join() {
		r.Relation, r.Consent = "", nil
		unit, err := residence.CheckAddress(op, r.Address)
		if err != nil {
			return unit, prefix(err)
		}
		if c.BirthDate.IsZero() || c.BirthDate.AgeOn(s.now()) < 18 {
			return unit, cancuoc.InvalidField(op, "pin", "head_minor",
				"Chủ hộ phải là người có năng lực hành vi dân sự đầy đủ (từ đủ 18 tuổi); người chưa thành niên nhập vào hộ của cha, mẹ.",
				"A household head must have full legal capacity (18 or older); a minor joins a parent's household.")
		}
		return unit, nil
	}
	rel, err := residence.ParseRelation(op, "payload.relation", r.Relation)
	if err != nil {
		return cancuoc.UnitRef{}, err
	}
	r.Relation = rel
	// Opened, not the register alone: a household known only from its
	// members' records (imported) is joined as the officer's route joins it.
	h, err := s.res.Opened(ctx, r.HouseholdID)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return cancuoc.UnitRef{}, cancuoc.InvalidField(op, "payload.household_id", "household_unknown",
			"Không có hộ với mã này; hãy kiểm tra lại mã hộ (chủ hộ xem được trên trang hồ sơ của mình).",
			"No household has this ID; check it (the head sees it on their record page).")
	}
	if err != nil {
		return cancuoc.UnitRef{}, cancuoc.WithOp(op, err)
	}
	if _, ok := h.Member(c.PIN); ok {
		return cancuoc.UnitRef{}, cancuoc.E(cancuoc.Conflict, op, "already_member",
			"Người này đã là thành viên của hộ.", "This person is already a member of the household.")
	}
	if r.Consent == nil || r.Consent.By != h.HeadPIN {
		return cancuoc.UnitRef{}, cancuoc.InvalidField(op, "payload.consent.by", "consent_not_head",
			"Cần ý kiến đồng ý của chủ hộ: số định danh của chủ hộ, thời điểm và hình thức đồng ý.",
			"The household head's consent is needed: the head's PIN, when and how they agreed.")
	}
	if !slices.Contains(residence.ConsentMethods, r.Consent.Method) {
		return cancuoc.UnitRef{}, cancuoc.InvalidField(op, "payload.consent.method", "consent_method",
			"Hình thức đồng ý phải là in_person, written hoặc vneid.", "The consent method must be in_person, written or vneid.")
	}
	if r.Consent.At.IsZero() || r.Consent.At.After(s.now().Add(5*time.Minute)) {
		return cancuoc.UnitRef{}, cancuoc.InvalidField(op, "payload.consent.at", "consent_time",
			"Cần thời điểm đồng ý, không ở tương lai.", "The time of consent is required and cannot be in the future.")
	}
	r.Consent.At = r.Consent.At.UTC().Truncate(time.Microsecond)
	return cancuoc.UnitRef{Province: h.Address.Province, Commune: h.Address.Commune}, nil
}

func (s *Service) checkLevel2(ctx context.Context, op string, c *cancuoc.Citizen, r *Level2Request) (cancuoc.UnitRef, error) {
	r.Note = clean(r.Note)
	if err := text(op, "payload.note", r.Note, 300); err != nil {
		return cancuoc.UnitRef{}, err
	}
	a, err := s.store.AccountByPIN(ctx, c.PIN)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return cancuoc.UnitRef{}, cancuoc.E(cancuoc.Conflict, op, "no_account",
			"Người này chưa có tài khoản định danh điện tử mức 1; hãy đăng ký mức 1 trước.",
			"This person has no level-1 electronic identity account; register one first.")
	}
	if err != nil {
		return cancuoc.UnitRef{}, cancuoc.WithOp(op, err)
	}
	if a.Level >= cancuoc.Level2 {
		return cancuoc.UnitRef{}, cancuoc.E(cancuoc.Conflict, op, "already_level2", "Tài khoản đã ở mức 2.", "The account is already at level 2.")
	}
	if a.Status != cancuoc.AccountActive {
		return cancuoc.UnitRef{}, cancuoc.E(cancuoc.Conflict, op, "account_not_active",
			"Tài khoản định danh điện tử không hoạt động.", "The electronic identity account is not active.")
	}
	return c.Home, nil
}

// correctable are the record fields a citizen may ask to correct. The
// others change through their own procedures: residence (residence), life
// events (death, missing), marriage, cards, household; the PIN never.
var correctable = map[string]bool{
	"full_name": true, "other_names": true, "birth_date": true, "sex": true, "birth_place": true,
	"birth_registration": true, "origin": true, "ethnicity": true, "religion": true, "nationality": true,
	"blood_type": true, "old_id_number": true, "phone": true, "email": true,
}

// CorrectableFields lists the fields a correction may name, sorted.
func CorrectableFields() []string {
	out := make([]string, 0, len(correctable))
	for f := range correctable {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

func (s *Service) checkCorrection(op string, c *cancuoc.Citizen, r *CorrectionRequest) (cancuoc.UnitRef, error) {
	r.Reason = clean(r.Reason)
	if r.Reason == "" {
		return cancuoc.UnitRef{}, cancuoc.InvalidField(op, "payload.reason", "reason_required",
			"Cần ghi lý do: thông tin nào sai và giấy tờ nào chứng minh thông tin đúng.",
			"Give a reason: what is wrong and which document shows the right value.")
	}
	if err := text(op, "payload.reason", r.Reason, 500); err != nil {
		return cancuoc.UnitRef{}, err
	}
	if len(r.Changes) == 0 {
		return cancuoc.UnitRef{}, cancuoc.InvalidField(op, "payload.changes", "changes_required",
			"Cần ít nhất một trường muốn điều chỉnh và giá trị đúng.", "Name at least one field and its right value.")
	}
	n := c.Clone()
	if err := applyChanges(op, n, r.Changes); err != nil {
		return cancuoc.UnitRef{}, err
	}
	if err := registry.Validate(op, n, s.now()); err != nil {
		return cancuoc.UnitRef{}, prefix(err)
	}
	same, err := sameJSON(c, n)
	if err != nil {
		return cancuoc.UnitRef{}, cancuoc.WithOp(op, err)
	}
	if same {
		return cancuoc.UnitRef{}, cancuoc.InvalidField(op, "payload.changes", "nothing_changes",
			"Giá trị đề nghị giống hồ sơ hiện tại.", "The proposed values are what the record already holds.")
	}
	return c.Home, nil
}

// applyChanges sets the proposed values on c through its JSON form, so a
// value is read exactly as the record's own field is.
func applyChanges(op string, c *cancuoc.Citizen, changes map[string]json.RawMessage) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return cancuoc.WithOp(op, err)
	}
	for k, v := range changes {
		if !correctable[k] {
			return cancuoc.InvalidField(op, "payload.changes."+safeName(k), "field_not_correctable",
				"Trường này không điều chỉnh được qua đề nghị (có thủ tục riêng hoặc không tồn tại). Các trường được phép: "+strings.Join(CorrectableFields(), ", ")+".",
				"This field cannot be corrected by a request (it has its own procedure, or does not exist). Allowed: "+strings.Join(CorrectableFields(), ", ")+".")
		}
		m[k] = v
	}
	raw, err = json.Marshal(m)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	var n cancuoc.Citizen
	if err := json.Unmarshal(raw, &n); err != nil {
		return payloadError(op, err)
	}
	*c = n
	return nil
}

func sameJSON(a, b *cancuoc.Citizen) (bool, error) {
	x, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	y, err := json.Marshal(b)
	return string(x) == string(y), err
}

// prefix names a field of the request as the citizen sent it
// ("payload.place" rather than "place").
func prefix(err error) error {
	var e *cancuoc.Error
	if !errors.As(err, &e) || e.Field == "" || strings.HasPrefix(e.Field, "payload.") {
		return err
	}
	n := *e
	n.Field = "payload." + e.Field
	return &n
}
