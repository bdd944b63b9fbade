package workflow

import (
	"context"
	"github.com/cancuoc/cancuoc/internal/json"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

// Submission is a file as submitted: its kind and one application.
type Submission struct {
	Kind  cancuoc.ProcedureKind `json:"kind"`
	Birth *BirthApplication     `json:"birth,omitempty"`
	Death *DeathApplication     `json:"death,omitempty"`
	// Applicant is set by an officer entering a file at the counter; an
	// applicant online is the eID holder.
	Applicant cancuoc.PIN `json:"applicant,omitempty"`
}

// Applicant is who submits: the eID holder online (PIN set), or an officer
// at the counter (Officer set, on behalf of Submission.Applicant).
type Applicant struct {
	PIN     cancuoc.PIN
	Officer *cancuoc.Principal
}

func (a Applicant) actor() string {
	if a.Officer != nil {
		return a.Officer.ID
	}
	return "citizen:" + string(a.PIN)
}

// SubmitTx checks a submission and opens the file with its first task, in
// tx. Invalid when the application is incomplete (with the field and what
// to supply); Forbidden when the applicant may not file it.
func (s *Service) SubmitTx(ctx context.Context, tx cancuoc.Tx, who Applicant, sub Submission) (*File, error) {
	const op = "workflow.Submit"
	now := s.clock()
	p := &cancuoc.Procedure{ID: newID(now), Kind: sub.Kind, Status: cancuoc.ProcedureOpen, Online: who.Officer == nil,
		SubmittedBy: who.actor(), SubmittedAt: now, Version: 1}
	p.Applicant = who.PIN
	if who.Officer != nil {
		p.Applicant = sub.Applicant
		if p.Applicant == "" {
			return nil, cancuoc.InvalidField(op, "applicant", "applicant_required",
				"Cần số định danh của người nộp hồ sơ.", "The applicant's PIN is required.")
		}
	}
	var app any
	var err error
	switch sub.Kind {
	case cancuoc.ProcedureBirth:
		app, err = s.checkBirth(ctx, tx, op, p, sub.Birth)
	case cancuoc.ProcedureDeath:
		app, err = s.checkDeath(ctx, tx, op, p, sub.Death)
	default:
		return nil, cancuoc.InvalidField(op, "kind", "kind_unknown",
			"Loại thủ tục phải là birth (khai sinh) hoặc death (khai tử).", "The kind must be birth or death.")
	}
	if err != nil {
		return nil, err
	}
	if who.Officer != nil {
		if err := s.canFile(op, who.Officer, p); err != nil {
			return nil, err
		}
	}
	if p.Application, err = json.Marshal(app); err != nil {
		return nil, err
	}
	ch := chain(p, app)
	p.Deadline = s.fileDue(p.Kind, ch, 1, now)
	// A new file's writes can be refused only for a taken ID, and that
	// fails the submission whenever it comes: it may come late, and the
	// writes go with the next round trip (deferRefusals).
	defer deferRefusals(tx)()
	if err := tx.InsertProcedure(ctx, p); err != nil {
		return nil, err
	}
	if err := record(ctx, tx, who.actor(), "procedure.submit", now, p, nil, EventSubmitted); err != nil {
		return nil, err
	}
	st, err := s.createStep(ctx, tx, p, ch, 1, now)
	if err != nil {
		return nil, err
	}
	return s.view(p, []*cancuoc.ProcedureStep{st}), nil
}

// createStep puts step no of p (whose chain is ch) in its agency's queue,
// at the agency's place (stepDef.place, else the file's). It does not
// write the file: its Deadline was set at receipt (fileDue). Conflict
// "step_exists" when the step is there already.
func (s *Service) createStep(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Procedure, ch []stepDef, no int, now time.Time) (*cancuoc.ProcedureStep, error) {
	d := ch[no-1]
	at := d.at(p)
	st := &cancuoc.ProcedureStep{ProcedureID: p.ID, No: no, Name: d.name, Agency: d.agency, Status: cancuoc.StepPending,
		Kind: p.Kind, Province: at.Province, Commune: at.Commune, SubmittedAt: p.SubmittedAt, CreatedAt: now,
		Due: s.cal.AddWorkingDays(now, d.days).UTC(), Version: 1}
	if err := tx.InsertStep(ctx, st); err != nil {
		return nil, err
	}
	return st, record(ctx, tx, "workflow", "procedure.task_create", now, p, st, EventTaskCreated)
}

func (s *Service) checkBirth(ctx context.Context, tx cancuoc.Tx, op string, p *cancuoc.Procedure, a *BirthApplication) (*BirthApplication, error) {
	if a == nil {
		return nil, cancuoc.InvalidField(op, "birth", "application_required",
			"Cần tờ khai đăng ký khai sinh (birth).", "The birth application (birth) is required.")
	}
	b := *a
	b.FullName = strings.TrimSpace(b.FullName)
	if b.FullName == "" {
		return nil, cancuoc.InvalidField(op, "birth.full_name", "full_name_required", "Cần họ tên của trẻ.", "The child's full name is required.")
	}
	if !b.BirthDate.Complete() {
		return nil, cancuoc.InvalidField(op, "birth.birth_date", "birth_date_incomplete",
			"Cần đủ ngày, tháng, năm sinh (YYYY-MM-DD).", "The full date of birth (YYYY-MM-DD) is required.")
	}
	if b.BirthDate.After(p.SubmittedAt) {
		return nil, cancuoc.InvalidField(op, "birth.birth_date", "birth_date_future", "Ngày sinh không được sau hôm nay.", "The date of birth cannot be in the future.")
	}
	if b.Sex != cancuoc.Male && b.Sex != cancuoc.Female {
		return nil, cancuoc.InvalidField(op, "birth.sex", "sex_required", "Cần giới tính: male hoặc female.", "Sex is required: male or female.")
	}
	if b.Registration.Era == "" {
		b.Registration.Era = cancuoc.Era34
	}
	if b.Registration.Era != cancuoc.Era34 || b.Registration.Province == "" || b.Registration.Commune == "" {
		return nil, cancuoc.InvalidField(op, "birth.registration", "registration_place_required",
			"Cần mã tỉnh và mã xã/phường hiện hành (bộ 34 tỉnh) nơi đăng ký khai sinh.",
			"The registering commune is required: today's province and commune codes (34-province set).")
	}
	parent := residenceParent(&b)
	if parent == "" {
		return nil, cancuoc.InvalidField(op, "birth.mother", "parent_pin_required",
			"Cần số định danh của cha hoặc mẹ để đăng ký thường trú cho trẻ.",
			"A parent's PIN is required to register the child's permanent residence.")
	}
	par, err := tx.Citizen(ctx, parent)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil, cancuoc.InvalidField(op, "birth.residence_parent", "parent_unknown",
			"Không có công dân với số định danh này.", "No citizen has this PIN.")
	}
	if err != nil {
		return nil, err
	}
	if par.Household == nil || par.Household.ID == "" || par.PermanentResidence == nil {
		return nil, cancuoc.InvalidField(op, "birth.residence_parent", "parent_no_household",
			"Cha/mẹ được chọn chưa có hộ thường trú; chọn người kia hoặc đăng ký thường trú trước.",
			"The chosen parent has no permanent household; choose the other parent or register residence first.")
	}
	// The child's residence is registered by the police of the household's
	// commune (the residence register checks that officer's jurisdiction
	// over the household), which may not be the registering commune: the
	// police step goes to their queue.
	if b.ResidencePlace, err = householdPlace(op, par); err != nil {
		return nil, err
	}
	if p.Online && !isParent(&b, p.Applicant) {
		return nil, cancuoc.E(cancuoc.Forbidden, op, "not_a_parent",
			"Chỉ cha hoặc mẹ của trẻ được nộp hồ sơ khai sinh trực tuyến.", "Only the child's father or mother may file the birth online.")
	}
	p.Province, p.Commune = b.Registration.Province, b.Registration.Commune
	return &b, nil
}

// householdPlace is the commune of par's household: the parent's permanent
// residence in today's units (the residence register copies the
// household's address into its members' permanent residence, so they
// agree), read from the record the submission holds rather than the
// household. Invalid "residence_place_unknown" when it cannot be told (old
// codes that map to no commune, an address in words only): no police queue
// would show the step.
func householdPlace(op string, par *cancuoc.Citizen) (*cancuoc.UnitRef, error) {
	u, ok := registry.CurrentUnits(par.PermanentResidence)
	if !ok || u.Province == "" || u.Commune == "" {
		return nil, cancuoc.InvalidField(op, "birth.residence_parent", "residence_place_unknown",
			"Không xác định được xã/phường hiện hành nơi thường trú của cha/mẹ được chọn; cập nhật nơi thường trú hoặc chọn người kia.",
			"The commune (today's units) of the chosen parent's permanent residence cannot be told; update the residence or choose the other parent.")
	}
	return &u, nil
}

func isParent(b *BirthApplication, pin cancuoc.PIN) bool {
	return (b.Father != nil && b.Father.PIN == pin) || (b.Mother != nil && b.Mother.PIN == pin)
}

func (s *Service) checkDeath(ctx context.Context, tx cancuoc.Tx, op string, p *cancuoc.Procedure, a *DeathApplication) (*DeathApplication, error) {
	if a == nil {
		return nil, cancuoc.InvalidField(op, "death", "application_required",
			"Cần tờ khai đăng ký khai tử (death).", "The death application (death) is required.")
	}
	d := *a
	d.FuneralAgency = ""
	if d.Date.IsZero() || d.Date.After(p.SubmittedAt) {
		return nil, cancuoc.InvalidField(op, "death.date", "death_date_required",
			"Cần ngày mất, không sau hôm nay.", "The date of death is required and cannot be in the future.")
	}
	dec, err := tx.Citizen(ctx, d.Deceased)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil, cancuoc.InvalidField(op, "death.deceased", "deceased_unknown",
			"Không có công dân với số định danh này.", "No citizen has this PIN.")
	}
	if err != nil {
		return nil, err
	}
	if dec.LifeStatus == cancuoc.Dead {
		return nil, cancuoc.E(cancuoc.Conflict, op, "already_dead",
			"Người này đã được đăng ký khai tử.", "This person's death is already registered.")
	}
	if p.Online && !isRelative(dec, p.Applicant) {
		return nil, cancuoc.E(cancuoc.Forbidden, op, "not_a_relative",
			"Chỉ vợ/chồng, cha, mẹ, con hoặc người cùng hộ được nộp hồ sơ khai tử trực tuyến.",
			"Only a spouse, parent, child or household member may file the death online.")
	}
	if d.FuneralAllowance {
		ag, ok := funeralAgency(&d, dec)
		if !ok {
			return nil, cancuoc.InvalidField(op, "death.funeral_allowance", "funeral_not_eligible",
				"Người mất không thuộc diện hưởng trợ cấp mai táng: không tham gia BHXH/hưởng lương hưu và chưa đủ 80 tuổi.",
				"The deceased does not qualify for a funeral allowance: not insured (pension or contributions) and under 80.")
		}
		d.FuneralAgency = ag
	}
	if d.SurvivorBenefit && !d.Insured {
		return nil, cancuoc.InvalidField(op, "death.survivor_benefit", "survivor_not_eligible",
			"Trợ cấp tuất chỉ dành cho thân nhân người tham gia BHXH hoặc hưởng lương hưu.",
			"A survivor benefit is only for relatives of an insured person or pensioner.")
	}
	p.Subject, p.Province, p.Commune = dec.PIN, dec.Home.Province, dec.Home.Commune
	return &d, nil
}

// isRelative reports whether pin is the spouse, a parent, a child or a
// household member of c.
func isRelative(c *cancuoc.Citizen, pin cancuoc.PIN) bool {
	for _, r := range []*cancuoc.Relative{c.Spouse, c.Father, c.Mother} {
		if r != nil && r.PIN == pin {
			return true
		}
	}
	for _, r := range c.Children {
		if r.PIN == pin {
			return true
		}
	}
	return c.Household != nil && c.Household.HeadPIN == pin
}
