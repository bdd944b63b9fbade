package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/cancuoc/cancuoc"
)

// Birth is a birth registration: the child's record and the parents by PIN.
type Birth struct {
	FullName  string       `json:"full_name"`
	BirthDate cancuoc.Date `json:"birth_date"`
	Sex       cancuoc.Sex  `json:"sex"`
	// BirthPlace is where the child was born (hospital, commune).
	BirthPlace *cancuoc.Place `json:"birth_place,omitempty"`
	// Registration is the commune that registers the birth, in today's
	// units; its province opens the PIN.
	Registration cancuoc.Place `json:"registration"`
	// Father and Mother name registered parents by PIN; a parent without a
	// PIN (a foreigner, an old record) may be given by name alone.
	Father      *cancuoc.Relative `json:"father,omitempty"`
	Mother      *cancuoc.Relative `json:"mother,omitempty"`
	Ethnicity   string            `json:"ethnicity,omitempty"`
	Religion    string            `json:"religion,omitempty"`
	Nationality string            `json:"nationality,omitempty"`
	Origin      *cancuoc.Place    `json:"origin,omitempty"`
	// PermanentResidence is set on the record as it is, with no entry in
	// the residence register: only for loading records kept before the
	// register (fixtures, imports through Go). A child's permanent
	// residence is registered by the police step of the birth procedure
	// (residence.RegisterNewbornTx), or afterwards through the residence
	// procedures; the birth API refuses the field (see httpapi).
	PermanentResidence *cancuoc.Place `json:"-"`
	// ProcedureID is the interlinked procedure whose step registers the
	// birth, recorded on the birth certificate; empty for a registration
	// made directly (POST /v1/births). Never read from a request.
	ProcedureID string `json:"-"`
	Meta
}

// DocBirthCertificate is the kind of the electronic birth certificate
// record every birth registration issues, in the same transaction as the
// PIN: directly and as the first step of the birth procedure alike.
const DocBirthCertificate = "birth_certificate"

// BirthCertificateNumber is the number of a child's electronic birth
// certificate: KS.<year of birth>.<PIN>, unique because the PIN is.
func BirthCertificateNumber(c *cancuoc.Citizen) string {
	return fmt.Sprintf("KS.%04d.%s", c.BirthDate.Year, c.PIN)
}

// maxPINAttempts bounds the retries on a taken serial. With a million
// serials per bucket a collision is rare; twenty in a row means the bucket
// is nearly full, which an operator must hear about rather than wait on.
const maxPINAttempts = 20

// RegisterBirth records a newborn, issues its PIN and links it to its
// parents (each parent gets a new version listing the child). The PIN's
// serial is random; a taken one is retried inside the same transaction, so
// racing registrations never share a PIN.
func (s *Service) RegisterBirth(ctx context.Context, p *cancuoc.Principal, b Birth) (*cancuoc.Citizen, error) {
	var c *cancuoc.Citizen
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var err error
		c, err = s.RegisterBirthTx(ctx, tx, p, b)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// RegisterBirthTx is RegisterBirth inside the caller's transaction, for a
// procedure whose step must commit with the birth or not at all.
func (s *Service) RegisterBirthTx(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Principal, b Birth) (*cancuoc.Citizen, error) {
	const op = "registry.RegisterBirth"
	if err := checkRole(op, p, ActRegisterBirth); err != nil {
		return nil, err
	}
	if b.Reason == "" {
		b.Reason = "Đăng ký khai sinh"
	}
	if err := b.Meta.validate(op); err != nil {
		return nil, err
	}
	if !b.BirthDate.Complete() {
		return nil, cancuoc.InvalidField(op, "birth_date", "birth_date_incomplete",
			"Đăng ký khai sinh cần đủ ngày, tháng, năm sinh (YYYY-MM-DD).", "A birth registration needs the full date of birth (YYYY-MM-DD).")
	}
	if b.Sex != cancuoc.Male && b.Sex != cancuoc.Female {
		return nil, cancuoc.InvalidField(op, "sex", "sex_required", "Cần giới tính: male hoặc female.", "Sex is required: male or female.")
	}
	reg := b.Registration
	if reg.Era == "" {
		reg.Era = cancuoc.Era34
	}
	if reg.Era != cancuoc.Era34 || reg.Province == "" || reg.Commune == "" {
		return nil, cancuoc.InvalidField(op, "registration", "registration_place_required",
			"Nơi đăng ký khai sinh cần mã tỉnh và mã xã/phường hiện hành (bộ 34 tỉnh).",
			"The place of registration needs today's province and commune codes (34-province set).")
	}
	if err := validatePlace(op, "registration", &reg); err != nil {
		return nil, err
	}
	nat := b.Nationality
	if nat == "" {
		nat = "VNM"
	}
	c := &cancuoc.Citizen{FullName: b.FullName, BirthDate: b.BirthDate, Sex: b.Sex, BirthPlace: b.BirthPlace,
		BirthRegistration: &reg, Origin: b.Origin, Ethnicity: b.Ethnicity, Religion: b.Religion, Nationality: nat,
		PermanentResidence: b.PermanentResidence, MaritalStatus: cancuoc.Single, LifeStatus: cancuoc.Alive}
	ch := change{p, ActRegisterBirth, cancuoc.EventCitizenBorn, b.Meta, nil}
	err := func() error {
		parents, err := s.linkParents(ctx, tx, op, c, b.Father, b.Mother)
		if err != nil {
			return err
		}
		derive(c)
		if err := checkPlace(op, p, c.Home); err != nil {
			return err
		}
		if err := s.insertWithNewPIN(ctx, tx, op, c, reg.Province, ch); err != nil {
			return err
		}
		// The electronic birth certificate record: one per citizen, issued
		// with the PIN or not at all.
		if err := tx.InsertIssuedDocument(ctx, &cancuoc.IssuedDocument{Kind: DocBirthCertificate, Number: BirthCertificateNumber(c),
			PIN: c.PIN, ProcedureID: b.ProcedureID, IssuedAt: s.clock()}); err != nil {
			return err
		}
		childRel := cancuoc.Relative{PIN: c.PIN, Name: c.FullName, Nationality: c.Nationality}
		parentCh := change{p, ActRegisterBirth, cancuoc.EventCitizenUpdated, Meta{Reason: "Bổ sung thông tin con khi đăng ký khai sinh", LegalBasis: b.LegalBasis, Agency: b.Agency}, nil}
		for _, par := range parents {
			n := par.Clone()
			n.Children = append(n.Children, childRel)
			if _, err := s.save(ctx, tx, op, par, n, parentCh); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return c, nil
}

// insertWithNewPIN draws serials until the insert succeeds.
func (s *Service) insertWithNewPIN(ctx context.Context, tx cancuoc.Tx, op string, c *cancuoc.Citizen, province string, ch change) error {
	for range maxPINAttempts {
		serial, err := s.serial()
		if err != nil {
			return err
		}
		pin, err := cancuoc.NewPIN("0"+province, c.Sex, c.BirthDate.Year, serial)
		if err != nil {
			return err
		}
		c.PIN = pin
		_, err = s.save(ctx, tx, op, nil, c, ch)
		if err == nil {
			return nil
		}
		var e *cancuoc.Error
		if !asCode(err, &e, "pin_taken") {
			return err
		}
	}
	return cancuoc.E(cancuoc.Unavailable, op, "pin_space_exhausted",
		"Không cấp được số định danh sau nhiều lần thử; báo quản trị viên hệ thống.",
		"Could not issue a free personal identification number after many attempts; tell the system operator.")
}

// linkParents fills the child's Father and Mother from the registry and
// returns the parents' records to update.
func (s *Service) linkParents(ctx context.Context, tx cancuoc.Tx, op string, c *cancuoc.Citizen, father, mother *cancuoc.Relative) ([]*cancuoc.Citizen, error) {
	var out []*cancuoc.Citizen
	for _, x := range []struct {
		field string
		rel   *cancuoc.Relative
		dst   **cancuoc.Relative
	}{{"father", father, &c.Father}, {"mother", mother, &c.Mother}} {
		if x.rel == nil {
			continue
		}
		r := *x.rel
		if r.PIN == "" {
			if r.Name == "" {
				return nil, cancuoc.InvalidField(op, x.field, "relative_empty", "Cần số định danh hoặc họ tên.", "A PIN or a name is required.")
			}
			*x.dst = &r
			continue
		}
		par, err := tx.Citizen(ctx, r.PIN)
		if cancuoc.KindOf(err) == cancuoc.NotFound {
			return nil, cancuoc.InvalidField(op, x.field+".pin", "parent_unknown",
				"Không có công dân với số định danh này trong cơ sở dữ liệu.", "No citizen with this PIN is registered.")
		}
		if err != nil {
			return nil, err
		}
		want := cancuoc.Male
		if x.field == "mother" {
			want = cancuoc.Female
		}
		if par.Sex != want && par.Sex != cancuoc.SexUnknown {
			return nil, cancuoc.InvalidField(op, x.field+".pin", "parent_sex_mismatch",
				"Giới tính của người này không khớp với vai trò cha/mẹ.", "This person's sex does not fit the role of "+x.field+".")
		}
		*x.dst = &cancuoc.Relative{PIN: par.PIN, Name: par.FullName, Nationality: par.Nationality}
		out = append(out, par)
	}
	return out, nil
}

// asCode reports whether err holds a *cancuoc.Error with the given code.
func asCode(err error, target **cancuoc.Error, code string) bool {
	return errors.As(err, target) && (*target).Code == code
}

// Death is a death registration.
type Death struct {
	// Version, when not 0, must be the record's current version.
	Version int64        `json:"version,omitempty"`
	Date    cancuoc.Date `json:"date"`
	Meta
}

// RecordDeath marks a citizen dead. A living spouse becomes widowed in the
// same transaction. Recording a death twice is a Conflict, not a new version.
func (s *Service) RecordDeath(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, d Death) (*cancuoc.Citizen, error) {
	var c *cancuoc.Citizen
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var err error
		c, err = s.RecordDeathTx(ctx, tx, p, pin, d)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// RecordDeathTx is RecordDeath inside the caller's transaction, for a
// procedure whose step must commit with the death or not at all.
func (s *Service) RecordDeathTx(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Principal, pin cancuoc.PIN, d Death) (*cancuoc.Citizen, error) {
	const op = "registry.RecordDeath"
	if d.Reason == "" {
		d.Reason = "Đăng ký khai tử"
	}
	if d.Date.IsZero() {
		return nil, cancuoc.InvalidField(op, "date", "death_date_required", "Cần ngày mất.", "The date of death is required.")
	}
	return s.lifeEventTx(ctx, tx, p, op, pin, d.Version, d.Meta, ActRecordDeath, cancuoc.EventCitizenDied, func(tx cancuoc.Tx, c *cancuoc.Citizen) error {
		if c.LifeStatus == cancuoc.Dead {
			return cancuoc.E(cancuoc.Conflict, op, "already_dead", "Công dân này đã được đăng ký khai tử.", "This citizen's death is already registered.")
		}
		c.LifeStatus, c.DeathDate, c.MissingSince = cancuoc.Dead, d.Date, cancuoc.Date{}
		if c.Spouse == nil || c.Spouse.PIN == "" {
			return nil
		}
		sp, err := tx.Citizen(ctx, c.Spouse.PIN)
		if cancuoc.KindOf(err) == cancuoc.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if sp.LifeStatus != cancuoc.Alive || sp.MaritalStatus != cancuoc.Married {
			return nil
		}
		n := sp.Clone()
		n.MaritalStatus = cancuoc.Widowed
		_, err = s.save(ctx, tx, op, sp, n, change{p, ActRecordDeath, cancuoc.EventCitizenUpdated,
			Meta{Reason: "Vợ/chồng đã mất", LegalBasis: d.LegalBasis, Agency: d.Agency}, nil})
		return err
	})
}

// Missing is a court's declaration that a person is missing.
type Missing struct {
	Version int64        `json:"version,omitempty"`
	Since   cancuoc.Date `json:"since"`
	Meta
}

// RecordMissing marks a living citizen as declared missing; the legal basis
// is the court decision.
func (s *Service) RecordMissing(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, m Missing) (*cancuoc.Citizen, error) {
	const op = "registry.RecordMissing"
	if m.Reason == "" {
		m.Reason = "Tuyên bố mất tích"
	}
	if m.Since.IsZero() {
		return nil, cancuoc.InvalidField(op, "since", "missing_since_required", "Cần ngày tuyên bố mất tích.", "The date of the declaration is required.")
	}
	return s.lifeEvent(ctx, p, op, pin, m.Version, m.Meta, ActRecordMissing, cancuoc.EventCitizenMissing, func(_ cancuoc.Tx, c *cancuoc.Citizen) error {
		if c.LifeStatus != cancuoc.Alive {
			return cancuoc.E(cancuoc.Conflict, op, "not_alive", "Chỉ tuyên bố mất tích với người đang được ghi là còn sống.", "Only a person recorded as alive can be declared missing.")
		}
		c.LifeStatus, c.MissingSince = cancuoc.Missing, m.Since
		return nil
	})
}

// lifeEventTx is lifeEvent inside tx.
func (s *Service) lifeEventTx(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Principal, op string, pin cancuoc.PIN, version int64, meta Meta,
	act Action, event string, fn func(cancuoc.Tx, *cancuoc.Citizen) error) (*cancuoc.Citizen, error) {
	return s.modifyTx(ctx, tx, op, pin, version, change{p, act, event, meta, nil}, func(tx cancuoc.Tx, old, c *cancuoc.Citizen) error {
		if err := checkPlace(op, p, old.Home); err != nil {
			return err
		}
		return fn(tx, c)
	})
}

// lifeEvent runs a status change: the principal must cover the citizen's
// home, and fn sets the new status.
func (s *Service) lifeEvent(ctx context.Context, p *cancuoc.Principal, op string, pin cancuoc.PIN, version int64, meta Meta,
	act Action, event string, fn func(cancuoc.Tx, *cancuoc.Citizen) error) (*cancuoc.Citizen, error) {
	return s.modify(ctx, op, pin, version, change{p, act, event, meta, nil}, func(tx cancuoc.Tx, old, c *cancuoc.Citizen) error {
		if err := checkPlace(op, p, old.Home); err != nil {
			return err
		}
		return fn(tx, c)
	})
}
