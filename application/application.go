// Package application holds citizens' online applications (issue 8): a
// citizen, or the parent or guardian of a child, files a request for
// temporary or permanent residence, for an eID account at level 2, or for
// a correction of their record; it waits in the queue of the officers of
// the place that decides it, with its legal time limit in working days;
// an officer approves it, which carries out the change through the
// capability that owns it (residence, eid, registry) in the same
// transaction as the decision, or rejects it saying what to supply.
package application

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/eid"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/vntext"
	"github.com/cancuoc/cancuoc/workday"
)

// Config holds the time limits, in working days from filing (the 15:00
// rule of workday applies), and the age under which a parent or guardian
// files for a child.
type Config struct {
	Limits   map[cancuoc.ApplicationKind]int
	ChildAge int
}

// DefaultConfig has the legal time limits: permanent residence 7 working
// days and temporary residence 3 (Law on Residence 2020 art. 22(3),
// 28(2)); level 2 3 working days with a valid card (Decree 69/2024). The
// law we follow names no limit for a citizen's correction request; 7
// working days, the longest of the others, is our choice, to be set by the
// operator when the Ministry fixes one.
func DefaultConfig() Config {
	return Config{Limits: map[cancuoc.ApplicationKind]int{
		cancuoc.AppTemporaryResidence: 3,
		cancuoc.AppPermanentResidence: 7,
		cancuoc.AppEIDLevel2:          3,
		cancuoc.AppCorrection:         7,
	}, ChildAge: eid.LegalChildAge}
}

// Service is the applications capability.
type Service struct {
	store cancuoc.Store
	reg   *registry.Service
	res   *residence.Service
	eid   *eid.Service
	audit *audit.Writer
	cal   *workday.Calendar
	cfg   Config
	now   func() time.Time
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces the wall clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns the service. Approvals act through reg, res and e; reads are
// logged through w; due dates count working days in cal (nil: the
// embedded calendar).
func New(reg *registry.Service, res *residence.Service, e *eid.Service, w *audit.Writer, cal *workday.Calendar, cfg Config, opts ...Option) *Service {
	if cal == nil {
		cal = workday.Default()
	}
	d := DefaultConfig()
	if cfg.Limits == nil {
		cfg.Limits = d.Limits
	}
	if cfg.ChildAge == 0 {
		cfg.ChildAge = d.ChildAge
	}
	s := &Service{store: reg.Store(), reg: reg, res: res, eid: e, audit: w, cal: cal, cfg: cfg, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Now is the service's clock, for pages that flag overdue applications.
func (s *Service) Now() time.Time { return s.now() }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Service) today() cancuoc.Date { return cancuoc.DateOf(s.now().In(workday.Zone())) }

func newID() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	var b [16]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, len(b))
	for i, x := range b {
		out[i] = alphabet[int(x)%len(alphabet)]
	}
	return "ap_" + string(out)
}

// Filing is what a citizen sends: the kind, whom it is about (empty: the
// applicant), and the kind's request as JSON.
type Filing struct {
	Kind    cancuoc.ApplicationKind `json:"kind"`
	PIN     cancuoc.PIN             `json:"pin,omitempty"`
	Payload json.RawMessage         `json:"payload"`
}

// applicant is the signed-in citizen behind p.
func applicant(op string, p *cancuoc.Principal) (cancuoc.PIN, string, error) {
	pin, ok := cancuoc.SelfPIN(p)
	if !ok {
		return "", "", cancuoc.E(cancuoc.Forbidden, op, "citizen_only",
			"Chỉ công dân đăng nhập bằng định danh điện tử mới nộp và rút hồ sơ đề nghị của mình.",
			"Only a citizen logged in with their electronic identity files and withdraws their own applications.")
	}
	return pin, strings.TrimPrefix(p.ID, "eid:"), nil
}

// File checks the request with the rules of the capability that will
// carry it out, finds the place whose officers decide it, and stores it
// with its due time. A citizen files for themself, or for a child under
// the child age whom the registry lists them as parent or legal
// representative of (eid.GuardsPerson). One open application per kind
// and person: a second is refused until the first is decided or withdrawn.
func (s *Service) File(ctx context.Context, p *cancuoc.Principal, f Filing) (*cancuoc.Application, error) {
	const op = "application.File"
	self, account, err := applicant(op, p)
	if err != nil {
		return nil, err
	}
	subject := f.PIN
	if subject == "" {
		subject = self
	}
	if subject != self {
		ok, err := eid.GuardsPerson(ctx, s.store, self, subject, s.now(), s.cfg.ChildAge)
		if err != nil {
			return nil, cancuoc.WithOp(op, err)
		}
		if !ok {
			return nil, cancuoc.E(cancuoc.Forbidden, op, "not_guardian",
				"Bạn chỉ nộp hồ sơ cho chính mình, hoặc cho con chưa đủ 14 tuổi mà bạn là cha, mẹ hoặc người giám hộ được ghi trong Cơ sở dữ liệu.",
				"You may file only for yourself, or for a child under 14 whose parent or guardian the registry names you as.")
		}
	}
	req, err := Decode(f.Kind, f.Payload)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Citizen(ctx, subject)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	if c.LifeStatus != cancuoc.Alive {
		return nil, cancuoc.E(cancuoc.Conflict, op, "not_alive",
			"Người này không được ghi là còn sống trong cơ sở dữ liệu.", "This person is not recorded as alive.")
	}
	unit, err := s.check(ctx, op, c, f.Kind, req)
	if err != nil {
		return nil, err
	}
	if unit.Province == "" || unit.Commune == "" {
		return nil, cancuoc.E(cancuoc.Conflict, op, "place_unknown",
			"Không xác định được xã, phường giải quyết hồ sơ (nơi cư trú chưa ghi theo đơn vị hành chính hiện hành); hãy liên hệ công an xã, phường nơi cư trú.",
			"The commune that decides this cannot be told (the residence is not recorded in today's units); contact the police of your commune.")
	}
	if err := s.noneOpen(ctx, op, subject, f.Kind); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	now := s.clock()
	a := &cancuoc.Application{ID: newID(), Version: 1, Kind: f.Kind, Status: cancuoc.AppSubmitted, PIN: subject, FiledBy: self,
		FiledAccount: account, Unit: unit, Payload: payload, FiledAt: now,
		Due: s.cal.AddWorkingDays(now, s.cfg.Limits[f.Kind]).UTC(), UpdatedAt: now}
	err = s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if err := tx.InsertApplication(ctx, a); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: now, Actor: p.ID, Action: "application.file", PIN: subject,
			Fields: []string{string(f.Kind)}, Purpose: "Nộp hồ sơ đề nghị " + a.ID, Outcome: "ok"})
	})
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	return a, nil
}

// noneOpen refuses a second open application of a kind for a person.
func (s *Service) noneOpen(ctx context.Context, op string, pin cancuoc.PIN, kind cancuoc.ApplicationKind) error {
	open, err := s.store.Applications(ctx, cancuoc.ApplicationQuery{Person: pin, Kinds: []cancuoc.ApplicationKind{kind},
		Statuses: []cancuoc.ApplicationStatus{cancuoc.AppSubmitted}, Limit: 1000})
	if err != nil {
		return cancuoc.WithOp(op, err)
	}
	for _, a := range open {
		if a.PIN == pin {
			return cancuoc.E(cancuoc.Conflict, op, "application_open",
				"Đã có một hồ sơ cùng loại đang chờ giải quyết ("+a.ID+"); hãy chờ kết quả hoặc rút hồ sơ đó trước.",
				"An application of this kind is already waiting ("+a.ID+"); wait for its decision or withdraw it first.")
		}
	}
	return nil
}

// clean is free text trimmed and in NFC.
func clean(s string) string { return vntext.NFC(strings.TrimSpace(s)) }
