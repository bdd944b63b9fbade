// Package card keeps the registry's record of identity cards (field 14 of
// the Law on Identity): issuing a card, reporting one lost, and marking the
// cards whose validity ended. Every change goes through registry.Update, so
// it is authorized by role and jurisdiction (the police officers who issue
// cards: commune, province and national officers), versioned, written to
// the history, the audit log and the outbox in one transaction.
package card

import (
	"context"
	"errors"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
	"github.com/cancuoc/cancuoc/registry"
)

// Kind of the cards issued since 1 July 2024 (thẻ Căn cước).
const Kind = "can_cuoc"

// vietnam is the zone in which an issue date is a calendar day.
var vietnam = time.FixedZone("ICT", 7*3600)

// Service issues cards and keeps their status.
type Service struct {
	reg *registry.Service
	now func() time.Time
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces the wall clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns a Service over a registry.
func New(reg *registry.Service, opts ...Option) *Service {
	s := &Service{reg: reg, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Today is the calendar day in Vietnam at t.
func Today(t time.Time) cancuoc.Date { return cancuoc.DateOf(t.In(vietnam)) }

// Issue is an officer's request to issue a card.
type Issue struct {
	// Version is the record version the officer saw (optimistic
	// concurrency, as for every update).
	Version int64 `json:"version"`
	// IssuedBy is the issuing authority printed on the card; the
	// officer's agency when empty.
	IssuedBy string `json:"issued_by,omitempty"`
	registry.Meta
}

// Issue records a new card for a citizen, issued today: its number is the
// PIN (Law on Identity art. 18: the card carries the personal
// identification number), its expiry follows cancuoc.CardExpiry, and every
// card still valid becomes replaced. It returns the updated record and the
// new card.
func (s *Service) Issue(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, req Issue) (*cancuoc.Citizen, *cancuoc.Card, error) {
	const op = "card.Issue"
	now := s.now()
	var issued cancuoc.Card
	c, err := s.reg.Update(ctx, p, pin, req.Version, req.Meta, func(c *cancuoc.Citizen) error {
		// Checked here, after the registry has checked the caller's role.
		by := req.IssuedBy
		if by == "" {
			by = p.Agency
		}
		if by == "" {
			return cancuoc.InvalidField(op, "issued_by", "issued_by_required",
				"Cần ghi nơi cấp thẻ (cơ quan cấp).", "Name the issuing authority (issued_by).")
		}
		if c.LifeStatus != cancuoc.Alive {
			return cancuoc.InvalidField(op, "pin", "holder_not_alive",
				"Không cấp thẻ cho người đã mất hoặc bị tuyên bố mất tích.", "No card is issued to a person who is dead or declared missing.")
		}
		for i := range c.Cards {
			if c.Cards[i].Status == cancuoc.CardValid {
				c.Cards[i].Status = cancuoc.CardReplaced
			}
		}
		today := Today(now)
		issued = cancuoc.Card{Number: string(c.PIN), Kind: Kind, IssuedOn: today, IssuedBy: by,
			ExpiresOn: cancuoc.CardExpiry(c.BirthDate, today.Earliest()), Status: cancuoc.CardValid}
		c.Cards = append(c.Cards, issued)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return c, &issued, nil
}

// Lost is a report that a card was lost or stolen.
type Lost struct {
	Version int64 `json:"version"`
	// IssuedOn picks the card by its issue date; the valid card when zero.
	IssuedOn cancuoc.Date `json:"issued_on"`
	registry.Meta
}

// ReportLost marks a valid card lost, so that chip verification refuses it
// from now on. Invalid "no_valid_card" when there is no such valid card.
func (s *Service) ReportLost(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, req Lost) (*cancuoc.Citizen, error) {
	const op = "card.ReportLost"
	return s.reg.Update(ctx, p, pin, req.Version, req.Meta, func(c *cancuoc.Citizen) error {
		for i := range c.Cards {
			k := &c.Cards[i]
			if k.Status == cancuoc.CardValid && (req.IssuedOn.IsZero() || k.IssuedOn == req.IssuedOn) {
				k.Status = cancuoc.CardLost
				return nil
			}
		}
		return cancuoc.InvalidField(op, "issued_on", "no_valid_card",
			"Công dân không có thẻ còn hiệu lực khớp với yêu cầu.", "The citizen has no valid card matching the request.")
	})
}

// Expired reports whether a card's validity ended before today: a card is
// valid through its expiry day. A card with no expiry never ends.
func Expired(k cancuoc.Card, today cancuoc.Date) bool {
	return !k.ExpiresOn.IsZero() && k.ExpiresOn.Latest().Before(today.Earliest())
}

// markExpired sets the status of valid cards past their expiry and
// reports whether it changed any.
func markExpired(c *cancuoc.Citizen, today cancuoc.Date) bool {
	changed := false
	for i := range c.Cards {
		if c.Cards[i].Status == cancuoc.CardValid && Expired(c.Cards[i], today) {
			c.Cards[i].Status = cancuoc.CardExpired
			changed = true
		}
	}
	return changed
}

// ExpireMeta is the reason recorded on the versions ExpireCards writes.
var ExpireMeta = registry.Meta{Reason: "Thẻ căn cước hết thời hạn sử dụng (card validity ended)",
	LegalBasis: "Luật Căn cước 26/2023/QH15, điều 21"}

// ExpireCards marks expired every valid card past its expiry among the
// citizens living in province (today's code; every province when empty),
// each as a new version written by p. It returns how many records it
// changed. A record changed concurrently is read again and retried once;
// verification refuses an expired card by its date anyway, so the status
// is bookkeeping that a later run catches up.
func (s *Service) ExpireCards(ctx context.Context, p *cancuoc.Principal, province string) (int, error) {
	provinces := []string{province}
	if province == "" {
		provinces = provinces[:0]
		for _, u := range admin.Current().Provinces() {
			provinces = append(provinces, u.Code)
		}
	}
	today := Today(s.now())
	n := 0
	for _, prov := range provinces {
		m, err := s.expireIn(ctx, p, prov, today)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// expireIn pages through one province's citizens by name key.
func (s *Service) expireIn(ctx context.Context, p *cancuoc.Principal, province string, today cancuoc.Date) (int, error) {
	q := cancuoc.CitizenQuery{Province: province, Limit: 500}
	n := 0
	for {
		page, err := s.reg.Store().SearchCitizens(ctx, q)
		if err != nil {
			return n, err
		}
		for _, c := range page {
			if !markExpired(c.Clone(), today) {
				continue
			}
			ok, err := s.expireOne(ctx, p, c)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
		if len(page) < q.Limit {
			return n, nil
		}
		last := page[len(page)-1]
		q.AfterKey, q.AfterPIN = last.NameKey, last.PIN
	}
}

func (s *Service) expireOne(ctx context.Context, p *cancuoc.Principal, c *cancuoc.Citizen) (bool, error) {
	today := Today(s.now())
	version := c.Version
	for attempt := 0; ; attempt++ {
		changed := false
		_, err := s.reg.Update(ctx, p, c.PIN, version, ExpireMeta, func(c *cancuoc.Citizen) error {
			changed = markExpired(c, today)
			return nil
		})
		var ce *cancuoc.Error
		if err != nil && attempt == 0 && errors.As(err, &ce) && ce.Code == "stale_version" {
			cur, gerr := s.reg.Store().Citizen(ctx, c.PIN)
			if gerr != nil {
				return false, gerr
			}
			version = cur.Version
			continue
		}
		return changed && err == nil, err
	}
}
