package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/registry"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/workday"
	"github.com/cancuoc/cancuoc/workflow"
)

// TestRefusedBeforeTheChainIsDue: the 7 working days run from the
// rejection, not from the submission, whatever the chain's own due date.
// A death file with a funeral allowance is due in 0 + 5 + 5 working days;
// sent back two working days after it came and never resubmitted, it is
// still open 7 working days after the submission, and refused 7 after the
// rejection.
func TestRefusedBeforeTheChainIsDue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		old := w.person(t, "Nguyễn Văn Cụ", cancuoc.Male, 1940, "")
		f, err := w.wf.Submit(ctx, workflow.Applicant{Officer: w.civil}, workflow.Submission{Kind: cancuoc.ProcedureDeath,
			Applicant: w.father.PIN, Death: &workflow.DeathApplication{Deceased: old.PIN,
				Date: cancuoc.Date{Year: 2026, Month: 3, Day: 1}, FuneralAllowance: true}})
		if err != nil {
			t.Fatal(err)
		}
		if want := vn(2026, 3, 16, 23, 59).Add(59 * time.Second); !f.Deadline.Equal(want) {
			t.Errorf("death file due %v, want %v (10 working days)", f.Deadline, want)
		}
		w.clock.set(vn(2026, 3, 4, 10, 0)) // Wednesday
		if _, err := w.wf.Reject(ctx, w.civil, f.ID, 1, workflow.Rejection{Reason: "Thiếu giấy báo tử / death notice missing"}); err != nil {
			t.Fatal(err)
		}
		w.clock.set(vn(2026, 3, 12, 0, 1)) // 7 working days after the submission
		if n, err := w.wf.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("Sweep 7 working days after the submission = %d, %v; want 0", n, err)
		}
		w.clock.set(vn(2026, 3, 14, 0, 1)) // after Friday 13, 7 after the rejection
		if n, err := w.wf.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("Sweep 7 working days after the rejection = %d, %v; want 1", n, err)
		}
		if f = w.file(t, f.ID); f.Status != cancuoc.ProcedureRefused {
			t.Errorf("file = %s, want refused", f.Status)
		}
	})
}

// TestHealthCardUnderSix: the health-insurance card step is in the chain
// only for a child under 6 at submission, and refused at completion when
// the child has turned 6 meanwhile.
func TestHealthCardUnderSix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		// Six on 1 February 2026, filed on 2 March: no card step.
		sub := w.birth()
		sub.Birth.BirthDate = cancuoc.Date{Year: 2020, Month: 2, Day: 1}
		f, err := w.wf.Submit(ctx, workflow.Applicant{PIN: w.mother.PIN}, sub)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Remaining) != 1 || f.Remaining[0] != workflow.StepNewbornResidence {
			t.Errorf("remaining steps for a child of 6 = %v, want only %s", f.Remaining, workflow.StepNewbornResidence)
		}
		w.runStep(t, w.civil, f.ID, 1)
		w.runStep(t, w.police, f.ID, 2)
		if f = w.file(t, f.ID); f.Status != cancuoc.ProcedureCompleted || len(f.Steps) != 2 {
			t.Errorf("file of a child of 6 = %s with %d steps, want completed with 2", f.Status, len(f.Steps))
		}

		// Five at submission, six the next day, before the card is issued.
		sub = w.birth()
		sub.Birth.FullName, sub.Birth.BirthDate = "Nguyễn Minh Châu", cancuoc.Date{Year: 2020, Month: 3, Day: 3}
		f, err = w.wf.Submit(ctx, workflow.Applicant{PIN: w.mother.PIN}, sub)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Remaining) != 2 || f.Remaining[1] != workflow.StepHealthCard {
			t.Fatalf("remaining steps for a child of 5 = %v", f.Remaining)
		}
		w.runStep(t, w.civil, f.ID, 1)
		w.runStep(t, w.police, f.ID, 2)
		w.clock.set(vn(2026, 3, 3, 10, 0))
		_, err = w.wf.Complete(ctx, w.insurance, f.ID, 3, workflow.Completion{})
		wantKind(t, err, cancuoc.Invalid, "child_over_six")
		if f = w.file(t, f.ID); f.Status != cancuoc.ProcedureOpen || f.Steps[2].Status != cancuoc.StepPending {
			t.Errorf("after the refused card: file %s, step 3 %s", f.Status, f.Steps[2].Status)
		}
	})
}

// TestStatisticsOverdue: one file done with its first step late, one
// entered at the counter, sent back once and left open past its police
// step's due time.
func TestStatisticsOverdue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		late := w.submitBirth(t) // online, Monday 09:00
		sub := w.birth()
		sub.Applicant, sub.Birth.FullName = w.mother.PIN, "Nguyễn Minh Châu"
		open, err := w.wf.Submit(ctx, workflow.Applicant{Officer: w.civil}, sub)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.wf.Reject(ctx, w.civil, open.ID, 1, workflow.Rejection{Reason: "Thiếu giấy chứng sinh"}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.wf.Resubmit(ctx, workflow.Applicant{Officer: w.civil}, open.ID, 1, workflow.Supplement{}); err != nil {
			t.Fatal(err)
		}
		w.runStep(t, w.civil, open.ID, 1) // on time; the police never act (due Wednesday)
		w.clock.set(vn(2026, 3, 3, 10, 0))
		w.runStep(t, w.civil, late.ID, 1) // due Monday, done Tuesday
		w.runStep(t, w.police, late.ID, 2)
		w.runStep(t, w.insurance, late.ID, 3)
		w.clock.set(vn(2026, 3, 6, 10, 0))

		stats, err := w.wf.Statistics(ctx, w.admin, workflow.StatsQuery{From: vn(2026, 3, 1, 0, 0), To: vn(2026, 3, 7, 0, 0)})
		if err != nil || len(stats.Groups) != 1 {
			t.Fatalf("Statistics = %+v, %v", stats, err)
		}
		g := stats.Groups[0]
		if g.Submitted != 2 || g.Completed != 1 || g.Rejected != 1 || g.Overdue != 2 || g.Refused != 0 ||
			g.Online != 1 || g.OnlineShare != 0.5 || len(g.Steps) != 3 {
			t.Fatalf("file figures = %+v", g.Figures)
		}
		for i, want := range []struct {
			name                                 string
			submitted, completed, rejected, late int
		}{
			{workflow.StepBirthRegistration, 2, 2, 1, 1},
			{workflow.StepNewbornResidence, 2, 1, 0, 1},
			{workflow.StepHealthCard, 1, 1, 0, 0},
		} {
			s := g.Steps[i]
			if s.Name != want.name || s.Submitted != want.submitted || s.Completed != want.completed ||
				s.Rejected != want.rejected || s.Overdue != want.late {
				t.Errorf("step %s figures = %+v, want %+v", s.Name, s.Figures, want)
			}
		}
		if s := g.Steps[0]; s.OnlineShare != 0.5 {
			t.Errorf("step 1 online share = %v, want 0.5", s.OnlineShare)
		}
	})
}

// TestNewbornResidenceAtTheHousehold: a birth registered in Ba Đình for a
// mother whose household is in Ngọc Hà: the police step is in the queue of
// Ngọc Hà's police, who register the child there with the real residence
// register (which checks their jurisdiction over the household), and who
// may read the file.
func TestNewbornResidenceAtTheHousehold(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		aw := audit.NewWriter(w.store, 0)
		t.Cleanup(func() { aw.Close() })
		w.wf = workflow.New(w.store, w.reg, residenceSteps{residence.New(w.reg, aw, residence.WithClock(w.clock.now))}, workday.Default(),
			workflow.WithClock(w.clock.now), workflow.WithAuditWriter(aw))
		policeNgocHa := w.principal(t, cancuoc.RoleCommuneOfficer, workflow.AgencyPolice, cancuoc.Jurisdiction{Province: hanoi, Commune: ngocHa})
		mother := w.personIn(t, "Lê Thị Lan", cancuoc.Female, 1996, "HH-01-0002", ngocHa)
		sub := w.birth()
		sub.Birth.Father, sub.Birth.Mother = nil, &cancuoc.Relative{PIN: mother.PIN}
		f, err := w.wf.Submit(ctx, workflow.Applicant{PIN: mother.PIN}, sub)
		if err != nil {
			t.Fatal(err)
		}
		if f.Commune != baDinh {
			t.Errorf("file handled in %s, want the registering commune %s", f.Commune, baDinh)
		}
		w.runStep(t, w.civil, f.ID, 1)
		if q, err := w.wf.Queue(ctx, w.police, workflow.QueueQuery{}); err != nil || len(q) != 0 {
			t.Errorf("Ba Đình police queue = %v, %v; want empty", q, err)
		}
		q, err := w.wf.Queue(ctx, policeNgocHa, workflow.QueueQuery{})
		if err != nil || len(q) != 1 || q[0].ProcedureID != f.ID || q[0].Commune != ngocHa {
			t.Fatalf("Ngọc Hà police queue = %+v, %v; want the step", q, err)
		}
		if _, err := w.wf.File(ctx, policeNgocHa, f.ID); err != nil {
			t.Errorf("Ngọc Hà police reading the file of their step: %v", err)
		}
		// Their step opens the file to Ngọc Hà's police only, not to
		// another agency's officer there.
		civilNgocHa := w.principal(t, cancuoc.RoleCommuneOfficer, workflow.AgencyCivilStatus, cancuoc.Jurisdiction{Province: hanoi, Commune: ngocHa})
		_, err = w.wf.File(ctx, civilNgocHa, f.ID)
		wantKind(t, err, cancuoc.Forbidden, "outside_jurisdiction")
		_, err = w.wf.Claim(ctx, w.police, f.ID, 2)
		wantKind(t, err, cancuoc.Forbidden, "outside_jurisdiction")
		w.runStep(t, policeNgocHa, f.ID, 2)
		f = w.file(t, f.ID)
		if f.Steps[1].Status != cancuoc.StepCompleted {
			t.Fatalf("police step = %s", f.Steps[1].Status)
		}
		child, err := w.store.Citizen(ctx, f.Subject)
		if err != nil || child.Household == nil || child.Household.ID != "HH-01-0002" {
			t.Errorf("child's household = %+v, %v; want HH-01-0002", child.Household, err)
		}
	})
}

// TestResidencePlaceUnknown: a parent whose permanent residence gives no
// commune in today's units (old codes without a commune) is refused at
// submission: no police queue would show the step.
func TestResidencePlaceUnknown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		_, err := w.reg.Update(ctx, w.admin, w.mother.PIN, w.mother.Version, registry.Meta{Reason: "Địa chỉ cũ", LegalBasis: "Luật Cư trú 2020"},
			func(n *cancuoc.Citizen) error {
				n.PermanentResidence = &cancuoc.Place{Era: cancuoc.Era63, Province: hanoi, Detail: "số 12 phố Quán Thánh"}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.wf.Submit(ctx, workflow.Applicant{PIN: w.mother.PIN}, w.birth())
		wantKind(t, err, cancuoc.Invalid, "residence_place_unknown")
	})
}

// TestStatisticsHouseholdElsewhere: a Hà Nội birth whose mother's
// household is in Hồ Chí Minh City: the police step is there, and counts
// under the file's province, where it makes the file overdue, in the
// province's figures and the national ones; Hồ Chí Minh City has none.
func TestStatisticsHouseholdElsewhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		mother := w.personAt(t, "Lê Thị Lan", cancuoc.Female, 1996, "HH-79-0001", "79", "25747")
		sub := w.birth()
		sub.Birth.Father, sub.Birth.Mother = nil, &cancuoc.Relative{PIN: mother.PIN}
		f, err := w.wf.Submit(ctx, workflow.Applicant{PIN: mother.PIN}, sub)
		if err != nil {
			t.Fatal(err)
		}
		w.runStep(t, w.civil, f.ID, 1)
		if f = w.file(t, f.ID); len(f.Steps) != 2 || f.Steps[1].Province != "79" {
			t.Fatalf("police step = %+v", f.Steps)
		}
		w.clock.set(vn(2026, 3, 6, 10, 0)) // the police step, due Wednesday, is overdue
		period := workflow.StatsQuery{From: vn(2026, 3, 1, 0, 0), To: vn(2026, 3, 7, 0, 0)}
		for _, province := range []string{hanoi, ""} {
			q := period
			q.Province = province
			st, err := w.wf.Statistics(ctx, w.admin, q)
			if err != nil || len(st.Groups) != 1 {
				t.Fatalf("Statistics(%q) = %+v, %v; want one group", province, st, err)
			}
			g := st.Groups[0]
			if g.Province != hanoi || g.Submitted != 1 || g.Overdue != 1 || len(g.Steps) != 2 ||
				g.Steps[1].Name != workflow.StepNewbornResidence || g.Steps[1].Submitted != 1 || g.Steps[1].Overdue != 1 {
				t.Errorf("Statistics(%q): %s %+v, steps %+v", province, g.Province, g.Figures, g.Steps)
			}
		}
		q := period
		q.Province = "79"
		if st, err := w.wf.Statistics(ctx, w.admin, q); err != nil || len(st.Groups) != 0 {
			t.Errorf("Statistics(79) = %+v, %v; want no group", st, err)
		}
	})
}

// TestLateRejectionStaysLate: civil status sends the file back a working
// day late; the applicant resubmits and the step is then done in time: the
// agency's delay is still counted.
func TestLateRejectionStaysLate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		f := w.submitBirth(t) // Monday 09:00, step 1 due Monday
		w.clock.set(vn(2026, 3, 3, 10, 0))
		if _, err := w.wf.Reject(ctx, w.civil, f.ID, 1, workflow.Rejection{Reason: "Thiếu giấy chứng sinh"}); err != nil {
			t.Fatal(err)
		}
		w.clock.set(vn(2026, 3, 3, 11, 0))
		if _, err := w.wf.Resubmit(ctx, workflow.Applicant{PIN: w.mother.PIN}, f.ID, 1, workflow.Supplement{}); err != nil {
			t.Fatal(err)
		}
		w.runStep(t, w.civil, f.ID, 1) // due Tuesday again, done Tuesday
		if f = w.file(t, f.ID); !f.Steps[0].Overdue {
			t.Errorf("step 1 after a late rejection, resubmitted and done in time: not overdue")
		}
		st, err := w.wf.Statistics(ctx, w.admin, workflow.StatsQuery{From: vn(2026, 3, 1, 0, 0), To: vn(2026, 3, 7, 0, 0)})
		if err != nil || len(st.Groups) != 1 || st.Groups[0].Overdue != 1 || st.Groups[0].Steps[0].Overdue != 1 {
			t.Errorf("Statistics = %+v, %v; want the file and step 1 overdue", st, err)
		}
	})
}

// TestResubmitTooLate: past the 7 working days a resubmission is refused
// even before the sweep has run; the sweep then refuses the file.
func TestResubmitTooLate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		f := w.submitBirth(t)
		if _, err := w.wf.Reject(ctx, w.civil, f.ID, 1, workflow.Rejection{Reason: "Thiếu giấy chứng sinh"}); err != nil {
			t.Fatal(err)
		}
		w.clock.set(vn(2026, 3, 12, 0, 1)) // resubmit by the end of Wednesday 11
		_, err := w.wf.Resubmit(ctx, workflow.Applicant{PIN: w.mother.PIN}, f.ID, 1, workflow.Supplement{})
		wantKind(t, err, cancuoc.Conflict, "resubmit_too_late")
		if n, err := w.wf.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want the file refused", n, err)
		}
		if f = w.file(t, f.ID); f.Status != cancuoc.ProcedureRefused {
			t.Errorf("file = %s, want refused", f.Status)
		}
	})
}

// TestCorrectionMovesRejectedStep: the police of the mother's household
// send the step back (wrong household); the applicant corrects the file
// to the father's household, in Ngọc Hà: the step, no agency's since its
// rejection, moves to Ngọc Hà's police. Once the police have registered
// the child, a correction that would move their step is refused.
func TestCorrectionMovesRejectedStep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		father := w.personIn(t, "Lê Văn Bình", cancuoc.Male, 1992, "HH-01-0003", ngocHa)
		policeNgocHa := w.principal(t, cancuoc.RoleCommuneOfficer, workflow.AgencyPolice, cancuoc.Jurisdiction{Province: hanoi, Commune: ngocHa})
		sub := w.birth()
		sub.Birth.Father = &cancuoc.Relative{PIN: father.PIN}
		f, err := w.wf.Submit(ctx, workflow.Applicant{PIN: w.mother.PIN}, sub)
		if err != nil {
			t.Fatal(err)
		}
		w.runStep(t, w.civil, f.ID, 1)
		if _, err := w.wf.Reject(ctx, w.police, f.ID, 2, workflow.Rejection{Reason: "Trẻ nhập hộ của cha / the child joins the father's household"}); err != nil {
			t.Fatal(err)
		}
		fixed := *sub.Birth
		fixed.ResidenceParent = father.PIN
		g, err := w.wf.Resubmit(ctx, workflow.Applicant{PIN: w.mother.PIN}, f.ID, 2, workflow.Supplement{Birth: &fixed})
		if err != nil {
			t.Fatalf("Resubmit to the father's household: %v", err)
		}
		if st := g.Steps[1]; st.Status != cancuoc.StepPending || st.Province != hanoi || st.Commune != ngocHa {
			t.Errorf("moved step = %s at %s/%s, want pending at %s/%s", st.Status, st.Province, st.Commune, hanoi, ngocHa)
		}
		if q, err := w.wf.Queue(ctx, w.police, workflow.QueueQuery{}); err != nil || len(q) != 0 {
			t.Errorf("Ba Đình police queue = %v, %v; want empty", q, err)
		}
		if q, err := w.wf.Queue(ctx, policeNgocHa, workflow.QueueQuery{}); err != nil || len(q) != 1 || q[0].ProcedureID != f.ID {
			t.Errorf("Ngọc Hà police queue = %v, %v; want the step", q, err)
		}
		w.runStep(t, policeNgocHa, f.ID, 2)
		// The card is sent back; a correction back to the mother's
		// household would move the police step, done already.
		if _, err := w.wf.Reject(ctx, w.insurance, f.ID, 3, workflow.Rejection{Reason: "Thiếu ảnh / photo missing"}); err != nil {
			t.Fatal(err)
		}
		back := fixed
		back.ResidenceParent = w.mother.PIN
		_, err = w.wf.Resubmit(ctx, workflow.Applicant{PIN: w.mother.PIN}, f.ID, 3, workflow.Supplement{Birth: &back})
		wantKind(t, err, cancuoc.Invalid, "place_changed")
	})
}

// residenceSteps is the residence register as the procedures use it (as
// cmd/cancuoc wires it): the deregistration cause as a string.
type residenceSteps struct{ *residence.Service }

func (r residenceSteps) DeregisterTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, pin cancuoc.PIN, cause string) error {
	return r.Service.DeregisterTx(ctx, tx, actor, pin, residence.DeregistrationCause(cause))
}
