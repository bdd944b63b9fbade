package registry

import (
	"context"
	"errors"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/vntext"
)

// logAccess makes a read durable in the audit log before the data leaves.
func (s *Service) logAccess(ctx context.Context, p *cancuoc.Principal, act Action, pin cancuoc.PIN, fields []string, purpose, outcome string) error {
	return s.audit.Record(ctx, &cancuoc.AuditEntry{At: s.clock(), Actor: p.ID, Action: string(act), PIN: pin,
		Fields: fields, Purpose: purpose, Outcome: outcome})
}

// denied logs a refused access (so citizens and auditors see attempts too)
// and returns the refusal.
func (s *Service) denied(ctx context.Context, p *cancuoc.Principal, act Action, pin cancuoc.PIN, purpose string, err error) error {
	if p == nil {
		return err // no principal, nobody to attribute the attempt to
	}
	code := "denied"
	var e *cancuoc.Error
	if errors.As(err, &e) {
		code = e.Code
	}
	if lerr := s.logAccess(ctx, p, act, pin, nil, purpose, code); lerr != nil {
		return lerr
	}
	return err
}

// Get returns a citizen's current record with the fields p's role may see.
// purpose is recorded in the access log.
func (s *Service) Get(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, purpose string) (*cancuoc.Citizen, error) {
	const op = "registry.Get"
	if err := checkRole(op, p, ActRead); err != nil {
		return nil, s.denied(ctx, p, ActRead, pin, purpose, err)
	}
	c, err := s.store.Citizen(ctx, pin)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := checkPlace(op, p, c.Home); err != nil {
		return nil, s.denied(ctx, p, ActRead, pin, purpose, err)
	}
	out, fields, err := redact(c, p.Role)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if err := s.logAccess(ctx, p, ActRead, pin, fields, purpose, "ok"); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// GetJSON returns the JSON of a citizen's current record restricted to the
// fields p's role may see, and its version. A role that sees every field
// gets the document exactly as stored, with no decoding or re-encoding: this
// is the API's hot path.
func (s *Service) GetJSON(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, purpose string) ([]byte, int64, error) {
	const op = "registry.GetJSON"
	if err := checkRole(op, p, ActRead); err != nil {
		return nil, 0, s.denied(ctx, p, ActRead, pin, purpose, err)
	}
	d, err := s.store.CitizenDoc(ctx, pin)
	if err != nil {
		return nil, 0, cancuoc.WithOp(op, err)
	}
	if err := checkPlace(op, p, d.Home); err != nil {
		return nil, 0, s.denied(ctx, p, ActRead, pin, purpose, err)
	}
	out, fields := d.JSON, []string{"*"}
	if vis := VisibleFields(p.Role); vis != nil {
		if out, fields, err = filterJSON(d.JSON, vis); err != nil {
			return nil, 0, cancuoc.WithOp(op, err)
		}
	}
	if err := s.logAccess(ctx, p, ActRead, pin, fields, purpose, "ok"); err != nil {
		return nil, 0, cancuoc.WithOp(op, err)
	}
	return out, d.Version, nil
}

// Search is a search request: a name (matched without diacritics), a
// possibly partial date of birth, and a place in today's units.
type Search struct {
	Name       string
	NamePrefix bool
	BirthDate  cancuoc.Date
	Province   string
	Commune    string
	AfterKey   string
	AfterPIN   cancuoc.PIN
	Limit      int
	Purpose    string
}

// MaxPage is the largest page Search returns.
const MaxPage = 100

// Search finds citizens. Officers search only inside their jurisdiction:
// a commune officer's search is confined to their commune whatever is asked,
// and asking for a place outside it is refused. Every citizen returned is
// logged as accessed.
func (s *Service) Search(ctx context.Context, p *cancuoc.Principal, q Search) ([]*cancuoc.Citizen, error) {
	const op = "registry.Search"
	if err := checkRole(op, p, ActSearch); err != nil {
		return nil, err
	}
	key := vntext.Key(q.Name)
	if key == "" && q.BirthDate.IsZero() && q.Province == "" && q.Commune == "" {
		return nil, cancuoc.InvalidField(op, "name", "search_empty",
			"Cần ít nhất một tiêu chí: họ tên, ngày sinh hoặc địa bàn.", "Give at least one criterion: name, date of birth or place.")
	}
	j := p.Jurisdiction
	prov, com := q.Province, q.Commune
	if !j.National() {
		if prov == "" {
			prov = j.Province
		}
		if com == "" {
			com = j.Commune
		}
		if !j.Covers(cancuoc.UnitRef{Province: prov, Commune: com}) {
			return nil, checkPlace(op, p, cancuoc.UnitRef{Province: prov, Commune: com})
		}
	}
	limit := q.Limit
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	found, err := s.store.SearchCitizens(ctx, cancuoc.CitizenQuery{NameKey: key, NamePrefix: q.NamePrefix,
		BirthYear: q.BirthDate.Year, BirthMonth: q.BirthDate.Month, BirthDay: q.BirthDate.Day,
		Province: prov, Commune: com, AfterKey: q.AfterKey, AfterPIN: q.AfterPIN, Limit: limit})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	entries := make([]*cancuoc.AuditEntry, 0, len(found))
	now := s.clock()
	for i, c := range found {
		r, fields, err := redact(c, p.Role)
		if err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		found[i] = r
		entries = append(entries, &cancuoc.AuditEntry{At: now, Actor: p.ID, Action: string(ActSearch), PIN: c.PIN,
			Fields: fields, Purpose: q.Purpose, Outcome: "ok"})
	}
	if err := s.audit.Record(ctx, entries...); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return found, nil
}

// History lists every version of a citizen's record, oldest first.
func (s *Service) History(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, purpose string) ([]*cancuoc.CitizenVersion, error) {
	const op = "registry.History"
	if err := s.canSeeHistory(ctx, op, p, pin, purpose); err != nil {
		return nil, err
	}
	vs, err := s.store.Versions(ctx, pin)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return vs, s.logAccess(ctx, p, ActHistory, pin, []string{"*"}, purpose, "ok")
}

// VersionAt answers "what did the registry hold about this person at t".
func (s *Service) VersionAt(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, t time.Time, purpose string) (*cancuoc.CitizenVersion, error) {
	const op = "registry.VersionAt"
	if err := s.canSeeHistory(ctx, op, p, pin, purpose); err != nil {
		return nil, err
	}
	v, err := s.store.VersionAt(ctx, pin, t)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return v, s.logAccess(ctx, p, ActHistory, pin, []string{"*"}, purpose, "ok")
}

// Version returns one numbered version.
func (s *Service) Version(ctx context.Context, p *cancuoc.Principal, pin cancuoc.PIN, n int64, purpose string) (*cancuoc.CitizenVersion, error) {
	const op = "registry.Version"
	if err := s.canSeeHistory(ctx, op, p, pin, purpose); err != nil {
		return nil, err
	}
	v, err := s.store.Version(ctx, pin, n)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return v, s.logAccess(ctx, p, ActHistory, pin, []string{"*"}, purpose, "ok")
}

// canSeeHistory: history shows every field ever held, so it needs the
// history right and jurisdiction over the citizen's current home.
func (s *Service) canSeeHistory(ctx context.Context, op string, p *cancuoc.Principal, pin cancuoc.PIN, purpose string) error {
	if err := checkRole(op, p, ActHistory); err != nil {
		return s.denied(ctx, p, ActHistory, pin, purpose, err)
	}
	c, err := s.store.Citizen(ctx, pin)
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	if err := checkPlace(op, p, c.Home); err != nil {
		return s.denied(ctx, p, ActHistory, pin, purpose, err)
	}
	return nil
}

// Population counts citizens per province, or per commune of one province.
// Counts are aggregates without personal data, so every role that may see
// statistics sees them nationally.
func (s *Service) Population(ctx context.Context, p *cancuoc.Principal, province string) ([]cancuoc.PopulationCount, error) {
	const op = "registry.Population"
	if err := checkRole(op, p, ActStats); err != nil {
		return nil, err
	}
	out, err := s.store.CountPopulation(ctx, province)
	return out, cancuoc.WithOp(op, err)
}
