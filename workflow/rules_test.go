package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/audit"
	"github.com/cancuoc/cancuoc/residence"
	"github.com/cancuoc/cancuoc/workday"
	"github.com/cancuoc/cancuoc/workflow"
)

// TestRefusedBeforeTheChainIsDue: the 7 working days run from the
// rejection, whatever the chain's own due date. A death file with a
// funeral allowance is due in 0 + 5 + 5 working days; sent back on the
// day it came and never resubmitted, it is refused after 7.
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
		if _, err := w.wf.Reject(ctx, w.civil, f.ID, 1, workflow.Rejection{Reason: "Thiếu giấy báo tử / death notice missing"}); err != nil {
			t.Fatal(err)
		}
		w.clock.set(vn(2026, 3, 12, 0, 1))
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

// residenceSteps is the residence register as the procedures use it (as
// cmd/cancuoc wires it): the deregistration cause as a string.
type residenceSteps struct{ *residence.Service }

func (r residenceSteps) DeregisterTx(ctx context.Context, tx cancuoc.Tx, actor *cancuoc.Principal, pin cancuoc.PIN, cause string) error {
	return r.Service.DeregisterTx(ctx, tx, actor, pin, residence.DeregistrationCause(cause))
}
