package partner

import (
	"context"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/vntext"
)

// Name rules of a match check.
const (
	NameExact        = "exact"         // equal after NFC and white-space cleaning
	NameNoDiacritics = "no_diacritics" // equal ignoring case, tone and vowel marks, đ/d, punctuation
)

// MatchRequest asks whether the registry's record of PIN agrees with what
// the partner holds. Every field but PIN is optional; at least one is
// needed. Empty means not asked.
type MatchRequest struct {
	PIN            string        `json:"pin"`
	Name           string        `json:"name,omitempty"`
	BirthDate      string        `json:"birth_date,omitempty"` // YYYY, YYYY-MM or YYYY-MM-DD
	Sex            string        `json:"sex,omitempty"`        // male or female
	CurrentAddress *AddressQuery `json:"current_address,omitempty"`
	CardNumber     string        `json:"card_number,omitempty"`
	Phone          string        `json:"phone,omitempty"`
	NameRule       string        `json:"name_rule,omitempty"` // exact (default) or no_diacritics
	Purpose        string        `json:"purpose,omitempty"`   // recorded; the policy's purpose when empty
}

// AddressQuery is a current address in today's units (34-province set):
// the province, optionally the commune, optionally the street detail.
type AddressQuery struct {
	Province string `json:"province"`
	Commune  string `json:"commune,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// MatchResult answers a match check: yes or no per field asked and
// overall, and the person's life status. It never holds a registry value.
type MatchResult struct {
	PIN        cancuoc.PIN        `json:"pin"`
	Found      bool               `json:"found"`
	Match      bool               `json:"match"`
	Fields     map[string]bool    `json:"fields"`
	LifeStatus cancuoc.LifeStatus `json:"life_status,omitempty"`
	NameRule   string             `json:"name_rule,omitempty"`
}

// matchFields maps the fields of a match request to the record fields a
// policy must allow for them.
var matchFields = []struct{ name, record string }{
	{"name", "full_name"}, {"birth_date", "birth_date"}, {"sex", "sex"},
	{"current_address", "current_residence"}, {"card_number", "cards"}, {"phone", "phone"},
}

// asked lists the request's fields (match names) and the record fields
// they compare.
func (q *MatchRequest) asked() (names, record []string) {
	given := map[string]bool{"name": q.Name != "", "birth_date": q.BirthDate != "", "sex": q.Sex != "",
		"current_address": q.CurrentAddress != nil, "card_number": q.CardNumber != "", "phone": q.Phone != ""}
	for _, f := range matchFields {
		if given[f.name] {
			names, record = append(names, f.name), append(record, f.record)
		}
	}
	return names, record
}

// parsedMatch is a validated request.
type parsedMatch struct {
	pin      cancuoc.PIN
	birth    cancuoc.Date
	rule     vntext.NameMatch
	ruleName string
	phone    string
	names    []string
	record   []string
	MatchRequest
}

// parseMatch validates a match request: a valid PIN, at least one field,
// well-formed values, a known name rule. Invalid, naming the field, if not.
func parseMatch(q MatchRequest, now time.Time) (*parsedMatch, error) {
	const op = "partner.Match"
	p := &parsedMatch{MatchRequest: q}
	var err error
	if p.pin, err = cancuoc.ParsePIN(q.PIN, now.Year()); err != nil {
		var e *cancuoc.Error
		if errors.As(err, &e) && e.Field == "" {
			c := *e
			c.Field = "pin"
			return nil, &c
		}
		return nil, err
	}
	p.names, p.record = q.asked()
	if len(p.names) == 0 {
		return nil, invalid(op, "", "match_empty", "Cần ít nhất một trường để đối chiếu: name, birth_date, sex, current_address, card_number, phone.",
			"Give at least one field to check: name, birth_date, sex, current_address, card_number or phone.")
	}
	if q.BirthDate != "" {
		if p.birth, err = cancuoc.ParseDate(q.BirthDate); err != nil {
			return nil, invalid(op, "birth_date", "date_format", "Ngày sinh phải có dạng YYYY, YYYY-MM hoặc YYYY-MM-DD.",
				"birth_date must be YYYY, YYYY-MM or YYYY-MM-DD.")
		}
	}
	if q.Sex != "" && q.Sex != string(cancuoc.Male) && q.Sex != string(cancuoc.Female) {
		return nil, invalid(op, "sex", "sex_invalid", "Giới tính là male hoặc female.", "sex is male or female.")
	}
	if a := q.CurrentAddress; a != nil && a.Province == "" {
		return nil, invalid(op, "current_address.province", "province_required",
			"Địa chỉ cần mã tỉnh (bộ 34 tỉnh hiện nay).", "An address needs a province code (today's 34-province set).")
	}
	if q.Phone != "" {
		if p.phone = normPhone(q.Phone); p.phone == "" {
			return nil, invalid(op, "phone", "phone_invalid", "Số điện thoại không hợp lệ.", "The phone number is not valid.")
		}
	}
	switch q.NameRule {
	case "", NameExact:
		p.rule, p.ruleName = vntext.NameExact, NameExact
	case NameNoDiacritics:
		p.rule, p.ruleName = vntext.NameFolded, NameNoDiacritics
	default:
		return nil, invalid(op, "name_rule", "name_rule_invalid", "Quy tắc so tên là exact hoặc no_diacritics.",
			"name_rule is exact or no_diacritics.")
	}
	return p, nil
}

// normPhone keeps the digits of a Vietnamese number in its national form
// (0…): "+84 912 345 678" and "0912345678" are the same number. Empty if
// it has too few or too many digits to be one.
func normPhone(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || (r == '+' && b.Len() == 0):
		default:
			return ""
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "84") && len(d) >= 11 {
		d = "0" + d[2:]
	}
	if len(d) < 9 || len(d) > 12 {
		return ""
	}
	return d
}

// matchView is the part of a stored record a match check reads: decoding
// into it skips every other field, which is most of the document.
type matchView struct {
	FullName         string             `json:"full_name"`
	BirthDate        cancuoc.Date       `json:"birth_date"`
	Sex              cancuoc.Sex        `json:"sex"`
	CurrentResidence *cancuoc.Place     `json:"current_residence"`
	Cards            []cancuoc.Card     `json:"cards"`
	Phone            string             `json:"phone"`
	LifeStatus       cancuoc.LifeStatus `json:"life_status"`
}

// Match answers a partner's match check. The policy must allow "match"
// and the record fields compared; the check is written to the citizen's
// access log (partner, purpose, the field names — no values) and durable
// before the answer. An unknown PIN is an answer (found false), not an
// error, and is logged too.
func (s *Service) Match(ctx context.Context, partnerID string, q MatchRequest) (*MatchResult, error) {
	const op = "partner.Match"
	m, err := parseMatch(q, s.now())
	if err != nil {
		return nil, err
	}
	p, err := s.authorize(ctx, partnerID, cancuoc.OpMatch, m.record...)
	if err != nil {
		return nil, err
	}
	res := &MatchResult{PIN: m.pin, Fields: make(map[string]bool, len(m.names)), NameRule: m.ruleName}
	if q.Name == "" {
		res.NameRule = ""
	}
	outcome := "ok"
	if proj := s.proj.Load(); proj != nil {
		if e, ok := proj.lookup(m.pin); ok {
			res.Found, res.LifeStatus, res.Match = true, projStatuses[e.status], true
			for _, n := range m.names {
				ok := m.compareEntry(proj, n, &e)
				res.Fields[n] = ok
				res.Match = res.Match && ok
			}
			if err := s.record(ctx, p, m, q.Purpose, outcome); err != nil {
				return nil, err
			}
			return res, nil
		}
	}
	doc, err := s.store.CitizenDoc(ctx, m.pin)
	switch {
	case errors.Is(err, cancuoc.ErrNotFound):
		outcome = "pin_unknown"
		for _, n := range m.names {
			res.Fields[n] = false
		}
	case err != nil:
		return nil, cancuoc.WithOp(op, err)
	default:
		var v matchView
		if err := json.Unmarshal(doc.JSON, &v); err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		res.Found, res.LifeStatus = true, v.LifeStatus
		res.Match = true
		for _, n := range m.names {
			ok := m.compare(n, &v)
			res.Fields[n] = ok
			res.Match = res.Match && ok
		}
	}
	if err := s.record(ctx, p, m, q.Purpose, outcome); err != nil {
		return nil, err
	}
	return res, nil
}

// record writes a match check to the citizen's access log, durable before
// it returns.
func (s *Service) record(ctx context.Context, p *cancuoc.Partner, m *parsedMatch, purpose, outcome string) error {
	if purpose == "" {
		purpose = p.Policy.Purpose
	}
	if err := s.audit.Record(ctx, &cancuoc.AuditEntry{At: s.clock(), Actor: "partner:" + p.ID, Action: "partner.match",
		PIN: m.pin, Fields: m.record, Purpose: cut(purpose), Outcome: outcome}); err != nil {
		return cancuoc.WithOp("partner.Match", err)
	}
	return nil
}

// cut bounds a caller's purpose to 200 bytes at a character boundary, as
// the access log keeps it.
func cut(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= 200 {
		return s
	}
	n := 200
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// compare answers one field of the check.
func (m *parsedMatch) compare(field string, v *matchView) bool {
	switch field {
	case "name":
		return vntext.SameName(m.Name, v.FullName, m.rule)
	case "birth_date":
		return !v.BirthDate.IsZero() && m.birth == v.BirthDate
	case "sex":
		return v.Sex != "" && string(v.Sex) == m.Sex
	case "current_address":
		return sameAddress(m.CurrentAddress, v.CurrentResidence)
	case "card_number":
		n := strings.TrimSpace(m.CardNumber)
		for _, c := range v.Cards {
			if c.Number == n && c.Status == cancuoc.CardValid {
				return true
			}
		}
		return false
	case "phone":
		return v.Phone != "" && normPhone(v.Phone) == m.phone
	}
	return false
}

// sameAddress compares an address in today's units with a residence as
// recorded: an old-era residence is compared through its derived Today.
func sameAddress(q *AddressQuery, pl *cancuoc.Place) bool {
	if pl == nil {
		return false
	}
	u := cancuoc.UnitRef{Province: pl.Province, Commune: pl.Commune}
	if pl.Era == cancuoc.Era63 {
		if pl.Today == nil {
			return false
		}
		u = *pl.Today
	}
	if u.Province != q.Province || (q.Commune != "" && u.Commune != q.Commune) {
		return false
	}
	return q.Detail == "" || (vntext.Key(q.Detail) != "" && vntext.Key(q.Detail) == vntext.Key(pl.Detail))
}
