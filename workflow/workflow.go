// Package workflow runs the interlinked procedures of Decree 63/2024 as
// durable workflows: a file (birth, death) is submitted once and passed
// from agency to agency, each step a task in the responsible agency's queue
// with a due date in working days.
//
// Durability comes from the database and the outbox, not from memory:
//
//   - every state change (submit, claim, complete, reject, resubmit,
//     refuse) is one transaction with its audit entry and outbox event;
//   - a step's effect (a PIN, a residence, a card) commits in the same
//     transaction as the step's completion, guarded by the step's version,
//     so it happens once even if the request is retried or the server dies;
//     requests with an Idempotency-Key also get the same answer again;
//   - the next step (or the file's completion) is created in the same
//     transaction as the completion that leads to it; the event handler
//     (HandleEvent), which the dispatcher calls at least once for each
//     completed step, finds it done on a read and does the same for a
//     file left behind (an event written before, or by another version):
//     creating a step that exists is a no-op, so the handler is idempotent
//     and any node (or a NATS consumer) may run it.
package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/workday"
)

// Agencies that hold task queues. A principal acts on a step only when its
// Agency is the step's.
const (
	AgencyCivilStatus     = "civil_status"          // Tư pháp – hộ tịch (commune People's Committee)
	AgencyPolice          = "police"                // Công an: residence registration
	AgencySocialInsurance = "social_insurance"      // Bảo hiểm xã hội: health cards, allowances
	AgencyLabour          = "labour_social_affairs" // Lao động – Thương binh và Xã hội: social-protection allowances
)

// Agencies lists the agencies, for validation and documentation.
func Agencies() []string {
	return []string{AgencyCivilStatus, AgencyPolice, AgencySocialInsurance, AgencyLabour}
}

// Events written to the outbox.
const (
	EventSubmitted     = "procedure.submitted"
	EventTaskCreated   = "procedure.task_created"
	EventStepClaimed   = "procedure.step_claimed"
	EventStepCompleted = "procedure.step_completed"
	EventStepRejected  = "procedure.step_rejected"
	EventResubmitted   = "procedure.resubmitted"
	EventCompleted     = "procedure.completed"
	EventRefused       = "procedure.refused"
)

// ResubmitDays is how long the applicant has to supply what a rejected step
// asks for, in working days from the rejection; then the file is refused
// (Decree 63/2024: missing documents within 7 working days). Agencies'
// own delays refuse nothing: their steps are flagged and counted overdue.
const ResubmitDays = 7

// ConsumerName is the dispatcher consumer that advances files.
const ConsumerName = "workflow-steps"

// Residence is what the procedures need from residence registration. It
// runs inside the caller's transaction, so a step and its residence change
// commit together. The residence package implements it.
type Residence interface {
	// RegisterNewbornTx registers child's permanent residence in parent's
	// household.
	RegisterNewbornTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, child, parent cancuoc.PIN) error
	// DeregisterTx removes pin's permanent residence for cause (e.g. "death").
	DeregisterTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, pin cancuoc.PIN, cause string) error
}

// Service runs the procedures over one store.
type Service struct {
	store     cancuoc.Store
	reg       *registry.Service
	residence Residence
	cal       *workday.Calendar
	audit     *audit.Writer
	now       func() time.Time
	notify    func()
	lease     time.Duration
	adv       advancer
	keys      runningKeys
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces the wall clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithNotify sets what to call after a commit that appended events, so the
// dispatcher picks them up at once (dispatch.Dispatcher.Notify).
func WithNotify(f func()) Option { return func(s *Service) { s.notify = f } }

// WithClaimLease sets how long a claim holds off other clients of the same
// agency (15 minutes by default): a client that crashed after claiming
// does not block the task for ever.
func WithClaimLease(d time.Duration) Option { return func(s *Service) { s.lease = d } }

// WithAuditWriter records reads of files through w (group commit);
// without it each read writes its own entry.
func WithAuditWriter(w *audit.Writer) Option { return func(s *Service) { s.audit = w } }

// New returns a Service. reg registers births and deaths; res registers
// residence; cal computes due dates.
func New(st cancuoc.Store, reg *registry.Service, res Residence, cal *workday.Calendar, opts ...Option) *Service {
	s := &Service{store: st, reg: reg, residence: res, cal: cal, now: time.Now, notify: func() {},
		lease: 15 * time.Minute}
	for _, o := range opts {
		o(s)
	}
	return s
}

// clock is now in UTC at microsecond precision, as both databases keep it.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// newID returns a file ID that sorts by creation time: 12 hex digits of
// milliseconds, then 10 random bytes.
func newID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// stepRef is the data of the step events.
type stepRef struct {
	Procedure string                `json:"procedure"`
	Kind      cancuoc.ProcedureKind `json:"kind"`
	Step      int                   `json:"step,omitempty"`
	Name      string                `json:"name,omitempty"`
	Agency    string                `json:"agency,omitempty"`
	Province  string                `json:"province"`
	// Advanced, on a completion, says that its transaction also advanced
	// the file (created the next step or closed the file): the handler
	// has nothing to do, not even a read.
	Advanced bool `json:"advanced,omitempty"`
	// Subject and Document, on a completion, are the file's subject after
	// the step (the newborn's PIN once registered) and the kind of the
	// document the step issued, if any: the wallet, which puts procedure
	// documents into the subject's wallet, then neither reads the file
	// back for every completion nor looks at steps that issued nothing.
	Subject  cancuoc.PIN `json:"subject,omitempty"`
	Document string      `json:"document,omitempty"`
}

// record writes the audit entry and the outbox event of a state change.
// The event carries the file and step, never personal data; its PIN (the
// file's applicant) keeps one family's events in order.
func record(ctx context.Context, tx cancuoc.Tx, actor, action string, now time.Time, p *cancuoc.Procedure, st *cancuoc.ProcedureStep, event string) error {
	return recordRef(ctx, tx, actor, action, now, p, st, event, stepRef{})
}

// recordRef is record with the completion's part of the event's data
// (stepRef's Advanced, Subject and Document) taken from done.
func recordRef(ctx context.Context, tx cancuoc.Tx, actor, action string, now time.Time, p *cancuoc.Procedure, st *cancuoc.ProcedureStep, event string, done stepRef) error {
	pin := p.Subject
	if pin == "" {
		pin = p.Applicant
	}
	ref := stepRef{Procedure: p.ID, Kind: p.Kind, Province: p.Province, Advanced: done.Advanced, Subject: done.Subject, Document: done.Document}
	fields := []string{"procedure"}
	if st != nil {
		ref.Step, ref.Name, ref.Agency = st.No, st.Name, st.Agency
		fields = append(fields, "step:"+st.Name)
	}
	if err := tx.AppendAudit(ctx, &cancuoc.AuditEntry{At: now, Actor: actor, Action: action, PIN: pin,
		Fields: fields, Purpose: string(p.Kind) + " procedure " + p.ID, Outcome: "ok"}); err != nil {
		return err
	}
	data, err := json.Marshal(ref)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, &cancuoc.Event{ID: newEventID(), Type: event, PIN: p.Applicant, Actor: actor, At: now, Data: data})
}
