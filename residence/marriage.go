package residence

import (
	"context"
	"errors"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

// Marriage ages (Law on Marriage and Family 52/2014/QH13, art. 8): a man
// from full 20 years, a woman from full 18.
const (
	marriageAgeMale   = 20
	marriageAgeFemale = 18
)

// Marriage is a marriage registration between two citizens.
type Marriage struct {
	A    cancuoc.PIN  `json:"a"`
	B    cancuoc.PIN  `json:"b"`
	Date cancuoc.Date `json:"date"`
	registry.Meta
}

// Divorce records a divorce (a court's judgment or decision, named in
// LegalBasis) between two spouses.
type Divorce struct {
	A    cancuoc.PIN  `json:"a"`
	B    cancuoc.PIN  `json:"b"`
	Date cancuoc.Date `json:"date"`
	registry.Meta
}

// Marry links two citizens as spouses: both records get the other as
// spouse and the marital status married, each as a registry change with a
// "citizen.married" event, in one transaction. The officer must cover the
// home of one of them (marriage is registered where either lives).
func (s *Service) Marry(ctx context.Context, p *cancuoc.Principal, m Marriage) ([2]*cancuoc.Citizen, error) {
	const op = "residence.Marry"
	var out [2]*cancuoc.Citizen
	if err := meta(op, m.Meta); err != nil {
		return out, err
	}
	if err := s.checkDay(op, m.Date); err != nil {
		return out, err
	}
	if m.A == m.B {
		return out, cancuoc.InvalidField(op, "b", "same_person", "Hai bên phải là hai người khác nhau.", "The two parties must be different people.")
	}
	if err := registry.CheckRole(op, p, registry.ActUpdate); err != nil {
		return out, err
	}
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		a, b, err := s.pair(ctx, tx, op, p, m.A, m.B)
		if err != nil {
			return err
		}
		if err := canMarry(op, a, b, m.Date); err != nil {
			return err
		}
		if err := notKin(ctx, tx, op, a, b); err != nil {
			return err
		}
		for i, x := range [2][2]*cancuoc.Citizen{{a, b}, {b, a}} {
			self, other := x[0], x[1]
			out[i], err = s.reg.UpdateTx(ctx, tx, p, self.PIN, 0, dated(m.Meta, "kết hôn", m.Date), func(r *cancuoc.Citizen) error {
				r.Spouse = &cancuoc.Relative{PIN: other.PIN, Name: other.FullName, Nationality: other.Nationality}
				r.MaritalStatus = cancuoc.Married
				return nil
			}, registry.AnyVersion(), registry.PlaceChecked(), registry.AsEvent(cancuoc.EventCitizenMarried),
				registry.EventData("date", m.Date.String()))
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return out, s.refused(ctx, p, "marriage.refused", m.A, m.B, cancuoc.WithOp(op, err))
	}
	return out, nil
}

// Divorce ends the marriage of two spouses: both become divorced and lose
// the spouse link, with "citizen.divorced" events, in one transaction.
func (s *Service) Divorce(ctx context.Context, p *cancuoc.Principal, d Divorce) ([2]*cancuoc.Citizen, error) {
	const op = "residence.Divorce"
	var out [2]*cancuoc.Citizen
	if err := meta(op, d.Meta); err != nil {
		return out, err
	}
	if err := s.checkDay(op, d.Date); err != nil {
		return out, err
	}
	if err := registry.CheckRole(op, p, registry.ActUpdate); err != nil {
		return out, err
	}
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		a, b, err := s.pair(ctx, tx, op, p, d.A, d.B)
		if err != nil {
			return err
		}
		if !spouses(a, b) || a.MaritalStatus != cancuoc.Married || b.MaritalStatus != cancuoc.Married {
			return cancuoc.E(cancuoc.Conflict, op, "not_spouses",
				"Hai người này không được ghi là vợ chồng của nhau.", "These two people are not recorded as married to each other.")
		}
		for i, c := range []*cancuoc.Citizen{a, b} {
			out[i], err = s.reg.UpdateTx(ctx, tx, p, c.PIN, 0, dated(d.Meta, "ly hôn", d.Date), func(r *cancuoc.Citizen) error {
				r.Spouse, r.MaritalStatus = nil, cancuoc.Divorced
				return nil
			}, registry.AnyVersion(), registry.PlaceChecked(), registry.AsEvent(cancuoc.EventCitizenDivorced),
				registry.EventData("date", d.Date.String()))
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return out, s.refused(ctx, p, "divorce.refused", d.A, d.B, cancuoc.WithOp(op, err))
	}
	return out, nil
}

// refused writes a refused marriage or divorce into the parties' access
// logs and returns err. The refusal says something about each party
// (married, not alive, under age, kin, not spouses, or in whose
// jurisdiction they live), and an officer may ask about a person outside
// their jurisdiction as long as the other party is in it; the transaction
// rolled back, so without this entry the probe would leave no trace. A
// party_unknown refusal names a PIN that has no record (nobody to log for).
// When the entry cannot be written, the refusal is not given either.
func (s *Service) refused(ctx context.Context, p *cancuoc.Principal, action string, a, b cancuoc.PIN, err error) error {
	var e *cancuoc.Error
	if !errors.As(err, &e) || (e.Kind != cancuoc.Invalid && e.Kind != cancuoc.Conflict && e.Kind != cancuoc.Forbidden) {
		return err
	}
	pins := []cancuoc.PIN{a, b}
	if e.Code == "party_unknown" {
		if e.Field != "b" {
			return err // a is unknown and b was never read
		}
		pins = pins[:1]
	}
	now := s.clock()
	entries := make([]*cancuoc.AuditEntry, len(pins))
	for i, pin := range pins {
		entries[i] = &cancuoc.AuditEntry{At: now, Actor: p.ID, Action: action, PIN: pin, Fields: []string{"marital_status", "spouse"},
			Purpose: action, Outcome: e.Code}
	}
	if aerr := s.audit.Record(ctx, entries...); aerr != nil {
		return aerr
	}
	return err
}

// dated is m with the day of the marriage or divorce in its reason: the
// record keeps no date of its marital status, so the history row (whose
// reason is shown with the change) is where the day stays, as the event
// data ("date") is for consumers.
func dated(m registry.Meta, what string, d cancuoc.Date) registry.Meta {
	m.Reason = m.Reason + " (ngày " + what + ": " + d.String() + ")"
	return m
}

// checkDay requires a full date not in the future (in Vietnam).
func (s *Service) checkDay(op string, d cancuoc.Date) error {
	if !d.Complete() || d.Earliest().After(s.today().Earliest()) {
		return cancuoc.InvalidField(op, "date", "date_invalid",
			"Cần ngày đầy đủ (YYYY-MM-DD), không ở tương lai.", "A full date (YYYY-MM-DD) not in the future is required.")
	}
	return nil
}

// pair reads both parties and checks the officer covers one of their homes.
func (s *Service) pair(ctx context.Context, tx cancuoc.Tx, op string, p *cancuoc.Principal, pa, pb cancuoc.PIN) (*cancuoc.Citizen, *cancuoc.Citizen, error) {
	a, err := party(ctx, tx, op, "a", pa)
	if err != nil {
		return nil, nil, err
	}
	b, err := party(ctx, tx, op, "b", pb)
	if err != nil {
		return nil, nil, err
	}
	if !p.Jurisdiction.Covers(a.Home) && !p.Jurisdiction.Covers(b.Home) {
		return nil, nil, registry.Authorize(op, p, registry.ActUpdate, a.Home)
	}
	return a, b, nil
}

func party(ctx context.Context, tx cancuoc.Tx, op, field string, pin cancuoc.PIN) (*cancuoc.Citizen, error) {
	c, err := tx.Citizen(ctx, pin)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return nil, cancuoc.InvalidField(op, field, "party_unknown",
			"Không có công dân với số định danh này.", "No citizen with this PIN is registered.")
	}
	return c, err
}

// canMarry applies the conditions of marriage that the two records show
// (Law on Marriage and Family art. 5, 8): both alive and unmarried, of age
// on the day, of different sex, and not parent and child or siblings;
// notKin checks the wider family.
func canMarry(op string, a, b *cancuoc.Citizen, day cancuoc.Date) error {
	for _, x := range []struct {
		field string
		c     *cancuoc.Citizen
	}{{"a", a}, {"b", b}} {
		c := x.c
		if c.LifeStatus != cancuoc.Alive {
			return cancuoc.E(cancuoc.Conflict, op, "not_alive",
				"Một bên không được ghi là còn sống.", "One of the parties is not recorded as alive.")
		}
		if c.MaritalStatus == cancuoc.Married {
			return cancuoc.E(cancuoc.Conflict, op, "already_married",
				"Một bên đang có vợ/chồng; cần ly hôn hoặc khai tử trước.", "One of the parties is married; a divorce or the spouse's death must be recorded first.")
		}
		age := marriageAgeFemale
		if c.Sex == cancuoc.Male {
			age = marriageAgeMale
		}
		if c.Sex == cancuoc.SexUnknown || !adultOn(c.BirthDate, day.Earliest(), age) {
			return cancuoc.InvalidField(op, x.field, "under_marriage_age",
				"Chưa đủ tuổi kết hôn (nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi) theo ngày sinh và giới tính trong hồ sơ.",
				"Under the marriage age (men from 20, women from 18) by the recorded birth date and sex.")
		}
	}
	if a.Sex == b.Sex {
		return cancuoc.InvalidField(op, "b", "same_sex",
			"Nhà nước không thừa nhận hôn nhân giữa những người cùng giới tính (Luật Hôn nhân và gia đình, Điều 8).",
			"The law does not recognise marriage between persons of the same sex (Law on Marriage and Family, art. 8).")
	}
	if isParent(a, b.PIN) || isParent(b, a.PIN) || shareParent(a, b) {
		return cancuoc.InvalidField(op, "b", "related_by_blood",
			"Hai bên có quan hệ cha mẹ – con hoặc anh chị em theo hồ sơ; pháp luật cấm kết hôn.",
			"The records show the parties as parent and child or as siblings; the law forbids their marriage.")
	}
	return nil
}

func shareParent(a, b *cancuoc.Citizen) bool {
	for _, pa := range []*cancuoc.Relative{a.Father, a.Mother} {
		if pa != nil && pa.PIN != "" && isParent(b, pa.PIN) {
			return true
		}
	}
	return false
}

func spouses(a, b *cancuoc.Citizen) bool {
	return a.Spouse != nil && a.Spouse.PIN == b.PIN && b.Spouse != nil && b.Spouse.PIN == a.PIN
}

// kinGenerations: relatives "within three generations" share a parent
// (second generation) or a grandparent (third) (Law on Marriage and Family
// art. 3(18)); direct descent is forbidden at any depth, which the records
// follow up to directLineDepth generations.
const (
	kinGenerations  = 2
	directLineDepth = 5
)

// notKin refuses a marriage between people of one direct line, or who
// share a parent or a grandparent, as the registry's parent links show.
func notKin(ctx context.Context, tx cancuoc.Tx, op string, a, b *cancuoc.Citizen) error {
	ua, err := ancestors(ctx, tx, a, directLineDepth)
	if err != nil {
		return err
	}
	ub, err := ancestors(ctx, tx, b, directLineDepth)
	if err != nil {
		return err
	}
	related := ua[b.PIN] > 0 || ub[a.PIN] > 0
	for pin, g := range ua {
		if h := ub[pin]; h > 0 && g <= kinGenerations && h <= kinGenerations {
			related = true
		}
	}
	if related {
		return cancuoc.InvalidField(op, "b", "related_by_blood",
			"Hai bên cùng dòng máu trực hệ hoặc có họ trong phạm vi ba đời theo hồ sơ; pháp luật cấm kết hôn.",
			"The records show the parties in one direct line or related within three generations; the law forbids their marriage.")
	}
	return nil
}

// ancestors maps the recorded ancestors of c, by PIN, to their generation
// (1 for parents, 2 for grandparents…), up to depth. Parents without a
// record in the registry end their line.
func ancestors(ctx context.Context, tx cancuoc.Tx, c *cancuoc.Citizen, depth int) (map[cancuoc.PIN]int, error) {
	out := map[cancuoc.PIN]int{}
	level := []*cancuoc.Citizen{c}
	for g := 1; g <= depth && len(level) > 0; g++ {
		var next []*cancuoc.Citizen
		for _, x := range level {
			for _, r := range []*cancuoc.Relative{x.Father, x.Mother} {
				if r == nil || r.PIN == "" || out[r.PIN] > 0 {
					continue
				}
				out[r.PIN] = g
				p, err := tx.Citizen(ctx, r.PIN)
				if cancuoc.KindOf(err) == cancuoc.NotFound {
					continue
				}
				if err != nil {
					return nil, err
				}
				next = append(next, p)
			}
		}
		level = next
	}
	return out, nil
}
