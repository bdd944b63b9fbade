package application

import (
	"context"
	"errors"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
)

// mayDecide are the roles that decide applications: police officers of a
// commune or province, and national administrators (who cover every
// place). Ministries' systems and auditors do not.
func mayDecide(r cancuoc.Role) bool {
	return r == cancuoc.RoleCommuneOfficer || r == cancuoc.RoleProvinceOfficer || r == cancuoc.RoleNationalAdmin
}

func officer(op string, p *cancuoc.Principal) error {
	if p == nil || p.Disabled {
		return cancuoc.E(cancuoc.Unauthenticated, op, "unauthenticated", "Cần đăng nhập.", "Log in first.")
	}
	if !mayDecide(p.Role) {
		return cancuoc.E(cancuoc.Forbidden, op, "role_forbidden",
			"Vai trò của bạn không được xem hay giải quyết hồ sơ đề nghị.", "Your role ("+string(p.Role)+") may not read or decide applications.")
	}
	return nil
}

func outside(op string) error {
	return cancuoc.E(cancuoc.Forbidden, op, "outside_jurisdiction",
		"Hồ sơ này do cơ quan của địa bàn khác giải quyết.", "This application is decided by the officers of another place.")
}

// log writes read entries through the group-committing writer, durable
// before the data leaves; outcome is "ok" or a refusal's code.
func (s *Service) log(ctx context.Context, actor, action, purpose, outcome string, pins ...cancuoc.PIN) error {
	now := s.clock()
	var entries []*cancuoc.AuditEntry
	seen := map[cancuoc.PIN]bool{}
	for _, pin := range pins {
		if seen[pin] {
			continue
		}
		seen[pin] = true
		entries = append(entries, &cancuoc.AuditEntry{At: now, Actor: actor, Action: action, PIN: pin,
			Fields: []string{"application"}, Purpose: purpose, Outcome: outcome})
	}
	if len(entries) == 0 {
		return nil
	}
	return s.audit.Record(ctx, entries...)
}

// refused logs a refused access about pin and returns the refusal.
func (s *Service) refused(ctx context.Context, p *cancuoc.Principal, action, purpose string, pin cancuoc.PIN, err error) error {
	code := "denied"
	var e *cancuoc.Error
	if errors.As(err, &e) {
		code = e.Code
	}
	if p != nil && pin != "" {
		if lerr := s.log(ctx, p.ID, action, purpose, code, pin); lerr != nil {
			return lerr
		}
	}
	return err
}

// Mine lists the applications the citizen filed or that are about them,
// by due time.
func (s *Service) Mine(ctx context.Context, p *cancuoc.Principal) ([]*cancuoc.Application, error) {
	const op = "application.Mine"
	self, _, err := applicant(op, p)
	if err != nil {
		return nil, err
	}
	list, err := s.store.Applications(ctx, cancuoc.ApplicationQuery{Person: self, Limit: 200})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	pins := make([]cancuoc.PIN, 0, len(list))
	for _, a := range list {
		pins = append(pins, a.PIN)
	}
	if err := s.log(ctx, p.ID, "application.read_own", "Công dân xem hồ sơ đề nghị của mình", "ok", pins...); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return list, nil
}

// Queue selects an officer's work queue.
type Queue struct {
	Kind    cancuoc.ApplicationKind
	Status  cancuoc.ApplicationStatus // empty: submitted
	Overdue bool                      // only open ones past their due time
	// AfterDue and AfterID continue from the last item of a page.
	AfterDue time.Time
	AfterID  string
	Limit    int
	Purpose  string
}

// Queue lists the applications the officer's jurisdiction decides, soonest
// due first. Everyone listed is logged as accessed.
func (s *Service) Queue(ctx context.Context, p *cancuoc.Principal, q Queue) ([]*cancuoc.Application, error) {
	const op = "application.Queue"
	if err := officer(op, p); err != nil {
		return nil, err
	}
	sq := cancuoc.ApplicationQuery{Province: p.Jurisdiction.Province, Commune: p.Jurisdiction.Commune,
		AfterDue: q.AfterDue, AfterID: q.AfterID, Limit: min(max(q.Limit, 1), 200)}
	if q.Limit == 0 {
		sq.Limit = 50
	}
	if q.Kind != "" {
		if !known(q.Kind) {
			return nil, cancuoc.InvalidField(op, "kind", "kind_unknown",
				"Loại đề nghị phải là temporary_residence, permanent_residence, eid_level2 hoặc correction.",
				"The kind must be temporary_residence, permanent_residence, eid_level2 or correction.")
		}
		sq.Kinds = []cancuoc.ApplicationKind{q.Kind}
	}
	st := q.Status
	if st == "" || q.Overdue {
		st = cancuoc.AppSubmitted
	}
	switch st {
	case cancuoc.AppSubmitted, cancuoc.AppApproved, cancuoc.AppRejected, cancuoc.AppWithdrawn:
	default:
		return nil, cancuoc.InvalidField(op, "status", "status_unknown",
			"Trạng thái phải là submitted, approved, rejected hoặc withdrawn.", "The status must be submitted, approved, rejected or withdrawn.")
	}
	sq.Statuses = []cancuoc.ApplicationStatus{st}
	if q.Overdue {
		sq.DueBefore = s.now()
	}
	list, err := s.store.Applications(ctx, sq)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	pins := make([]cancuoc.PIN, 0, len(list))
	for _, a := range list {
		pins = append(pins, a.PIN)
	}
	if err := s.log(ctx, p.ID, "application.queue", purposeOr(q.Purpose, "Hàng đợi hồ sơ đề nghị"), "ok", pins...); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return list, nil
}

func known(k cancuoc.ApplicationKind) bool {
	for _, x := range cancuoc.ApplicationKinds {
		if x == k {
			return true
		}
	}
	return false
}

func purposeOr(p, d string) string {
	if p == "" {
		return d
	}
	return p
}

// Get returns one application: to its applicant or the person it is about,
// or to an officer whose jurisdiction decides it. Reads and refusals are
// logged.
func (s *Service) Get(ctx context.Context, p *cancuoc.Principal, id, purpose string) (*cancuoc.Application, error) {
	const op = "application.Get"
	a, err := s.store.Application(ctx, id)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if self, ok := cancuoc.SelfPIN(p); ok {
		if self != a.PIN && self != a.FiledBy {
			// Another citizen's application: answered as absent, so IDs
			// cannot be probed, and logged as an attempt.
			return nil, s.refused(ctx, p, "application.read", purpose, a.PIN, cancuoc.ErrApplicationNotFound(op))
		}
		return a, cancuoc.WithOp(op, s.log(ctx, p.ID, "application.read_own", purposeOr(purpose, "Công dân xem hồ sơ đề nghị"), "ok", a.PIN))
	}
	if err := officer(op, p); err != nil {
		return nil, s.refused(ctx, p, "application.read", purpose, a.PIN, err)
	}
	if !p.Jurisdiction.Covers(a.Unit) {
		return nil, s.refused(ctx, p, "application.read", purpose, a.PIN, outside(op))
	}
	if err := s.log(ctx, p.ID, "application.read", purposeOr(purpose, "Xem hồ sơ đề nghị"), "ok", a.PIN); err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return a, nil
}

// Decision is an officer's approval or rejection of the application at
// Version (0: the current one, for a page that just showed it).
type Decision struct {
	Version int64  `json:"version,omitempty"`
	Reason  string `json:"reason"`
}

// Approve carries out the application through its capability and marks it
// approved, in one transaction: the application is claimed first (its
// versioned update holds the row), so a retried or racing approval finds
// it decided and changes nothing. The officer must cover its place.
func (s *Service) Approve(ctx context.Context, p *cancuoc.Principal, id string, d Decision) (*cancuoc.Application, error) {
	return s.decide(ctx, "application.Approve", p, id, d, cancuoc.AppApproved)
}

// Reject refuses the application with a reason that tells the applicant
// what to supply or correct.
func (s *Service) Reject(ctx context.Context, p *cancuoc.Principal, id string, d Decision) (*cancuoc.Application, error) {
	return s.decide(ctx, "application.Reject", p, id, d, cancuoc.AppRejected)
}

func (s *Service) decide(ctx context.Context, op string, p *cancuoc.Principal, id string, d Decision, to cancuoc.ApplicationStatus) (*cancuoc.Application, error) {
	if err := officer(op, p); err != nil {
		return nil, err
	}
	d.Reason = clean(d.Reason)
	if d.Reason == "" {
		vi, en := "Cần ghi lý do phê duyệt.", "A reason for the approval is required."
		if to == cancuoc.AppRejected {
			vi, en = "Cần ghi lý do từ chối và giấy tờ, thông tin người nộp cần bổ sung.", "A reason is required: what the applicant must supply or correct."
		}
		return nil, cancuoc.InvalidField(op, "reason", "reason_required", vi, en)
	}
	if err := text(op, "reason", d.Reason, 500); err != nil {
		return nil, err
	}
	var out *cancuoc.Application
	var about cancuoc.PIN
	action := "application.approve"
	if to == cancuoc.AppRejected {
		action = "application.reject"
	}
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		a, err := tx.Application(ctx, id)
		if err != nil {
			return err
		}
		about = a.PIN
		if !p.Jurisdiction.Covers(a.Unit) {
			return outside(op)
		}
		n, err := s.claim(ctx, tx, op, p, a, d.Version, to, d.Reason)
		if err != nil {
			return err
		}
		// The decision's entry first: the effects below append audit
		// entries, then events, and the log's lock must come first.
		if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: *n.DecidedAt, Actor: p.ID, Action: action, PIN: a.PIN,
			Fields: []string{string(a.Kind)}, Purpose: d.Reason, Outcome: "ok"}); err != nil {
			return err
		}
		if to == cancuoc.AppApproved {
			if n.Result, err = s.effect(ctx, tx, p, n, d.Reason); err != nil {
				return err
			}
			if n.Result != "" {
				if err := tx.UpdateApplication(ctx, n, n.Version); err != nil {
					return err
				}
			}
		}
		out = n
		return nil
	})
	if cancuoc.KindOf(err) == cancuoc.Forbidden {
		return nil, s.refused(ctx, p, action, d.Reason, about, err)
	}
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// claim marks a open as decided at version (0: as read) in tx.
func (s *Service) claim(ctx context.Context, tx cancuoc.Tx, op string, p *cancuoc.Principal, a *cancuoc.Application,
	version int64, to cancuoc.ApplicationStatus, reason string) (*cancuoc.Application, error) {
	if version != 0 && version != a.Version {
		e := cancuoc.E(cancuoc.Conflict, op, "stale_version",
			"Hồ sơ đề nghị đã thay đổi từ khi bạn mở nó; hãy tải lại rồi quyết định.",
			"The application changed since you opened it; reload it and decide again.")
		e.Field = "version"
		return nil, e
	}
	if !a.Open() {
		return nil, cancuoc.E(cancuoc.Conflict, op, "application_closed",
			"Hồ sơ đề nghị đã được giải quyết hoặc đã rút ("+string(a.Status)+").",
			"The application is no longer open ("+string(a.Status)+").")
	}
	now := s.clock()
	n := *a
	n.Version, n.Status, n.DecidedBy, n.DecidedAt, n.Reason, n.UpdatedAt = a.Version+1, to, p.ID, &now, reason, now
	if err := tx.UpdateApplication(ctx, &n, a.Version); err != nil {
		return nil, err
	}
	return &n, nil
}

// request is the application as the person's own request, recorded on the
// residence decision as the law asks (who, when, how).
func request(a *cancuoc.Application) *cancuoc.HeadConsent {
	return &cancuoc.HeadConsent{By: a.FiledBy, At: a.FiledAt, Method: "vneid"}
}

// effect carries out an approved application through its capability, in
// tx, and returns what it created (a household's ID), if anything.
func (s *Service) effect(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Principal, a *cancuoc.Application, reason string) (string, error) {
	req, err := Decode(a.Kind, a.Payload)
	if err != nil {
		return "", err
	}
	basis := func(law string) string { return law + "; hồ sơ đề nghị trực tuyến " + a.ID }
	switch r := req.(type) {
	case *TemporaryRequest:
		_, err := s.res.RegisterTemporaryTx(ctx, tx, p, residence.Temporary{PIN: a.PIN, Place: r.Place, From: r.From, Until: r.Until,
			Request: request(a), Meta: registry.Meta{Reason: reason, LegalBasis: basis("Luật Cư trú 2020, điều 27–28")}})
		return "", err
	case *PermanentRequest:
		m := registry.Meta{Reason: reason, LegalBasis: basis("Luật Cư trú 2020, điều 20–22; " + r.Proof)}
		if r.Join() {
			_, err := s.res.JoinHouseholdTx(ctx, tx, p, r.HouseholdID, residence.Join{PIN: a.PIN, Relation: r.Relation,
				Consent: r.Consent, Request: request(a), Meta: m})
			return r.HouseholdID, err
		}
		h, err := s.res.CreateHouseholdTx(ctx, tx, p, residence.NewHousehold{Address: *r.Address, HeadPIN: a.PIN, Request: request(a), Meta: m})
		if err != nil {
			return "", err
		}
		return h.ID, nil
	case *Level2Request:
		_, err := s.eid.GrantLevel2Tx(ctx, tx, p, a.PIN, reason+" (hồ sơ đề nghị "+a.ID+")")
		return "", err
	case *CorrectionRequest:
		_, err := s.reg.UpdateTx(ctx, tx, p, a.PIN, 0, registry.Meta{Reason: r.Reason + " — " + reason,
			LegalBasis: basis("Luật Căn cước 2023, điều 10")}, func(c *cancuoc.Citizen) error {
			return applyChanges("application.Approve", c, r.Changes)
		}, registry.AnyVersion())
		return "", err
	}
	return "", cancuoc.InvalidField("application.Approve", "kind", "kind_unknown", "Loại đề nghị không hợp lệ.", "Unknown kind.")
}

// Withdraw ends the applicant's own open application.
func (s *Service) Withdraw(ctx context.Context, p *cancuoc.Principal, id string) (*cancuoc.Application, error) {
	const op = "application.Withdraw"
	self, _, err := applicant(op, p)
	if err != nil {
		return nil, err
	}
	var out *cancuoc.Application
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		a, err := tx.Application(ctx, id)
		if err != nil {
			return err
		}
		if a.FiledBy != self {
			return cancuoc.ErrApplicationNotFound(op)
		}
		n, err := s.claim(ctx, tx, op, p, a, 0, cancuoc.AppWithdrawn, "Người nộp rút hồ sơ")
		if err != nil {
			return err
		}
		out = n
		return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: *n.DecidedAt, Actor: p.ID, Action: "application.withdraw", PIN: a.PIN,
			Fields: []string{string(a.Kind)}, Purpose: "Rút hồ sơ đề nghị " + a.ID, Outcome: "ok"})
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return out, nil
}

// Payload decodes an application's stored request for a page.
func Payload(a *cancuoc.Application) (any, error) { return Decode(a.Kind, a.Payload) }
