package workflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"github.com/cancuoc/cancuoc/internal/json"
	"time"

	"github.com/cancuoc/cancuoc"
)

// File is a file as the applicant and officers see it: where it is, and
// when each step is due.
type File struct {
	*cancuoc.Procedure
	// Current is the number of the step in progress (0 when closed).
	Current int         `json:"current_step"`
	Steps   []*StepView `json:"steps"`
	// Remaining lists the steps still to come, not yet in a queue.
	Remaining []string `json:"remaining,omitempty"`
}

// StepView is a step with its overdue flag.
type StepView struct {
	*cancuoc.ProcedureStep
	Overdue bool `json:"overdue"`
}

// overdue reports a step its agency did not settle by its due time: still
// waiting past it, or closed after it (done late counts too), or settled
// late once before (Late: a rejection after the Due, then a resubmission
// with a new Due). A step ends for its agency when completed, when sent
// back to the applicant (the time the applicant then takes is theirs, not
// the agency's: a resubmission gives the step a new Due), or when
// cancelled with its file; a step cancelled while it was waiting for the
// applicant ended at its rejection.
func overdue(st *cancuoc.ProcedureStep, now time.Time) bool {
	if st.Late {
		return true
	}
	var end *time.Time
	switch st.Status {
	case cancuoc.StepCompleted:
		end = st.CompletedAt
	case cancuoc.StepRejected:
		end = st.RejectedAt
	case cancuoc.StepCancelled:
		end = st.CancelledAt
		if st.RejectedAt != nil {
			end = st.RejectedAt
		}
	default:
		return now.After(st.Due)
	}
	return end != nil && end.After(st.Due)
}

// queuedAt is when the agency's turn at st began: the last resubmission,
// else when it entered the queue. A step's duration counts from it.
func queuedAt(st *cancuoc.ProcedureStep) time.Time {
	if st.ResubmittedAt != nil {
		return *st.ResubmittedAt
	}
	return st.CreatedAt
}

func (s *Service) view(p *cancuoc.Procedure, sts []*cancuoc.ProcedureStep) *File {
	now := s.clock()
	f := &File{Procedure: p, Steps: make([]*StepView, 0, len(sts))}
	for _, st := range sts {
		f.Steps = append(f.Steps, &StepView{ProcedureStep: st, Overdue: overdue(st, now)})
		if p.Status == cancuoc.ProcedureOpen && st.Status != cancuoc.StepCompleted {
			f.Current = st.No
		}
	}
	if chain, err := steps(p); err == nil && p.Status == cancuoc.ProcedureOpen {
		for _, d := range chain[min(len(sts), len(chain)):] {
			f.Remaining = append(f.Remaining, d.name)
		}
	}
	return f
}

// file reads a file with its steps.
func (s *Service) file(ctx context.Context, id string) (*cancuoc.Procedure, []*cancuoc.ProcedureStep, error) {
	p, err := s.store.Procedure(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	all, err := s.store.Steps(ctx, cancuoc.StepQuery{ProcedureID: id})
	return p, all, err
}

// auditRead records that who read a file about a citizen, and which part
// (fields): the whole file, or the reduced one a ministry sees.
func (s *Service) auditRead(ctx context.Context, who string, p *cancuoc.Procedure, fields []string, outcome string) error {
	pin := p.Subject
	if pin == "" {
		pin = p.Applicant
	}
	e := &cancuoc.AuditEntry{At: s.clock(), Actor: who, Action: "procedure.read", PIN: pin, Fields: fields,
		Purpose: string(p.Kind) + " procedure " + p.ID, Outcome: outcome}
	if s.audit != nil {
		return s.audit.Record(ctx, e)
	}
	return s.store.AppendAudit(ctx, e)
}

// File returns a file to a principal allowed by canRead: officers and
// auditors whose jurisdiction covers it see it whole; a ministry's system
// whose step has reached it sees the reduced file (reduce). Every read,
// allowed or refused, is audited.
func (s *Service) File(ctx context.Context, actor *cancuoc.Principal, id string) (*File, error) {
	const op = "workflow.File"
	p, all, err := s.file(ctx, id)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	reduced, err := canRead(op, actor, p, all)
	if err != nil {
		var e *cancuoc.Error
		code := "forbidden"
		if errors.As(err, &e) {
			code = e.Code
		}
		who := ""
		if actor != nil {
			who = actor.ID
		}
		_ = s.auditRead(ctx, who, p, []string{"procedure"}, code)
		return nil, err
	}
	fields := []string{"procedure"}
	if reduced {
		fields = []string{"procedure:reduced"}
	}
	if err := s.auditRead(ctx, actor.ID, p, fields, "ok"); err != nil {
		return nil, err
	}
	f := s.view(p, all)
	if reduced {
		return reduce(f, actor.Agency)
	}
	return f, nil
}

// reducedBirth is what an agency after civil status needs of a birth
// application: who the child is, not the parents, ethnicity or place of
// birth (the same line as registry.VisibleFields draws for ministries).
// The child's PIN is the file's subject; the applicant (the parent the
// card goes to) stays on the file.
type reducedBirth struct {
	FullName     string        `json:"full_name"`
	BirthDate    cancuoc.Date  `json:"birth_date"`
	Sex          cancuoc.Sex   `json:"sex"`
	Nationality  string        `json:"nationality,omitempty"`
	Registration cancuoc.Place `json:"registration"`
}

// reduce turns f into the view of agency's system: the birth application
// cut to reducedBirth (a death application holds only what the allowance
// and benefit steps decide on, so it stays), and the results and rejection
// notes of other agencies' steps removed. f's procedure and steps are
// copies the caller does not share.
func reduce(f *File, agency string) (*File, error) {
	p := *f.Procedure
	if p.Kind == cancuoc.ProcedureBirth {
		var a BirthApplication
		if err := json.Unmarshal(p.Application, &a); err != nil {
			return nil, err
		}
		raw, err := json.Marshal(reducedBirth{FullName: a.FullName, BirthDate: a.BirthDate, Sex: a.Sex,
			Nationality: a.Nationality, Registration: a.Registration})
		if err != nil {
			return nil, err
		}
		p.Application = raw
	}
	out := &File{Procedure: &p, Current: f.Current, Remaining: f.Remaining, Steps: make([]*StepView, len(f.Steps))}
	for i, sv := range f.Steps {
		st := *sv.ProcedureStep
		if st.Agency != agency {
			st.Result, st.Rejection = nil, ""
		}
		out.Steps[i] = &StepView{ProcedureStep: &st, Overdue: sv.Overdue}
	}
	return out, nil
}

// MyFile returns one of the applicant's own files; another's is NotFound,
// so file IDs reveal nothing.
func (s *Service) MyFile(ctx context.Context, pin cancuoc.PIN, id string) (*File, error) {
	const op = "workflow.MyFile"
	p, all, err := s.file(ctx, id)
	if err != nil || p.Applicant != pin {
		return nil, cancuoc.E(cancuoc.NotFound, op, "not_found", "Không tìm thấy hồ sơ.", "No such file.")
	}
	return s.view(p, all), nil
}

// MyFiles lists the applicant's files, newest last, after the file ID
// after.
func (s *Service) MyFiles(ctx context.Context, pin cancuoc.PIN, after string, limit int) ([]*cancuoc.Procedure, error) {
	return s.store.Procedures(ctx, cancuoc.ProcedureQuery{Applicant: pin, AfterID: after, Limit: clampLimit(limit)})
}

func clampLimit(n int) int {
	if n <= 0 || n > 500 {
		return 100
	}
	return n
}

// Queue is a page of an agency's queue.
type QueueQuery struct {
	Statuses       []cancuoc.StepStatus
	Kind           cancuoc.ProcedureKind
	AfterProcedure string
	AfterNo        int
	Limit          int
}

// Queue lists the tasks of actor's agency in its jurisdiction (by default
// those waiting: pending and claimed), each with its due time and overdue
// flag. Tasks carry no personal data; the agency reads the file for that.
func (s *Service) Queue(ctx context.Context, actor *cancuoc.Principal, q QueueQuery) ([]*StepView, error) {
	const op = "workflow.Queue"
	if err := queueRight(op, actor); err != nil {
		return nil, err
	}
	statuses := q.Statuses
	if len(statuses) == 0 {
		statuses = []cancuoc.StepStatus{cancuoc.StepPending, cancuoc.StepClaimed}
	}
	sq := cancuoc.StepQuery{Agency: actor.Agency, Statuses: statuses, Kind: q.Kind, Province: actor.Jurisdiction.Province,
		Commune: actor.Jurisdiction.Commune, AfterProcedure: q.AfterProcedure, AfterNo: q.AfterNo, Limit: clampLimit(q.Limit)}
	all, err := s.store.Steps(ctx, sq)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	now := s.clock()
	out := make([]*StepView, len(all))
	for i, st := range all {
		out[i] = &StepView{ProcedureStep: st, Overdue: overdue(st, now)}
	}
	return out, nil
}

// Answer is what an idempotent call returns: the HTTP status and the JSON
// body, the same on every retry with the same key.
type Answer struct {
	Status int
	Body   []byte
	Replay bool // true when the answer is the stored one
}

// Do runs fn in one transaction and returns its result encoded as JSON
// with status. With a key, the answer is stored in the same transaction,
// and a retry with the same key and request gets the stored answer without
// running fn again: the effect happens once even if the first answer was
// lost (the server died after committing). The same key with another
// request is a Conflict ("idempotency_key_reused").
func (s *Service) Do(ctx context.Context, principal, key string, request []byte, status int, fn func(tx cancuoc.Tx) (any, error)) (*Answer, error) {
	const op = "workflow.Do"
	if len(key) > 200 {
		return nil, cancuoc.InvalidField(op, "Idempotency-Key", "idempotency_key_too_long",
			"Khoá Idempotency-Key dài tối đa 200 ký tự.", "The Idempotency-Key is at most 200 characters.")
	}
	hash := sha256.Sum256(request)
	if key != "" {
		s.keys.add(principal, key, 1)
		defer s.keys.add(principal, key, -1)
	}
	var ans *Answer
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) error {
		if key != "" {
			prev, err := tx.Request(ctx, principal, key)
			if err == nil {
				if !bytes.Equal(prev.Hash, hash[:]) {
					return cancuoc.E(cancuoc.Conflict, op, "idempotency_key_reused",
						"Khoá Idempotency-Key này đã dùng cho một yêu cầu khác; dùng khoá mới cho mỗi yêu cầu.",
						"This Idempotency-Key was used for a different request; use a new key for each request.")
				}
				ans = &Answer{Status: prev.Status, Body: prev.Body, Replay: true}
				return nil
			}
			if cancuoc.KindOf(err) != cancuoc.NotFound {
				return err
			}
		}
		v, err := fn(tx)
		if err != nil {
			return err
		}
		body, err := json.Marshal(v)
		if err != nil {
			return err
		}
		ans = &Answer{Status: status, Body: body}
		if key == "" {
			return nil
		}
		// The answer is the transaction's last write, and its refusal (the
		// key taken meanwhile) fails the transaction whenever it comes: it
		// may come with the COMMIT.
		defer deferRefusals(tx)()
		return tx.SaveRequest(ctx, &cancuoc.IdempotentRequest{Principal: principal, Key: key, Hash: hash[:],
			Status: status, Body: body, CreatedAt: s.clock()})
	})
	if err != nil {
		return nil, err
	}
	if !ans.Replay {
		s.notify()
	}
	return ans, nil
}

// Submit opens a file in its own transaction.
func (s *Service) Submit(ctx context.Context, who Applicant, sub Submission) (*File, error) {
	var f *File
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) (err error) { f, err = s.SubmitTx(ctx, tx, who, sub); return err })
	if err == nil {
		s.notify()
	}
	return f, err
}

// Claim claims a step in its own transaction.
func (s *Service) Claim(ctx context.Context, actor *cancuoc.Principal, id string, no int) (*cancuoc.ProcedureStep, error) {
	return s.stepTx(ctx, func(tx cancuoc.Tx) (*cancuoc.ProcedureStep, error) { return s.ClaimTx(ctx, tx, actor, id, no) })
}

// Complete completes a step in its own transaction.
func (s *Service) Complete(ctx context.Context, actor *cancuoc.Principal, id string, no int, c Completion) (*cancuoc.ProcedureStep, error) {
	return s.stepTx(ctx, func(tx cancuoc.Tx) (*cancuoc.ProcedureStep, error) { return s.CompleteTx(ctx, tx, actor, id, no, c) })
}

// Reject rejects a step in its own transaction.
func (s *Service) Reject(ctx context.Context, actor *cancuoc.Principal, id string, no int, r Rejection) (*cancuoc.ProcedureStep, error) {
	return s.stepTx(ctx, func(tx cancuoc.Tx) (*cancuoc.ProcedureStep, error) { return s.RejectTx(ctx, tx, actor, id, no, r) })
}

// Resubmit resubmits a rejected step in its own transaction.
func (s *Service) Resubmit(ctx context.Context, who Applicant, id string, no int, sup Supplement) (*File, error) {
	var f *File
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) (err error) { f, err = s.ResubmitTx(ctx, tx, who, id, no, sup); return err })
	if err == nil {
		s.notify()
	}
	return f, err
}

func (s *Service) stepTx(ctx context.Context, fn func(tx cancuoc.Tx) (*cancuoc.ProcedureStep, error)) (*cancuoc.ProcedureStep, error) {
	var st *cancuoc.ProcedureStep
	err := s.store.InTx(ctx, func(tx cancuoc.Tx) (err error) { st, err = fn(tx); return err })
	if err != nil {
		return nil, err
	}
	s.notify()
	return st, nil
}
