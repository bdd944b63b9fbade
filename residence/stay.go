package residence

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
)

// Zone is Vietnam's time (Asia/Ho_Chi_Minh), where the stay deadlines and
// residence dates are counted. The fixed offset is the fallback when the
// system has no time zone database: Vietnam has kept UTC+7 without summer
// time since 1975.
var Zone = loadZone()

func loadZone() *time.Location {
	if z, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return z
	}
	return time.FixedZone("ICT", 7*3600)
}

// Stay deadlines (Law on Residence art. 30, vietnam.md §5): a guest arriving
// before 23:00 is notified by 23:00 that day; one arriving at or after 23:00
// by 08:00 the next day.
const (
	stayCutoffHour = 23
	stayNextHour   = 8
)

// StayDeadline is when a stay beginning at arrival must be notified.
func StayDeadline(arrival time.Time) time.Time {
	a := arrival.In(Zone)
	cutoff := time.Date(a.Year(), a.Month(), a.Day(), stayCutoffHour, 0, 0, 0, Zone)
	if a.Before(cutoff) {
		return cutoff
	}
	return time.Date(a.Year(), a.Month(), a.Day()+1, stayNextHour, 0, 0, 0, Zone)
}

// Timeliness is the check of a notification against its deadline.
type Timeliness struct {
	Deadline time.Time
	OnTime   bool
	LateBy   time.Duration
}

// CheckStay says whether a notification made at notified for a stay
// beginning at arrival met the deadline, and if not by how much it missed
// it. A notification exactly at the deadline is on time.
func CheckStay(arrival, notified time.Time) Timeliness {
	d := StayDeadline(arrival)
	if !notified.After(d) {
		return Timeliness{Deadline: d, OnTime: true}
	}
	return Timeliness{Deadline: d, LateBy: notified.Sub(d)}
}

// Stay is a stay notification as a host sends it.
type Stay struct {
	Reference string              `json:"reference,omitempty"`
	Host      string              `json:"host,omitempty"`
	Place     cancuoc.Place       `json:"place"`
	Guests    []cancuoc.StayGuest `json:"guests"`
	Arrival   time.Time           `json:"arrival"`
	Departure cancuoc.Date        `json:"departure"`
}

// Limits of a stay notification.
const (
	maxGuests = 50
	// maxStayDays: a stay of 30 days or more needs temporary residence.
	maxStayDays = 30
	// arrivalSkew tolerates hosts' clocks and notifications made on
	// check-in a little before the guest is in the room.
	arrivalSkew = time.Hour
)

// validateStay checks a notification and normalises its text.
func (s *Service) validateStay(op string, st *Stay, now time.Time) (cancuoc.UnitRef, error) {
	unit, err := unitOf(op, "place", &st.Place)
	if err != nil {
		return unit, err
	}
	st.Host, st.Reference = clean(st.Host), clean(st.Reference)
	if err := text(op, "host", st.Host, 200); err != nil {
		return unit, err
	}
	if err := text(op, "reference", st.Reference, 64); err != nil {
		return unit, err
	}
	if st.Arrival.IsZero() {
		return unit, cancuoc.InvalidField(op, "arrival", "arrival_required",
			"Cần thời điểm đến (RFC 3339, ví dụ 2026-01-02T21:30:00+07:00).", "The arrival time is required (RFC 3339, e.g. 2026-01-02T21:30:00+07:00).")
	}
	if st.Arrival.After(now.Add(arrivalSkew)) {
		return unit, cancuoc.InvalidField(op, "arrival", "arrival_future",
			"Thời điểm đến không được ở tương lai; thông báo khi khách đã đến.", "The arrival cannot be in the future; notify once the guest has arrived.")
	}
	st.Arrival = st.Arrival.UTC().Truncate(time.Microsecond)
	if !st.Departure.IsZero() {
		a := cancuoc.DateOf(st.Arrival.In(Zone)).Earliest()
		if !st.Departure.Complete() || st.Departure.Earliest().Before(a) {
			return unit, cancuoc.InvalidField(op, "departure", "departure_invalid",
				"Ngày đi phải là ngày đầy đủ (YYYY-MM-DD), không trước ngày đến.", "The departure must be a full date (YYYY-MM-DD), not before the arrival.")
		}
		if st.Departure.Earliest().Sub(a) >= maxStayDays*24*time.Hour {
			return unit, cancuoc.InvalidField(op, "departure", "stay_too_long",
				"Lưu trú từ 30 ngày trở lên phải đăng ký tạm trú.", "A stay of 30 days or more needs a temporary residence registration.")
		}
	}
	if len(st.Guests) == 0 || len(st.Guests) > maxGuests {
		return unit, cancuoc.InvalidField(op, "guests", "guests_count",
			fmt.Sprintf("Cần từ 1 đến %d khách trong một thông báo.", maxGuests), fmt.Sprintf("A notification lists 1 to %d guests.", maxGuests))
	}
	for i := range st.Guests {
		if err := validateGuest(op, fmt.Sprintf("guests[%d]", i), &st.Guests[i], now); err != nil {
			return unit, err
		}
	}
	return unit, nil
}

func validateGuest(op, field string, g *cancuoc.StayGuest, now time.Time) error {
	g.Name, g.Document = clean(g.Name), clean(g.Document)
	if err := text(op, field+".name", g.Name, 100); err != nil {
		return err
	}
	if err := text(op, field+".document", g.Document, 40); err != nil {
		return err
	}
	if g.PIN != "" {
		pin, err := cancuoc.ParsePIN(string(g.PIN), now.Year())
		if err != nil {
			e := *err.(*cancuoc.Error)
			e.Field = field + ".pin"
			return &e
		}
		g.PIN = pin
		return nil
	}
	if g.Name == "" || g.Document == "" {
		return cancuoc.InvalidField(op, field, "guest_identity",
			"Khách cần số định danh cá nhân, hoặc họ tên và số giấy tờ (hộ chiếu).",
			"A guest needs a personal identification number, or a name and a document (passport) number.")
	}
	return nil
}

// NotifyStay records a stay notification from a lodging's or officer's
// system. A lodging reports only in its own commune. A retry with the same
// reference returns the notification already recorded.
func (s *Service) NotifyStay(ctx context.Context, p *cancuoc.Principal, st Stay) (*cancuoc.StayNotification, error) {
	const op = "residence.NotifyStay"
	if p == nil || p.Disabled {
		return nil, registry.CheckRole(op, p, registry.ActUpdate)
	}
	now := s.clock()
	unit, err := s.validateStay(op, &st, now)
	if err != nil {
		return nil, err
	}
	if p.Role != cancuoc.RoleLodging {
		if err := registry.CheckRole(op, p, registry.ActUpdate); err != nil {
			return nil, err
		}
	}
	if !p.Jurisdiction.Covers(unit) {
		return nil, cancuoc.E(cancuoc.Forbidden, op, "outside_jurisdiction",
			"Nơi lưu trú không thuộc địa bàn của bạn.", "The place of stay is outside your jurisdiction.")
	}
	return s.notify(ctx, op, p.ID, st, unit, now)
}

// NotifyStayAsCitizen records a stay notification from a citizen hosting
// guests at home: the place must be in the commune where the host lives
// (permanent, temporary or current residence).
func (s *Service) NotifyStayAsCitizen(ctx context.Context, host cancuoc.PIN, st Stay) (*cancuoc.StayNotification, error) {
	const op = "residence.NotifyStayAsCitizen"
	now := s.clock()
	unit, err := s.validateStay(op, &st, now)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Citizen(ctx, host)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	lives := false
	for _, pl := range []*cancuoc.Place{c.PermanentResidence, c.CurrentResidence, tempPlace(c)} {
		lives = lives || (pl != nil && pl.Era == cancuoc.Era34 && pl.Province == unit.Province && pl.Commune == unit.Commune)
	}
	if !lives && c.Home != unit {
		return nil, cancuoc.E(cancuoc.Forbidden, op, "not_host_residence",
			"Công dân chỉ thông báo lưu trú tại xã/phường nơi mình cư trú.", "A citizen notifies stays only in the commune where they live.")
	}
	return s.notify(ctx, op, "citizen:"+string(host), st, unit, now)
}

func tempPlace(c *cancuoc.Citizen) *cancuoc.Place {
	if c.TemporaryResidence == nil {
		return nil
	}
	return &c.TemporaryResidence.Place
}

// notify stores a checked notification with an audit entry for each guest
// known by PIN and one event, in one transaction shared with concurrent
// notifications (see stayBatcher).
func (s *Service) notify(ctx context.Context, op, reporter string, st Stay, unit cancuoc.UnitRef, now time.Time) (*cancuoc.StayNotification, error) {
	t := CheckStay(st.Arrival, now)
	n := &cancuoc.StayNotification{ID: newID("st_"), Reporter: reporter, Reference: st.Reference, Host: st.Host,
		Place: st.Place, Unit: unit, Guests: st.Guests, Arrival: st.Arrival, Departure: st.Departure, NotifiedAt: now,
		Deadline: t.Deadline.UTC(), OnTime: t.OnTime, LateBy: int64(t.LateBy / time.Second)}
	r := &stayReq{n: n}
	actor := reporter
	if strings.HasPrefix(reporter, "citizen:") {
		// A private host is named to the guest by the notification, not by
		// the host's PIN: the guest's access log is theirs to read, the
		// host's identifier is not (auditors find it through the notification).
		actor = "citizen-host:" + n.ID
	}
	for _, g := range n.Guests {
		if g.PIN != "" {
			r.audit = append(r.audit, &cancuoc.AuditEntry{At: now, Actor: actor, Action: "residence.stay_notified",
				PIN: g.PIN, Fields: []string{"stay"}, Purpose: "Thông báo lưu trú", Outcome: "ok"})
		}
	}
	// A background context: the batch holds other callers' notifications.
	if err := s.stays.submit(r, func(b []*stayReq) error { return s.commitStays(context.WithoutCancel(ctx), b) }); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if r.dup {
		prev, err := s.store.StayByReference(ctx, reporter, n.Reference)
		if err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		return prev, nil
	}
	return n, nil
}

// StayList selects notifications for an officer.
type StayList struct {
	Province, Commune string
	From, To          time.Time
	Late              bool
	AfterArrival      time.Time
	AfterID           string
	Limit             int
	Purpose           string
}

// Stays lists stay notifications in the officer's jurisdiction (a commune
// officer's list is confined to the commune). Guests known by PIN are
// logged as accessed.
func (s *Service) Stays(ctx context.Context, p *cancuoc.Principal, q StayList) ([]*cancuoc.StayNotification, error) {
	const op = "residence.Stays"
	if err := registry.CheckRole(op, p, registry.ActSearch); err != nil {
		return nil, err
	}
	// Where a person slept is not part of any reduced record.
	if err := canSee(op, p, "stay"); err != nil {
		return nil, err
	}
	prov, com, err := confine(op, p, q.Province, q.Commune)
	if err != nil {
		return nil, err
	}
	if q.To.IsZero() {
		q.To = s.clock().Add(arrivalSkew + time.Second)
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-7 * 24 * time.Hour)
	}
	if !q.From.Before(q.To) {
		return nil, cancuoc.InvalidField(op, "from", "period_empty", "from phải trước to.", "from must be before to.")
	}
	out, err := s.store.Stays(ctx, cancuoc.StayQuery{Province: prov, Commune: com, From: q.From, To: q.To, Late: q.Late,
		AfterArrival: q.AfterArrival, AfterID: q.AfterID, Limit: q.Limit})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	var pins []cancuoc.PIN
	for _, n := range out {
		for _, g := range n.Guests {
			if g.PIN != "" {
				pins = append(pins, g.PIN)
			}
		}
	}
	if err := s.readAudit(ctx, p.ID, "residence.stays_read", pins, []string{"stay"}, q.Purpose); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// confine narrows a query's unit to the principal's jurisdiction: empty
// parts take the principal's, and a unit outside it is refused.
func confine(op string, p *cancuoc.Principal, prov, com string) (string, string, error) {
	j := p.Jurisdiction
	if j.National() {
		return prov, com, nil
	}
	if prov == "" {
		prov = j.Province
	}
	if com == "" {
		com = j.Commune
	}
	if err := registry.Authorize(op, p, registry.ActSearch, cancuoc.UnitRef{Province: prov, Commune: com}); err != nil {
		return "", "", err
	}
	return prov, com, nil
}
