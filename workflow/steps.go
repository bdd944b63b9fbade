package workflow

import (
	"context"
	"github.com/cancuoc/cancuoc/internal/json"
	"strconv"
	"strings"
	"time"

	"github.com/cancuoc/cancuoc"
)

// agencyRoles are the roles that may act on a step for their agency: the
// officers of commune and province (civil status, police) and the systems
// of the ministries (social insurance, labour–social affairs). Auditors
// read; they never act.
var agencyRoles = map[cancuoc.Role]bool{
	cancuoc.RoleCommuneOfficer: true, cancuoc.RoleProvinceOfficer: true,
	cancuoc.RoleNationalAdmin: true, cancuoc.RoleMinistrySystem: true,
}

func unauthenticated(op string) error {
	return cancuoc.E(cancuoc.Unauthenticated, op, "unauthenticated", "Cần đăng nhập bằng khoá API hợp lệ.", "A valid API key is required.")
}

// canAct checks that p may act on st: an active principal of the step's
// agency, in a role that acts, whose jurisdiction covers the file's place.
func canAct(op string, p *cancuoc.Principal, st *cancuoc.ProcedureStep) error {
	if p == nil || p.Disabled {
		return unauthenticated(op)
	}
	if !agencyRoles[p.Role] || p.Agency != st.Agency {
		return cancuoc.E(cancuoc.Forbidden, op, "wrong_agency",
			"Bước này thuộc hàng đợi của cơ quan khác.",
			"This step is in another agency's queue ("+st.Agency+"); your principal's agency is "+quote(p.Agency)+".")
	}
	if !p.Jurisdiction.Covers(cancuoc.UnitRef{Province: st.Province, Commune: st.Commune}) {
		return cancuoc.E(cancuoc.Forbidden, op, "outside_jurisdiction",
			"Hồ sơ này không thuộc địa bàn của bạn.", "This file is outside your jurisdiction.")
	}
	return nil
}

func quote(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// canFile checks an officer entering a file at the counter: a civil-status
// officer (the first step is theirs) of the file's place.
func (s *Service) canFile(op string, p *cancuoc.Principal, f *cancuoc.Procedure) error {
	return canAct(op, p, &cancuoc.ProcedureStep{Agency: AgencyCivilStatus, Province: f.Province, Commune: f.Commune})
}

// canRead checks that p may see file f (with its steps all), and reports
// whether p sees the reduced view. The rule is least privilege:
//
//   - national admins and auditors see every file in their jurisdiction;
//   - commune and province officers see the files of the places they
//     cover (they register births and residence there and already read
//     the full records of its people), and those with a step of their
//     agency at a place they cover (a newborn's household elsewhere);
//   - a ministry's system sees a file only once one of its steps has
//     entered its agency's queue (the step exists: it is theirs now or
//     was), and then only the reduced application (reduce);
//   - every other role (lodgings, citizens, systems of agencies not in the
//     chain) is refused.
//
// A refusal is Forbidden, as the registry answers for an existing record
// outside one's rights; the caller audits it.
func canRead(op string, p *cancuoc.Principal, f *cancuoc.Procedure, all []*cancuoc.ProcedureStep) (reduced bool, err error) {
	if p == nil || p.Disabled {
		return false, unauthenticated(op)
	}
	switch p.Role {
	case cancuoc.RoleNationalAdmin, cancuoc.RoleAuditor, cancuoc.RoleCommuneOfficer, cancuoc.RoleProvinceOfficer:
	case cancuoc.RoleMinistrySystem:
		if !hasStep(all, p.Agency) {
			return false, cancuoc.E(cancuoc.Forbidden, op, "not_in_chain",
				"Hồ sơ này chưa đến lượt (hoặc không có bước nào) của cơ quan bạn.",
				"Your agency ("+quote(p.Agency)+") has no step of this file in its queue yet; an agency sees a file only once one of its steps has reached it.")
		}
		reduced = true
	default:
		return false, cancuoc.E(cancuoc.Forbidden, op, "role_forbidden",
			"Vai trò "+string(p.Role)+" không được xem hồ sơ thủ tục.",
			"The role "+quote(string(p.Role))+" may not see procedure files; only officers, auditors and the agencies of the file's steps may.")
	}
	if !p.Jurisdiction.Covers(cancuoc.UnitRef{Province: f.Province, Commune: f.Commune}) && !coversStep(p, all) {
		return false, cancuoc.E(cancuoc.Forbidden, op, "outside_jurisdiction",
			"Hồ sơ này không thuộc địa bàn của bạn.", "This file is outside your jurisdiction.")
	}
	return reduced, nil
}

// coversStep reports whether p's jurisdiction covers the place of one of
// its agency's steps among all: the police of a newborn's household, in
// another commune than the file's, read the file their step is in.
func coversStep(p *cancuoc.Principal, all []*cancuoc.ProcedureStep) bool {
	for _, st := range all {
		if p.Agency != "" && st.Agency == p.Agency && p.Jurisdiction.Covers(cancuoc.UnitRef{Province: st.Province, Commune: st.Commune}) {
			return true
		}
	}
	return false
}

// hasStep reports whether agency has a step among all (a step exists only
// once the chain has reached it).
func hasStep(all []*cancuoc.ProcedureStep, agency string) bool {
	if agency == "" {
		return false
	}
	for _, st := range all {
		if st.Agency == agency {
			return true
		}
	}
	return false
}

// load reads a file and one of its steps in tx.
func load(ctx context.Context, tx cancuoc.Tx, id string, no int) (*cancuoc.Procedure, *cancuoc.ProcedureStep, error) {
	p, err := tx.Procedure(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	st, err := tx.Step(ctx, id, no)
	if err != nil {
		return nil, nil, err
	}
	return p, st, nil
}

func notOpen(op string, p *cancuoc.Procedure) error {
	return cancuoc.E(cancuoc.Conflict, op, "file_closed",
		"Hồ sơ đã kết thúc ("+string(p.Status)+").", "The file is closed ("+string(p.Status)+").")
}

func wrongStatus(op string, st *cancuoc.ProcedureStep, want string) error {
	return cancuoc.E(cancuoc.Conflict, op, "step_"+string(st.Status),
		"Bước này đang ở trạng thái "+string(st.Status)+", không thể "+want+".",
		"This step is "+string(st.Status)+"; it cannot be "+want+".")
}

// ClaimTx takes a pending task for p, so no other client of the agency
// works on it. Claiming again by the same principal is harmless; a claim
// by another principal is a Conflict ("already_claimed") until the lease
// ends. Two clients racing on the same version: one wins, the other gets
// Conflict ("stale_version").
func (s *Service) ClaimTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, id string, no int) (*cancuoc.ProcedureStep, error) {
	const op = "workflow.Claim"
	p, st, err := load(ctx, tx, id, no)
	if err != nil {
		return nil, err
	}
	return s.claim(ctx, tx, op, actor, p, st)
}

// claim is ClaimTx on a file and step already read in tx.
func (s *Service) claim(ctx context.Context, tx cancuoc.Tx, op string, actor *cancuoc.Principal, p *cancuoc.Procedure, st *cancuoc.ProcedureStep) (*cancuoc.ProcedureStep, error) {
	n, write, err := s.claimed(op, actor, p, st)
	if err != nil || !write {
		return n, err
	}
	if err := tx.UpdateStep(ctx, n, st.Version); err != nil {
		return nil, err
	}
	return n, recordClaim(ctx, tx, actor, p, n)
}

// claimed checks a claim of st (of file p) by actor and returns the step
// as the claim leaves it, and whether that is to be written (false: actor
// holds it already).
func (s *Service) claimed(op string, actor *cancuoc.Principal, p *cancuoc.Procedure, st *cancuoc.ProcedureStep) (*cancuoc.ProcedureStep, bool, error) {
	if err := canAct(op, actor, st); err != nil {
		return nil, false, err
	}
	if p.Status != cancuoc.ProcedureOpen {
		return nil, false, notOpen(op, p)
	}
	now := s.clock()
	switch {
	case st.Status == cancuoc.StepClaimed && st.ClaimedBy == actor.ID:
		return st, false, nil
	case st.Status == cancuoc.StepClaimed && st.ClaimedAt != nil && now.Sub(*st.ClaimedAt) < s.lease:
		return nil, false, cancuoc.E(cancuoc.Conflict, op, "already_claimed",
			"Một máy trạm khác của cơ quan đang xử lý bước này.", "Another client of your agency has claimed this step.")
	case st.Status != cancuoc.StepPending && st.Status != cancuoc.StepClaimed:
		return nil, false, wrongStatus(op, st, "claimed")
	}
	n := *st
	n.Status, n.ClaimedBy, n.ClaimedAt, n.Version = cancuoc.StepClaimed, actor.ID, &now, st.Version+1
	return &n, true, nil
}

// recordClaim writes the audit entry and event of step n's claim, written.
func recordClaim(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, p *cancuoc.Procedure, n *cancuoc.ProcedureStep) error {
	return record(ctx, tx, actor.ID, "procedure.step_claim", *n.ClaimedAt, p, n, EventStepClaimed)
}

// Completion is an agency's completion of a step.
type Completion struct {
	Note string `json:"note,omitempty"`
}

// CompleteTx performs the step's effect and marks it done, in tx: both
// commit or neither. The step must be pending or claimed by actor.
// Completing a step actor completed already answers the stored step
// without doing anything again.
func (s *Service) CompleteTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, id string, no int, c Completion) (*cancuoc.ProcedureStep, error) {
	const op = "workflow.Complete"
	p, st, err := load(ctx, tx, id, no)
	if err != nil {
		return nil, err
	}
	if err := canAct(op, actor, st); err != nil {
		return nil, err
	}
	if st.Status == cancuoc.StepCompleted {
		return st, nil
	}
	if p.Status != cancuoc.ProcedureOpen {
		return nil, notOpen(op, p)
	}
	if st.Status == cancuoc.StepClaimed && st.ClaimedBy != actor.ID {
		return nil, cancuoc.E(cancuoc.Conflict, op, "claimed_by_other",
			"Bước này do máy trạm khác nhận xử lý.", "Another client of your agency has claimed this step.")
	}
	if st.Status != cancuoc.StepPending && st.Status != cancuoc.StepClaimed {
		return nil, wrongStatus(op, st, "completed")
	}
	now := s.clock()
	prevSubject := p.Subject
	// Decoded once for the effect and the next step (on the single
	// writer, on SQLite).
	app, err := application(p)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	res, err := s.effect(ctx, tx, actor, p, app, st, now)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	res.Note = limit(c.Note, 500)
	n := *st
	n.Status, n.CompletedAt, n.Version = cancuoc.StepCompleted, &now, st.Version+1
	n.Late = st.Late || now.After(st.Due)
	if n.ClaimedBy == "" {
		n.ClaimedBy, n.ClaimedAt = actor.ID, &now
	}
	if n.Result, err = json.Marshal(res); err != nil {
		return nil, err
	}
	if err := tx.UpdateStep(ctx, &n, st.Version); err != nil {
		return nil, err
	}
	if p.Subject != prevSubject {
		prev := p.Version
		p.Version++
		if err := tx.UpdateProcedure(ctx, p, prev); err != nil {
			return nil, err
		}
	}
	// The next task (or the file's completion) commits with the step that
	// leads to it, rather than in a transaction of its own made by the
	// event's handler: one transaction less per step, and no wait for the
	// dispatcher between two agencies. The event says so (it is written in
	// the same transaction, and first, so that events keep the chain's
	// order), and the handler skips it; the handler stays for events whose
	// file this did not advance (written before, or by another version).
	done := stepRef{Advanced: true, Subject: p.Subject, Document: res.Document}
	if err := recordRef(ctx, tx, actor.ID, "procedure.step_complete", now, p, &n, EventStepCompleted, done); err != nil {
		return nil, err
	}
	return &n, s.advanceFile(ctx, tx, p, app, n.No, now)
}

// Rejection sends a step back to the applicant: what is missing or wrong,
// and what to supply.
type Rejection struct {
	Reason string `json:"reason"`
}

// RejectTx sends a step back to the applicant with the reason. The file
// stays open, and the applicant has ResubmitDays working days from now to
// resubmit (the file's ResubmitBy); then Sweep refuses it.
func (s *Service) RejectTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, id string, no int, r Rejection) (*cancuoc.ProcedureStep, error) {
	const op = "workflow.Reject"
	reason := limit(strings.TrimSpace(r.Reason), 1000)
	if reason == "" {
		return nil, cancuoc.InvalidField(op, "reason", "reason_required",
			"Cần ghi lý do và giấy tờ người nộp phải bổ sung.", "Give the reason and what the applicant must supply.")
	}
	p, st, err := load(ctx, tx, id, no)
	if err != nil {
		return nil, err
	}
	if err := canAct(op, actor, st); err != nil {
		return nil, err
	}
	if p.Status != cancuoc.ProcedureOpen {
		return nil, notOpen(op, p)
	}
	if st.Status == cancuoc.StepClaimed && st.ClaimedBy != actor.ID {
		return nil, cancuoc.E(cancuoc.Conflict, op, "claimed_by_other",
			"Bước này do máy trạm khác nhận xử lý.", "Another client of your agency has claimed this step.")
	}
	if st.Status != cancuoc.StepPending && st.Status != cancuoc.StepClaimed {
		return nil, wrongStatus(op, st, "rejected")
	}
	now := s.clock()
	n := *st
	n.Status, n.Rejection, n.Rejections, n.Version = cancuoc.StepRejected, reason, st.Rejections+1, st.Version+1
	n.ClaimedBy, n.ClaimedAt, n.RejectedAt = "", nil, &now
	n.Late = st.Late || now.After(st.Due) // kept through a resubmission's new Due
	if err := tx.UpdateStep(ctx, &n, st.Version); err != nil {
		return nil, err
	}
	by := s.cal.AddWorkingDays(now, ResubmitDays).UTC()
	prev := p.Version
	p.ResubmitBy, p.Version = &by, p.Version+1
	if err := tx.UpdateProcedure(ctx, p, prev); err != nil {
		return nil, err
	}
	return &n, record(ctx, tx, actor.ID, "procedure.step_reject", now, p, &n, EventStepRejected)
}

// Supplement is the applicant's answer to a rejection: a corrected
// application (optional, same kind) and a note on what was supplied.
type Supplement struct {
	Note  string            `json:"note,omitempty"`
	Birth *BirthApplication `json:"birth,omitempty"`
	Death *DeathApplication `json:"death,omitempty"`
}

// ResubmitTx puts a rejected step back in its agency's queue, with the
// corrected application if one is given. Only the applicant (online) or a
// civil-status officer of the place (at the counter) may resubmit. The
// step is due its limit from now, and its duration counts from now
// (ResubmittedAt): the applicant's time is not the agency's. The file's
// Deadline moves accordingly and its ResubmitBy is cleared.
func (s *Service) ResubmitTx(ctx context.Context, tx cancuoc.Tx, who Applicant, id string, no int, sup Supplement) (*File, error) {
	const op = "workflow.Resubmit"
	p, st, err := load(ctx, tx, id, no)
	if err != nil {
		return nil, err
	}
	if who.Officer != nil {
		if err := s.canFile(op, who.Officer, p); err != nil {
			return nil, err
		}
	} else if who.PIN != p.Applicant {
		return nil, cancuoc.E(cancuoc.NotFound, op, "not_found", "Không tìm thấy hồ sơ.", "No such file.")
	}
	if p.Status != cancuoc.ProcedureOpen {
		return nil, notOpen(op, p)
	}
	if st.Status != cancuoc.StepRejected {
		return nil, wrongStatus(op, st, "resubmitted")
	}
	if sup.Birth != nil || sup.Death != nil {
		if err := s.correct(ctx, tx, op, p, sup); err != nil {
			return nil, err
		}
	}
	app, err := application(p)
	if err != nil {
		return nil, cancuoc.WithOp(op, err)
	}
	ch := chain(p, app)
	d, ok := defOf(ch, st)
	if !ok {
		return nil, cancuoc.InvalidField(op, string(p.Kind), "place_changed",
			"Tờ khai bổ sung làm thay đổi các bước của hồ sơ; hãy nộp hồ sơ mới.",
			"The correction changes the file's steps; submit a new file.")
	}
	now := s.clock()
	if p.ResubmitBy != nil && now.After(*p.ResubmitBy) {
		// The sweep refuses the file when it next runs.
		return nil, cancuoc.E(cancuoc.Conflict, op, "resubmit_too_late",
			"Đã quá hạn bổ sung hồ sơ ("+strconv.Itoa(ResubmitDays)+" ngày làm việc kể từ khi bị trả lại); hồ sơ bị từ chối, hãy nộp hồ sơ mới.",
			"The time to resubmit ("+strconv.Itoa(ResubmitDays)+" working days from the rejection) has passed; the file is refused: submit a new file.")
	}
	n := *st
	n.Status, n.Version, n.RejectedAt, n.ResubmittedAt = cancuoc.StepPending, st.Version+1, nil, &now
	// Where the agency acts, which a correction may have moved (stepsMoved).
	at := d.at(p)
	n.Province, n.Commune = at.Province, at.Commune
	n.Due = s.cal.AddWorkingDays(now, d.days).UTC()
	if err := tx.UpdateStep(ctx, &n, st.Version); err != nil {
		return nil, err
	}
	prev := p.Version
	p.ResubmitBy, p.Deadline, p.Version = nil, s.fileDue(p.Kind, ch, n.No, now), p.Version+1
	if err := tx.UpdateProcedure(ctx, p, prev); err != nil {
		return nil, err
	}
	if err := record(ctx, tx, who.actor(), "procedure.resubmit", now, p, &n, EventResubmitted); err != nil {
		return nil, err
	}
	all, err := tx.Steps(ctx, cancuoc.StepQuery{ProcedureID: p.ID})
	if err != nil {
		return nil, err
	}
	return s.view(p, all), nil
}

// correct replaces the application of p with a corrected one, checked as
// at submission; the kind, the places of the file and of the steps in a
// queue already, and whom a death file is about stay. The caller writes p.
func (s *Service) correct(ctx context.Context, tx cancuoc.Tx, op string, p *cancuoc.Procedure, sup Supplement) error {
	q := *p
	var app any
	var err error
	switch {
	case p.Kind == cancuoc.ProcedureBirth && sup.Birth != nil:
		app, err = s.checkBirth(ctx, tx, op, &q, sup.Birth)
	case p.Kind == cancuoc.ProcedureDeath && sup.Death != nil:
		app, err = s.checkDeath(ctx, tx, op, &q, sup.Death)
	default:
		return cancuoc.InvalidField(op, string(p.Kind), "application_kind",
			"Tờ khai bổ sung phải cùng loại với hồ sơ.", "The corrected application must be of the file's kind ("+string(p.Kind)+").")
	}
	if err != nil {
		return err
	}
	placeChanged := q.Province != p.Province || q.Commune != p.Commune || q.Subject != p.Subject && p.Kind == cancuoc.ProcedureDeath
	if !placeChanged {
		// A step's place is kept with it in its queue: a correction may
		// not move a step there already (the police of another household).
		if placeChanged, err = stepsMoved(ctx, tx, p, app); err != nil {
			return err
		}
	}
	if placeChanged {
		return cancuoc.InvalidField(op, string(p.Kind), "place_changed",
			"Không thể đổi nơi xử lý hoặc người được khai trong hồ sơ đã nộp; hãy nộp hồ sơ mới.",
			"A correction cannot change where the file is handled or whom it is about; submit a new file.")
	}
	raw, err := json.Marshal(app)
	if err != nil {
		return err
	}
	p.Application = raw
	return nil
}

// stepsMoved reports whether the chain of p with application app puts one
// of p's steps already in an agency's hands elsewhere (another place or
// agency). A step sent back to the applicant may move (the applicant
// chose the other parent's household): no agency has acted on it since,
// and its resubmission puts it in the queue of its new place.
func stepsMoved(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Procedure, app any) (bool, error) {
	all, err := tx.Steps(ctx, cancuoc.StepQuery{ProcedureID: p.ID})
	if err != nil {
		return false, err
	}
	ch := chain(p, app)
	for _, st := range all {
		d, ok := defOf(ch, st)
		if !ok || d.agency != st.Agency {
			return true, nil
		}
		if st.Status == cancuoc.StepRejected {
			continue
		}
		if d.at(p) != (cancuoc.UnitRef{Province: st.Province, Commune: st.Commune}) {
			return true, nil
		}
	}
	return false, nil
}

func limit(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xc0) == 0x80 {
		n--
	}
	return s[:n]
}

// advance is the handler's work for one completed step: create the next
// task, or close the file when the chain is done. Run twice for the same
// step, it changes nothing the second time.
func (s *Service) advance(ctx context.Context, tx cancuoc.Tx, ref stepRef, now time.Time) error {
	p, err := tx.Procedure(ctx, ref.Procedure)
	if err != nil {
		return err
	}
	if p.Status != cancuoc.ProcedureOpen {
		return nil
	}
	app, err := application(p)
	if err != nil {
		return err
	}
	return s.advanceFile(ctx, tx, p, app, ref.Step, now)
}

// advanceFile is advance on file p, read in tx, whose application is app
// (decoded), after its step no.
func (s *Service) advanceFile(ctx context.Context, tx cancuoc.Tx, p *cancuoc.Procedure, app any, no int, now time.Time) error {
	if p.Status != cancuoc.ProcedureOpen {
		return nil
	}
	ch := chain(p, app)
	if no < len(ch) {
		_, err := s.createStep(ctx, tx, p, ch, no+1, now)
		if cancuoc.KindOf(err) == cancuoc.Conflict {
			return nil // created by an earlier delivery
		}
		return err
	}
	all, err := tx.Steps(ctx, cancuoc.StepQuery{ProcedureID: p.ID})
	if err != nil {
		return err
	}
	for _, st := range all {
		if st.Status != cancuoc.StepCompleted {
			return nil
		}
	}
	prev := p.Version
	p.Status, p.ClosedAt, p.Version = cancuoc.ProcedureCompleted, &now, p.Version+1
	if err := tx.UpdateProcedure(ctx, p, prev); err != nil {
		return err
	}
	return record(ctx, tx, "workflow", "procedure.complete", now, p, nil, EventCompleted)
}

// HandleEvent is the dispatcher handler (subscribe it to EventStepCompleted
// as ConsumerName): it advances the file of a completed step. Idempotent.
// Calls made at the same time share one transaction (advancer), so give
// the subscription a Concurrency above 1.
func (s *Service) HandleEvent(ctx context.Context, e cancuoc.Event) error {
	if e.Type != EventStepCompleted {
		return nil
	}
	var ref stepRef
	if err := json.Unmarshal(e.Data, &ref); err != nil || ref.Procedure == "" {
		return nil // not ours to repair: a malformed event would block the consumer for ever
	}
	if ref.Advanced {
		return nil
	}
	if done, err := s.advanced(ctx, ref); done || err != nil {
		return err
	}
	return s.advanceGrouped(ctx, ref)
}

// advanced reports, from reads outside any transaction, that the file of
// ref needs nothing more: it is closed, or the step after ref exists. The
// completion itself advances the file (CompleteTx), so this is the usual
// case, and the handler then takes no write transaction.
func (s *Service) advanced(ctx context.Context, ref stepRef) (bool, error) {
	p, err := s.store.Procedure(ctx, ref.Procedure)
	if err != nil || p.Status != cancuoc.ProcedureOpen {
		return err == nil, err
	}
	chain, err := steps(p)
	if err != nil || ref.Step >= len(chain) {
		return false, err // the last step: its file closes in a transaction
	}
	_, err = s.store.Step(ctx, p.ID, ref.Step+1)
	if cancuoc.KindOf(err) == cancuoc.NotFound {
		return false, nil
	}
	return err == nil, err
}

// Sweep refuses the open files whose applicant did not resubmit a
// rejected step within ResubmitDays working days of the rejection (the
// file's ResubmitBy has passed), cancelling their open steps. Files late
// because an agency has not acted are not refused: their steps are
// overdue (flagged, counted) and the file stays open. It returns how many
// it refused. Run it periodically; several nodes may run it at once
// (versions decide).
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.clock()
	due, err := s.store.Procedures(ctx, cancuoc.ProcedureQuery{Statuses: []cancuoc.ProcedureStatus{cancuoc.ProcedureOpen},
		ResubmitByBefore: now, Limit: 500})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range due {
		err := s.store.InTx(ctx, func(tx cancuoc.Tx) error { return s.refuse(ctx, tx, p.ID, now) })
		switch {
		case err == nil:
			n++
		case cancuoc.KindOf(err) == cancuoc.Conflict:
			// Another node refused it, or the applicant resubmitted meanwhile.
		default:
			return n, err
		}
	}
	if n > 0 {
		s.notify()
	}
	return n, nil
}

func (s *Service) refuse(ctx context.Context, tx cancuoc.Tx, id string, now time.Time) error {
	p, err := tx.Procedure(ctx, id)
	if err != nil {
		return err
	}
	if p.Status != cancuoc.ProcedureOpen || p.ResubmitBy == nil || !p.ResubmitBy.Before(now) {
		return cancuoc.E(cancuoc.Conflict, "workflow.Sweep", "file_changed", "Hồ sơ đã thay đổi.", "The file has changed.")
	}
	all, err := tx.Steps(ctx, cancuoc.StepQuery{ProcedureID: p.ID})
	if err != nil {
		return err
	}
	var missing []string
	for _, st := range all {
		if st.Status == cancuoc.StepCompleted {
			continue
		}
		if st.Status == cancuoc.StepRejected {
			missing = append(missing, st.Rejection)
		}
		n := *st
		n.Status, n.CancelledAt, n.Version = cancuoc.StepCancelled, &now, st.Version+1
		if err := tx.UpdateStep(ctx, &n, st.Version); err != nil {
			return err
		}
	}
	prev := p.Version
	p.Status, p.ClosedAt, p.Version = cancuoc.ProcedureRefused, &now, p.Version+1
	p.Outcome = "Quá 7 ngày làm việc kể từ khi bị trả lại mà chưa bổ sung / Not resubmitted within 7 working days of the rejection"
	if len(missing) > 0 {
		p.Outcome += ": " + strings.Join(missing, "; ")
	}
	if err := tx.UpdateProcedure(ctx, p, prev); err != nil {
		return err
	}
	return record(ctx, tx, "workflow", "procedure.refuse", now, p, nil, EventRefused)
}
