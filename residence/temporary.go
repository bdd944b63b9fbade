package residence

import (
	"context"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

// maxTemporaryYears is the longest a temporary residence registration
// lasts before it must be renewed (Law on Residence art. 27).
const maxTemporaryYears = 2

// Temporary registers a person's temporary residence at Place from From
// (today when empty) until Until.
type Temporary struct {
	PIN   cancuoc.PIN   `json:"pin"`
	Place cancuoc.Place `json:"place"`
	From  cancuoc.Date  `json:"from"`
	Until cancuoc.Date  `json:"until"`
	// Request is the person's own request (or a parent's or guardian's),
	// when they asked for it, recorded on the entry; nil when an officer
	// registers on other grounds (a host's declaration).
	Request *cancuoc.HeadConsent `json:"request,omitempty"`
	registry.Meta
}

// Renewal extends a person's current temporary registration to Until.
type Renewal struct {
	Until cancuoc.Date `json:"until"`
	registry.Meta
}

// checkPeriod checks a registration period: full dates, in order, at most
// two years.
func checkPeriod(op string, from, until cancuoc.Date) error {
	if !from.Complete() {
		return cancuoc.InvalidField(op, "from", "date_incomplete", "Ngày bắt đầu phải đủ ngày, tháng, năm.", "The start must be a full date (YYYY-MM-DD).")
	}
	if !until.Complete() {
		return cancuoc.InvalidField(op, "until", "date_incomplete", "Ngày hết hạn phải đủ ngày, tháng, năm.", "The end must be a full date (YYYY-MM-DD).")
	}
	f, u := from.Earliest(), until.Earliest()
	if !u.After(f) {
		return cancuoc.InvalidField(op, "until", "period_reversed", "Ngày hết hạn phải sau ngày bắt đầu.", "The end must follow the start.")
	}
	if u.After(f.AddDate(maxTemporaryYears, 0, 0)) {
		return cancuoc.InvalidField(op, "until", "temporary_too_long",
			"Thời hạn tạm trú tối đa 2 năm; gia hạn khi hết hạn.", "A temporary residence lasts at most 2 years; renew it when it ends.")
	}
	return nil
}

// RegisterTemporary registers t.PIN's temporary residence; it replaces the
// current one, if any. The officer must cover the place, which must lie
// outside the commune of the person's permanent residence (art. 27).
func (s *Service) RegisterTemporary(ctx context.Context, p *cancuoc.Principal, t Temporary) (*cancuoc.TemporaryRegistration, error) {
	var out *cancuoc.TemporaryRegistration
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		var err error
		out, err = s.RegisterTemporaryTx(ctx, tx, p, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RegisterTemporaryTx is RegisterTemporary inside the caller's transaction,
// for a decision recorded with something else (an approved application),
// all or none.
func (s *Service) RegisterTemporaryTx(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Principal, t Temporary) (*cancuoc.TemporaryRegistration, error) {
	const op = "residence.RegisterTemporary"
	if err := meta(op, t.Meta); err != nil {
		return nil, err
	}
	if err := CheckTemporary(op, &t, s.today()); err != nil {
		return nil, err
	}
	unit := cancuoc.UnitRef{Province: t.Place.Province, Commune: t.Place.Commune}
	if err := registry.Authorize(op, p, registry.ActUpdate, unit); err != nil {
		return nil, err
	}
	c, err := tx.Citizen(ctx, t.PIN)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := TemporaryAllowed(op, c, unit); err != nil {
		return nil, err
	}
	if t.Request != nil {
		if err := s.checkRequest(op, c, t.Request); err != nil {
			return nil, err
		}
	}
	out, err := s.putTemporary(ctx, tx, p, c.PIN, t.Place, unit, t.From, t.Until, t.Meta, cancuoc.ResidenceTemporary, t.Request)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// CheckTemporary checks a temporary registration's place and period as
// RegisterTemporary does (from is today when empty), before anything is
// read: an application checks it when filed.
func CheckTemporary(op string, t *Temporary, today cancuoc.Date) error {
	if _, err := unitOf(op, "place", &t.Place); err != nil {
		return err
	}
	if t.From.IsZero() {
		t.From = today
	}
	return checkPeriod(op, t.From, t.Until)
}

// TemporaryAllowed checks that c may register temporary residence in unit:
// alive, and not in the commune of their permanent residence (art. 27).
func TemporaryAllowed(op string, c *cancuoc.Citizen, unit cancuoc.UnitRef) error {
	if err := alive(op, c); err != nil {
		return err
	}
	if pr := c.PermanentResidence; pr != nil && pr.Era == cancuoc.Era34 && pr.Province == unit.Province && pr.Commune == unit.Commune {
		return cancuoc.InvalidField(op, "place", "temporary_in_permanent_commune",
			"Không đăng ký tạm trú trong xã/phường nơi đã đăng ký thường trú.",
			"Temporary residence is not registered in the commune of the person's permanent residence.")
	}
	return nil
}

// RenewTemporary extends pin's current temporary registration from today
// to r.Until (at most two years). The officer must cover its place.
func (s *Service) RenewTemporary(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, r Renewal) (*cancuoc.TemporaryRegistration, error) {
	const op = "residence.RenewTemporary"
	if err := meta(op, r.Meta); err != nil {
		return nil, err
	}
	if err := registry.CheckRole(op, p, registry.ActUpdate); err != nil {
		return nil, err
	}
	var out *cancuoc.TemporaryRegistration
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		cur, err := tx.Temporary(ctx, pin)
		if cancuoc.KindOf(err) == cancuoc.NotFound {
			return cancuoc.E(cancuoc.Conflict, op, "no_temporary",
				"Người này không có đăng ký tạm trú hiện hành để gia hạn.", "This person has no current temporary residence to renew.")
		}
		if err != nil {
			return err
		}
		if err := registry.Authorize(op, p, registry.ActUpdate, cur.Unit); err != nil {
			return err
		}
		// A registration is renewed while it lasts (its last day included);
		// once it has ended the person is not registered there any more and
		// registers anew (Law on Residence art. 28).
		if cur.Until.Earliest().Before(s.today().Earliest()) {
			return cancuoc.E(cancuoc.Conflict, op, "temporary_expired",
				"Đăng ký tạm trú đã hết hạn ngày "+cur.Until.String()+"; không gia hạn được, cần đăng ký tạm trú mới (POST /v1/residence/temporary).",
				"The temporary residence ended on "+cur.Until.String()+"; it cannot be renewed: register a new temporary residence (POST /v1/residence/temporary).")
		}
		if !r.Until.Complete() || !r.Until.Earliest().After(cur.Until.Earliest()) {
			return cancuoc.InvalidField(op, "until", "renewal_not_later",
				"Ngày hết hạn mới phải là ngày đầy đủ, sau ngày hết hạn hiện tại.", "The new end must be a full date after the current end.")
		}
		if err := checkPeriod(op, s.today(), r.Until); err != nil {
			return err
		}
		c, err := tx.Citizen(ctx, pin)
		if err != nil {
			return err
		}
		// The same conditions as a registration: the person may since have
		// registered permanent residence in that commune.
		if err := TemporaryAllowed(op, c, cur.Unit); err != nil {
			return err
		}
		out, err = s.putTemporary(ctx, tx, p, pin, cur.Place, cur.Unit, s.today(), r.Until, r.Meta, cancuoc.ResidenceRenewal, nil)
		return err
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// putTemporary writes a temporary registration: the entry, the record's
// field 17 through the registry, and the current registration.
func (s *Service) putTemporary(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Principal, pin cancuoc.PIN, place cancuoc.Place,
	unit cancuoc.UnitRef, from, until cancuoc.Date, m registry.Meta, kind cancuoc.ResidenceKind, request *cancuoc.HeadConsent) (*cancuoc.TemporaryRegistration, error) {
	if _, err := s.reg.UpdateTx(ctx, tx, p, pin, 0, m, func(r *cancuoc.Citizen) error {
		r.TemporaryResidence = &cancuoc.TemporaryResidence{Place: *placeCopy(place), From: from, Until: until}
		return nil
	}, registry.AnyVersion(), registry.PlaceChecked(), registry.ResidenceProcedure()); err != nil {
		return nil, err
	}
	e := &cancuoc.ResidenceEntry{PIN: pin, Kind: kind, Place: placeCopy(place), Unit: unit, From: from, Until: until, Request: request}
	if err := s.record(ctx, tx, p, e, m, cancuoc.EventResidenceTemporary); err != nil {
		return nil, err
	}
	t := &cancuoc.TemporaryRegistration{PIN: pin, EntryID: e.ID, Place: *placeCopy(place), Unit: unit, From: from, Until: until, At: e.At}
	return t, tx.PutTemporary(ctx, t)
}

// Expiry lists temporary registrations that have ended or end within the
// given number of days, for the officers of a commune or province.
type Expiry struct {
	Province, Commune string
	WithinDays        int
	AfterUntil        cancuoc.Date
	AfterPIN          cancuoc.PIN
	Limit             int
	Purpose           string
}

// ExpiryItem is one registration of the list with its state today.
type ExpiryItem struct {
	cancuoc.TemporaryRegistration
	Expired  bool `json:"expired"`
	DaysLeft int  `json:"days_left"` // negative once expired
}

// maxWithinDays bounds how far ahead an expiry list looks.
const maxWithinDays = 366

// Expiring lists current temporary registrations in the officer's
// jurisdiction that have expired or expire within q.WithinDays, soonest
// first. Each person listed is logged as accessed.
func (s *Service) Expiring(ctx context.Context, p *cancuoc.Principal, q Expiry) ([]ExpiryItem, error) {
	const op = "residence.Expiring"
	if err := registry.CheckRole(op, p, registry.ActSearch); err != nil {
		return nil, err
	}
	if err := canSee(op, p, "temporary_residence"); err != nil {
		return nil, err
	}
	if q.WithinDays < 0 || q.WithinDays > maxWithinDays {
		return nil, cancuoc.InvalidField(op, "within_days", "within_days_range",
			"within_days phải từ 0 đến 366.", "within_days must be 0 to 366.")
	}
	prov, com, err := confine(op, p, q.Province, q.Commune)
	if err != nil {
		return nil, err
	}
	today := s.today().Earliest()
	until := cancuoc.DateOf(today.AddDate(0, 0, q.WithinDays))
	regs, err := s.store.TemporaryEnding(ctx, cancuoc.TemporaryQuery{Province: prov, Commune: com, Until: until,
		AfterUntil: q.AfterUntil, AfterPIN: q.AfterPIN, Limit: q.Limit})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	out := make([]ExpiryItem, len(regs))
	pins := make([]cancuoc.PIN, len(regs))
	for i, r := range regs {
		days := int(r.Until.Earliest().Sub(today) / (24 * time.Hour))
		out[i] = ExpiryItem{TemporaryRegistration: *r, Expired: days < 0, DaysLeft: days}
		pins[i] = r.PIN
	}
	if err := s.readAudit(ctx, p.ID, "residence.expiry_read", pins, []string{"temporary_residence"}, q.Purpose); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// Absence is a temporary-absence declaration (Law on Residence art. 31).
type Absence struct {
	From        cancuoc.Date   `json:"from"`
	Until       cancuoc.Date   `json:"until"`
	Destination *cancuoc.Place `json:"destination,omitempty"`
	Purpose     string         `json:"purpose,omitempty"`
	registry.Meta
}

// DeclareAbsence records pin's temporary absence from the commune of
// residence. The officer must cover the person's home.
func (s *Service) DeclareAbsence(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, a Absence) (*cancuoc.Citizen, error) {
	const op = "residence.DeclareAbsence"
	if err := meta(op, a.Meta); err != nil {
		return nil, err
	}
	if a.From.IsZero() {
		a.From = s.today()
	}
	if !a.From.Complete() || (!a.Until.IsZero() && (!a.Until.Complete() || a.Until.Earliest().Before(a.From.Earliest()))) {
		return nil, cancuoc.InvalidField(op, "until", "period_invalid",
			"Thời gian vắng mặt cần ngày đầy đủ, ngày kết thúc không trước ngày bắt đầu.", "The absence needs full dates, the end not before the start.")
	}
	a.Purpose = clean(a.Purpose)
	if err := text(op, "purpose", a.Purpose, 300); err != nil {
		return nil, err
	}
	if a.Destination != nil {
		if err := registry.ValidatePlace(op, "destination", a.Destination); err != nil {
			return nil, err
		}
	}
	var out *cancuoc.Citizen
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		c, err := tx.Citizen(ctx, pin)
		if err != nil {
			return err
		}
		if err := alive(op, c); err != nil {
			return err
		}
		// UpdateTx checks the officer covers the person's home.
		out, err = s.reg.UpdateTx(ctx, tx, p, pin, 0, a.Meta, func(r *cancuoc.Citizen) error {
			r.TemporaryAbsence = &cancuoc.TemporaryAbsence{From: a.From, Until: a.Until, Destination: a.Destination, Reason: a.Purpose}
			return nil
		}, registry.AnyVersion(), registry.ResidenceProcedure())
		if err != nil {
			return err
		}
		e := &cancuoc.ResidenceEntry{PIN: pin, Kind: cancuoc.ResidenceAbsence, Place: a.Destination, Unit: c.Home, From: a.From, Until: a.Until}
		return s.record(ctx, tx, p, e, a.Meta, cancuoc.EventResidenceAbsence)
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// History lists a person's residence entries, oldest first, for an
// officer covering the person's home.
func (s *Service) History(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, purpose string) ([]*cancuoc.ResidenceEntry, error) {
	const op = "residence.History"
	if err := registry.CheckRole(op, p, registry.ActHistory); err != nil {
		return nil, err
	}
	c, err := s.store.Citizen(ctx, pin)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := registry.Authorize(op, p, registry.ActHistory, c.Home); err != nil {
		return nil, err
	}
	out, err := s.store.ResidenceHistory(ctx, pin)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.readAudit(ctx, p.ID, "residence.history", []cancuoc.PIN{pin}, []string{"residence"}, purpose); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}
