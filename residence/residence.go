// Package residence holds the rules of residence under the Law on Residence
// 2020 (68/2020/QH14): households and their heads' consent, permanent and
// temporary residence, temporary absence, stay notifications with their
// deadline, deregistration with its legal cause, and marriage and divorce
// as links between two records. Every decision changes the citizen's
// record through the registry (registry.Service.UpdateTx) in the same
// transaction as its own residence entry, so history, audit and events of
// both commit or roll back together.
package residence

import (
	"context"
	"crypto/rand"
	"github.com/cancuoc/cancuoc/internal/json"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/vntext"
)

// Service is the residence use cases over the registry's store.
type Service struct {
	reg   *registry.Service
	store cancuoc.Store
	audit *audit.Writer
	now   func() time.Time
	stays stayBatcher
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces the wall clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns a Service changing records through reg and logging reads
// through w (owned by the caller).
func New(reg *registry.Service, w *audit.Writer, opts ...Option) *Service {
	s := &Service{reg: reg, store: reg.Store(), audit: w, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// clock is now in UTC at microsecond precision, as the registry keeps it.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// today is the date in Vietnam: residence periods are calendar days there.
func (s *Service) today() cancuoc.Date { return cancuoc.DateOf(s.now().In(Zone)) }

// newID returns a random identifier with a prefix naming its kind.
func newID(prefix string) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	var b [16]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, len(b))
	for i, x := range b {
		out[i] = alphabet[int(x)%len(alphabet)]
	}
	return prefix + string(out)
}

// meta checks why a decision is made: a reason and a legal basis.
func meta(op string, m registry.Meta) error {
	if strings.TrimSpace(m.Reason) == "" {
		return cancuoc.InvalidField(op, "reason", "reason_required",
			"Cần ghi lý do.", "A reason is required.")
	}
	if strings.TrimSpace(m.LegalBasis) == "" {
		return cancuoc.InvalidField(op, "legal_basis", "legal_basis_required",
			"Cần ghi căn cứ pháp lý (ví dụ số quyết định, văn bản).", "A legal basis (e.g. the decision or document number) is required.")
	}
	return nil
}

// record writes a residence entry and its event, after the registry has
// written the record's own history, audit entry and event.
func (s *Service) record(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Principal, e *cancuoc.ResidenceEntry, m registry.Meta, event string) error {
	if e.ID == "" {
		e.ID = newID("re_")
	}
	e.At, e.Actor = s.clock(), p.ID
	e.Agency = m.Agency
	if e.Agency == "" {
		e.Agency = p.Agency
	}
	e.Reason, e.LegalBasis = m.Reason, m.LegalBasis
	if err := tx.AppendResidence(ctx, e); err != nil {
		return err
	}
	data, err := json.Marshal(map[string]any{"entry": e.ID, "kind": e.Kind, "household_id": e.HouseholdID,
		"cause": e.Cause, "unit": e.Unit})
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &cancuoc.Event{ID: newID("ev_"), Type: event, PIN: e.PIN, Actor: p.ID, At: e.At, Data: data})
}

// unitOf is a place's unit in today's set. New decisions are recorded in
// today's units only: a decision names the commune that makes it.
func unitOf(op, field string, p *cancuoc.Place) (cancuoc.UnitRef, error) {
	if p == nil {
		return cancuoc.UnitRef{}, cancuoc.InvalidField(op, field, "place_required",
			"Cần địa chỉ (mã tỉnh, mã xã/phường hiện hành và số nhà, đường).", "An address is required (today's province and commune codes and the street address).")
	}
	if p.Era == "" {
		p.Era = cancuoc.Era34
	}
	if p.Era != cancuoc.Era34 || p.Province == "" || p.Commune == "" || (p.Country != "" && p.Country != "VNM") {
		return cancuoc.UnitRef{}, cancuoc.InvalidField(op, field, "place_units_required",
			"Địa chỉ cư trú cần mã tỉnh và mã xã/phường hiện hành (bộ 34 tỉnh) ở Việt Nam.",
			"A residence address needs today's province and commune codes (34-province set) in Vietnam.")
	}
	if err := registry.ValidatePlace(op, field, p); err != nil {
		return cancuoc.UnitRef{}, err
	}
	if err := text(op, field+".detail", p.Detail, 300); err != nil {
		return cancuoc.UnitRef{}, err
	}
	p.Today = nil
	return cancuoc.UnitRef{Province: p.Province, Commune: p.Commune}, nil
}

// text checks free text from outside: valid, NFC, no control characters
// (which no address or name holds and which PostgreSQL cannot store), and
// at most max characters.
func text(op, field, s string, max int) error {
	bad := false
	n := 0
	for _, r := range s {
		n++
		if r == unicode.ReplacementChar || unicode.IsControl(r) {
			bad = true
		}
	}
	if bad || n > max {
		return cancuoc.InvalidField(op, field, "text_invalid",
			"Nội dung chữ không hợp lệ: không có ký tự điều khiển, tối đa "+itoa(max)+" ký tự.",
			"Invalid text: no control characters, at most "+itoa(max)+" characters.")
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// clean is free text trimmed and in NFC.
func clean(s string) string { return vntext.NFC(strings.TrimSpace(s)) }

// readAudit logs reads of citizens' data through the group-committing
// writer, durable before the data leaves.
func (s *Service) readAudit(ctx context.Context, actor, action string, pins []cancuoc.PIN, fields []string, purpose string) error {
	if len(pins) == 0 {
		return nil
	}
	now := s.clock()
	entries := make([]*cancuoc.AuditEntry, len(pins))
	for i, pin := range pins {
		entries[i] = &cancuoc.AuditEntry{At: now, Actor: actor, Action: action, PIN: pin, Fields: fields, Purpose: purpose, Outcome: "ok"}
	}
	return s.audit.Record(ctx, entries...)
}

// alive refuses a change for a person not recorded as alive.
func alive(op string, c *cancuoc.Citizen) error {
	if c.LifeStatus != cancuoc.Alive {
		return cancuoc.E(cancuoc.Conflict, op, "not_alive",
			"Người này không được ghi là còn sống trong cơ sở dữ liệu.", "This person is not recorded as alive.")
	}
	return nil
}

// adultOn reports whether a person born on b was at least years old on
// day t, reading a partial birth date at its latest so that nobody is
// taken for older than they may be.
func adultOn(b cancuoc.Date, t time.Time, years int) bool {
	l := b.Latest()
	return !time.Date(l.Year()+years, l.Month(), l.Day(), 0, 0, 0, 0, time.UTC).After(
		time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC))
}

// canSee refuses a role that does not see field of a record (a ministry's
// system sees a reduced record; see registry.VisibleFields), so a list or
// view of residence data releases no more than the record would.
func canSee(op string, p *cancuoc.Principal, field string) error {
	if vis := registry.VisibleFields(p.Role); vis != nil && !vis[field] {
		return cancuoc.E(cancuoc.Forbidden, op, "role_forbidden",
			"Vai trò của bạn không được xem dữ liệu này.", "Your role ("+string(p.Role)+") may not see "+field+".")
	}
	return nil
}
