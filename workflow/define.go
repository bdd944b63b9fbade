package workflow

import (
	"context"
	"fmt"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/workday"
)

// Step names.
const (
	StepBirthRegistration = "birth_registration"       // civil status: PIN and electronic birth certificate
	StepNewbornResidence  = "permanent_residence"      // police: the child joins a parent's household
	StepHealthCard        = "health_insurance_card"    // social insurance: card for a child under 6
	StepDeathRegistration = "death_registration"       // civil status: the registry records the death
	StepDeregistration    = "residence_deregistration" // police: permanent residence removed (cause: death)
	StepFuneralAllowance  = "funeral_allowance"        // social insurance or labour–social affairs
	StepSurvivorBenefit   = "survivor_benefit"         // social insurance: monthly or lump-sum survivor benefit
)

// Document kinds issued by the procedures.
const (
	DocBirthCertificate = registry.DocBirthCertificate // issued by the registry with the PIN
	DocHealthCard       = "health_insurance_card"
	DocFuneralAllowance = "funeral_allowance"
	DocSurvivorBenefit  = "survivor_benefit"
)

// stepDef is one step of a chain: who does it and within how many working
// days of entering the queue. Limits are from Decree 63/2024 where it gives
// them (birth: same day, 2, 2; deregistration: 5 working days, Decree
// 154/2024); the death chain's allowance limits are not fixed by the
// decree, and 5 working days is our assumption.
type stepDef struct {
	name   string
	agency string
	days   int
	// place is where the agency acts, when not the file's place.
	place *cancuoc.UnitRef
}

// at is where d's agency acts on file p: d's own place, else the file's.
func (d stepDef) at(p *cancuoc.Procedure) cancuoc.UnitRef {
	if d.place != nil {
		return *d.place
	}
	return cancuoc.UnitRef{Province: p.Province, Commune: p.Commune}
}

// chainDays caps, per kind, the working days of the whole chain: the
// birth chain is at most 3 working days (Decree 63/2024; 5 when the police
// must verify, which the file does not know at receipt), less than its
// steps' limits added up (0 + 2 + 2), which stay each step's own Due.
// The death chain's limits per step are not confirmed:
// its chain is their sum (no cap, 0).
var chainDays = map[cancuoc.ProcedureKind]int{cancuoc.ProcedureBirth: 3}

// fileDue is the file's Deadline when step no (1-based) of ch enters its
// queue at t: the limits of the steps from no on added up, at most the
// kind's chainDays, counted from t with the 15:00 rule. It is set at
// receipt (no 1) and again only on a resubmission (from it, over the
// steps left): steps done early or late do not move it, and creating a
// step does not write the file.
func (s *Service) fileDue(kind cancuoc.ProcedureKind, ch []stepDef, no int, t time.Time) time.Time {
	days := 0
	for _, d := range ch[min(max(no-1, 0), len(ch)):] {
		days += d.days
	}
	if c := chainDays[kind]; c > 0 {
		days = min(days, c)
	}
	return s.cal.AddWorkingDays(t, days).UTC()
}

// defOf returns the definition of step st in ch: by number, checked by
// name (a correction may have changed the chain after the step).
func defOf(ch []stepDef, st *cancuoc.ProcedureStep) (stepDef, bool) {
	if st.No >= 1 && st.No <= len(ch) && ch[st.No-1].name == st.Name {
		return ch[st.No-1], true
	}
	return stepDef{}, false
}

// BirthApplication is what a parent submits for the birth chain.
type BirthApplication struct {
	FullName    string            `json:"full_name"`
	BirthDate   cancuoc.Date      `json:"birth_date"`
	Sex         cancuoc.Sex       `json:"sex"`
	BirthPlace  *cancuoc.Place    `json:"birth_place,omitempty"`
	Father      *cancuoc.Relative `json:"father,omitempty"`
	Mother      *cancuoc.Relative `json:"mother,omitempty"`
	Ethnicity   string            `json:"ethnicity,omitempty"`
	Nationality string            `json:"nationality,omitempty"`
	// Registration is the commune (today's units) that registers the birth
	// and handles the file.
	Registration cancuoc.Place `json:"registration"`
	// ResidenceParent is the parent whose household the child joins; by
	// default the mother, else the father.
	ResidenceParent cancuoc.PIN `json:"residence_parent,omitempty"`
	// ResidencePlace is the commune of that parent's household, whose
	// police register the child's residence (the registering commune may
	// be another): decided at submission (checkBirth), not set by the
	// applicant.
	ResidencePlace *cancuoc.UnitRef `json:"residence_place,omitempty"`
}

// DeathApplication is what a relative submits for the death chain: the
// bundle chosen (registration and deregistration always; the funeral
// allowance and the survivor benefit when asked for).
type DeathApplication struct {
	Deceased cancuoc.PIN  `json:"deceased"`
	Date     cancuoc.Date `json:"date"`
	// Insured says the deceased was a pensioner or had paid social
	// insurance; social insurance checks it on its step.
	Insured          bool `json:"insured"`
	FuneralAllowance bool `json:"funeral_allowance"`
	SurvivorBenefit  bool `json:"survivor_benefit"`
	// FuneralAgency is who pays the funeral allowance, decided at
	// submission by funeralAgency; not set by the applicant.
	FuneralAgency string `json:"funeral_agency,omitempty"`
}

// socialProtectionAge is the age from which a person without a pension
// receives the monthly social allowance, and on death the funeral
// allowance, from labour–social affairs (Decree 20/2021 art. 5 and 11).
const socialProtectionAge = 80

// healthCardAge: children under 6 get a free health-insurance card (Law on
// Health Insurance art. 12).
const healthCardAge = 6

// funeralAgency decides who pays the funeral allowance (the rule of this
// procedure): social insurance when the deceased was insured (a pensioner
// or a contributor, Law on Social Insurance 2024); otherwise labour–social
// affairs when the deceased was at least 80 (social protection); otherwise
// nobody, and asking for it is refused at submission.
func funeralAgency(a *DeathApplication, deceased *cancuoc.Citizen) (string, bool) {
	if a.Insured {
		return AgencySocialInsurance, true
	}
	if age(deceased.BirthDate, a.Date) >= socialProtectionAge {
		return AgencyLabour, true
	}
	return "", false
}

// age is the whole years from birth to on; an unknown month or day counts
// as the start of the year or month (the older reading).
func age(birth, on cancuoc.Date) int {
	n := on.Year - birth.Year
	bm, bd := max(birth.Month, 1), max(birth.Day, 1)
	if on.Month < bm || (on.Month == bm && on.Day < bd) {
		n--
	}
	return n
}

// chain returns the steps of a file, in order, given its application.
func chain(p *cancuoc.Procedure, app any) []stepDef {
	switch a := app.(type) {
	case *BirthApplication:
		out := []stepDef{{StepBirthRegistration, AgencyCivilStatus, 0, nil}, {StepNewbornResidence, AgencyPolice, 2, a.ResidencePlace}}
		if age(a.BirthDate, cancuoc.DateOf(p.SubmittedAt.In(workday.Zone()))) < healthCardAge {
			out = append(out, stepDef{StepHealthCard, AgencySocialInsurance, 2, nil})
		}
		return out
	case *DeathApplication:
		out := []stepDef{{StepDeathRegistration, AgencyCivilStatus, 0, nil}, {StepDeregistration, AgencyPolice, 5, nil}}
		if a.FuneralAllowance {
			out = append(out, stepDef{StepFuneralAllowance, a.FuneralAgency, 5, nil})
		}
		if a.SurvivorBenefit {
			out = append(out, stepDef{StepSurvivorBenefit, AgencySocialInsurance, 5, nil})
		}
		return out
	}
	return nil
}

// application decodes a file's application.
func application(p *cancuoc.Procedure) (any, error) {
	var app any
	switch p.Kind {
	case cancuoc.ProcedureBirth:
		app = new(BirthApplication)
	case cancuoc.ProcedureDeath:
		app = new(DeathApplication)
	default:
		return nil, fmt.Errorf("workflow: unknown procedure kind %q", p.Kind)
	}
	return app, json.Unmarshal(p.Application, app)
}

// steps returns the chain of a stored file (the funeral agency was fixed at
// submission and kept in the application).
func steps(p *cancuoc.Procedure) ([]stepDef, error) {
	app, err := application(p)
	if err != nil {
		return nil, err
	}
	return chain(p, app), nil
}

// result is what a step produced, kept on the step and shown to the
// applicant.
type result struct {
	PIN      cancuoc.PIN `json:"pin,omitempty"`
	Document string      `json:"document,omitempty"`
	Number   string      `json:"number,omitempty"`
	Agency   string      `json:"agency,omitempty"`
	Note     string      `json:"note,omitempty"`
}

// effect performs a step's change in tx: what the agency's completion
// means. It runs once per step because the step's versioned update commits
// with it.
// app is p's application, decoded (application).
func (s *Service) effect(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, p *cancuoc.Procedure, app any, st *cancuoc.ProcedureStep, now time.Time) (*result, error) {
	meta := registry.Meta{LegalBasis: "Nghị định 63/2024/NĐ-CP, hồ sơ " + p.ID, Agency: st.Agency}
	switch st.Name {
	case StepBirthRegistration:
		a := app.(*BirthApplication)
		meta.Reason = "Đăng ký khai sinh (liên thông)"
		c, err := s.reg.RegisterBirthTx(ctx, tx, actor, registry.Birth{FullName: a.FullName, BirthDate: a.BirthDate, Sex: a.Sex,
			BirthPlace: a.BirthPlace, Registration: a.Registration, Father: a.Father, Mother: a.Mother, Ethnicity: a.Ethnicity,
			Nationality: a.Nationality, ProcedureID: p.ID, Meta: meta})
		if err != nil {
			return nil, err
		}
		p.Subject = c.PIN
		// The registry issued the birth certificate with the PIN.
		return &result{PIN: c.PIN, Document: DocBirthCertificate, Number: registry.BirthCertificateNumber(c)}, nil
	case StepNewbornResidence:
		a := app.(*BirthApplication)
		return &result{PIN: p.Subject}, s.residence.RegisterNewbornTx(ctx, tx, actor, p.Subject, residenceParent(a))
	case StepHealthCard:
		a := app.(*BirthApplication)
		if age(a.BirthDate, cancuoc.DateOf(now.In(workday.Zone()))) >= healthCardAge {
			return nil, cancuoc.E(cancuoc.Invalid, "workflow.Complete", "child_over_six",
				"Trẻ đã đủ 6 tuổi, không thuộc diện cấp thẻ BHYT trẻ em.", "The child is 6 or older: no child health-insurance card.")
		}
		return s.issue(ctx, tx, DocHealthCard, healthCardNumber(p.Subject), p.Subject, p, now)
	case StepDeathRegistration:
		a := app.(*DeathApplication)
		meta.Reason = "Đăng ký khai tử (liên thông)"
		if _, err := s.reg.RecordDeathTx(ctx, tx, actor, a.Deceased, registry.Death{Date: a.Date, Meta: meta}); err != nil {
			return nil, err
		}
		return &result{PIN: a.Deceased}, nil
	case StepDeregistration:
		a := app.(*DeathApplication)
		return &result{PIN: a.Deceased}, s.residence.DeregisterTx(ctx, tx, actor, a.Deceased, "death")
	case StepFuneralAllowance:
		a := app.(*DeathApplication)
		r, err := s.issue(ctx, tx, DocFuneralAllowance, "MT."+string(a.Deceased), a.Deceased, p, now)
		if r != nil {
			r.Agency = st.Agency
		}
		return r, err
	case StepSurvivorBenefit:
		a := app.(*DeathApplication)
		return s.issue(ctx, tx, DocSurvivorBenefit, "TT."+string(a.Deceased), a.Deceased, p, now)
	}
	return nil, fmt.Errorf("workflow: no effect for step %q", st.Name)
}

// issue records an issued document. A second one of a kind for the same
// citizen is a Conflict: a document is issued once.
func (s *Service) issue(ctx context.Context, tx cancuoc.Tx, kind, number string, pin cancuoc.PIN, p *cancuoc.Procedure, now time.Time) (*result, error) {
	err := tx.InsertIssuedDocument(ctx, &cancuoc.IssuedDocument{Kind: kind, Number: number, PIN: pin, ProcedureID: p.ID, IssuedAt: now})
	if cancuoc.KindOf(err) == cancuoc.Conflict {
		return nil, cancuoc.E(cancuoc.Conflict, "workflow.Complete", "document_exists",
			"Công dân này đã được cấp giấy tờ loại này.", "This citizen already holds a document of this kind ("+kind+").")
	}
	if err != nil {
		return nil, err
	}
	return &result{PIN: pin, Document: kind, Number: number}, nil
}

// healthCardNumber is the child's card number: the group code TE1
// (children under 6, 100% benefit), then the social insurance number,
// which since 2025 is the last 10 digits of the PIN. One card per child.
func healthCardNumber(pin cancuoc.PIN) string {
	s := string(pin)
	return "TE1" + s[len(s)-10:]
}

func residenceParent(a *BirthApplication) cancuoc.PIN {
	switch {
	case a.ResidenceParent != "":
		return a.ResidenceParent
	case a.Mother != nil && a.Mother.PIN != "":
		return a.Mother.PIN
	case a.Father != nil:
		return a.Father.PIN
	}
	return ""
}
